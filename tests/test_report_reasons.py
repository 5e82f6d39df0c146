"""Log reasons in Vietnamese: the catalogue holds every reason template the engine can
store, the compiled catalogue is the one in the source, and a stored English reason is
matched back to its template and filled into the Vietnamese one."""

from __future__ import annotations

import gettext
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from broadcaster.i18n import LOCALE_DIR, catalogue
from broadcaster.reports.reasons import REASON_TEMPLATES, ReasonTranslator, vietnamese

REPO = Path(__file__).resolve().parent.parent
PO = LOCALE_DIR / "vi" / "LC_MESSAGES" / "broadcaster.po"
# _() messages of engine/ and playout/ that are printed, never stored as a log reason.
NOT_REASONS = {
    "another process holds this station's database ({holder}); "
    "only one daemon or simulation may run at a time",
    "gave up waiting for {holder} to release the station",
    # engine/planning.py: why a bulletin is left out of planning (check and status say it)
    "approved audio {path} is missing: not planned; run 'broadcaster render {id}' and "
    "approve it again",
    "changed since its approval: not planned until approved again",
    # playout/player_output.py: check --online's probe of a player, printed by check
    "player did not finish {s:.0f} s of silence within {t:.0f} s",
    # playout/icecast_output.py and playout/mqtt: settings and broker problems, printed
    "cannot read the source password: {err}",
    "cannot serve audio: {err}",
    "must be a mapping 'keys: {receiver: hex}'",
    "no key for this receiver",
    "'{id}' is not a slug",
    "receiver '{id}' listed twice",
    "give key_file (or key)",
    "key_file: {err}",
    "needs a '{file}' placeholder",
    "MQTT broker {host}:{port} unreachable: {err}",
    "MQTT broker {host}:{port} refused the connection: {err}",
    "no answer",
    # the outputs' environment checks (check --online), printed
    "ffmpeg is not installed: the icecast output cannot stream",
    "cannot write in '{dir}'",
    "{what} at {host}:{port} is not reachable: {err}",
    # playout/base.py: a plugin that cannot be imported, printed by check (or at start)
    "output type '{type}': its plugin cannot be loaded: {err}",
    # engine/clock.py: a bad BROADCASTER_NOW or BROADCASTER_CLOCK_OFFSET, printed
    "'{value}' is not a number of seconds",
    "'{value}' shifts the clock more than 50 years",
    "'{value}' is not an ISO 8601 instant",
    "give an offset, e.g. 2026-11-23T05:59+07:00",
    "'{text}' is outside the years {min} to {max}",
}


def _fields(template: str) -> set[str]:
    return {name for _t, name, _s, _c in string.Formatter().parse(template) if name}


def _po_messages() -> dict[str, str]:
    with PO.open("rb") as fh:
        po = read_po(fh, locale="vi")
    # Words with a context (pgettext: 'failed' of a week or of an airing) are checked by
    # tests/test_catalogue.py; the reasons have none.
    return {m.id: m.string for m in po if m.id and not m.context}


def test_every_stored_reason_of_the_engine_and_outputs_is_a_known_template():
    """A new _() reason in engine/ or playout/ must be added to REASON_TEMPLATES and the
    catalogue, or the reports would show it in English."""
    found = set()
    for package in ("engine", "playout"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            REPO / "broadcaster" / package,
            method_map=[("**.py", "python")],
            keywords={"_": None, "N_": None},
        ):
            found.add(message)
    assert found - NOT_REASONS <= set(REASON_TEMPLATES), found - NOT_REASONS - set(REASON_TEMPLATES)
    assert "cancelled by {by}" in REASON_TEMPLATES  # ops/actions.py, the operator's cancel


def test_catalogue_translates_every_template_with_the_same_placeholders():
    messages = _po_messages()
    for template in REASON_TEMPLATES:
        vi = messages.get(template)
        assert vi, f"no Vietnamese for {template!r}"
        assert vi != template
        assert _fields(vi) == _fields(template), template


