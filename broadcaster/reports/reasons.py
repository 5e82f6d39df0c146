"""Log reasons in Vietnamese, for the reports.

The as-run log stores each reason as the engine wrote it: an English sentence made from a
``_()`` template ("not started by {deadline} (scheduled {scheduled}, grace {grace} min):
..."). The log is evidence and stays as written; a report in Vietnamese must still say
why an airing failed in Vietnamese. So a stored reason is matched back against the
templates it can have come from (each template becomes an anchored regular expression,
its placeholders the groups), the values are taken out, and the Vietnamese template of the
gettext catalogue (``broadcaster/locale/vi/LC_MESSAGES/broadcaster.po``) is filled with
them. Values that are reasons themselves (an output's error inside "output '{name}'
failed: {err}") are translated the same way. A reason no template explains is shown as it
is: a report never guesses.

Reasons the engine composes ("3 lượt thất bại: <reason>", "<receiver>: <reason>",
several outcomes joined by "; ") are translated part by part.
"""

from __future__ import annotations

import gettext
import re
import string
from dataclasses import dataclass
from functools import lru_cache

from broadcaster.i18n import catalogue

# Every English text the engine, the approval gate and the outputs store as a log reason
# (the msgids of the catalogue). Those marked ``_()`` in broadcaster/engine and
# broadcaster/playout are checked against this list by tests/test_report_reasons.py; the
# network outputs' own texts (playout/mqtt, playout/icecast_output.py) are listed too.
REASON_TEMPLATES: tuple[str, ...] = (
    # engine/station_engine.py
    "not started by {deadline} (scheduled {scheduled}, grace {grace} min): "
    "the station was down or the zone was busy",
    "not started by the end of its session at {deadline} (scheduled {scheduled}): "
    "no room was left in the session, or the station was down",
    "output '{name}' failed: {err}",
    "playout failed",
    # engine/library.py: the station key cannot vouch for the approval
    "approval cannot be checked: {why}",
    "the station stopped during playout (crash or power loss)",
    # engine/lanes.py, engine/realtime.py, engine/simulated.py
    "interrupted by emergency airing {id}",
    "the station daemon was stopped",
    "zone unreachable (simulated outage)",
    # engine/relaying.py (a relay window's entry; parts joined by "; ")
    "source '{source}' never came up: {err}",
    "relayed {relayed} s of {total} s (at least {need} s required)",
    "cut by emergency airing {id} for {seconds} s",
    "the station stopped during the relay (crash or power loss): what went out before "
    "is not counted",
    "output '{name}' cannot carry a relay",
    "source '{source}' is not configured",
    "mount {mount} is busy with relay {relay}",
    "cut by {id} for {seconds} s",
    "{seconds} s of dead air not counted as relayed",
    # engine/live.py (a live broadcast's entry per zone; parts joined by "; ")
    "ended at the time-out of {minutes} min",
    "stopped by {by}",
    "the input ended",
    "the input '{input}' never gave audio: {err}",
    "output '{name}' cannot carry a live broadcast",
    "an emergency held the zone for the whole broadcast",
    "the recording failed: {err}",
    "the station stopped during the live broadcast (crash or power loss): its end is not known",
    "interrupted by live broadcast {id}",
    # engine/library.py (the approval gate)
    "script '{id}' is missing or invalid",
    "script file {path} is unreadable",
    "not approved: the script or its audio changed after approval",
    "not approved",
    "approved audio {path} is missing",
    "audio {path} differs from the approved audio (hash mismatch)",
    # playout/file_output.py, playout/player_output.py
    "stopped",
    "cannot write to {dir}: {err}",
    "player exited with {code}: {err}",
    "player '{cmd}' is not installed",
    "cannot start player: {err}",
    # ops/actions.py (cancel)
    "cancelled by {by}",
    # playout/mqtt (per receiver, joined by "; ") and the reference receiver
    "no acknowledgement from {receivers}",
    "no completion report from {receiver}",
    "played on {played}/{total}: {receivers}",
    "stopped by the station",
    "stopped early",
    "preempted by airing {id}",
    "player exited with {code}",
    "receiver shut down",
    "not sounded: keep_relays is false (a test rack)",
    # playout/icecast_output.py
    "mount {mount}: source not connected: {err}",
    "mount {mount} is busy with airing {id}",
    "mount {mount}: {err}",
    "ffmpeg exited with {code}",
    "ffmpeg exited",
    "cannot decode {name}: {err}",
    "ffmpeg is not installed",
    "no mount configured for zone '{zone}'",
    # playout/mqtt/output.py: an airing the network output cannot start
    "cannot read {path}: {err}",
    "no receivers configured for zone '{zone}'",
    # the start path and the outputs (issue 10: write-ahead starts, player verdicts, files)
    "approved audio {path} is unreadable: {err}",
    "cannot create {path}: {err}",
    "{path} is not a folder owned by the station's user",
    "player could not open its device: {err}",
    "player returned early: played {played:.1f} s of {total:.0f} s",
    "stopped on air by {by} after {played:.1f} s of {total:.0f} s",
    "the station stopped during playout (crash or power loss); {by} had asked to stop it",
    "{status} (no reason was given by the output)",
    # relays on mqtt receivers and dead-air alerts (issue 16)
    "relayed on {ok} of {total} receivers: {details}",
    "{receiver}: relayed {relayed} s (at least {need} s required)",
    "{station}: dead air on {zone} since {at} ({seconds} s), during {what}",
    "exited with {code}",
    "killed after {seconds} s",
    "{path} is a link",
    "{path} is a link or not a folder",
    "{path} is not a plain file of the station's own",
    "{path} is not owned by the station's user",
)

