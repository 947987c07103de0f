"""The site's own event log (BMS alarms, breaker operations, unit trips) as dctwin events.

File: CSV ``timestamp,source,kind,message`` (timestamps as in measurement files: ISO 8601 with an
offset, or epoch seconds). Each row is mapped to a dctwin event kind and target by the first rule
that matches it. A mapping file (JSON) gives rules of its own, tried before the built-in ones::

    {"rules": [{"kind": "TRIP", "message": "compressor", "event": "fail"},
               {"source": "EPMS", "message": "^CB-(\\\\S+) open", "event": "breaker_trip", "target": "PDU-{1}"},
               {"kind": "SETPOINT", "event": "set_setpoint", "value": "([0-9.]+) ?C"}]}

``kind``, ``source`` and ``message`` are regular expressions matched (case-insensitive, anywhere)
against the row's fields; ``event`` is the dctwin kind; ``target`` names the element (``{1}``: the
first group of the message match), else the element whose id appears in the message or source
(the longest one); ``value``: a pattern whose first group is the number the event carries
(``setpoint_c`` of ``set_setpoint``), times ``scale`` (``0.01`` turns "60 %" into a utilization of
0.6). Built-in rules: a unit or rack that *trips / fails / faults /
stops* -> ``fail``; that is *reset / restored / restarted / running* -> ``repair``; a *breaker*
*open / trip* -> ``breaker_trip``; a *utility / mains* *loss / fail* -> ``utility_loss``, *restored*
-> ``utility_restore``; a *setpoint* with a temperature -> ``set_setpoint``. Rows no rule maps stay
what they are, ``site_alarm`` (kind or message says alarm) or ``site_note``: shown on the timeline,
never applied to the model.
"""

from __future__ import annotations

import csv
import io
import json
import re
import re._constants as _re_constants  # the parsed form, to find nested repeats (Python 3.11+)
import re._parser as _re_parser
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from dctwin.twin.io.points import element_kinds
from dctwin.twin.io.report import SourceError, read_source_text
from dctwin.twin.io.telemetry import parse_time
from dctwin.twin.model.events import EVENT_KINDS
from dctwin.twin.model.layout import Site

#: kinds of site events that only inform (never applied to the model)
INFO_KINDS = ("site_alarm", "site_note")


@dataclass(frozen=True)
class SiteEvent:
    """One row of the site's event log, mapped."""

    t_s: float  # epoch seconds
    source: str
    raw_kind: str
    message: str
    kind: str  # a dctwin injected kind, or site_alarm / site_note
    target: str = ""
    details: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    line: int = 0

    @property
    def applies(self) -> bool:
        """The event changes the model (a failure, a repair, a trip) rather than only informing."""
        return self.kind not in INFO_KINDS

    def to_dict(self) -> dict[str, Any]:
        return {"t_s": self.t_s, "source": self.source, "raw_kind": self.raw_kind, "message": self.message,
                "kind": self.kind, "target": self.target, "details": dict(self.details), "line": self.line}


@dataclass(frozen=True)
class Rule:
    event: str
    kind: Optional[re.Pattern] = None
    source: Optional[re.Pattern] = None
    message: Optional[re.Pattern] = None
    target: str = ""
    value: Optional[re.Pattern] = None
    #: the number found by ``value`` is multiplied by this (60 % -> 0.6 utilization: 0.01)
    scale: float = 1.0
    #: the element kinds a built-in rule's target may be (empty: any)
    targets: tuple[str, ...] = ()


def _rx(text: Optional[str], where: str) -> Optional[re.Pattern]:
    if text in (None, ""):
        return None
    try:
        rx = re.compile(str(text), re.IGNORECASE)
    except re.error as exc:
        raise SourceError(f"{where}: bad regular expression {text!r}: {exc}") from None
    if _nested_repetition(_re_parser.parse(str(text), re.IGNORECASE)):
        raise SourceError(f"{where}: regular expression {text!r} repeats a repetition (like (a+)+ or (a*b?)*): "
                          f"on some log lines it would run for hours; write it without the nested repeat")
    return rx


