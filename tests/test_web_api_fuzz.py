"""The JSON API's schema fuzzed (broadcaster/web/api.py): schemathesis reads
``/api/v1/openapi.json`` from the application in process (its ASGI transport, no
server), signed in as a user holding every role and as an operator limited to one zone,
and sends every operation valid and invalid parameters: no answer is a 500, and every
answer is one the schema declares (its status, its content type, its body's shape).

The station is the small rendered one with a few as-run entries, on a simulated clock.
"""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from test_web import NOW, PASSWORD, sign_in
from test_web_records import MONDAY, air

from broadcaster.app.actors import Actor
from broadcaster.app.context import StationContext
from broadcaster.app.roles import Role
from broadcaster.app.users import UserService
from broadcaster.engine.clock import SimClock
from broadcaster.web.app import SESSION_COOKIE, create_app

#: Examples per operation and generation mode (valid, invalid), derandomized: the same
#: requests on every run, and the file in a few seconds.
EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]

#: What some of the generated requests must have been answered (at least).
EXPECTED_ANSWERS = {
    ("tat-ca", GenerationMode.POSITIVE): {200, 400},  # 400: an unknown zone, no such week
    ("tat-ca", GenerationMode.NEGATIVE): {422},
    ("hung-a", GenerationMode.POSITIVE): {200, 403},  # 403: the log is not an operator's
    ("hung-a", GenerationMode.NEGATIVE): {403},  # refused before its parameters are read
}


@pytest.fixture(scope="module")
def api_app(rendered_template, tmp_path_factory):
    """The web station with an every-role account, a zone-limited operator and six log
    entries (aired, failed, interrupted) in the week of 2026-11-23."""
    root = tmp_path_factory.mktemp("api") / "station"
    shutil.copytree(rendered_template, root, ignore=shutil.ignore_patterns("*.lock", "out"))
    ctx = StationContext.open(root, clock=SimClock(NOW))
    users = UserService(ctx.db, ctx.clock, known_zones=ctx.station.zone_ids)
    users.add(Actor.local_cli(), "tat-ca", PASSWORD, list(Role))
    users.add(Actor.local_cli(), "hung-a", PASSWORD, [Role.OPERATOR], zones=["thon-a"])
    air(ctx, "nq57-mot", "xa", MONDAY)
    air(ctx, "nq57-ba", "thon-a", MONDAY + timedelta(days=1), "failed")
    air(ctx, "nq57-ba", "thon-b", MONDAY + timedelta(days=2), "interrupted")
    ctx.clock.advance_to(MONDAY + timedelta(days=3))
    yield create_app(ctx=ctx)
    ctx.close()


def _session(app, name: str) -> str:
    c = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    assert sign_in(c, name).status_code == 303
    return c.cookies[SESSION_COOKIE]


def _schema(app, name: str):
    cookie = {"Cookie": f"{SESSION_COOKIE}={_session(app, name)}"}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, headers=cookie)
    schema.config.update(headers=cookie)
    # the session is given, not generated: a random cookie would only be a 401
    schema.config.generation.update(with_security_parameters=False)
    return schema


@pytest.mark.parametrize("mode", list(GenerationMode), ids=str)
@pytest.mark.parametrize("account", ["tat-ca", "hung-a"])
def test_no_operation_answers_a_server_error_or_off_its_schema(api_app, account, mode):
    """Every operation, ``EXAMPLES`` generated requests each (valid ones, or ones the
    schema does not allow), as a user with every role and as an operator of one zone
    (who is refused the log: a 403 the schema declares)."""
    schema = _schema(api_app, account)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 5
    seen: set[int] = set()
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not len(operation.query):
            continue  # nothing to send that the schema does not allow

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case) -> None:
            answer = case.call_and_validate(checks=CHECKS)
            seen.add(answer.status_code)

        fuzz()
    # the requests reached the routes, not only the guard or the parameters' checks
    assert EXPECTED_ANSWERS[(account, mode)] <= seen, seen


def test_the_schema_has_the_api_only_and_needs_a_session(api_app):
    bare = TestClient(api_app, raise_server_exceptions=False, follow_redirects=False)
    refused = bare.get("/api/v1/openapi.json")
    assert refused.status_code == 401 and refused.json()["error"]
    assert bare.get("/openapi.json").status_code == 404  # no schema of the pages
    assert bare.get("/docs").status_code == 404  # and no docs UI
    c = TestClient(api_app, raise_server_exceptions=False, follow_redirects=False)
    c.cookies.set(SESSION_COOKIE, _session(api_app, "tat-ca"))
    schema = c.get("/api/v1/openapi.json").json()
    assert sorted(schema["paths"]) == [
        "/api/v1/calendar",
        "/api/v1/log",
        "/api/v1/log/verification",
        "/api/v1/overview",
        "/api/v1/receivers",
    ]
    assert schema["components"]["securitySchemes"]["APIKeyCookie"]["name"] == SESSION_COOKIE
