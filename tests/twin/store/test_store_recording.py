"""Recordings: keyframes bit-exact, schedule, events, alarms, series, seek and exact replay."""

from __future__ import annotations

import math
import sqlite3

import numpy as np
import pytest
from fakesim import FakeSim, FakeSimInjectOnly, run_live

from dctwin.twin.errors import InputError, ProjectFileError
from dctwin.twin.model.events import Event
from dctwin.twin.store import Project, Recorder
from dctwin.twin.store.arrays import decode_array, encode_array
from dctwin.twin.store.replay import Replayer, replay_to, summary_at

ARRAYS = {
    "f8_3d": np.random.default_rng(1).standard_normal((7, 5, 3)),
    "f4_2d": np.random.default_rng(2).random((4, 9), dtype=np.float32),
    "i4": np.arange(-50, 50, dtype=np.int32),
    "i8_scalar": np.asarray(-(2 ** 62), dtype=np.int64),
    "u1": np.arange(256, dtype=np.uint8).reshape(16, 16),
    "bool": np.array([True, False, True]),
    "c16": np.array([1 + 2j, -0.0 - 1e-300j]),
    "empty": np.zeros((0, 4)),
    "big_endian": np.arange(6, dtype=">f8").reshape(2, 3),
    "special": np.array([np.nan, -np.nan, np.inf, -np.inf, -0.0, 5e-324, np.finfo(float).max]),
    "strided": np.arange(40.0).reshape(5, 8)[:, ::3],  # not contiguous
    "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
}


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-identical; a big-endian array comes back little-endian (what dctwin stores), same values."""
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return (a.dtype == b.dtype and a.shape == b.shape
            and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes())


def test_encode_decode_round_trip_is_bit_exact():
    for name, a in ARRAYS.items():
        back = decode_array(*encode_array(a))
        assert _same_bits(a, back), name
        assert back.flags.writeable


def test_keyframe_round_trip_through_a_file_is_bit_exact(tmp_path, site):
    path = tmp_path / "k.dctwin"
    with Project.create(path) as p:
        rec = Recorder(p, p.save_layout(site), 1.0)
        assert rec.on_step(0.0, state=ARRAYS) == 0.0
        rec.close()
    with Project.open(path, read_only=True) as p:
        reader = p.recording()
        kf, arrays = reader.seek(0.0)
        assert set(arrays) == set(ARRAYS)
        for name, a in ARRAYS.items():
            assert _same_bits(a, arrays[name]), name


def test_object_arrays_are_refused():
    with pytest.raises(ValueError, match="dtype object"):
        encode_array(np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="numeric and bool only"):
        encode_array(np.array(["text"]))


@pytest.mark.parametrize("dtype,shape,data,msg", [
    ("|O", "[1]", b"\0" * 8, "unsupported dtype"),
    ("<f8", "[2, 2]", b"\0" * 24, "holds 24 bytes, expected 32"),
    ("<f8", "[-1]", b"", "malformed shape"),
    ("<f8", "not json", b"", "malformed shape"),
    ("<f8", "[true]", b"\0" * 8, "malformed shape"),
])
def test_damaged_array_rows_are_refused(dtype, shape, data, msg):
    with pytest.raises(ProjectFileError, match=msg):
        decode_array(dtype, shape, data, "test")


def test_schedule_events_alarms_and_series(project, site):
    n = 5
    rec = Recorder(project, project.save_layout(site), 0.5, keyframe_every_s=10, metrics_every_s=1,
                   rack_series_every_s=5, rack_ids=[f"R{i}" for i in range(n)], params={"grid_m": 0.3})
    committed = []
    for k in range(0, 61):
        t = 0.5 * k
        inlet = 20.0 + t + np.arange(n)
        if k == 7:
            rec.add_events([Event(1, t, "fail", "CRAH-1", details={"why": "test", "x": np.float64(1.5)})])
        if k == 9:
            rec.add_events([Event(2, t, "throttle", "R3", cause=1, condition="inlet > 27 C"),
                            Event(1, 3.5, "fail", "CRAH-1")])  # seq 1 again: stored once
            rec.add_alarms([{"t_s": t, "target": "R3", "kind": "inlet_high", "severity": "critical",
                             "message": "inlet 32 C", "cause": 2}])
        got = rec.on_step(t, state={"x": np.full(3, t)}, rack_inlet_c=inlet, rack_power_w=1000.0 * inlet,
                          metrics={"pue": 1.2 + t / 100})
        if got is not None:
            committed.append(got)
    rec.close()
    assert committed == [0.0, 10.0, 20.0, 30.0]
    reader = project.recording(rec.recording_id)
    assert reader.finished and reader.duration_s == 30.0
    assert reader.params == {"grid_m": 0.3}
    assert [k.t_s for k in reader.keyframes()] == committed
    assert [k.last_event_seq for k in reader.keyframes()] == [0, 2, 2, 2]
    kf, arrays = reader.seek(19.99)
    assert kf.t_s == 10.0 and np.array_equal(arrays["x"], np.full(3, 10.0))
    with pytest.raises(ProjectFileError, match="no keyframe at or before"):
        reader.seek(-1.0)
    ev = reader.events()
    assert [(e.seq, e.t_s, e.kind, e.cause) for e in ev] == [(1, 3.5, "fail", None), (2, 4.5, "throttle", 1)]
    assert ev[0].details == {"why": "test", "x": 1.5}
    assert ev[1].condition == "inlet > 27 C"
    assert [e.seq for e in reader.events(4.0, 10.0)] == [2]
    alarms = reader.alarms()
    assert alarms == [{"t_s": 4.5, "target": "R3", "kind": "inlet_high", "severity": "critical", "active": True,
                       "message": "inlet 32 C", "cause": 2}]
    t, metrics = reader.hall_metrics()
    assert list(t) == [float(s) for s in range(31)]
    assert reader.metric_names == ["it_power_w", "max_inlet_c", "mean_inlet_c", "pue"]
    np.testing.assert_array_equal(metrics["max_inlet_c"], (20.0 + t + n - 1).astype(np.float32))
    np.testing.assert_array_equal(metrics["pue"], (1.2 + t / 100).astype(np.float32))
    t_r, inlet = reader.series("rack_inlet_c")
    assert list(t_r) == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
    assert inlet.shape == (7, n)
    np.testing.assert_array_equal(inlet, (20.0 + t_r[:, None] + np.arange(n)).astype(np.float32))
    t1, r2 = reader.rack_trend("rack_power_w", "R2", 4.0, 21.0)
    assert list(t1) == [5.0, 10.0, 15.0, 20.0]
    np.testing.assert_array_equal(r2, (1000.0 * (22.0 + t1)).astype(np.float32))
    for rid in ("R0", "R4"):
        t_all, col = reader.rack_trend("rack_inlet_c", rid)
        np.testing.assert_array_equal(t_all, t_r)
        np.testing.assert_array_equal(col, inlet[:, int(rid[1:])])
    t_m, pue = reader.metric_trend("pue", 2.0, 5.0)
    assert list(t_m) == [2.0, 3.0, 4.0, 5.0]
    np.testing.assert_array_equal(pue, (1.2 + t_m / 100).astype(np.float32))
    with pytest.raises(ProjectFileError, match="no hall metric 'cop'"):
        reader.metric_trend("cop")
    with pytest.raises(ProjectFileError, match="no rack 'R9'"):
        reader.rack_trend("rack_inlet_c", "R9")
    ts, at = reader.rack_values_at("rack_inlet_c", 17.0)
    assert ts == 15.0 and np.array_equal(at, (35.0 + np.arange(n)).astype(np.float32))


def test_recorder_rejects_bad_input(project, site):
    lid = project.save_layout(site)
    with pytest.raises(InputError, match="dt_s must be a positive"):
        Recorder(project, lid, 0.0)
    with pytest.raises(InputError, match="has no layout version 42"):
        Recorder(project, 42, 1.0)
    with pytest.raises(InputError, match="has no incident 3"):
        Recorder(project, lid, 1.0, incident_id=3)
    rec = Recorder(project, lid, 1.0, rack_ids=["A", "B"])
    with pytest.raises(InputError, match="no state was given"):
        rec.on_step(0.0, rack_inlet_c=np.zeros(2))
    rec.on_step(0.0, state={"a": np.zeros(2)}, rack_inlet_c=np.zeros(2))
    with pytest.raises(InputError, match="3 rack values given for 2 racks"):
        rec.on_step(10.0, state={"a": np.zeros(2)}, rack_inlet_c=np.zeros(3))
    with pytest.raises(InputError, match="time went backwards"):
        rec.on_step(5.0, state={"a": np.zeros(2)})
    with pytest.raises(InputError, match="alarm"):
        rec.add_alarms([{"t_s": 1.0}])


def test_read_only_project_cannot_record(tmp_path, site):
    path = tmp_path / "r.dctwin"
    with Project.create(path) as p:
        lid = p.save_layout(site)
    with Project.open(path, read_only=True) as p:
        with pytest.raises(ProjectFileError, match="read-only"):
            Recorder(p, lid, 1.0)


INCIDENT = [Event(0, 10.0, "fail", "CRAH-1"), Event(0, 12.5, "fail", "CRAH-2"),
            Event(0, 40.0, "set_utilization", "R-01", details={"utilization": 0.9}),
            Event(0, 70.0, "repair", "CRAH-1"), Event(0, 75.0, "repair", "CRAH-2")]


@pytest.mark.parametrize("sim_cls", [FakeSim, FakeSimInjectOnly])
def test_replay_is_bit_identical_to_the_live_run(tmp_path, site, sim_cls):
    """Both replay paths: an engine with schedule() (ours) and one that only has inject()."""
    path = tmp_path / "live.dctwin"
    live: dict = {}
    with Project.create(path) as p:
        sim = sim_cls(dt_s=0.5)
        rec = Recorder(p, p.save_layout(site), sim.dt_s, keyframe_every_s=15, metrics_every_s=1,
                       rack_series_every_s=5)
        run_live(sim, rec, 120.0, INCIDENT, live)
        n_events = len(sim.events)
    kinds = {e.kind for e in sim.events}
    assert {"throttle", "unthrottle", "fail", "repair"} <= kinds  # the run has automatic actions to replay
    with Project.open(path, read_only=True) as p:
        reader = p.recording()
        assert len(reader.events()) == n_events
        assert reader.rack_ids == sim.rack_ids
        assert reader.metric_names[-2:] == ["units_on", "air_mean_c"]
        for t in (0.0, 0.5, 10.0, 10.5, 12.5, 14.5, 15.0, 29.0, 41.5, 44.0, 70.5, 89.0, 90.0, 119.5, 120.0):
            sim2 = replay_to(reader, t, lambda r: sim_cls(dt_s=r.dt_s))
            assert sim2.t_s == t
            state = sim2.keyframe()
            for name, a in live[t].items():
                assert _same_bits(a, state[name]), (t, name)
        s = summary_at(reader, 44.0, lambda r: sim_cls(dt_s=r.dt_s))
        assert s.t_s == 44.0 and s.racks["R-01"].state == "throttled"
        with pytest.raises(InputError, match="outside recording"):
            replay_to(reader, 121.0, lambda r: sim_cls(dt_s=r.dt_s))


def test_replay_without_reinjecting_events_would_differ(tmp_path, site):
    """The bit-exact replay above depends on re-injected events: dropping them changes the state."""
    path = tmp_path / "live.dctwin"
    live: dict = {}
    with Project.create(path) as p:
        sim = FakeSim(dt_s=0.5)
        run_live(sim, Recorder(p, p.save_layout(site), 0.5, keyframe_every_s=15), 60.0, INCIDENT, live)
    with Project.open(path, read_only=True) as p:
        reader = p.recording()
        kf, arrays = reader.seek(44.0)
        bare = FakeSim(dt_s=0.5)
        bare.restore(arrays)
        while bare.t_s < 44.0:
            bare.step()
        assert not _same_bits(bare.keyframe()["rack_power_w"], live[44.0]["rack_power_w"])


def test_unknown_recording_names_the_ones_there(project, site):
    Recorder(project, project.save_layout(site), 1.0).close()
    with pytest.raises(ProjectFileError, match=r"has no recording 7 \(recordings: 1\)"):
        project.recording(7)


def test_keyframe_schedule_with_uneven_steps(project, site):
    rec = Recorder(project, project.save_layout(site), 0.3, keyframe_every_s=1.0)
    got = [rec.on_step(round(0.3 * k, 10), state={"a": np.zeros(1)}) for k in range(12)]
    rec.close()
    kf_times = [g for g in got if g is not None]
    assert kf_times == [0.0, 1.2, 2.1, 3.0]
    assert all(math.isclose(a, b) for a, b in zip(kf_times, [k.t_s for k in project.recording().keyframes()]))


def test_background_writer_gives_the_same_recording(tmp_path, site):
    files = {}
    for background in (False, True):
        path = tmp_path / f"bg{background}.dctwin"
        committed = []
        with Project.create(path) as p:
            sim = FakeSim(dt_s=0.5)
            rec = Recorder(p, p.save_layout(site), 0.5, keyframe_every_s=15, background=background,
                           on_commit=committed.append)
            run_live(sim, rec, 60.0, INCIDENT)
        assert [t for t in committed if t is not None] == [0.0, 15.0, 30.0, 45.0, 60.0]
        with Project.open(path, read_only=True) as p:
            r = p.recording()
            files[background] = ([k.t_s for k in r.keyframes()], [e.to_dict() for e in r.events()],
                                 r.series("hall")[1].tobytes(), r.series("rack_power_w")[1].tobytes(),
                                 r.load_keyframe(r.keyframes()[-1])["air_c"].tobytes())
    assert files[False] == files[True]


def test_background_writer_failure_reaches_the_engine_thread(project, site, monkeypatch):
    rec = Recorder(project, project.save_layout(site), 1.0, keyframe_every_s=2, background=True)
    real = rec._write

    def failing(batch):
        if batch.t_s == 4.0:
            raise OSError("disk full")
        real(batch)

    monkeypatch.setattr(rec, "_write", failing)
    with pytest.raises(ProjectFileError, match=r"recording 1 could not be written \(OSError: disk full\)"):
        for k in range(10):  # the error shows at a later on_step, or at the latest at close()
            rec.on_step(float(k), state={"a": np.zeros(3)})
        rec.close()
    assert rec.closed and not rec._thread.is_alive()
    kept = [k.t_s for k in project.recording().keyframes()]
    assert kept[:2] == [0.0, 2.0] and 4.0 not in kept


def test_unchanged_arrays_are_stored_once(tmp_path, site):
    path = tmp_path / "dedupe.dctwin"
    flow = np.random.default_rng(3).standard_normal(100_000)  # like the frozen flow field: 800 kB
    states = {}
    with Project.create(path) as p:
        rec = Recorder(p, p.save_layout(site), 1.0, keyframe_every_s=1)
        for k in range(6):
            if k == 3:
                flow = flow + 1.0  # a re-march: new bytes, then unchanged again
            states[float(k)] = {"flow_u": flow.copy(), "air_T": np.full(50, float(k)), "nan": np.array([np.nan])}
            rec.on_step(float(k), state=states[float(k)])
        rec.close()
    con = sqlite3.connect(path)
    rows = con.execute("SELECT k.t_s, a.name, a.ref_id IS NOT NULL, length(a.data) FROM keyframe_arrays a "
                       "JOIN keyframes k ON k.id = a.keyframe_id WHERE a.name = 'flow_u' ORDER BY k.t_s").fetchall()
    con.close()
    assert [(t, ref) for t, _, ref, _ in rows] == [(0.0, 0), (1.0, 1), (2.0, 1), (3.0, 0), (4.0, 1), (5.0, 1)]
    sizes = [n for *_, n in rows]
    assert sizes[1:3] == sizes[4:] == [0, 0] and 600_000 < sizes[0] <= 800_000 and 600_000 < sizes[3] <= 800_000
    assert path.stat().st_size < 2_500_000  # two copies of the flow, not six
    with Project.open(path, read_only=True) as p:
        reader = p.recording()
        for kf in reader.keyframes():
            arrays = reader.load_keyframe(kf)
            for name, a in states[kf.t_s].items():
                assert _same_bits(a, arrays[name]), (kf.t_s, name)


@pytest.mark.parametrize("sim_cls", [FakeSim, FakeSimInjectOnly])
def test_replayer_seeks_back_and_forth_bit_exact(tmp_path, site, sim_cls):
    path = tmp_path / "scrub.dctwin"
    live: dict = {}
    with Project.create(path) as p:
        sim = sim_cls(dt_s=0.5)
        run_live(sim, Recorder(p, p.save_layout(site), 0.5, keyframe_every_s=15), 120.0, INCIDENT, live)
    with Project.open(path, read_only=True) as p:
        rp = Replayer(p.recording(), lambda r: sim_cls(dt_s=r.dt_s))
        sims = set()
        for t in (44.0, 41.5, 44.5, 46.0, 12.0, 12.5, 13.0, 100.0, 0.0, 75.0, 75.5, 119.5, 120.0, 30.0):
            s = rp.seek(t)
            sims.add(id(s))
            assert s.t_s == t
            state = s.keyframe()
            for name, a in live[t].items():
                assert _same_bits(a, state[name]), (t, name)
        assert len(sims) == 1  # one simulation for every seek
