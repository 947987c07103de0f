"""Alarms an operator can work with: grouped by their cause, a flood held back, acknowledged, shelved.

:func:`build_board` turns a run's alarm records (the engine's, or a recording's rows) and the events
they point at into an :class:`AlarmBoard`:

* **Groups by cause.** Every alarm whose cause chain reads back to the same root event (an injected
  failure, a utility loss) is one :class:`AlarmGroup`, titled by that event and what it reached:
  "CRAH-2 failed at 00:01:00: 20 racks, 1 cooling unit affected". Alarms with no recorded cause
  form one group of their own.
* **One line per element.** Within a group an element shows its worst alarm (standing before
  cleared, then by severity, then the latest); its other alarms sit under it.
* **Flood suppression.** When one cause raises :data:`FLOOD_ALARMS` alarms or more within
  :data:`FLOOD_WINDOW_S`, its early warnings (:data:`EARLY_WARNING_KINDS`: an inlet that rose
  5 K, still inside its limits) are held back: counted in the group, listed under the elements
  they belong to, never a line of their own. The cause itself is already on the board.
* **Acknowledge and shelve.** Operator actions (:class:`OperatorAction`: acknowledge, shelve,
  unshelve, each naming the alarms it covers, who did it and when) mark alarms acknowledged, or
  move them to the shelved list (until unshelved). Actions are recorded with the run (the store
  keeps them beside a recording, the review shows them), so nothing is hidden without a name.

Plain data, no Qt: the alarm list, the review report and tests read the same board.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Optional, Sequence

from dctwin.twin.model.events import INJECTED_KINDS, Event
from dctwin.twin.model.words import hms
from dctwin.twin.sim.alarms import describe

#: order of severities, worst last
SEVERITY_RANK = {"warning": 1, "major": 2, "critical": 3}
#: a cause that raises this many alarms within FLOOD_WINDOW_S floods the board (ISA-18.2: 10 per 10 min)
FLOOD_ALARMS = 10
FLOOD_WINDOW_S = 600.0
#: alarms that only warn early (a trend, not a limit): held back during a flood
EARLY_WARNING_KINDS = ("inlet_rise",)
#: what an operator does with alarms
ACTION_KINDS = ("acknowledge", "shelve", "unshelve")
_ACTION_WORDS = {"acknowledge": "acknowledged", "shelve": "shelved", "unshelve": "unshelved"}
#: what kind of element an alarm kind is about (for "20 racks, 1 cooling unit affected")
_ELEMENT_OF_KIND = {"unit_failed": "cooling unit", "ups_on_battery": "UPS", "ups_low_soc": "UPS",
                    "node_load_80": "power node", "node_load_100": "power node"}


def alarm_key(alarm: Mapping[str, Any]) -> str:
    """A stable name of one raised alarm: its element, kind and time (``R-A10|inlet_allowable|171.000``)."""
    return f"{alarm_target(alarm)}|{alarm.get('kind', '')}|{float(alarm['t_s']):.3f}"


def alarm_target(alarm: Mapping[str, Any]) -> str:
    """The element an alarm is about (recorded rows say ``target``, the engine's records ``id``)."""
    return str(alarm.get("target", alarm.get("id", "")))


def alarm_cause(alarm: Mapping[str, Any]) -> Optional[int]:
    """The seq of the event an alarm points at: a recorded row's ``cause``, or the first step of the
    engine record's ``causes`` that is an event."""
    if "cause" in alarm:
        return None if alarm["cause"] is None else int(alarm["cause"])
    return next((int(c["seq"]) for c in alarm.get("causes") or () if c.get("seq") is not None), None)


def _root_cause(alarm: Mapping[str, Any]) -> Optional[int]:
    """The seq of the farthest event an alarm's causes name: the engine record's last step that is an
    event (a shutdown's chain runs on past its throttle to the failure), else the row's ``cause``."""
    steps = [int(c["seq"]) for c in alarm.get("causes") or () if c.get("seq") is not None]
    return steps[-1] if steps else alarm_cause(alarm)


def operator_name() -> str:
    """Who is at the keyboard: ``DCTWIN_OPERATOR`` if set, else the login name."""
    name = os.environ.get("DCTWIN_OPERATOR", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "unknown operator"


def now_utc() -> str:
    """The wall-clock time of an operator action, ISO 8601 in UTC to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class OperatorAction:
    """What an operator did with alarms: ``kind`` (acknowledge, shelve, unshelve) of the alarms
    ``alarms`` (:func:`alarm_key` s) at ``t_s`` of the run, by ``by`` at wall-clock time ``at``;
    ``target`` the element (or the cause) the operator picked."""

    t_s: float
    kind: str
    target: str
    alarms: tuple[str, ...]
    by: str
    at: str
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ACTION_KINDS:
            raise ValueError(f"unknown operator action {self.kind!r} (one of {', '.join(ACTION_KINDS)})")

    def text(self) -> str:
        """``acknowledged 3 alarms of CRAH-2 at 00:02:51 by alice (2026-05-01T10:02:11+00:00)``."""
        what = "1 alarm" if len(self.alarms) == 1 else f"{len(self.alarms)} alarms"
        return (f"{_ACTION_WORDS[self.kind]} {what} of {self.target} at {hms(self.t_s)} by {self.by} ({self.at})"
                + (f": {self.note}" if self.note else ""))


@dataclass
class BoardAlarm:
    """One raised alarm on the board (``index``: its place in the alarm list given)."""

    index: int
    key: str
    t_s: float
    kind: str
    severity: str
    target: str
    message: str
    cleared_s: Optional[float] = None
    suppressed: bool = False
    acked: Optional[OperatorAction] = None
    shelved: Optional[OperatorAction] = None

    @property
    def standing(self) -> bool:
        """Not cleared (by the end of what was given)."""
        return self.cleared_s is None

    @property
    def label(self) -> str:
        return self.kind.replace("_", " ")

    def _worst(self) -> tuple:
        return (self.standing, SEVERITY_RANK.get(self.severity, 0), self.t_s)


@dataclass
class BoardTarget:
    """One element in a group: its worst alarm, and the others under it."""

    target: str
    head: BoardAlarm
    others: list[BoardAlarm] = field(default_factory=list)

    @property
    def alarms(self) -> list[BoardAlarm]:
        return [self.head] + self.others


@dataclass
class AlarmGroup:
    """The alarms of one cause (``root``: the event their chains read back to, None: no recorded cause)."""

    key: str
    root: Optional[Event]
    title: str
    t_s: float
    targets: list[BoardTarget] = field(default_factory=list)
    #: elements whose alarms were all held back during a flood
    suppressed: list[BoardTarget] = field(default_factory=list)
    flood: bool = False

    @property
    def alarms(self) -> list[BoardAlarm]:
        return [a for t in self.targets + self.suppressed for a in t.alarms]

    @property
    def keys(self) -> list[str]:
        return [a.key for a in self.alarms]

    @property
    def n_suppressed(self) -> int:
        return sum(1 for a in self.alarms if a.suppressed)

    @property
    def unacknowledged(self) -> int:
        return sum(1 for a in self.alarms if a.acked is None)

    def summary(self) -> str:
        """``29 alarms, 20 held back (flood), 3 not acknowledged``."""
        n = len(self.alarms)
        parts = [f"{n} alarm{'s' if n != 1 else ''}"]
        if self.n_suppressed:
            parts.append(f"{self.n_suppressed} held back (flood)")
        un = self.unacknowledged
        parts.append("all acknowledged" if un == 0 else f"{un} not acknowledged")
        return ", ".join(parts)


@dataclass
class AlarmBoard:
    """The alarms of a run as an operator works them: groups by cause (newest first) and what is shelved."""

    groups: list[AlarmGroup]
    shelved: list[BoardAlarm]
    actions: list[OperatorAction]

    @property
    def alarms(self) -> list[BoardAlarm]:
        return [a for g in self.groups for a in g.alarms] + list(self.shelved)

    def find(self, index: int) -> Optional[BoardAlarm]:
        """The board's alarm for ``index`` of the alarm list."""
        return next((a for a in self.alarms if a.index == index), None)

    def group_of(self, index: int) -> Optional[AlarmGroup]:
        return next((g for g in self.groups if any(a.index == index for a in g.alarms)), None)

    def group(self, key: str) -> Optional[AlarmGroup]:
        return next((g for g in self.groups if g.key == key), None)


def _root(seq: Optional[int], by_seq: Mapping[int, Event]) -> Optional[Event]:
    """The event the chain from ``seq`` reads back to (cycles and gaps end it)."""
    seen: set[int] = set()
    root = None
    while seq is not None and seq in by_seq and seq not in seen:
        seen.add(seq)
        root = by_seq[seq]
        seq = root.cause
    return root


def _injected(ev: Event) -> bool:
    return ev.kind in INJECTED_KINDS and ev.cause is None


def _affected(alarms: Sequence[BoardAlarm]) -> str:
    """``20 racks, 1 cooling unit``."""
    counts: dict[str, set[str]] = {}
    for a in alarms:
        counts.setdefault(_ELEMENT_OF_KIND.get(a.kind, "rack"), set()).add(a.target)
    order = ("rack", "cooling unit", "UPS", "power node")
    parts = []
    for kind in sorted(counts, key=order.index):
        n = len(counts[kind])
        parts.append(f"{n} {kind}{'s' if n != 1 else ''}")
    return ", ".join(parts)


def _flood(times: list[float], limit: int, window_s: float) -> bool:
    """Whether ``limit`` of the (sorted) ``times`` fall within some ``window_s``."""
    return any(times[k + limit - 1] - times[k] <= window_s for k in range(len(times) - limit + 1))


def _by_target(alarms: list[BoardAlarm]) -> list[BoardTarget]:
    out: dict[str, list[BoardAlarm]] = {}
    for a in alarms:
        out.setdefault(a.target, []).append(a)
    targets = []
    for name, items in out.items():
        head = max(items, key=BoardAlarm._worst)
        targets.append(BoardTarget(name, head, sorted((a for a in items if a is not head), key=lambda a: a.t_s)))
    return sorted(targets, key=lambda t: (-SEVERITY_RANK.get(t.head.severity, 0), not t.head.standing, t.head.t_s))


def build_board(alarms: Sequence[Mapping[str, Any]], by_seq: Mapping[int, Event],
                actions: Iterable[OperatorAction] = (), *, flood_alarms: int = FLOOD_ALARMS,
                flood_window_s: float = FLOOD_WINDOW_S) -> AlarmBoard:
    """The board of ``alarms`` (records raised and cleared, oldest first; recorded rows or the
    engine's records), their causes ``by_seq`` and the operator ``actions`` (in the order taken)."""
    actions = list(actions)
    acked: dict[str, OperatorAction] = {}
    shelved: dict[str, OperatorAction] = {}
    for act in actions:
        for key in act.alarms:
            if act.kind == "acknowledge":
                acked.setdefault(key, act)
            elif act.kind == "shelve":
                shelved[key] = act
            else:
                shelved.pop(key, None)
    raised: list[BoardAlarm] = []
    open_: dict[tuple[str, str], BoardAlarm] = {}
    roots: dict[int, Optional[Event]] = {}
    for i, a in enumerate(alarms):
        target, kind = alarm_target(a), str(a.get("kind", ""))
        if not a.get("active", True):
            hit = open_.pop((target, kind), None)
            if hit is not None:
                hit.cleared_s = float(a["t_s"])
            continue
        key = alarm_key(a)
        b = BoardAlarm(i, key, float(a["t_s"]), kind, str(a.get("severity", "")), target,
                       str(a.get("message") or ""), acked=acked.get(key), shelved=shelved.get(key))
        raised.append(b)
        open_[(target, kind)] = b
        roots[i] = _root(_root_cause(a), by_seq)
    # a chain that ends in an automatic action with no recorded cause (a recorded shutdown points at the
    # throttle before it, whose cause was a temperature, not an event) joins its element's earlier cause
    known: dict[str, Event] = {}
    for b in raised:
        root = roots[b.index]
        if root is not None and _injected(root):
            known[b.target] = root
        elif b.target in known:
            roots[b.index] = known[b.target]
    groups: dict[str, tuple[Optional[Event], list[BoardAlarm]]] = {}
    for b in raised:
        if b.shelved is not None:
            continue
        root = roots[b.index]
        gkey = f"event:{root.seq}" if root is not None else "none"
        groups.setdefault(gkey, (root, []))[1].append(b)
    out = []
    for gkey, (root, items) in groups.items():
        flood = _flood(sorted(a.t_s for a in items), flood_alarms, flood_window_s)
        if flood:
            for a in items:
                a.suppressed = a.kind in EARLY_WARNING_KINDS
        head = f"{describe(root)} at {hms(root.t_s)}" if root is not None else "No recorded cause"
        g = AlarmGroup(gkey, root, f"{head}: {_affected(items)} affected",
                       root.t_s if root is not None else min(a.t_s for a in items), flood=flood)
        for t in _by_target(items):
            shown = [a for a in t.alarms if not a.suppressed]
            if not shown:
                g.suppressed.append(t)
                continue
            # the line of an element is its worst alarm that is not held back; held-back ones sit under it
            head_alarm = max(shown, key=BoardAlarm._worst)
            g.targets.append(BoardTarget(t.target, head_alarm,
                                         sorted((a for a in t.alarms if a is not head_alarm), key=lambda a: a.t_s)))
        out.append(g)
    out.sort(key=lambda g: -max(a.t_s for a in g.alarms))
    return AlarmBoard(out, sorted((b for b in raised if b.shelved is not None), key=lambda b: b.t_s), actions)
