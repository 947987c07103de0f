"""Events: everything that changes the world, and every automatic action, with its cause.

An :class:`Event` is a plain frozen value. Injected events (a failure, a
utility loss, a load change) have no cause; automatic actions (a transfer, a
trip, a throttle, a shutdown) carry ``cause``: the ``seq`` of the event that
led to them, or a condition text when a physical state (not an event) did.
Reading causes back to the root gives the explanation of an alarm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional


@dataclass(frozen=True)
class EventValue:
    """The number an injected event carries in its details: its name, range, default and unit."""

    name: str
    low: float
    high: float
    default: float
    unit: str = ""  # "°C" for temperatures

    def accepts(self, value: Any) -> bool:
        """A number (not a bool) within ``low..high``."""
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(float(value)) and self.low <= float(value) <= self.high)

    @property
    def rule(self) -> str:
        """``"setpoint_c must be a number 5..45 °C"``."""
        return f"{self.name} must be a number {self.low:g}..{self.high:g}" + (f" {self.unit}" if self.unit else "")


@dataclass(frozen=True)
class EventKind:
    """An injected event kind: what its target may be and the number it carries (if any).

    ``targets``: the kinds of element it may name ("*": any element of the layout; "row": a row
    of racks; "all": every rack; else a rack, cooling unit, cdu, chiller, pump or power-node
    kind), ``need`` the same in words; ``target_optional``: it may name nothing (all of them).
    """

    kind: str
    targets: tuple[str, ...]
    need: str
    target_optional: bool = False
    value: Optional[EventValue] = None


#: power-node kinds a breaker trip may name
BREAKER_NODE_KINDS = ("ats", "ups", "switchboard", "pdu", "rpp", "utility", "generator")
#: the injected event kinds (incidents and operators): one schema for the engine's checks, the
#: incident files and the incident editor
EVENT_KINDS: dict[str, EventKind] = {k.kind: k for k in (
    EventKind("fail", ("*",), "an element of the layout"),
    EventKind("repair", ("*",), "an element of the layout"),
    EventKind("utility_loss", ("utility",), "a utility", target_optional=True),
    EventKind("utility_restore", ("utility",), "a utility", target_optional=True),
    EventKind("generator_fail_to_start", ("generator",), "a generator", target_optional=True),
    EventKind("breaker_trip", BREAKER_NODE_KINDS, "a power node"),
    EventKind("set_utilization", ("rack", "row", "all"), 'a rack, a row or "all"', target_optional=True,
              value=EventValue("utilization", 0.0, 1.5, 1.0)),
    EventKind("set_setpoint", ("cooling unit",), "a cooling unit", value=EventValue("setpoint_c", 5.0, 45.0, 20.0, "°C")),
    EventKind("set_outdoor_c", (), "", target_optional=True, value=EventValue("c", -60.0, 60.0, 35.0, "°C")),
    EventKind("cdu_pump_fail", ("cdu",), "a CDU"),
)}
#: kinds of injected events (incidents and operators)
INJECTED_KINDS = tuple(EVENT_KINDS)
#: the number each kind that carries one needs
EVENT_VALUES: dict[str, EventValue] = {k: e.value for k, e in EVENT_KINDS.items() if e.value is not None}
#: kinds of automatic actions the physics records
AUTOMATIC_KINDS = (
    "throttle", "unthrottle", "shutdown", "restart", "rack_down", "rack_up",
    "ats_transfer", "ats_retransfer", "generator_start", "generator_on_load", "generator_stop",
    "ups_on_battery", "ups_on_bypass", "ups_online", "ups_battery_exhausted", "ups_trip",
    "breaker_trip_auto", "node_dark", "node_energized", "unit_stop", "unit_start",
    "chiller_stop", "chiller_restart", "economizer_on", "economizer_off", "capacity_exceeded",
)


@dataclass(frozen=True)
class Event:
    """One event. ``seq`` is unique and increasing within a run."""

    seq: int
    t_s: float
    kind: str
    target: str
    cause: Optional[int] = None
    condition: str = ""
    details: dict[str, Any] = field(default_factory=dict, compare=True, hash=False)

    @property
    def automatic(self) -> bool:
        return self.kind in AUTOMATIC_KINDS

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "t_s": self.t_s, "kind": self.kind, "target": self.target,
                "cause": self.cause, "condition": self.condition, "details": dict(self.details)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Event":
        return cls(seq=int(d["seq"]), t_s=float(d["t_s"]), kind=str(d["kind"]), target=str(d["target"]),
                   cause=None if d.get("cause") is None else int(d["cause"]),
                   condition=str(d.get("condition", "")), details=dict(d.get("details") or {}))


class EventLog:
    """The events of one run, in order, with look-up by ``seq``."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._by_seq: dict[int, Event] = {}
        self._next = 1

    def record(self, t_s: float, kind: str, target: str, cause: Optional[int] = None,
               condition: str = "", **details: Any) -> Event:
        ev = Event(self._next, float(t_s), kind, target, cause, condition, details)
        self._next += 1
        self._events.append(ev)
        self._by_seq[ev.seq] = ev
        return ev

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events)

    @property
    def last_seq(self) -> int:
        """Seq of the newest event (0 when empty)."""
        return self._next - 1

    def __len__(self) -> int:
        return len(self._events)

    def get(self, seq: int) -> Optional[Event]:
        return self._by_seq.get(seq)

    def chain(self, ev: Event) -> list[Event]:
        """``ev`` and its causes, back to the root (first item is ``ev``)."""
        out = [ev]
        seen = {ev.seq}
        while out[-1].cause is not None and out[-1].cause not in seen:
            nxt = self._by_seq.get(out[-1].cause)
            if nxt is None:
                break
            seen.add(nxt.seq)
            out.append(nxt)
        return out

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for ev in self._events:
            out[ev.kind] = out.get(ev.kind, 0) + 1
        return out

    def since(self, seq: int) -> list[Event]:
        return [e for e in self._events if e.seq > seq]

    def truncate_after_seq(self, seq: int) -> None:
        """Forget events newer than ``seq``."""
        self._events = [e for e in self._events if e.seq <= seq]
        self._by_seq = {e.seq: e for e in self._events}
        self._next = seq + 1

    def truncate_after(self, t_s: float) -> None:
        """Forget events after ``t_s`` (used when a replay seeks back)."""
        self._events = [e for e in self._events if e.t_s <= t_s]
        self._by_seq = {e.seq: e for e in self._events}
        self._next = (self._events[-1].seq + 1) if self._events else 1