def _nested_repetition(parsed, inside: bool = False) -> bool:
    """Whether a parsed pattern has an unbounded repeat inside another (the shape whose backtracking is
    exponential; Python's ``re`` has no time limit). Overlapping alternatives such as ``(a|a)*`` are not found."""
    for op, av in parsed:
        if op in _REPEATS:
            lo, hi, sub = av
            unbounded = hi == _re_constants.MAXREPEAT or hi > 1000
            if inside and unbounded:
                return True
            if _nested_repetition(sub, inside or unbounded):
                return True
        elif op is _re_constants.SUBPATTERN:
            if _nested_repetition(av[-1], inside):
                return True
        elif op is _re_constants.BRANCH:
            if any(_nested_repetition(branch, inside) for branch in av[1]):
                return True
        elif op in (_re_constants.ASSERT, _re_constants.ASSERT_NOT):
            if _nested_repetition(av[1], inside):
                return True
        elif op is _re_constants.GROUPREF_EXISTS:
            if any(b is not None and _nested_repetition(b, inside) for b in av[1:]):
                return True
    return False


_REPEATS = (_re_constants.MAX_REPEAT, _re_constants.MIN_REPEAT, _re_constants.POSSESSIVE_REPEAT)


_UNITS = ("cooling_unit", "rack")
BUILTIN_RULES: tuple[Rule, ...] = (
    Rule("breaker_trip", message=re.compile(r"\b(breaker|cb|acb|mccb)\b.*\b(open|opened|trip|tripped)\b", re.I),
         targets=("power_node", "ups")),
    Rule("utility_loss", message=re.compile(r"\b(utility|mains|grid)\b.*\b(loss|lost|fail|failed|failure|outage)\b", re.I)),
    Rule("utility_restore", message=re.compile(r"\b(utility|mains|grid)\b.*\b(restored|return|returned|back)\b", re.I)),
    Rule("set_setpoint", message=re.compile(r"set ?point", re.I), value=re.compile(r"(-?[0-9]+(?:\.[0-9]+)?) ?°?C\b", re.I),
         targets=("cooling_unit",)),
    Rule("repair", message=re.compile(r"\b(reset|restored|restarted|restart|returned to service|back in service|"
                                      r"running again|started|repaired)\b", re.I), targets=_UNITS),
    Rule("fail", message=re.compile(r"\b(trip|tripped|fail|failed|failure|fault|faulted|stopped|shutdown|shut down|"
                                    r"lockout)\b", re.I), targets=_UNITS),
    Rule("fail", kind=re.compile(r"^(trip|fault|fail|failure|unit_trip)$", re.I), targets=_UNITS),
)


