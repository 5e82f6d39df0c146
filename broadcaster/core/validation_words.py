"""Pydantic's validation errors in the user's language.

Pydantic words its errors in English ("Input should be a valid integer, unable to parse
string as an integer"), and an officer who mistypes ``min: many`` in ``station.yaml``
reads them. Pydantic's own advice is to word them again by each error's ``type``, with
the numbers from its ``ctx``: that is what this table does, through our catalogue. A type
not listed keeps pydantic's English (``tests/test_validation_words.py`` lists the types
the station's models can produce, so a common one is never missed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broadcaster.i18n import N_, translate_declared

#: error type -> message (a msgid; ``{...}`` names come from the error's ``ctx``).
MESSAGES: Mapping[str, str] = {
    "missing": N_("this field is required"),
    "extra_forbidden": N_("unknown field"),
    "int_type": N_("must be a whole number"),
    "int_parsing": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number, without a fractional part"),
    "float_type": N_("must be a number"),
    "float_parsing": N_("must be a number"),
    "finite_number": N_("must be a finite number"),
    "bool_type": N_("must be true or false"),
    "bool_parsing": N_("must be true or false"),
    "string_type": N_("must be text"),
    "string_too_short": N_("must have at least {min_length} character(s)"),
    "string_too_long": N_("must have at most {max_length} character(s)"),
    "greater_than": N_("must be greater than {gt}"),
    "greater_than_equal": N_("must be at least {ge}"),
    "less_than": N_("must be less than {lt}"),
    "less_than_equal": N_("must be at most {le}"),
    "multiple_of": N_("must be a multiple of {multiple_of}"),
    "list_type": N_("must be a list"),
    "tuple_type": N_("must be a list"),
    "set_type": N_("must be a list"),
    "dict_type": N_("must be a mapping (key: value)"),
    "model_type": N_("must be a mapping (key: value)"),
    "model_attributes_type": N_("must be a mapping (key: value)"),
    "too_short": N_("must have at least {min_length} item(s), not {actual_length}"),
    "too_long": N_("must have at most {max_length} item(s)"),
    "date_type": N_("must be a date like 2026-11-23"),
    "date_parsing": N_("must be a date like 2026-11-23"),
    "date_from_datetime_parsing": N_("must be a date like 2026-11-23"),
    "date_from_datetime_inexact": N_("must be a date like 2026-11-23, without a time"),
    "datetime_type": N_("must be a date and time like 2026-11-23T06:00:00+07:00"),
    "datetime_parsing": N_("must be a date and time like 2026-11-23T06:00:00+07:00"),
    "datetime_from_date_parsing": N_("must be a date and time like 2026-11-23T06:00:00+07:00"),
    "time_type": N_('must be a time like "06:00"'),
    "time_parsing": N_('must be a time like "06:00"'),
    "enum": N_("must be one of {expected}"),
    "literal_error": N_("must be one of {expected}"),
    "url_type": N_("must be an address (URL)"),
    "url_parsing": N_("must be an address (URL)"),
    "url_scheme": N_("the address must start with {expected_schemes}"),
    "none_required": N_("must be empty"),
    "string_pattern_mismatch": N_("does not have the expected form"),
}


def validation_message(error: Mapping[str, Any]) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) in the user's words.

    A ``value_error`` or ``assertion_error`` carries the message of our own validator,
    already translated where it was raised: it is shown without pydantic's "Value
    error, " prefix."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    template = MESSAGES.get(kind)
    if template is None:
        return str(error.get("msg", ""))
    try:
        return translate_declared(template).format(**{k: str(v) for k, v in ctx.items()})
    except (KeyError, IndexError, ValueError):  # a ctx without the names the words need
        return str(error.get("msg", ""))