def test_compiled_catalogue_is_the_source_catalogue():
    """The .mo the package loads (compiled by tools/install-deps.sh) says what the .po
    says: an edited .po that was not compiled again fails here."""
    mo = LOCALE_DIR / "vi" / "LC_MESSAGES" / "broadcaster.mo"
    assert mo.is_file(), "run: pybabel compile -D broadcaster -d broadcaster/locale"
    compiled = gettext.GNUTranslations(mo.open("rb"))
    for msgid, msgstr in _po_messages().items():
        assert compiled.gettext(msgid) == msgstr, msgid


def _sample(name: str) -> str:
    return {
        "deadline": "2026-11-25 06:20",
        "scheduled": "2026-11-25 06:00",
        "grace": "20",
        "err": "Permission denied",
    }.get(name, f"<{name}>")


def _without_specs(template: str) -> str:
    """'{played:.1f} s' -> '{played} s': the samples are text, as the matcher returns."""
    return "".join(
        text + ("{" + name + "}" if name is not None else "")
        for text, name, _spec, _conv in string.Formatter().parse(template)
    )


@pytest.mark.parametrize("template", REASON_TEMPLATES)
def test_each_template_round_trips_into_vietnamese(template: str):
    values = {name: _sample(name) for name in _fields(template)}
    stored = _without_specs(template).format(**values)
    translator = ReasonTranslator(catalogue("vi"))
    assert translator.match(stored) == (template, values)
    expected = _po_messages()[template].format(
        **{
            **values,
            **(
                {"deadline": "06:20 ngày 25/11/2026", "scheduled": "06:00 ngày 25/11/2026"}
                if "deadline" in values
                else {}
            ),
        }
    )
    assert vietnamese(stored) == expected


def test_missed_reason_reads_as_vietnamese_with_vietnamese_times():
    stored = (
        "not started by 2026-11-25 06:20 (scheduled 2026-11-25 06:00, grace 20 min): "
        "the station was down or the zone was busy"
    )
    assert vietnamese(stored) == (
        "không phát được trước 06:20 ngày 25/11/2026 (lịch phát 06:00 ngày 25/11/2026, cho "
        "phép trễ 20 phút): đài ngừng hoạt động hoặc cụm loa đang bận"
    )


def test_nested_joined_and_prefixed_reasons():
    # An output's error inside the engine's sentence.
    assert vietnamese("output 'files' failed: zone unreachable (simulated outage)") == (
        "thiết bị phát 'files' gặp lỗi: mất kết nối tới cụm loa (sự cố giả lập khi chạy mô phỏng)"
    )
    # A figure's reason line: counted outcome, then the stored reason.
    assert vietnamese("3 lượt bị hủy: cancelled by Trực ban") == "3 lượt bị hủy: do Trực ban hủy"
    # Receivers' outcomes joined by "; ", one with the receiver's own reason.
    assert vietnamese("no acknowledgement from r1, r2; r3: stopped early; played on 1/4: r4") == (
        "không nhận được xác nhận từ thiết bị thu r1, r2; r3: dừng trước khi phát xong; "
        "đã phát trên 1/4 thiết bị thu: r4"
    )
    # The more specific template wins over its prefix.
    assert vietnamese("not approved: the script or its audio changed after approval") == (
        "chưa được duyệt: kịch bản hoặc âm thanh đã thay đổi sau khi duyệt"
    )
    assert vietnamese("player exited with 2: no such file") == (
        "trình phát âm thanh dừng với mã lỗi 2: no such file"
    )


@pytest.mark.parametrize(
    "text",
    ["", "something nobody wrote a template for", "a: b; c", "mount-less: stopped earlyish"],
)
def test_unknown_reasons_are_shown_as_they_are(text: str):
    assert vietnamese(text) == text.strip()


def test_without_a_catalogue_the_stored_text_comes_back():
    english = ReasonTranslator(gettext.NullTranslations())
    stored = "cancelled by Trực ban"
    assert english.translate(stored) == stored
