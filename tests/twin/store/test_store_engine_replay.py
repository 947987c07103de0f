"""Record a run of the real engine with `record_run`, then replay: the state is bit-identical at every T.

A small hall on a coarse grid keeps this fast; the incident (a cooling unit
failure, a load change and a repair) puts injected events between keyframes.
"""

from __future__ import annotations

import json

import pytest

from dctwin.app.main import main
from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.store import Project
from dctwin.twin.store.recorder import record_run
from dctwin.twin.store.replay import Replayer, replay_to, summary_at

GRID_M = 1.2
TIMES = (0.0, 3.0, 5.0, 6.0, 10.0, 12.0, 13.0, 20.0, 27.0, 40.0)


@pytest.fixture(scope="module", params=[True, False], ids=["without-history", "with-history"])
def engine_run(request, tmp_path_factory):
    """The run, recorded as record_run does now (keyframes without the air history, which the run forgets
    there) and as it did before (with it: the files main wrote, which must replay as exactly)."""
    from dctwin.twin.sim.engine import Simulation

    path = tmp_path_factory.mktemp("without-history" if request.param else "with-history") / "run.dctwin"
    site = synthetic_site(4)
    sim = Simulation(site, grid_m=GRID_M, dt_s=1.0)
    sim.solve_steady()
    unit, rack = sim.unit_ids[0], sim.rack_ids[1]
    sim.schedule(5.0, "fail", unit)
    sim.schedule(12.0, "set_utilization", rack, utilization=1.0)
    sim.schedule(25.0, "repair", unit)
    rr = record_run(path, site, sim, dt_s=1.0, duration_s=40.0, keyframe_every_s=10.0, grid_m=GRID_M,
                    seek_budget_s=None, forget_air_history=request.param)  # a keyframe every 10 s
    live = {0.0: (sim.keyframe(), sim.summary())}

    def on_step(s):
        if s.t_s in TIMES:  # the state the step reached (at a keyframe the recorder then has it forget the air history)
            live[s.t_s] = (s.keyframe(), s.summary())
        rr.on_step(s)

    sim.run(40.0, 1.0, on_step=on_step)
    rr.close(sim)
    return path, live, len(sim.events)


def test_recording_holds_the_run(engine_run):
    path, live, n_events = engine_run
    with Project.open(path, read_only=True) as p:
        reader = p.recording()
        assert reader.finished and reader.duration_s == 40.0
        assert [k.t_s for k in reader.keyframes()] == [0.0, 10.0, 20.0, 30.0, 40.0]
        assert len(reader.events()) == n_events
        kinds = [e.kind for e in reader.events()]
        assert kinds[:3] == ["fail", "set_utilization", "repair"] or {"fail", "set_utilization", "repair"} <= set(kinds)
        assert reader.params["grid_m"] == GRID_M


@pytest.mark.parametrize("t", TIMES)
def test_replay_is_bit_identical(engine_run, t):
    path, live, _ = engine_run
    with Project.open(path, read_only=True) as p:
        sim = replay_to(p.recording(), t)
    state = sim.keyframe()
    expected = live[t][0]
    assert set(state) == set(expected)
    for name, a in expected.items():
        if name == "event_seq":  # event-log bookkeeping, not state: the engine's restore() does not set it yet
            continue
        assert a.dtype == state[name].dtype and a.shape == state[name].shape, name
        assert a.tobytes() == state[name].tobytes(), (t, name)


def test_keyframes_leave_the_air_history_out(engine_run):
    """The air history (float noise below the solver tolerance, 2/3 of a keyframe) is not stored: the live run
    forgot it at each keyframe, as a replay restored from one does, so replay stays bit-identical (above)."""
    path, live, _ = engine_run
    history = {"air_star", "air_rate1", "air_rate2", "air_rate_dt"}
    with Project.open(path, read_only=True) as p:
        reader = p.recording()
        forgotten = "without-history" in path.parent.name
        for kf in reader.keyframes():
            arrays = reader.load_keyframe(kf)
            assert "air_T" in arrays and (not history & set(arrays) if forgotten else history <= set(arrays))
    assert live[20.0][0]["air_rate_dt"][0] > 0  # the live run had a history there (it forgot it after)


@pytest.mark.parametrize("seq", [(10.0, 13.0), (20.0, 27.0), (10.0, 10.0, 12.0), (5.0, 10.0, 20.0, 40.0)])
def test_seeking_on_from_a_keyframe_second_restores_it(engine_run, seq):
    """A seek that lands on a keyframe's second by stepping, then goes on: the replay restores that keyframe
    (the live run forgot its air history there) instead of stepping on, and stays bit-identical."""
    path, live, _ = engine_run
    with Project.open(path, read_only=True) as p:
        rp = Replayer(p.recording())
        for t in seq:
            state = rp.seek(t).keyframe()
            for name, a in live[t][0].items():
                if name != "event_seq":
                    assert a.tobytes() == state[name].tobytes(), (seq, t, name)


