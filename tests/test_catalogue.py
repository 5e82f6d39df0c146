"""Vietnamese first: every message of the package is in the Vietnamese catalogue, no raised
message bypasses ``_()``, and the language follows one rule (``--lang`` > the locale >
``station.language`` > Vietnamese) while ``--json`` stays English."""

from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from stationkit import Cli

from broadcaster import i18n
from broadcaster.i18n import LOCALE_DIR, language_from_environment

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "broadcaster"
PO = LOCALE_DIR / "vi" / "LC_MESSAGES" / "broadcaster.po"
KEYWORDS = {"_": None, "N_": None, "pgettext": ((1, "c"), 2)}

# The error types whose message a person reads (or an as-run log stores): the roots, and
# every class of the package that derives from one of them (found below).
ERROR_ROOTS = {"BroadcasterError", "Problem", "UsageProblem", "ConfigErrors", "OutputError"}
MARKERS = {"_", "N_", "pgettext"}


def _catalogue() -> dict[tuple[str | None, str], str]:
    with PO.open("rb") as fh:
        po = read_po(fh, locale="vi")
    return {(m.context, m.id): m.string for m in po if m.id}


def _extracted() -> list[tuple[str, int, str | None, str]]:
    found = []
    for file, line, message, _comments, context in extract_from_dir(
        PACKAGE,
        # The web station's templates call the same _() (a Jinja global) with literals.
        method_map=[("**.py", "python"), ("web/templates/**.html", "jinja2.ext:babel_extract")],
        keywords=KEYWORDS,
    ):
        if isinstance(message, tuple):  # pgettext: (context, message) with Babel's spec
            message = message[-1]
        found.append((file, line, context, message))
    return found


def _fields(text: str) -> set[str]:
    """The placeholder names (a stored reason's translation drops ``:.1f``: the reports
    fill it with the text the log holds)."""
    return {name for _t, name, _spec, _c in string.Formatter().parse(text) if name}


def test_every_message_of_the_package_has_a_vietnamese_translation():
    messages = _catalogue()
    missing, broken = [], []
    for file, line, context, msgid in _extracted():
        vi = messages.get((context, msgid))
        if not vi:
            missing.append(f"broadcaster/{file}:{line}: {msgid!r}")
        elif _fields(vi) != _fields(msgid):
            broken.append(f"broadcaster/{file}:{line}: {msgid!r} -> {vi!r}")
    assert not missing, "no Vietnamese in broadcaster.po for:\n" + "\n".join(missing)
    assert not broken, "placeholders differ:\n" + "\n".join(broken)


def test_the_extraction_sees_the_words_a_table_shows():
    """The scan above cannot pass by finding nothing: it finds the state words."""
    found = {(c, m) for _f, _l, c, m in _extracted()}
    assert ("compliance", "on-track") in found and ("airing", "failed") in found
    assert (None, "not approved") in found  # an N_ reason
    assert (None, "Sign in") in found  # a web template's word
    assert len(found) > 300


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(PACKAGE.rglob("*.py"))]


def _error_classes(modules: list[tuple[Path, ast.Module]]) -> set[str]:
    """The roots and every class of the package deriving from one, to a fixed point."""
    names = set(ERROR_ROOTS)
    grew = True
    while grew:
        grew = False
        for _path, tree in modules:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {
                        b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                        for b in node.bases
                    }
                    if bases & names:
                        names.add(node.name)
                        grew = True
    return names


