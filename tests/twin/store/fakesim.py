"""A small deterministic simulation with the engine's contract, for store tests (no physics claims).

It has what the recorder and replay use: ``t_s``, ``dt_s``, ``rack_ids``,
``unit_ids``, ``events`` (an EventLog), ``rack_inlet_c``, ``rack_power_w``,
``step()``, ``schedule(...)``, ``inject(kind, target, **details)``,
``keyframe()``, ``restore(arrays)``, ``hall_metrics()`` and ``summary()``.
Its update is nonlinear (exp, sin) so a replay that differs by one rounding
shows up in a bit-exact comparison.
"""

from __future__ import annotations

import numpy as np

from dctwin.twin.model.events import Event, EventLog
from dctwin.twin.sim.results import HallSummary, RackResult
from dctwin.twin.store.replay import advance


class FakeSim:
    def __init__(self, n_racks: int = 6, n_units: int = 2, dt_s: float = 0.5, grid: tuple = (8, 5)):
        self.dt_s = float(dt_s)
        self.rack_ids = [f"R-{i:02d}" for i in range(n_racks)]
        self.unit_ids = [f"CRAH-{j + 1}" for j in range(n_units)]
        self.events = EventLog()
        rng = np.random.default_rng(7)
        self.air_c = 20.0 + rng.random(grid)
        self.rack_inlet_c = np.full(n_racks, 20.0)
        self.rack_power_w = 5000.0 + 1000.0 * np.arange(n_racks, dtype=np.float64)
        self.rack_state = np.zeros(n_racks, np.int8)  # 0 normal, 1 throttled
        self.unit_on = np.ones(n_units, np.int8)
        self.utilization = np.full(n_racks, 0.6)
        self._t = np.zeros((), np.float64)
        self._steps = np.zeros((), np.int64)
        self._schedule: list = []  # (t_s, order, kind, target, details), like the engine's
        self._next_event = 0

    @property
    def t_s(self) -> float:
        return float(self._t)

    def inject(self, kind: str, target: str = "", cause=None, **details) -> Event:
        """Apply an injected event now (the engine's signature)."""
        if kind in ("fail", "repair"):
            self.unit_on[self.unit_ids.index(target)] = 0 if kind == "fail" else 1
        elif kind == "set_utilization":
            self.utilization[self.rack_ids.index(target)] = float(details["utilization"])
        else:
            raise ValueError(f"unknown event kind {kind!r}")
        return self.events.record(self.t_s, kind, target, cause, **details)

    def schedule(self, t_s: float, kind: str, target: str = "", **details) -> None:
        """Inject at the start of the first step at or after ``t_s`` (the engine's rule)."""
        item = (float(t_s), len(self._schedule), kind, target, details)
        tail = sorted(self._schedule[self._next_event:] + [item], key=lambda p: (p[0], p[1]))
        self._schedule = self._schedule[:self._next_event] + tail

    def step(self, dt_s: float | None = None) -> None:
        dt = self.dt_s if dt_s is None else float(dt_s)
        while self._next_event < len(self._schedule) and self._schedule[self._next_event][0] <= self.t_s + 1e-9:
            _, _, kind, target, details = self._schedule[self._next_event]
            self._next_event += 1
            self.inject(kind, target, **details)
        cooling = 0.02 * float(np.sum(self.unit_on))
        heat = 1e-6 * self.rack_power_w.sum()
        self.air_c = (self.air_c + dt * (heat - cooling * (self.air_c - 18.0))
                      + 0.01 * np.sin(self.air_c * 1.7 + float(self._t)))
        mean = float(self.air_c.mean())
        self.rack_inlet_c = mean + 0.3 * np.sin(np.arange(len(self.rack_ids)) + 0.1 * float(self._t))
        scale = np.where(self.rack_state == 1, 0.8, 1.0)
        self.rack_power_w = (4000.0 + 6000.0 * self.utilization) * scale * np.exp(0.002 * (self.rack_inlet_c - 20))
        self._t = np.asarray(float(self._t) + dt)
        self._steps = np.asarray(int(self._steps) + 1)
        for i, rid in enumerate(self.rack_ids):
            hot = self.rack_inlet_c[i] > 21.0
            if hot and self.rack_state[i] == 0:
                self.rack_state[i] = 1
                self.events.record(self.t_s, "throttle", rid, None, f"inlet {self.rack_inlet_c[i]:.2f} C > 21 C")
            elif not hot and self.rack_state[i] == 1 and self.rack_inlet_c[i] < 20.5:
                self.rack_state[i] = 0
                self.events.record(self.t_s, "unthrottle", rid, None, "inlet back below 20.5 C")

    def keyframe(self) -> dict[str, np.ndarray]:
        return {"t_s": self._t.copy(), "steps": self._steps.copy(), "air_c": self.air_c.copy(),
                "rack_inlet_c": self.rack_inlet_c.copy(), "rack_power_w": self.rack_power_w.copy(),
                "rack_state": self.rack_state.copy(), "unit_on": self.unit_on.copy(),
                "utilization": self.utilization.copy(), "next_event": np.asarray(self._next_event),
                "event_seq": np.asarray(self.events.last_seq)}

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        self._t = arrays["t_s"].copy()
        self._steps = arrays["steps"].copy()
        self.air_c = arrays["air_c"].copy()
        self.rack_inlet_c = arrays["rack_inlet_c"].copy()
        self.rack_power_w = arrays["rack_power_w"].copy()
        self.rack_state = arrays["rack_state"].copy()
        self.unit_on = arrays["unit_on"].copy()
        self.utilization = arrays["utilization"].copy()
        self._next_event = int(arrays["next_event"])
        self.events.truncate_after_seq(int(arrays["event_seq"]))

    def hall_metrics(self) -> dict[str, float]:
        return {"units_on": float(self.unit_on.sum()), "air_mean_c": float(self.air_c.mean())}

    def summary(self) -> HallSummary:
        return HallSummary(t_s=self.t_s, max_inlet_c=float(self.rack_inlet_c.max()),
                           racks={rid: RackResult(float(self.rack_inlet_c[i]), power_w=float(self.rack_power_w[i]),
                                                  state="throttled" if self.rack_state[i] else "normal")
                                  for i, rid in enumerate(self.rack_ids)})


