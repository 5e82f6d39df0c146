"""Retrying an online engine politely: exponential back-off with jitter.

Many stations hitting a rate-limited service at the same minute (after a power cut, say)
must not retry in lock-step: each wait is half fixed, half random, so they spread out
while the wait still grows with every failure. A server's Retry-After wins
over our own guess, within the cap."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


class Retryable(Exception):
    """A failure worth another try (network error, 429, 5xx)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Backoff:
    attempts: int = 4
    base: float = 0.5
    cap: float = 8.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    rand: Callable[[], float] = field(default=random.random, repr=False)

    def delay(self, failure: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the ``failure``-th failed attempt (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap)
        ceiling = min(self.cap, self.base * (2 ** (failure - 1)))
        return ceiling / 2 + self.rand() * ceiling / 2

    def run(self, call: Callable[[], T]) -> T:
        """``call`` until it succeeds or raises something not :class:`Retryable`; the
        last Retryable propagates once the attempts are spent."""
        for failure in range(1, self.attempts + 1):
            try:
                return call()
            except Retryable as exc:
                if failure == self.attempts:
                    raise
                self.sleep(self.delay(failure, exc.retry_after))
        raise AssertionError("unreachable")
