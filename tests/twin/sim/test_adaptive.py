"""Adaptive steps (:mod:`dctwin.twin.sim.adaptive`): physics against the 1 s run.

- a quiet stretch with two load changes: the adaptive run lands within 0.02 K of the 1 s run at
  every mark (rack inlets and unit returns), gives the air the same heat to 1e-4, closes its
  energy to round-off, and takes under a third of the steps (fails if adaptivity is removed);
- an event that changes nothing still gets 1 s steps around it (fails if the fallback is removed);
- an incident full of happenings (utility lost, generator fails: UPS discharge, CRAHs stopped,
  racks throttled and shut down, inlet-rise alarms clearing in a quiet stretch of 10 s steps):
  every event and every alarm at the same second as the 1 s run, the steps after the utility loss
  at 1 s (fails if the fallback is removed), and the clear timer's start found by undoing a long
  step (fails if rejection is removed: the timer would start at a long step's end);
- the undo itself is exact: a long step undone and taken again gives the same state bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.twin.model.demos import load_demo
from dctwin.twin.model.incidents import load_library_incident
from dctwin.twin.sim import adaptive
from dctwin.twin.sim.engine import Simulation

MARKS = (60.0, 600.0, 900.0, 960.0, 1800.0)


def _quiet_run(adaptive_steps: bool):
    sim = Simulation(load_demo("small"), grid_m=0.6)
    sim.start()
    sim.schedule(0.0, "set_utilization", "all", utilization=0.7)
    sim.schedule(600.5, "set_utilization", "all", utilization=0.7)  # an event that changes nothing
    sim.schedule(900.0, "set_utilization", "all", utilization=0.9)
    seen, ends = {}, []

    def at_step(s):
        ends.append(s.t_s)
        if s.t_s in MARKS:
            seen[s.t_s] = np.concatenate([s.rack_inlet_c, s.unit_return_c])

    out = sim.run(1800.0, 1.0, on_step=at_step, adaptive=adaptive_steps, land_on=MARKS)
    return out, seen, ends


@pytest.fixture(scope="module")
def quiet():
    return _quiet_run(False), _quiet_run(True)


def test_a_quiet_adaptive_run_lands_within_0_02_k_of_the_1_s_run_in_a_third_of_the_steps(quiet):
    (fixed, at_fixed, _), (adapt, at_adapt, ends) = quiet
    assert fixed.steps_taken == 1800 and not fixed.adaptive
    assert adapt.adaptive and adapt.steps_taken == len(ends) < 1800 / 3  # 1 s everywhere would be 1800
    assert adapt.largest_dt_s == adaptive.MAX_DT_S
    assert set(at_adapt) == set(MARKS)  # the steps land on every mark
    for m in MARKS:
        assert np.abs(at_adapt[m] - at_fixed[m]).max() < 0.02, m
    assert abs(adapt.heat_in_j - fixed.heat_in_j) < 1e-4 * fixed.heat_in_j
    assert abs(adapt.heat_removed_j - fixed.heat_removed_j) < 1e-4 * fixed.heat_removed_j
    assert adapt.energy_error < 1e-9  # the energy books close to round-off with long steps too
    # every step ends on a whole second; the load change at 900 s is applied at 900 s, with 1 s steps after it
    assert all(float(t).is_integer() for t in ends)
    after = [b - a for a, b in zip(ends, ends[1:]) if 900.0 <= a < 900.0 + adaptive.SETTLE_S]
    assert after and set(after) == {1.0}


def test_steps_fall_back_to_1_s_around_any_event_even_one_that_changes_nothing(quiet):
    """The fallback is a rule, not only the estimate's doing: the event at 600.5 s (utilization set to
    what it is) is applied at 601 s, where the 1 s run applies it, and the steps stay 1 s for SETTLE_S."""
    (_, _, _), (_, _, ends) = quiet
    steps = dict(zip(ends, np.diff([0.0] + ends)))
    assert 601.0 in steps and 600.0 in steps  # 600 is a mark
    assert max(steps[t] for t in ends if 400.0 < t <= 600.0) == adaptive.MAX_DT_S  # quiet before it
    assert all(steps[t] == 1.0 for t in ends if 601.0 < t <= 601.0 + adaptive.SETTLE_S)


@pytest.fixture(scope="module")
def outage():
    runs = []
    for steps in (False, True):
        site = load_demo("small")
        sim = Simulation(site, grid_m=0.6)
        sim.start()
        load_library_incident("utility-loss-generator-fails", site).schedule_on(sim)
        ends = []
        out = sim.run(1800.0, 1.0, adaptive=steps, on_step=lambda s: ends.append(s.t_s))
        runs.append((out, [(e.t_s, e.kind, e.target) for e in sim.events], ends))
    return runs


def _alarms(out):
    return [(a["t_s"], a["id"], a["kind"], a["active"]) for a in out.alarms]


def test_every_event_and_alarm_of_an_outage_falls_on_the_1_s_runs_second(outage):
    (fixed, ev_fixed, _), (adapt, ev_adapt, ends) = outage
    assert adapt.steps_taken < 1800 / 2 and adapt.largest_dt_s == adaptive.MAX_DT_S
    assert len(ev_fixed) > 40 and ev_adapt == ev_fixed  # utility loss, racks throttled and shut down
    assert len(fixed.alarms) > 100 and _alarms(adapt) == _alarms(fixed)
    assert adapt.ups_min_soc == pytest.approx(fixed.ups_min_soc, abs=1e-3)
    assert adapt.energy_error < 1e-9
    # the fallback: 1 s steps from the utility loss (10 s) on while the hall heats up
    steps = dict(zip(ends, np.diff([0.0] + ends)))
    assert all(steps[t] == 1.0 for t in ends if 10.0 < t <= 10.0 + adaptive.SETTLE_S)


def test_an_alarm_clear_timer_starting_inside_a_long_step_is_found_by_redoing_the_stretch_at_1_s(outage):
    (fixed, _, _), (adapt, _, ends) = outage
    # the inlet-rise alarms clear together once the inlets held 60 s below their band, long after
    # the racks shut down, in a quiet stretch
    cleared = [a for a in _alarms(fixed) if a[2] == "inlet_rise" and not a[3]]
    assert len(cleared) == 20
    t_clear = cleared[0][0]
    assert t_clear > 600.0 and [a for a in _alarms(adapt) if a[2] == "inlet_rise" and not a[3]] == cleared
    # the steps up to the start of the clear timer were long: the step in which it started was
    # undone and redone at 1 s (without that, the timer would start at a long step's end with
    # that step's length on it, and the alarm clear at another second)
    steps = dict(zip(ends, np.diff([0.0] + ends)))
    timer_from = t_clear - 60.0
    assert max(steps[t] for t in ends if timer_from - 60.0 <= t < timer_from) == adaptive.MAX_DT_S
    assert all(steps[t] == 1.0 for t in ends if timer_from <= t <= t_clear)
    assert adapt.steps_rejected >= 1


def test_an_undone_long_step_taken_again_gives_the_same_state_bit_for_bit():
    sim = Simulation(load_demo("small"), grid_m=0.6)
    sim.start()
    sim.schedule(0.0, "set_utilization", "all", utilization=0.8)
    for _ in range(5):
        sim.step(1.0)
    snap = adaptive.Snapshot.take(sim)
    sim.step(10.0)
    first = sim.keyframe()
    alarms, seq = list(sim.alarms), sim.events.last_seq
    snap.put_back(sim)
    assert sim.t_s == 5.0
    sim.step(10.0)
    again = sim.keyframe()
    assert set(again) == set(first)
    for name in first:
        assert np.array_equal(first[name], again[name], equal_nan=True), name
    assert sim.alarms == alarms and sim.events.last_seq == seq


def test_the_step_control_grows_by_the_estimate_and_is_held_by_the_rate():
    ctl = adaptive.StepControl(1.0, 10.0, tol_k=0.02)
    x = np.array([20.0])
    ctl.happened(0.0, x)
    assert ctl.estimate(x, 1.0) is None  # no history: no estimate, the step stays 1 s
    ctl.accept(x, 1.0, None)
    assert ctl.h == 1.0
    # a straight line: the linear extrapolation is exact, the step doubles
    ctl.accept(x + 0.001, 1.0, ctl.estimate(x + 0.001, 1.0))
    assert ctl.estimate(x + 0.002, 1.0) == pytest.approx(0.0, abs=1e-12)
    ctl.accept(x + 0.002, 1.0, 0.0)
    assert ctl.h == 2.0
    # an estimate 4x the tolerance halves it (0.9 sqrt(1/4) = 0.45, at least half)
    ctl.accept(x + 0.004, 2.0, 0.08)
    assert ctl.h == 1.0
    # fast change: 0.05 K per second holds the step at 1 s (MAX_CHANGE_K = 0.02 K a step)
    ctl = adaptive.StepControl(1.0, 10.0, tol_k=0.02)
    ctl.happened(0.0, x)
    ctl.accept(x + 0.05, 1.0, None)
    ctl.accept(x + 0.10, 1.0, 0.0)
    assert ctl.h == 1.0


def test_only_an_adaptive_run_corrects_blocks_so_recorded_fixed_steps_keep_their_arithmetic(monkeypatch):
    """An adaptive run's temperature solves correct blocks of columns (``thermal.step(..., blocks=True)``;
    its steps are never replayed); fixed steps, which recordings replay bit for bit, never do, and the
    state leaves the adaptive run with the correction off (also when a step fails)."""
    from dctwin.twin.physics import thermal

    seen = []
    real = thermal.step

    def step(*args, **kw):
        seen.append(kw.get("blocks", False))
        return real(*args, **kw)

    monkeypatch.setattr(thermal, "step", step)
    sim = Simulation(load_demo("small"), grid_m=0.6)
    sim.start()
    sim.run(3.0)
    assert seen and not any(seen)
    seen.clear()
    sim.run(120.0, adaptive=True)
    assert seen and all(seen) and not sim.state.air_blocks
    seen.clear()
    sim.run(3.0)
    assert seen and not any(seen)

    def fail(*args, **kw):
        raise RuntimeError("a step that fails")

    monkeypatch.setattr(thermal, "step", fail)
    with pytest.raises(RuntimeError):
        sim.run(60.0, adaptive=True)
    assert not sim.state.air_blocks
