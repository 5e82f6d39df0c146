"""A catalogue of hostile files and arguments, through the real executable.

Each case breaks one thing in a copy of the small station (tests/hostile/ holds the text
files) and runs one command. The rule for every refusal: exit 1 (2 for usage), one line
naming the file and field or the option, no traceback, and nothing written: the database,
the audio folders and ``out/`` are exactly as they were (``*.lock`` files aside, which a
daemon takes before it reads anything).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from stationkit import STATION_YAML, Cli, Result, script_text

HOSTILE = Path(__file__).resolve().parent / "hostile"
STATION = "schedules/station.yaml"
NOW = "2026-11-20T08:00+07:00"


# -- the rule -------------------------------------------------------------------------
def snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under the station (but locks): size and SHA-256; folders as (-1, '')."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.name.endswith(".lock"):
            continue
        rel = str(path.relative_to(root))
        if path.is_symlink() or not path.is_file():
            found[rel] = (-1, "")
        else:
            found[rel] = (path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def assert_refused(result: Result, code: int, *needles: str) -> None:
    assert result.code == code, (result.code, result.out, result.err)
    for stream in (result.out, result.err):
        assert "Traceback" not in stream, stream
        assert "internal error" not in stream, stream
    said = result.err + result.out  # render reports each failure in its table
    for needle in needles:
        assert needle in said, (needle, said)


#: The line a text appended to the test station's station.yaml starts on.
APPENDED = STATION_YAML.count("\n") + 1


def append_station(root: Path, text: str) -> None:
    path = root / STATION
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def write_script(root: Path, name: str, text: str | bytes) -> None:
    path = root / "scripts" / f"{name}.md"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def recorded_script(bulletin_id: str, audio: str) -> str:
    return (
        f"---\nid: {bulletin_id}\ntitle: Ghi âm {bulletin_id}\ncampaign: nq57\n"
        f"priority: normal\nzones: all\nlanguage: vi\naudio: {audio}\n---\n"
    )


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def tone(path: Path, seconds: float = 4) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-ac", "1", str(path))
    return path


# -- setups ---------------------------------------------------------------------------
def bomb_in_station(root: Path) -> None:
    append_station(root, (HOSTILE / "billion_laughs.yaml").read_text(encoding="utf-8"))


def loop_in_station(root: Path) -> None:
    append_station(root, (HOSTILE / "recursive_alias.yaml").read_text(encoding="utf-8"))


def deep_in_station(root: Path) -> None:
    append_station(root, "x-deep: " + "[" * 5000 + "]" * 5000 + "\n")


def duplicate_in_station(root: Path) -> None:
    path = root / STATION
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("  grace_minutes: 20\n", "  grace_minutes: 20\n  grace_minutes: 600\n")
    )


def huge_station(root: Path) -> None:
    append_station(root, "x-pad: '" + "a" * (5 * 1024 * 1024) + "'\n")


def bomb_in_front_matter(root: Path) -> None:
    bomb = (HOSTILE / "billion_laughs.yaml").read_text(encoding="utf-8")
    write_script(root, "bom", "---\nid: bom\n" + bomb + "---\nNội dung.\n")


def duplicate_in_front_matter(root: Path) -> None:
    text = script_text("trung", "normal", "nq57", "Nội dung.", "all")
    write_script(
        root, "trung", text.replace("priority: normal\n", "priority: normal\npriority: emergency\n")
    )


def bomb_in_lexicon(root: Path) -> None:
    bomb = (HOSTILE / "billion_laughs.yaml").read_text(encoding="utf-8")
    (root / "schedules" / "lexicon.yaml").write_text(bomb, encoding="utf-8")


def duplicate_in_lexicon(root: Path) -> None:
    (root / "schedules" / "lexicon.yaml").write_text(
        "entries:\n  HTX: hợp tác xã\n  HTX: hát tê ích\n", encoding="utf-8"
    )


def nul_in_body(root: Path) -> None:
    write_script(root, "nul", script_text("nul", "normal", "nq57", "Bà con\x00 chú ý.", "all"))


def escape_in_body(root: Path) -> None:
    write_script(root, "esc", script_text("esc", "normal", "nq57", "Bà con \x1b[2J chú ý.", "all"))


def bidi_in_body(root: Path) -> None:
    write_script(
        root, "bidi", script_text("bidi", "normal", "nq57", "Họp lúc \u202e03:71\u202c.", "all")
    )


def audio_absolute(root: Path) -> None:
    write_script(root, "tuyet-doi", recorded_script("tuyet-doi", "/etc/passwd"))


def audio_traversal(root: Path) -> None:
    outside = tone(root.parent / "outside.mp3")
    write_script(root, "ra-ngoai", recorded_script("ra-ngoai", f"../{outside.name}"))


def audio_symlink_passwd(root: Path) -> None:
    (root / "audio" / "recorded").mkdir(parents=True, exist_ok=True)
    (root / "audio" / "recorded" / "loa.mp3").symlink_to("/etc/passwd")
    write_script(root, "lien-ket", recorded_script("lien-ket", "audio/recorded/loa.mp3"))


def audio_symlink_outside(root: Path) -> None:
    outside = tone(root.parent / "elsewhere" / "real.mp3")
    (root / "audio" / "recorded").mkdir(parents=True, exist_ok=True)
    (root / "audio" / "recorded" / "loa.mp3").symlink_to(outside)
    write_script(root, "lien-ket", recorded_script("lien-ket", "audio/recorded/loa.mp3"))


def jingle_traversal(root: Path) -> None:
    tone(root.parent / "jingle.mp3")
    append_station(root, "production:\n  jingles: {intro: ../jingle.mp3}\n")


def text_named_mp3(root: Path) -> None:
    folder = root / "audio" / "recorded"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gia.mp3").write_text("Đây không phải âm thanh.\n" * 50, encoding="utf-8")
    write_script(root, "gia", recorded_script("gia", "audio/recorded/gia.mp3"))


def truncated_mp3(root: Path) -> None:
    full = tone(root.parent / "full.mp3", seconds=20)
    data = full.read_bytes()
    folder = root / "audio" / "recorded"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cut.mp3").write_bytes(data[: len(data) // 2 + 37])
    write_script(root, "cut", recorded_script("cut", "audio/recorded/cut.mp3"))


def silent_wav(root: Path) -> None:
    folder = root / "audio" / "recorded"
    folder.mkdir(parents=True, exist_ok=True)
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono", "-t", "5", str(folder / "im.wav"))
    write_script(root, "im", recorded_script("im", "audio/recorded/im.wav"))


def three_hours(root: Path) -> None:
    folder = root / "audio" / "recorded"
    folder.mkdir(parents=True, exist_ok=True)
    with wave.open(str(folder / "dai.wav"), "wb") as w:  # 8 kHz, 8-bit: 86 MB, written fast
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        block = bytes([128, 160, 128, 96]) * 200_000
        for _ in range(3 * 3600 * 8000 // len(block)):
            w.writeframesraw(block)
    write_script(root, "dai", recorded_script("dai", "audio/recorded/dai.wav"))


def mqtt_without_keys(root: Path) -> None:
    path = root / STATION
    text = path.read_text(encoding="utf-8").replace(
        "  files: {type: file, dir: out}\n",
        "  files: {type: file, dir: out}\n  loa: {type: mqtt, receivers: {thon-a: [r1]}}\n",
    )
    path.write_text(text.replace("kind: cluster, output: files}", "kind: cluster, output: loa}", 1))


def out_dir_is_a_file(root: Path) -> None:
    (root / "out").write_text("not a folder\n")


def keys_readable(root: Path) -> None:
    path = root / STATION
    text = path.read_text(encoding="utf-8").replace(
        "  files: {type: file, dir: out}\n",
        "  files: {type: file, dir: out}\n"
        "  loa: {type: mqtt, keys_file: keys.yaml, receivers: {thon-a: [r1]}}\n",
    )
    path.write_text(text.replace("kind: cluster, output: files}", "kind: cluster, output: loa}", 1))
    keys = root / "keys.yaml"
    keys.write_text("keys:\n  r1: '" + "ab" * 32 + "'\n")
    keys.chmod(0o644)


def unknown_campaign(root: Path) -> None:
    append_station(
        root,
        "  - {id: khong-co, title: Không có bài, campaign: khong-co-bai, min: 1, per: week, zones: all}\n",
    )


def garbage_db_file(root: Path) -> None:
    (root / "station.db").write_text("this is a text file, not a database\n")


def corrupt_db_file(root: Path) -> None:
    (root / "station.db").write_bytes(b"SQLite format 3\x00" + os.urandom(4096))


def nothing(root: Path) -> None:
    return None


# -- the catalogue ----------------------------------------------------------------------
@dataclass
class Case:
    name: str
    setup: Callable[[Path], None]
    argv: tuple[str, ...]
    code: int
    needles: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    warning: bool = False  # the command succeeds and warns (check's warnings)


CASES = [
    # YAML bombs and duplicates, in every file the station reads
    Case("billion-laughs-station", bomb_in_station, ("check",), 1,
         (f"{STATION}:", "expands to more than")),
    Case("billion-laughs-station-plan", bomb_in_station, ("plan",), 1, ("expands to more than",)),
    Case("recursive-alias-station", loop_in_station, ("check",), 1,
         (f"{STATION}:", "refers to its own anchor")),
    Case("deep-nesting-station", deep_in_station, ("check",), 1, (f"{STATION}:{APPENDED}:", "nest")),
    Case("duplicate-key-station", duplicate_in_station, ("check",), 1,
         (f"{STATION}:7: station.grace_minutes: duplicate key 'grace_minutes' (first on line 6)",)),
    Case("huge-station", huge_station, ("check",), 1, (f"{STATION}:", "too large")),
    Case("billion-laughs-front-matter", bomb_in_front_matter, ("check",), 1,
         ("scripts/bom.md:", "expands to more than")),
    Case("duplicate-key-front-matter", duplicate_in_front_matter, ("check",), 1,
         ("scripts/trung.md:6: priority: duplicate key 'priority' (first on line 5)",)),
    Case("billion-laughs-lexicon", bomb_in_lexicon, ("check",), 1,
         ("lexicon.yaml:", "expands to more than")),
    Case("duplicate-key-lexicon", duplicate_in_lexicon, ("check",), 1,
         ("lexicon.yaml:3: duplicate key 'HTX' (first on line 2)",)),
    Case("billion-laughs-receiver", nothing, ("receiver", str(HOSTILE / "receiver_bomb.yaml")), 1,
         ("receiver_bomb.yaml:", "expands to more than")),
    # characters no script should carry
    Case("nul-in-body", nul_in_body, ("check",), 1,
         ("scripts/nul.md:11: control character U+0000 at column 7",)),
    Case("escape-in-body", escape_in_body, ("check",), 1, ("scripts/esc.md:11:", "U+001B")),
    Case("bidi-override-in-body", bidi_in_body, ("check",), 1, ("scripts/bidi.md:11:", "U+202E")),
    # paths that leave the station
    Case("audio-absolute", audio_absolute, ("check",), 1,
         ("scripts/tuyet-doi.md:8: audio: '/etc/passwd' is an absolute path",)),
    Case("audio-traversal", audio_traversal, ("check",), 1,
         ("scripts/ra-ngoai.md:8: audio: '../outside.mp3' leads outside the station folder",)),
    Case("audio-symlink-passwd", audio_symlink_passwd, ("check",), 1,
         ("scripts/lien-ket.md:8: audio:", "leads outside the station folder")),
    Case("audio-symlink-outside", audio_symlink_outside, ("render", "--json", "lien-ket"), 1,
         ("scripts/lien-ket.md:8: audio:", "leads outside the station folder")),
    Case("jingle-traversal", jingle_traversal, ("check",), 1,
         (f"{STATION}:", "production.jingles.intro: '../jingle.mp3' leads outside")),
    # recordings that are not what they claim
    Case("text-named-mp3", text_named_mp3, ("check",), 1,
         ("scripts/gia.md: audio: audio/recorded/gia.mp3: cannot decode audio: not an audio file",)),
    Case("text-named-mp3-render", text_named_mp3, ("render", "--offline", "--json", "gia"), 1,
         ("gia.mp3", "not an audio file")),
    Case("truncated-mp3", truncated_mp3, ("check",), 1,
         ("scripts/cut.md: audio: audio/recorded/cut.mp3:", "cut off")),
    Case("truncated-mp3-render", truncated_mp3, ("render", "--offline", "--json", "cut"), 1, ("cut off",)),
    Case("silent-recording", silent_wav, ("check",), 1,
         ("scripts/im.md: audio: audio/recorded/im.wav: the recording is silent",)),
    Case("three-hour-recording", three_hours, ("check",), 1,
         ("scripts/dai.md: audio: audio/recorded/dai.wav lasts 3:00:00",
          "longest: 10 min", "never be planned")),
    # what check now sees in the outputs and requirements
    Case("mqtt-without-keys-file", mqtt_without_keys, ("check",), 1,
         (f"{STATION}:", "outputs.loa.keys_file:")),
    Case("out-dir-is-a-file", out_dir_is_a_file, ("check",), 1,
         ("outputs.files.dir: 'out' is a file, not a folder",)),
    Case("keys-readable-by-others", keys_readable, ("check",), 0,
         ("outputs.loa.keys_file: keys.yaml can be read by other users (mode 0644)",), warning=True),
    Case("campaign-without-script", unknown_campaign, ("check",), 0,
         ("no script belongs to campaign 'khong-co-bai'",), warning=True),
    # arguments
    Case("week-9999", nothing, ("plan", "--week", "9999-W52"), 2, ("--week: '9999-W52' is outside",)),
    Case("week-0001", nothing, ("status", "--week", "0001-W01"), 2, ("--week: '0001-W01' is outside",)),
    Case("simulate-year-1", nothing, ("simulate", "--from", "0001-01-01", "--to", "0001-01-02"), 2,
         ("--from: '0001-01-01' is outside",)),
    Case("queue-year-1", nothing, ("queue", "nq57-mot", "--zone", "xa", "--at", "0001-01-01 06:00"), 2,
         ("--at: '0001-01-01 06:00' is outside",)),
    Case("cancel-huge-id", nothing, ("cancel", "99999999999999999999"), 2, ("AIRING",)),
    Case("approve-long-name", nothing, ("approve", "nq57-mot", "--by", "A" * 100_000), 2,
         ("--by: a name of 100000 characters is too long (at most 200)",)),
    Case("approve-control-name", nothing, ("approve", "nq57-mot", "--by", "Ông\x1b[31mA"), 2,
         ("--by: the name contains the control character U+001B",)),
    Case("cancel-control-name", nothing, ("cancel", "1", "--by", "x\x07y"), 2, ("--by:", "U+0007")),
    Case("db-url-garbage", nothing, ("--db", "::not a url::", "status"), 1, ("not a database URL",)),
    Case("db-postgres-no-driver", nothing, ("--db", "postgresql://u:secret@127.0.0.1/x", "status"), 1,
         ("postgresql://u:***@127.0.0.1/x", "driver is not installed")),
    Case("db-missing-folder", nothing, ("--db", "sqlite:////nonexistent/folder/x.db", "status"), 1,
         ("the folder /nonexistent/folder does not exist",)),
    Case("db-text-file", garbage_db_file, ("status",), 1, ("station.db", "not a SQLite database file")),
    Case("db-corrupt", corrupt_db_file, ("status",), 1, ("station.db", "database")),
    Case("clock-offset-inf", nothing, ("status",), 2,
         ("BROADCASTER_CLOCK_OFFSET: 'inf' is not a number of seconds",),
         env={"BROADCASTER_CLOCK_OFFSET": "inf"}),
    Case("clock-offset-huge", nothing, ("status",), 2, ("more than 50 years",),
         env={"BROADCASTER_CLOCK_OFFSET": "1e300"}),
    Case("now-year-9999", nothing, ("status",), 2, ("BROADCASTER_NOW:", "outside the years"),
         env={"BROADCASTER_NOW": "9999-12-31T23:00+07:00"}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_is_refused_cleanly(case: Case, bare_station: Path) -> None:
    case.setup(bare_station)
    before = snapshot(bare_station)
    env = {"BROADCASTER_NOW": NOW, **case.env}
    if "BROADCASTER_CLOCK_OFFSET" in case.env:
        env.pop("BROADCASTER_NOW")
    result = Cli(bare_station, env=env)(*case.argv)
    assert_refused(result, case.code, *case.needles)
    if not case.warning:
        assert len([line for line in result.err.splitlines() if line.strip()]) <= 3, result.err
    after = snapshot(bare_station)
    if case.argv[0] == "render":  # render records its failures; it never writes their audio
        new = set(after) - set(before)
        assert not [p for p in new if p.startswith("audio/") and not p.endswith("/rendered")], new
    else:
        assert after == before


def test_a_keys_file_that_is_not_utf8_is_named(bare_station: Path) -> None:
    """`receivers volume` reads the keys file before any network: Latin-1 is one line."""
    keys_readable(bare_station)
    shutil.copy(HOSTILE / "not_utf8_keys.yaml", bare_station / "keys.yaml")
    before = snapshot(bare_station)
    result = Cli(bare_station, env={"BROADCASTER_NOW": NOW})("receivers", "volume", "50")
    assert_refused(result, 1, "keys.yaml:2: not UTF-8 text")
    assert snapshot(bare_station) == before


def test_run_without_ffmpeg_says_so(bare_station: Path, tmp_path: Path) -> None:
    """An icecast output needs ffmpeg: without it, `run` stops with one line, exit 1."""
    (bare_station / "icecast.pw").write_text("hackme\n")
    (bare_station / "icecast.pw").chmod(0o600)
    path = bare_station / STATION
    text = path.read_text(encoding="utf-8").replace(
        "  files: {type: file, dir: out}\n",
        "  files: {type: file, dir: out}\n"
        "  stream: {type: icecast, password_file: icecast.pw, mounts: {xa: /xa.mp3}}\n",
    )
    path.write_text(text.replace("kind: station, output: files}", "kind: station, output: stream}"))
    empty = tmp_path / "bin"
    empty.mkdir()
    cli = Cli(bare_station, env={"BROADCASTER_NOW": NOW, "PATH": str(empty)})
    result = cli("run", "--no-autoplan")
    assert_refused(result, 1, "ffmpeg is not installed")


def test_an_unexpected_error_is_one_line_and_the_traceback_waits_for_debug(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug is never hidden: one line naming it, exit 70; the traceback with --debug."""
    import typer

    from broadcaster.cli import app as cli_app

    buggy = typer.Typer()

    @buggy.command()
    def boom(debug: bool = typer.Option(False, "--debug")) -> None:
        cli_app.common.state.debug = debug
        raise ValueError("a bug in the station")

    monkeypatch.setattr(cli_app, "app", buggy)
    monkeypatch.delenv("BROADCASTER_DEBUG", raising=False)
    cli_app.common.state.debug = False
    assert cli_app.run([]) == cli_app.EXIT_BUG
    said = capsys.readouterr().err
    assert "internal error: ValueError: a bug in the station" in said
    assert "Traceback" not in said
    assert cli_app.run(["--debug"]) == cli_app.EXIT_BUG
    assert "Traceback" in capsys.readouterr().err
    cli_app.common.state.debug = False