# Placeholders holding a local time as the engine formats it ("2026-11-25 06:20").
_TIME_FIELDS = frozenset({"deadline", "scheduled"})
_ENGINE_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}:\d{2})(?::\d{2})?")


@dataclass(frozen=True)
class Template:
    """One reason template and the expression that recognises its sentences."""

    msgid: str
    pattern: re.Pattern[str]
    literal_chars: int  # how much fixed text it has: the more, the more specific


def compile_template(msgid: str) -> Template:
    """'cannot write to {dir}: {err}' -> ^cannot write to (?P<dir>.+?): (?P<err>.+?)$."""
    regex, seen, literal = [], set(), 0
    for text, name, _spec, _conv in string.Formatter().parse(msgid):
        regex.append(re.escape(text))
        literal += len(text)
        if name is None:
            continue
        regex.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
    return Template(msgid, re.compile("".join(regex), re.S), literal)


class ReasonTranslator:
    """English log reasons -> the catalogue's language, by reverse-matching templates."""

    def __init__(
        self, translation: gettext.NullTranslations, templates: tuple[str, ...] = REASON_TEMPLATES
    ) -> None:
        self._translation = translation
        compiled = [compile_template(t) for t in templates]
        # Most specific first: "not approved: the script ..." before "not approved".
        self._templates = sorted(compiled, key=lambda t: -t.literal_chars)

    def match(self, text: str, joined: bool = True) -> tuple[str, dict[str, str]] | None:
        """The template a stored reason was made from, and its values; None if none.

        With ``joined=False`` no value may contain "; ": "no acknowledgement from r1;
        r2: stopped early" is two reasons joined, not one receiver list."""
        for template in self._templates:
            found = template.pattern.fullmatch(text)
            if found and (joined or not any("; " in v for v in found.groupdict().values())):
                return template.msgid, found.groupdict()
        return None

    def translate(self, text: str, _depth: int = 0) -> str:
        """The reason in the catalogue's language; unknown text comes back unchanged."""
        text = text.strip()
        if not text or _depth > 4:
            return text
        whole = self._one(text, _depth, joined=False)
        if whole is not None:
            return whole
        if "; " in text:  # several outcomes (receivers) or reasons joined
            return "; ".join(self.translate(part, _depth + 1) for part in text.split("; "))
        # "<who>: <reason>" (a receiver's own reason) and "3 lượt thất bại: <reason>" (a
        # figure's reason line): translate the known tail.
        for at in (m.start() for m in re.finditer(": ", text)):
            tail = self._one(text[at + 2 :], _depth)
            if tail is not None:
                return f"{text[:at]}: {tail}"
        return text

    def _one(self, text: str, depth: int, joined: bool = True) -> str | None:
        found = self.match(text, joined)
        if found is None:
            return None
        msgid, values = found
        target = self._translation.gettext(msgid)  # the msgid itself if untranslated
        filled = {name: self._value(name, value, depth) for name, value in values.items()}
        try:
            return target.format(**filled)
        except (KeyError, IndexError, ValueError):
            return text  # a broken catalogue entry must not hide the stored reason

    def _value(self, name: str, value: str, depth: int) -> str:
        if name in _TIME_FIELDS:
            moment = _ENGINE_TIME.fullmatch(value)
            if moment:  # '2026-11-25 06:20' -> '06:20 ngày 25/11/2026', as documents write it
                year, month, day, hhmm = moment.groups()
                return f"{hhmm} ngày {day}/{month}/{year}"
        if name in {"err", "reason"}:
            return self.translate(value, depth + 1)
        return value


@lru_cache(maxsize=1)
def _vietnamese_translator() -> ReasonTranslator:
    return ReasonTranslator(catalogue("vi"))


@lru_cache(maxsize=8192)
def vietnamese(reason: str) -> str:
    """A stored log reason (or a figure's reason line) in Vietnamese."""
    return _vietnamese_translator().translate(reason)