class FakeSimInjectOnly(FakeSim):
    """The same simulation for an engine without ``schedule``: replay injects the recorded events itself."""

    schedule = None  # type: ignore[assignment]


def run_live(sim: FakeSim, recorder, duration_s: float, incident: list[Event], snapshots: dict | None = None):
    """The live loop of ``dctwin simulate``: schedule the incident, record t = 0, run with the recorder."""
    def on_step(s: FakeSim) -> None:
        recorder.on_step(s.t_s, s)
        if snapshots is not None:
            snapshots[round(s.t_s, 6)] = s.keyframe()

    on_step(sim)
    if callable(sim.schedule):
        for ev in incident:
            sim.schedule(ev.t_s, ev.kind, ev.target, **ev.details)
        while sim.t_s < duration_s - 1e-9:
            sim.step()
            on_step(sim)
    else:
        advance(sim, incident, duration_s, on_step)
    recorder.close()


def forge_checksums(con) -> None:
    """Recompute every row checksum of the project open in the sqlite3 connection ``con``, as someone
    who knows the format would after editing it: the checks behind the checksums must still hold."""
    from dctwin.twin.store.schema import TABLES, checked_columns, has_crc, row_crc

    for t in (t for t in TABLES if has_crc(t)):
        cols = ("id",) + checked_columns(t)
        for r in con.execute(f"SELECT {', '.join(cols)} FROM {t.name}").fetchall():
            con.execute(f"UPDATE {t.name} SET crc = ? WHERE id = ?", (row_crc(t, dict(zip(cols, r))), r[0]))


def hot_journal_of(db) -> bytes:
    """Make a hot journal of the SQLite file ``db`` (a writer killed mid-transaction, its change spilled into
    the file) and return its bytes."""
    import subprocess
    import sys
    from pathlib import Path

    child = ("import os, sqlite3, sys\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
             "c.execute('PRAGMA journal_mode=DELETE')\nc.execute('PRAGMA cache_size=2')\nc.execute('BEGIN')\n"
             "c.execute('CREATE TABLE junk (x)')\n"
             "c.execute('INSERT INTO junk SELECT randomblob(3000) FROM (SELECT 1 UNION SELECT 2 UNION SELECT 3 "
             "UNION SELECT 4 UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 UNION SELECT 8)')\n"
             "os.kill(os.getpid(), 9)\n")
    subprocess.run([sys.executable, "-c", child, str(db)])
    journal = Path(f"{db}-journal")
    assert journal.exists() and journal.stat().st_size > 0
    return journal.read_bytes()