def test_cli_replay_json_matches_the_live_summary(engine_run, capsys):
    path, live, _ = engine_run
    assert main(["replay", str(path), "--at", "27", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    want = live[27.0][1]
    assert out["t_s"] == 27.0
    assert out["max_inlet_c"] == want.max_inlet_c
    assert out["racks"] == json.loads(json.dumps(want.to_json()["racks"]))
    with Project.open(path, read_only=True) as p:
        assert summary_at(p.recording(), 27.0).cooling_units == want.cooling_units


def test_grid_of_the_run_is_found_when_not_given(tmp_path):
    from dctwin.twin.sim.engine import Simulation

    site = synthetic_site(4)
    sim = Simulation(site, grid_m=GRID_M, dt_s=1.0)
    sim.solve_steady()
    rr = record_run(tmp_path / "g.dctwin", site, sim, keyframe_every_s=2.0)  # no grid_m: inferred
    sim.run(3.0, 1.0, on_step=rr.on_step)
    expected = sim.keyframe()
    rr.close(sim)
    with Project.open(tmp_path / "g.dctwin", read_only=True) as p:
        reader = p.recording()
        assert reader.params["grid_m"] is not None
        state = replay_to(reader, 3.0).keyframe()
    assert state["air_T"].shape == expected["air_T"].shape
    assert state["air_T"].tobytes() == expected["air_T"].tobytes()


def test_one_replayer_seeks_back_and_forth(engine_run):
    path, live, _ = engine_run
    with Project.open(path, read_only=True) as p:
        rp = Replayer(p.recording())
        for t in (27.0, 13.0, 20.0, 40.0, 3.0, 5.0, 6.0, 12.0, 27.0):
            state = rp.seek(t).keyframe()
            for name, a in live[t][0].items():
                if name == "event_seq":  # see test_replay_is_bit_identical
                    continue
                assert a.tobytes() == state[name].tobytes(), (t, name)


# ---------------------------------------------------------------- keyframes that lie (issue 19), on the engine


def _forged(engine_run, tmp_path, name, change):
    """A copy of the run whose keyframe at t = 20 s holds ``change(array)`` as ``name`` (checksums forged)."""
    import shutil
    import sqlite3

    import numpy as np
    from fakesim import forge_checksums

    from dctwin.twin.store.arrays import encode_array

    path, _, _ = engine_run
    bad = tmp_path / "lying.dctwin"
    shutil.copy(path, bad)
    with Project.open(bad, read_only=True) as p:
        reader = p.recording()
        kf = [k for k in reader.keyframes() if k.t_s == 20.0][0]
        value = change(reader.load_keyframe(kf)[name].copy())
    dtype, shape, data = encode_array(np.asarray(value))
    con = sqlite3.connect(bad)
    con.execute("UPDATE keyframe_arrays SET dtype = ?, shape = ?, codec = 'raw', ref_id = NULL, base_id = NULL, "
                "data = ? WHERE keyframe_id = ? AND name = ?", (dtype, shape, data, kf.id, name))
    forge_checksums(con)
    con.commit()
    con.close()
    return bad


@pytest.mark.parametrize("name,change,says", [
    ("air_T", lambda a: a * float("nan"), "array air_T holds NaN or infinite values"),
    ("t_s", lambda a: a * 0 - 5.0, "array t_s holds"),
    ("rack_mode", lambda a: a * 0 + 99, "keyframe at t = 20 s is damaged"),
], ids=["all-NaN air", "negative time", "mode 99"])
def test_cli_replay_of_a_keyframe_that_lies_names_it_and_prints_no_nan(engine_run, tmp_path, capsys, name, change,
                                                                       says):
    bad = _forged(engine_run, tmp_path, name, change)
    assert main(["replay", str(bad), "--at", "13"]) == 0  # before it: as recorded
    capsys.readouterr()
    code = main(["replay", str(bad), "--at", "27", "--json"])
    out, err = capsys.readouterr()
    if name == "rack_mode" and code == 0:  # the engine runs from a mode it does not know: never NaN, though
        assert "NaN" not in out
        return
    assert code == 2 and out == "" and "internal error" not in err
    assert "lying.dctwin: recording 1, keyframe at t = 20 s is damaged" in err and says in err
    assert "replay stops before it" in err


@pytest.mark.parametrize("t", (0.0, 10.0, 20.0))
def test_a_state_restored_from_a_keyframe_draws_the_power_it_recorded(engine_run, t):
    """A seek that lands on a keyframe restores it and steps no further: the racks still draw power
    (it was 0.0 kW at t = 0 while the recording's series said 149 kW)."""
    path, live, _ = engine_run
    with Project.open(path, read_only=True) as p:
        reader = p.recording()
        sim = replay_to(reader, t)
        hall_t, hall = reader.hall_metrics()
    got = sim.summary()
    recorded = float(hall["it_power_w"][list(hall_t).index(t)])
    assert got.it_power_w > 0 and got.it_power_w == sum(r.power_w for r in got.racks.values())
    if t == 0.0:  # the steady state: exactly what the live run drew
        assert {r: v.power_w for r, v in got.racks.items()} == {r: v.power_w for r, v in live[0.0][1].racks.items()}
        assert got.it_power_w == pytest.approx(recorded, rel=1e-6)  # the series is float32
    else:  # the keyframe holds the state, not the step before it: its power at the state's own inlets
        assert got.it_power_w == pytest.approx(recorded, rel=0.02)
    assert sim.hall_metrics()["it_power_w"] == got.it_power_w