def read_rules(path: str | Path) -> list[Rule]:
    """Rules of an event mapping file (see the module docstring); SourceError naming the rule."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError(f"{p}: not found (an event mapping: {{\"rules\": [...]}})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"{p}: not JSON: {exc}") from None
    rules = data.get("rules") if isinstance(data, dict) else data
    if not isinstance(rules, list):
        raise SourceError(f"{p}: expected {{\"rules\": [...]}}")
    known = set(EVENT_KINDS) | set(INFO_KINDS)
    out = []
    for k, r in enumerate(rules):
        where = f"{p}, rule {k + 1}"
        if not isinstance(r, dict):
            raise SourceError(f"{where}: a rule is an object")
        extra = set(r) - {"event", "kind", "source", "message", "target", "value", "scale"}
        if extra:
            raise SourceError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
        event = str(r.get("event", ""))
        if event not in known:
            raise SourceError(f"{where}: event {event!r} is not one of {', '.join(sorted(known))}")
        scale = r.get("scale", 1.0)
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not scale == scale:
            raise SourceError(f"{where}: scale must be a number")
        message, target = _rx(r.get("message"), where), str(r.get("target", "") or "")
        groups = message.groups if message is not None else 0
        for n in sorted({int(g) for g in re.findall(r"\{(\d+)\}", target)}):
            if n > groups:
                raise SourceError(f"{where}: target {target!r} names group {n}, but the message pattern has "
                                  f"{groups} group(s)" + ("" if message is not None else " (there is none)"))
        out.append(Rule(event, _rx(r.get("kind"), where), _rx(r.get("source"), where), message, target,
                        _rx(r.get("value"), where), float(scale)))
    return out


def _element_in(text: str, ids: list[str]) -> Optional[str]:
    """The longest element id that appears in ``text`` as a word (case-insensitive)."""
    low = text.lower()
    for e in ids:
        i = low.find(e.lower())
        while i >= 0:
            before = low[i - 1] if i > 0 else " "
            after = low[i + len(e)] if i + len(e) < len(low) else " "
            if not (before.isalnum() or after.isalnum()):
                return e
            i = low.find(e.lower(), i + 1)
    return None


def map_row(t_s: float, source: str, raw_kind: str, message: str, rules: list[Rule], site: Site,
            line: int = 0) -> SiteEvent:
    """One log row as a :class:`SiteEvent`: the first rule that matches and finds a fitting target."""
    kinds = element_kinds(site)
    ids = sorted(kinds, key=len, reverse=True)
    for rule in rules:
        m = None
        if rule.kind is not None and not rule.kind.search(raw_kind):
            continue
        if rule.source is not None and not rule.source.search(source):
            continue
        if rule.message is not None:
            m = rule.message.search(message)
            if m is None:
                continue
        target = rule.target
        if target and m is not None:
            target = re.sub(r"\{(\d+)\}", lambda g: (m.group(int(g.group(1))) or "") if int(g.group(1)) <= (
                m.re.groups or 0) else "", target)
        if not target:
            target = _element_in(message, ids) or _element_in(source, ids) or ""
        spec = EVENT_KINDS.get(rule.event)
        if spec is not None and spec.targets and not spec.target_optional and not target:
            continue
        if rule.targets and kinds.get(target) not in rule.targets:
            continue
        rows = {r.row for h in site.halls for r in h.racks if r.row}
        if (target and target not in kinds and rule.event not in ("utility_loss", "utility_restore")
                and not (rule.event == "set_utilization" and (target in rows or target in ("all", "*")))):
            continue
        details: dict[str, Any] = {}
        if spec is not None and spec.value is not None:
            vm = (rule.value or re.compile(r"(-?[0-9]+(?:\.[0-9]+)?)")).search(message)
            if vm is None:
                continue
            try:
                value = float(vm.group(1)) * rule.scale
            except (IndexError, ValueError):
                continue
            if not spec.value.accepts(value):
                continue
            details[spec.value.name] = value
        if rule.event in ("utility_loss", "utility_restore") and kinds.get(target) != "power_node":
            target = ""
        return SiteEvent(t_s, source, raw_kind, message, rule.event, target, details, line)
    kind = "site_alarm" if re.search(r"alarm|alert|warn|high|low", raw_kind + " " + message, re.I) else "site_note"
    return SiteEvent(t_s, source, raw_kind, message, kind, _element_in(message, ids) or "", {}, line)


def read_event_log(path: str | Path, site: Site, rules_path: Optional[str | Path] = None) -> list[SiteEvent]:
    """Read an event log CSV (``timestamp,source,kind,message``) and map every row (module docstring).

    Raises :class:`~dctwin.twin.io.report.SourceError` naming the file and line of a row that cannot
    be read (a bad timestamp, a missing column).
    """
    p = Path(path)
    text = read_source_text(p, "an event log: timestamp,source,kind,message")
    rules = (read_rules(rules_path) if rules_path else []) + list(BUILTIN_RULES)
    reader = csv.reader(io.StringIO(text))
    header: Optional[list[str]] = None
    out: list[SiteEvent] = []
    for row in reader:
        if not any(c.strip() for c in row):
            continue
        cells = [c.strip() for c in row]
        if header is None:
            header = [c.lower() for c in cells]
            missing = [c for c in ("timestamp", "source", "kind", "message") if c not in header]
            if missing:
                raise SourceError(f"{p}, line {reader.line_num}: the header must be timestamp,source,kind,message; "
                                  f"missing {', '.join(missing)}")
            continue
        if len(cells) < len(header):
            raise SourceError(f"{p}, line {reader.line_num}: {len(cells)} cells where the header has {len(header)}")
        if len(cells) > len(header) and header[-1] == "message":  # an unquoted comma in the message
            cells = cells[:len(header) - 1] + [", ".join(cells[len(header) - 1:])]
        get = lambda name: cells[header.index(name)]  # noqa: E731
        try:
            t = parse_time(get("timestamp"), "timestamp")
        except SourceError as exc:
            raise SourceError(f"{p}, line {reader.line_num}, column 'timestamp': {exc}") from None
        out.append(map_row(t, get("source"), get("kind"), get("message"), rules, site, reader.line_num))
    if header is None:
        raise SourceError(f"{p}: is empty (an event log: timestamp,source,kind,message)")
    out.sort(key=lambda e: e.t_s)
    return out


def event_counts(events: list[SiteEvent]) -> dict[str, Any]:
    """What the report says about an event log: rows, mapped kinds, the raw kinds left unmapped."""
    kinds: dict[str, int] = {}
    for e in events:
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
    unmapped = sorted({e.raw_kind for e in events if not e.applies})
    return {"rows": len(events), "kinds": kinds, "applied": sum(1 for e in events if e.applies),
            "unmapped_kinds": unmapped}