def test_a_forged_database_row_id_beyond_sqlite_is_refused_by_the_parser(station: Path) -> None:
    """The same huge id on a real, rendered station: refused before the database opens."""
    conn = sqlite3.connect(station / "station.db")
    count = conn.execute("SELECT COUNT(*) FROM airing").fetchone()[0]
    conn.close()
    before = snapshot(station)
    result = Cli(station)("cancel", str(2**63))
    assert_refused(result, 2)
    assert snapshot(station) == before
    conn = sqlite3.connect(station / "station.db")
    assert conn.execute("SELECT COUNT(*) FROM airing").fetchone()[0] == count
    conn.close()


def test_secrets_are_written_0600_and_never_through_a_link(tmp_path: Path) -> None:
    from broadcaster.app.checks import readable_by_others
    from broadcaster.config.secrets import write_secret

    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n")
    planted = tmp_path / "keys.yaml"
    planted.symlink_to(victim)
    old = os.umask(0o000)
    try:
        write_secret(planted, "keys:\n  r1: '" + "ab" * 32 + "'\n")
    finally:
        os.umask(old)
    assert not planted.is_symlink()
    assert victim.read_text() == "untouched\n"
    assert (planted.stat().st_mode & 0o777) == 0o600
    assert readable_by_others(planted) is None
    planted.chmod(0o640)
    assert readable_by_others(planted) == 0o640
