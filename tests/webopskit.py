"""Who may open each of the operator's pages (broadcaster/web/operator_pages.py): the lines
tests/test_web.py's walk of the route table adds to its own."""

from __future__ import annotations

from broadcaster.app.roles import Role

_READERS = frozenset({Role.OPERATOR, Role.APPROVER, Role.REPORTER})
_OPERATOR = frozenset({Role.OPERATOR})

OPERATOR_EXPECTED: dict[str, frozenset[Role | None]] = {
    "schedule_week": _READERS,
    "schedule_ics": _READERS,
    "schedule_queue": _OPERATOR,
    "schedule_cancel_form": _OPERATOR,
    "schedule_cancel": _OPERATOR,
    "emergency_form": _OPERATOR,
    "emergency_confirm": _OPERATOR,
    "emergency_air": _OPERATOR,
    "emergency_progress": _OPERATOR,
    "emergency_progress_live": _OPERATOR,
    "live_form": _OPERATOR,  # Phát trực tiếp (web/live_pages)
    "live_start": _OPERATOR,
    "live_audio": _OPERATOR,
    "live_stop": _OPERATOR,
    "live_state": _OPERATOR,
    "receivers": frozenset({Role.OPERATOR, Role.REPORTER}),
    "receivers_volume": _OPERATOR,
}