def _bare_text(node: ast.AST) -> bool:
    """A message written out in the code instead of through the catalogue."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(node.value.strip())
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _bare_text(node.left) or _bare_text(node.right)
    if isinstance(node, ast.IfExp):
        return _bare_text(node.body) or _bare_text(node.orelse)
    return False


def _called(node: ast.Call) -> str | None:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def test_no_raised_message_bypasses_the_catalogue():
    modules = _modules()
    errors = _error_classes(modules)
    assert {"KeyProblem", "PermissionDenied", "AuthenticationFailed"} <= errors
    bad = []
    for path, tree in modules:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _called(node)
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            if name in errors:
                given = list(node.args[:1]) + [k.value for k in node.keywords if k.arg == "message"]
                bad += [f"{where}: {name}({ast.unparse(a)[:80]})" for a in given if _bare_text(a)]
            elif isinstance(node.func, ast.Name) and name in MARKERS:
                # _() takes a literal msgid: an f-string (or a variable) is never in the
                # catalogue; placeholders are filled with .format() after translation.
                text = (
                    node.args[-1]
                    if name == "pgettext" and node.args
                    else next(iter(node.args), None)
                )
                if not (isinstance(text, ast.Constant) and isinstance(text.value, str)):
                    bad.append(f"{where}: {name}() of {ast.unparse(text) if text else 'nothing'}")
    assert not bad, "messages that bypass _():\n" + "\n".join(bad)


def test_the_scan_catches_a_bare_message():
    tree = ast.parse('raise UsageProblem(f"--week: {x} is bad")\nraise KeyProblem("no key")')
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert all(_bare_text(c.args[0]) for c in calls)
    assert not _bare_text(ast.parse('_("no key").format(x=1)', mode="eval").body)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"LANG": "C.UTF-8"}, None),
        ({"LANG": "POSIX", "LC_ALL": ""}, None),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "vi_VN.UTF-8"}, "vi"),
        ({"LANG": "fr_FR.UTF-8"}, "en"),  # a language without a catalogue: the msgids
        ({"LANGUAGE": "en", "LANG": "vi_VN.UTF-8"}, "en"),
        ({"LANGUAGE": "fr:vi", "LANG": "en_US.UTF-8"}, "vi"),
        ({"LC_ALL": "C", "LANG": "en_US.UTF-8"}, "en"),
        ({"LC_MESSAGES": "vi_VN", "LANG": "en_US.UTF-8"}, "vi"),
    ],
)
def test_the_locale_names_a_language_or_leaves_the_choice(env, expected):
    assert language_from_environment(env) == expected


def test_the_language_switches_at_run_time(monkeypatch):
    for var in i18n.LOCALE_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    try:
        assert i18n.set_language(None) == "vi"
        assert i18n._("not approved") == "bản tin chưa được duyệt"
        assert i18n.state_word("at-risk") == "có nguy cơ"
        assert i18n.status_word("failed") == "phát lỗi" != i18n.state_word("failed")
        assert i18n.use_station_language("en") == "en"  # the station may choose English
        assert i18n._("not approved") == "not approved"
        assert i18n.set_language("vi") == "vi"
        assert i18n.use_station_language("en") == "vi"  # --lang wins over the station
        monkeypatch.setenv("LANG", "en_US.UTF-8")
        assert i18n.set_language(None) == "en"
        assert i18n.use_station_language("vi") == "en"  # the locale wins over the station
        assert i18n.N_("not approved") == "not approved"  # stored text is never translated
    finally:
        monkeypatch.undo()
        i18n.set_language(None)


# The small station's status, in each language the rule can pick.
NO_LOCALE = {"LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "C.UTF-8"}
VIETNAMESE_STATES = ("đạt", "đúng tiến độ", "có nguy cơ", "không đạt")
ENGLISH_STATES = ("met", "on-track", "at-risk", "failed")


def _status(root: Path, *options: str, **env: str) -> str:
    return Cli(root, {**NO_LOCALE, **env})(*options, "status", "--week", "2026-W48", check=True).out


def test_status_is_vietnamese_by_default_and_english_on_request(cli):
    cli("plan", "--week", "2026-W48", check=True)
    vi = _status(cli.root)
    assert "cụm loa" in vi and "yêu cầu" in vi and "tuần 2026-W48" in vi, vi
    assert any(word in vi for word in VIETNAMESE_STATES), vi
    assert not re.search(r"\b(zone|requirement|on-track|at-risk)\b", vi), vi
    # the requirement by the words of the plan, not its id (rich may wrap the title)
    assert "nq57-tuan" not in vi and "Tuyên" in vi and "Nghị" in vi, vi
    for en in (_status(cli.root, "--lang", "en"), _status(cli.root, LANG="en_US.UTF-8")):
        assert "zone" in en and "requirement" in en and "week 2026-W48" in en, en
        assert any(word in en for word in ENGLISH_STATES), en
        assert "cụm loa" not in en
    assert "cụm loa" in _status(cli.root, "--lang", "vi", LANG="en_US.UTF-8")  # --lang first
    # --json: English field names and values, whoever runs it.
    as_json = [
        json.loads(
            Cli(cli.root, {**NO_LOCALE, **env})(
                *opts, "status", "--week", "2026-W48", "--json", check=True
            ).out
        )
        for opts, env in (((), {}), (("--lang", "en"), {}))
    ]
    assert as_json[0] == as_json[1]
    assert {row["state"] for row in as_json[0]} <= {"met", "on-track", "at-risk", "failed"}


def test_station_language_en_makes_english_the_default(cli):
    yaml_path = cli.root / "schedules" / "station.yaml"
    text = yaml_path.read_text(encoding="utf-8")
    assert text.startswith("station:\n")
    yaml_path.write_text(text.replace("station:\n", "station:\n  language: en\n", 1), "utf-8")
    assert "requirement" in _status(cli.root)
    assert "yêu cầu" in _status(cli.root, "--lang", "vi")
    yaml_path.write_text(text.replace("station:\n", "station:\n  language: fr\n", 1), "utf-8")
    bad = Cli(cli.root, NO_LOCALE)("check")
    assert bad.code == 1 and "station.language" in bad.err, bad.err


def test_clock_kinds_are_words_of_the_language():
    """The unreal-clock warning names each kind in the reader's words (it printed the
    English "simulated" inside a Vietnamese sentence)."""
    from broadcaster.i18n import clock_word, set_language

    try:
        set_language("vi")
        assert clock_word("simulated") == "mô phỏng"
        assert clock_word("shifted:+3600s") == "đồng hồ bị dịch +3600s"
        set_language("en")
        assert clock_word("simulated") == "simulated"
        assert clock_word("unknown", "vi") == "không rõ"  # a document's own language
    finally:
        set_language(None)
