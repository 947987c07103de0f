"""Injected events: checked, applied to the hall, and scheduled for the start of a step.

Kinds: fail / repair (a rack, cooling unit, power node, chiller, pump or CDU), set_utilization
(a rack, a row, or "all"; ``utilization``), set_setpoint (a unit; ``setpoint_c``), utility_loss /
utility_restore (a utility, or "" for all), generator_fail_to_start (a generator, or "" for all),
breaker_trip (a power node), set_outdoor_c (``c``), cdu_pump_fail (a CDU). The hall applies its
own (failures and repairs of racks and units, utilization, setpoints); the power chain and the
plant take theirs from the events due at the step (:meth:`Injector.take_due`).
"""

from __future__ import annotations

import bisect
import math
from typing import Any, Optional

import numpy as np

from dctwin.twin.errors import InputError
from dctwin.twin.model.events import EVENT_KINDS, Event, EventLog
from dctwin.twin.physics.cooling_air import KIND_CDU
from dctwin.twin.physics.power import POWER_EVENT_KINDS
from dctwin.twin.sim.facility import PLANT_EVENT_KINDS
from dctwin.twin.sim.hall import HallState, HallSystem

#: injected kinds the hall itself applies; the power chain and the plant take theirs
ENGINE_EVENT_KINDS = ("fail", "repair", "set_utilization", "set_setpoint")
#: every kind the engine takes, in the order its messages name them
INJECTED_KINDS = tuple(dict.fromkeys(ENGINE_EVENT_KINDS + POWER_EVENT_KINDS + PLANT_EVENT_KINDS))


