"""What an approver is told about the audio they approve."""

from __future__ import annotations

from stationkit import Cli
from test_tts_network import online_station, render, unreachable_env

__all__ = ["online_station"]  # the fixture, imported for pytest


def test_approving_fallback_audio_says_it_is_fallback(online_station) -> None:
    env = unreachable_env()
    code, (offline,) = render(online_station, env)
    assert code == 0 and offline["fallback"] and offline["engine"] == "espeak"
    r = Cli(online_station, env)("approve", "nq57-mot", "--by", "Chủ tịch UBND xã")
    assert r.code == 0, r.err
    assert "fallback audio" in r.out and "espeak" in r.out and "gtts" in r.out


def test_approving_audio_of_the_preferred_engine_says_nothing_more(cli: Cli) -> None:
    r = cli("approve", "nq57-mot", "--by", "Chủ tịch UBND xã")
    assert r.code == 0 and "fallback" not in r.out
