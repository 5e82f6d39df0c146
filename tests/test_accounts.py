"""Accounts, roles and the audit trail (issue 13), in process: a real station directory,
a temporary SQLite database and a simulated clock."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from stationkit import write_station

from broadcaster.app.actors import Actor
from broadcaster.app.audit import AuditTrail, audited
from broadcaster.app.context import StationContext
from broadcaster.app.permissions import Action, PermissionDenied, authorize
from broadcaster.app.roles import Role
from broadcaster.app.users import AuthenticationFailed, UserService
from broadcaster.core.errors import BroadcasterError
from broadcaster.engine.clock import SimClock

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
PASSWORD = "mật khẩu đủ dài 2026"

# The roles as a commune divides the work, written out here independently of the code.
EXPECTED = {
    Role.OFFICER: {"bulletin.write"},
    Role.APPROVER: {"bulletin.approve", "bulletin.reject"},
    Role.OPERATOR: {
        "schedule.plan",
        "schedule.queue",
        "schedule.cancel",
        "emergency.air",
        "live.air",
        "receivers.control",
    },
    Role.REPORTER: {"log.read", "report.make", "evidence.make"},
    Role.ADMIN: {"users.manage", "settings.edit"},
}
CHECKED = [a for a in Action if a is not Action.LOGIN]


def open_ctx(root: Path) -> StationContext:
    return StationContext.open(root, clock=SimClock(START))


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> StationContext:
    ctx = open_ctx(write_station(tmp_path_factory.mktemp("accounts")))
    yield ctx
    ctx.close()


@pytest.fixture
def ctx(tmp_path: Path) -> StationContext:
    ctx = open_ctx(write_station(tmp_path))
    yield ctx
    ctx.close()


def table_counts(root: Path) -> dict[str, int]:
    with sqlite3.connect(root / "station.db") as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def last_entry(ctx: StationContext):
    return AuditTrail(ctx.db, ctx.clock).entries()[-1]


def actor(*roles: Role, who: str = "lan", zones: set[str] | None = None, face: str = "web"):
    return Actor(
        who,
        frozenset(roles),
        face=face,
        address="192.0.2.7",
        zones=frozenset(zones) if zones is not None else None,
    )


@pytest.mark.parametrize("action", CHECKED, ids=lambda a: a.value)
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_may_take_only_its_own_actions(shared, role: Role, action: Action):
    """Holding one role, an actor may take exactly that role's actions. A refusal names
    the missing role, is in the audit trail and is the only thing written."""
    someone = actor(role)
    before = table_counts(shared.root)
    ran = []
    if action.value in EXPECTED[role]:
        with audited(shared, someone, action, "target-1", zone="xa"):
            ran.append(True)
        entry = last_entry(shared)
        assert ran == [True]
        assert (entry.result, entry.roles, entry.action) == ("ok", role.value, action.value)
    else:
        needed = next(r for r, acts in EXPECTED.items() if action.value in acts)
        with (
            pytest.raises(PermissionDenied) as refused,
            audited(shared, someone, action, "target-1", zone="xa"),
        ):
            ran.append(True)
        assert ran == []
        assert f"'{needed.value}'" in str(refused.value)
        entry = last_entry(shared)
        assert (entry.result, entry.action, entry.target) == ("refused", action.value, "target-1")
        assert (entry.actor, entry.face, entry.address) == ("lan", "web", "192.0.2.7")
        assert needed.value in entry.detail
        after = table_counts(shared.root)
        changed = {t for t in after if after[t] != before.get(t, 0)}
        assert changed <= {"audit_log", "audit_chain_head"}
        assert after["audit_log"] == before.get("audit_log", 0) + 1


def test_a_user_with_several_roles_holds_all_their_rights():
    both = actor(Role.OFFICER, Role.REPORTER)
    authorize(both, Action.BULLETIN_WRITE)
    authorize(both, Action.REPORT_MAKE)
    with pytest.raises(PermissionDenied):
        authorize(both, Action.BULLETIN_APPROVE)


def test_the_shell_is_the_local_operator_with_every_right():
    shell = Actor.local_cli(by="Nguyễn Văn A", os_user="canbo")
    assert (shell.who, shell.by, shell.face, shell.address) == (
        "cli:canbo",
        "Nguyễn Văn A",
        "cli",
        "local",
    )
    for action in Action:
        authorize(shell, action)  # zone=None: every zone, allowed to an unlimited operator


def test_the_author_of_a_bulletin_may_not_approve_it(ctx):
    """By default another approver must; the author may still reject it."""
    chairman = actor(Role.APPROVER, Role.OFFICER, who="chu-tich")
    before = table_counts(ctx.root)
    with (
        pytest.raises(PermissionDenied, match="wrote"),
        audited(ctx, chairman, Action.BULLETIN_APPROVE, "bao-lu", author="chu-tich"),
    ):
        pytest.fail("the block ran")
    assert last_entry(ctx).result == "refused"
    after = table_counts(ctx.root)
    assert {t for t in after if after[t] != before.get(t, 0)} <= {"audit_log", "audit_chain_head"}
    authorize(chairman, Action.BULLETIN_REJECT, author="chu-tich")
    authorize(actor(Role.APPROVER, who="pho-chu-tich"), Action.BULLETIN_APPROVE, author="chu-tich")
    # On the shell the person is the --by name, not the shared OS account.
    with pytest.raises(PermissionDenied):
        authorize(Actor.local_cli(by="Lan", os_user="x"), Action.BULLETIN_APPROVE, author="Lan")
    authorize(Actor.local_cli(by="Hoa", os_user="x"), Action.BULLETIN_APPROVE, author="Lan")


def test_a_station_may_let_authors_approve(tmp_path: Path):
    root = write_station(tmp_path)
    yaml_path = root / "schedules" / "station.yaml"
    text = yaml_path.read_text(encoding="utf-8")
    yaml_path.write_text(
        text.replace("  grace_minutes: 20\n", "  grace_minutes: 20\n  authors_may_approve: true\n"),
        encoding="utf-8",
    )
    ctx = open_ctx(root)
    try:
        assert ctx.station.authors_may_approve is True
        chairman = actor(Role.APPROVER, who="chu-tich")
        with audited(ctx, chairman, Action.BULLETIN_APPROVE, "bao-lu", author="chu-tich"):
            pass
        assert last_entry(ctx).result == "ok"
    finally:
        ctx.close()
    assert open_ctx(write_station(tmp_path / "other")).station.authors_may_approve is False


def test_a_zone_limited_operator_acts_only_in_their_zones():
    op = actor(Role.OPERATOR, zones={"thon-a"})
    authorize(op, Action.EMERGENCY_AIR, zone="thon-a")
    authorize(op, Action.SCHEDULE_QUEUE, zone=["thon-a"])
    for zone in ("thon-b", ["thon-a", "xa"], None):
        with pytest.raises(PermissionDenied, match="limited to thon-a"):
            authorize(op, Action.EMERGENCY_AIR, zone=zone)
    with pytest.raises(PermissionDenied, match="thon-b"):
        authorize(op, Action.RECEIVERS_CONTROL, zone="thon-b")
    # The limit is on the operator's actions only; an unlimited operator acts everywhere.
    authorize(actor(Role.OPERATOR, Role.REPORTER, zones={"thon-a"}), Action.LOG_READ)
    authorize(actor(Role.OPERATOR), Action.SCHEDULE_CANCEL, zone=None)


def test_a_refused_zone_action_is_audited(ctx):
    op = actor(Role.OPERATOR, zones={"thon-a"})
    with (
        pytest.raises(PermissionDenied),
        audited(ctx, op, Action.SCHEDULE_CANCEL, "airing 12", zone="thon-b"),
    ):
        pytest.fail("the block ran")
    entry = last_entry(ctx)
    assert (entry.result, entry.target, entry.roles) == ("refused", "airing 12", "van-hanh")


def test_a_failing_operation_is_audited_as_failed_and_its_error_kept(ctx):
    with (
        pytest.raises(BroadcasterError, match="no such airing"),
        audited(ctx, actor(Role.OPERATOR), Action.SCHEDULE_CANCEL, "airing 99") as note,
    ):
        note.detail = "cancel requested"
        raise BroadcasterError("no such airing")
    entry = last_entry(ctx)
    assert (entry.result, entry.detail) == ("failed", "cancel requested; no such airing")


# Still argon2id, with less memory and time than the real defaults: the machine is shared.
CHEAP = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)


def service(ctx: StationContext, hasher: PasswordHasher | None = CHEAP, **kw) -> UserService:
    return UserService(ctx.db, ctx.clock, known_zones=ctx.station.zone_ids, hasher=hasher, **kw)


ADMIN = Actor.local_cli(os_user="canbo")


def test_passwords_are_argon2id_hashes_never_plaintext(ctx):
    users = service(ctx, hasher=None)  # the defaults the station uses
    users.add(ADMIN, "lan", PASSWORD, {Role.ADMIN}, full_name="Trần Thị Lan")
    with sqlite3.connect(ctx.root / "station.db") as conn:
        (stored,) = conn.execute("SELECT password_hash FROM user_account").fetchone()
    assert stored.startswith("$argon2id$")
    ctx.close()  # checkpoint the WAL, then look at every byte the database wrote
    blob = b"".join(p.read_bytes() for p in ctx.root.glob("station.db*"))
    assert PASSWORD.encode("utf-8") not in blob
    assert users.authenticate("lan", PASSWORD, face="web").name == "lan"


def test_user_changes_are_audited_and_plain_data_comes_back(ctx):
    users = service(ctx)
    added = users.add(ADMIN, "hoa", PASSWORD, {Role.OPERATOR}, zones=["thon-a"])
    assert added.zones == frozenset({"thon-a"}) and added.roles == {Role.OPERATOR}
    changed = users.set_roles(ADMIN, "hoa", add={Role.REPORTER}, zones=None)
    assert changed.roles == {Role.OPERATOR, Role.REPORTER} and changed.zones is None
    assert users.set_roles(ADMIN, "hoa", remove={Role.OPERATOR}).roles == {Role.REPORTER}
    assert users.set_roles(ADMIN, "hoa", set_to={Role.APPROVER}).roles == {Role.APPROVER}
    assert users.disable(ADMIN, "hoa").disabled is True
    assert users.enable(ADMIN, "hoa").disabled is False
    users.passwd(ADMIN, "hoa", "một mật khẩu khác nữa")
    actions = [(e.action, e.target, e.result) for e in AuditTrail(ctx.db, ctx.clock).entries()]
    assert actions == [
        ("users.add", "hoa", "ok"),
        ("users.roles", "hoa", "ok"),
        ("users.roles", "hoa", "ok"),
        ("users.roles", "hoa", "ok"),
        ("users.disable", "hoa", "ok"),
        ("users.enable", "hoa", "ok"),
        ("users.passwd", "hoa", "ok"),
    ]
    assert type(users.list()[0]).__module__ == "broadcaster.app.users"


def test_only_an_admin_manages_users_and_a_refusal_writes_nothing_else(ctx):
    users = service(ctx)
    users.add(ADMIN, "lan", PASSWORD, {Role.OFFICER})
    lan = users.get("lan").actor("web", "192.0.2.9")
    before = table_counts(ctx.root)
    for attempt in (
        lambda: users.add(lan, "moi", PASSWORD, {Role.ADMIN}),
        lambda: users.set_roles(lan, "lan", add={Role.ADMIN}),
        lambda: users.disable(lan, "lan"),
        lambda: users.passwd(lan, "other", PASSWORD),
    ):
        with pytest.raises(PermissionDenied, match="'quan-tri'"):
            attempt()
        assert last_entry(ctx).result == "refused"
    after = table_counts(ctx.root)
    assert after["user_account"] == before["user_account"] == 1
    assert after["audit_log"] == before["audit_log"] + 4
    assert users.get("lan").roles == {Role.OFFICER}
    users.passwd(lan, "lan", "của riêng tôi 12345")  # one's own password needs no admin
    assert users.authenticate("lan", "của riêng tôi 12345", face="web").name == "lan"


@pytest.mark.parametrize(
    ("name", "password", "field"),
    [
        ("ab\x07c", PASSWORD, "name"),
        ("tab\there", PASSWORD, "name"),
        ("a\u200bb", PASSWORD, "name"),
        ("cli:root", PASSWORD, "name"),
        (" lan", PASSWORD, "name"),
        ("", PASSWORD, "name"),
        ("lan", "short", "password"),
        ("lan", "123456789", "password"),
    ],
)
def test_bad_names_and_short_passwords_are_refused_before_anything_is_written(
    ctx, name, password, field
):
    users = service(ctx)
    with pytest.raises(BroadcasterError) as refused:
        users.add(ADMIN, name, password, {Role.OFFICER})
    assert refused.value.problem.field == field
    assert users.list() == []


def test_sign_in_right_wrong_unknown_and_disabled(ctx):
    users = service(ctx)
    users.add(ADMIN, "lan", PASSWORD, {Role.APPROVER})
    user = users.authenticate("lan", PASSWORD, face="web", address="192.0.2.5")
    assert user.roles == {Role.APPROVER}
    entry = last_entry(ctx)
    assert (entry.action, entry.actor, entry.result, entry.address) == (
        "auth.login",
        "lan",
        "ok",
        "192.0.2.5",
    )
    messages = set()
    for name, password, why in (
        ("lan", PASSWORD + "x", "wrong password"),
        ("khong-co", PASSWORD, "unknown user"),
    ):
        with pytest.raises(AuthenticationFailed) as failed:
            users.authenticate(name, password, face="web", address="192.0.2.5")
        messages.add(str(failed.value))
        entry = last_entry(ctx)
        assert (entry.action, entry.target, entry.result, entry.detail) == (
            "auth.login",
            name,
            "refused",
            why,
        )
    users.disable(ADMIN, "lan")
    with pytest.raises(AuthenticationFailed) as failed:
        users.authenticate("lan", PASSWORD, face="web")
    messages.add(str(failed.value))
    assert last_entry(ctx).detail == "account disabled"
    assert len(messages) == 1  # the same words whatever went wrong


def test_repeated_failures_lock_the_name_out_for_a_while(ctx):
    users = service(ctx, lockout_attempts=3, lockout_minutes=10)
    users.add(ADMIN, "lan", PASSWORD, {Role.APPROVER})
    clock: SimClock = ctx.clock
    for minute in (0, 1, 2):
        clock.advance_to(START + timedelta(minutes=minute))
        with pytest.raises(AuthenticationFailed, match="wrong"):
            users.authenticate("lan", "not the password", face="web")
    with pytest.raises(AuthenticationFailed, match="too many"):
        users.authenticate("lan", PASSWORD, face="web")  # even the right password
    assert last_entry(ctx).detail == "locked out"
    clock.advance_to(START + timedelta(minutes=10, seconds=30))  # the first failure expired
    with pytest.raises(AuthenticationFailed, match="wrong"):
        users.authenticate("lan", "not the password", face="web")
    with pytest.raises(AuthenticationFailed, match="too many"):
        users.authenticate("lan", PASSWORD, face="web")
    clock.advance_to(START + timedelta(minutes=21))
    assert users.authenticate("lan", PASSWORD, face="web").name == "lan"
    # A success clears the count: two more failures do not lock.
    for _ in range(2):
        with pytest.raises(AuthenticationFailed, match="wrong"):
            users.authenticate("lan", "not the password", face="web")
    assert users.authenticate("lan", PASSWORD, face="web").name == "lan"


def test_unknown_names_lock_out_like_real_ones(ctx):
    users = service(ctx, lockout_attempts=2, lockout_minutes=5)
    for _ in range(2):
        with pytest.raises(AuthenticationFailed, match="wrong"):
            users.authenticate("ai-do", PASSWORD, face="web")
    with pytest.raises(AuthenticationFailed, match="too many"):
        users.authenticate("ai-do", PASSWORD, face="web")


def test_the_audit_chain_verifies_and_breaks_in_process(ctx):
    trail = AuditTrail(ctx.db, ctx.clock)
    for i in range(3):
        trail.record(ADMIN, Action.SETTINGS_EDIT, f"setting-{i}", "ok", "")
    report = trail.verify()
    assert report.ok and report.count == 3
    with sqlite3.connect(ctx.root / "station.db") as conn:
        conn.execute("UPDATE audit_log SET result = 'ok', actor = 'someone' WHERE seq = 2")
    report = trail.verify()
    assert report.problems == ["entry 2: content edited (hash mismatch)"]