class Injector:
    """The injected events of one run: checks, the hall's part of applying them, the schedule."""

    def __init__(self, hs: HallSystem, log: EventLog, has_plant: bool) -> None:
        self.hs, self.log, self.has_plant = hs, log, has_plant
        site = hs.site
        self._nodes = {n.id: n.kind for n in site.power_nodes}
        self._plant_ids = {c.id for c in site.chillers} | {p.id for p in site.pumps}
        self._rows: dict[str, list[int]] = {}  # the racks of each row, by index
        for i, r in enumerate(hs.hall.racks):
            if r.row:
                self._rows.setdefault(r.row, []).append(i)
        self._schedule: list[tuple[float, int, dict]] = []  # scheduled injected events (t, order, spec)
        #: index of the first scheduled event not yet applied (keyframed)
        self.next_event = 0
        self._due: list[Event] = []  # injected this step, for the power chain and the plant

    def inject(self, st: HallState, kind: str, target: str = "", cause: Optional[int] = None,
               **details: Any) -> Event:
        """Apply an injected event to the hall now and record it (see the module docstring).
        Raises InputError naming the unknown kind or target; nothing is recorded then."""
        self.check(kind, target, details)
        hs = self.hs
        if kind in ("fail", "repair"):
            flag = 1 if kind == "fail" else 0
            if target in hs.unit_index:
                st.unit_failed[hs.unit_index[target]] = flag
            elif target in hs.rack_index:
                st.rack_failed[hs.rack_index[target]] = flag
        elif kind == "set_utilization":
            st.u_override[self.rack_targets(target)] = float(details["utilization"])
        elif kind == "set_setpoint":
            st.unit_setpoint_c[hs.unit_index[target]] = float(details["setpoint_c"])
        # cdu_pump_fail: the plant stops the CDU's pump; the CDU then cools nothing
        ev = self.log.record(st.t_s, kind, target, cause, **details)
        self._due.append(ev)
        return ev

    def check(self, kind: str, target: str, details: dict) -> None:
        """InputError naming what is wrong with injecting ``kind`` on ``target`` with ``details``."""
        hs = self.hs
        hall = hs.hall.id
        nodes = self._nodes
        if kind in ("fail", "repair"):
            if not (target in hs.unit_index or target in hs.rack_index or target in nodes
                    or target in self._plant_ids):
                raise InputError(f"{kind}: no element {target!r} (a rack or cooling unit of hall "
                                 f"{hall}, a power node, a chiller or a pump)")
        elif kind == "set_utilization":
            self._check_value(kind, target, details)
            self.rack_targets(target)
        elif kind == "set_setpoint":
            if target not in hs.unit_index:
                raise InputError(f"set_setpoint: no cooling unit {target!r} in hall {hall}")
            self._check_value(kind, target, details)
        elif kind in ("utility_loss", "utility_restore", "generator_fail_to_start"):
            want = "utility" if kind != "generator_fail_to_start" else "generator"
            if target and nodes.get(target) != want:
                raise InputError(f"{kind}: {target!r} is not a {want} of this site")
            if not target and want not in nodes.values():
                raise InputError(f"{kind}: the site has no {want}")
        elif kind == "breaker_trip":
            if target not in nodes:
                raise InputError(f"breaker_trip: no power node {target!r}")
        elif kind == "set_outdoor_c":
            self._check_value(kind, target, details)
            if not self.has_plant:
                raise InputError("set_outdoor_c: the site has no chilled-water plant")
        elif kind == "cdu_pump_fail":
            if target not in hs.unit_index or hs.ua.kind[hs.unit_index[target]] != KIND_CDU:
                raise InputError(f"cdu_pump_fail: no CDU {target!r} in hall {hall}")
        else:
            raise InputError(f"unknown event kind {kind!r} (known: {', '.join(INJECTED_KINDS)})")

    @staticmethod
    def _check_value(kind: str, target: str, details: dict) -> None:
        """The number the kind carries, by the event schema (:data:`~dctwin.twin.model.events.EVENT_KINDS`)."""
        spec = EVENT_KINDS[kind]
        value = details.get(spec.value.name)
        if not spec.value.accepts(value):
            where = f"{kind} {target!r}" if spec.targets else kind
            raise InputError(f"{where}: {spec.value.rule}, got {value!r}")

    def rack_targets(self, target: str) -> np.ndarray:
        """Indices of the racks ``target`` names: a rack, a row, or all ("", "all", "*")."""
        hs = self.hs
        if target in ("", "all", "*"):
            return np.arange(hs.ra.n)
        if target in hs.rack_index:
            return np.array([hs.rack_index[target]])
        rows = self._rows.get(target)
        if rows:
            return np.array(rows)
        raise InputError(f"no rack or row {target!r} in hall {hs.hall.id}")

    def schedule(self, now_s: float, t_s: float, kind: str, target: str = "", **details: Any) -> None:
        """Inject at the start of the first step at or after ``t_s`` (checked now, so a bad
        incident fails before the run)."""
        if not isinstance(t_s, (int, float)) or not math.isfinite(t_s) or t_s < 0:
            raise InputError(f"event time must be a finite time >= 0 s, got {t_s!r}")
        if t_s < now_s - 1e-9:
            raise InputError(f"cannot schedule {kind} at {t_s:g} s: the simulation is already at {now_s:g} s")
        self.check(kind, target, details)
        order = len(self._schedule)
        item = (float(t_s), order, dict(kind=kind, target=target, **details))
        # in time order, ties in the order scheduled, never before an event already applied (an
        # incident of 10,000 events is scheduled in O(n log n), not by sorting the tail each time)
        bisect.insort(self._schedule, item, lo=self.next_event, key=lambda p: (p[0], p[1]))

    def apply_due(self, st: HallState) -> None:
        """Inject every scheduled event due at the start of the step at ``st.t_s``."""
        while self.next_event < len(self._schedule) and self._schedule[self.next_event][0] <= st.t_s + 1e-9:
            spec = dict(self._schedule[self.next_event][2])
            self.next_event += 1
            self.inject(st, spec.pop("kind"), spec.pop("target", ""), **spec)

    def next_due_s(self) -> Optional[float]:
        """The time of the next scheduled event not applied yet (None: none left)."""
        return self._schedule[self.next_event][0] if self.next_event < len(self._schedule) else None

    def take_due(self) -> list[Event]:
        """The events injected since the last call (for the power chain and the plant)."""
        due, self._due = self._due, []
        return due

    def forget_due(self) -> None:
        self._due = []
