"""Pydantic's English validation errors are worded again in the user's language
(``core/validation_words.py``): an officer who writes ``min: many`` reads Vietnamese."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from broadcaster.core.validation_words import MESSAGES, validation_message
from broadcaster.i18n import catalogue, set_language


class Sample(BaseModel):
    """Fields of the kinds station.yaml and the scripts' front matter use."""

    model_config = ConfigDict(extra="forbid")
    count: int = Field(ge=0)
    ratio: float = Field(gt=0, le=1)
    name: str = Field(min_length=2, max_length=5)
    flag: bool
    day: date
    start: time
    at: datetime
    kind: Literal["station", "cluster"]
    zones: list[str] = Field(min_length=1)
    mapping: dict[str, int]
    slug: str = Field(pattern=r"^[a-z]+$")
    checked: str = "ok"

    @field_validator("checked")
    @classmethod
    def _ours(cls, value: str) -> str:
        raise ValueError("our own words")


BAD = [
    {"count": "many"},
    {"count": -1},
    {"count": 1.5},
    {"ratio": "x"},
    {"ratio": 2},
    {"ratio": 0},
    {"name": "a"},
    {"name": "abcdefgh"},
    {"name": 3},
    {"flag": "perhaps"},
    {"day": "23/11"},
    {"start": "6h"},
    {"at": "tomorrow"},
    {"kind": "tower"},
    {"zones": "xa"},
    {"zones": []},
    {"mapping": 3},
    {"slug": "Ấp 1"},
    {"extra": 1},
    {"checked": "x"},
]


def _errors(data: dict) -> list[dict]:
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate(data)
    return caught.value.errors()


@pytest.mark.parametrize(
    "data", BAD, ids=[next(iter(d)) + "=" + repr(d[next(iter(d))]) for d in BAD]
)
def test_each_kind_of_mistake_is_worded_in_vietnamese(data):
    field = next(iter(data))
    errors = [e for e in _errors(data) if e["loc"][:1] == (field,)]
    assert errors, data
    vi = catalogue("vi")
    try:
        set_language("vi")
        for error in errors:
            if error["type"] == "value_error":
                assert validation_message(error) == "our own words"  # no "Value error, "
                continue
            assert error["type"] in MESSAGES, error["type"]
            assert vi.gettext(MESSAGES[error["type"]]) != MESSAGES[error["type"]]
            text = validation_message(error)
            assert text == vi.gettext(MESSAGES[error["type"]]).format(
                **{k: str(v) for k, v in (error.get("ctx") or {}).items()}
            )
            assert "{" not in text and "Input should" not in text
    finally:
        set_language(None)


def test_numbers_of_the_rule_are_in_the_words():
    (error,) = _errors({"count": -1, **_valid_but("count")})
    try:
        set_language("vi")
        assert validation_message(error) == "phải lớn hơn hoặc bằng 0"
        set_language("en")
        assert validation_message(error) == "must be at least 0"
    finally:
        set_language(None)


def test_an_unknown_type_keeps_pydantic_s_words():
    assert validation_message({"type": "no_such_type", "msg": "as pydantic said"}) == (
        "as pydantic said"
    )


def _valid_but(field: str) -> dict:
    valid = {
        "count": 1,
        "ratio": 0.5,
        "name": "abc",
        "flag": True,
        "day": "2026-11-23",
        "start": "06:00",
        "at": "2026-11-23T06:00:00+07:00",
        "kind": "station",
        "zones": ["xa"],
        "mapping": {"a": 1},
        "slug": "abc",
    }
    valid.pop(field)
    return valid
