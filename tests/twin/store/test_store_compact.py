"""Compact recordings (formats 2 and 3): encodings, keyframe spacing, old files and their migration."""

from __future__ import annotations

import hashlib
import math
import shutil
import sqlite3
from typing import Optional

import numpy as np
import pytest
from fakesim import FakeSim, run_live
from format1 import FIXTURE, downgrade

from dctwin.app.main import main
from dctwin.twin.errors import InputError, ProjectFileError
from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.model.events import Event
from dctwin.twin.store import Project, Recorder, export_review, replay_to, verify_file
from dctwin.twin.store import recorder as recorder_mod
from dctwin.twin.store.arrays import pack, pack_blob, unpack, unpack_blob
from dctwin.twin.store.compact import compact
from dctwin.twin.store.project import MIGRATIONS, check_file
from dctwin.twin.store.recorder import record_run
from dctwin.twin.store.schema import SCHEMA_VERSION, Checked, _OfRecording, optional_table

INCIDENT = [Event(0, 10.0, "fail", "CRAH-1"), Event(0, 40.0, "repair", "CRAH-1")]


def _bits(a: np.ndarray) -> tuple:
    return a.dtype.str, a.shape, np.ascontiguousarray(a).tobytes()


# ---------------------------------------------------------------- encodings


@pytest.mark.parametrize("dtype", ["<f8", "<f4", "<i8", "<i4", "|i1", "|u1", "|b1", "<c16", "<u2"])
def test_every_encoding_round_trips_bit_exact(dtype):
    rng = np.random.default_rng(4)
    for n in (0, 1, 7, 63, 64, 5000):
        base = (rng.standard_normal(n) * 40).astype(dtype)
        new = base.copy()
        if n:
            new[rng.integers(0, n, size=max(1, n // 10))] = (rng.standard_normal(max(1, n // 10)) * 40).astype(dtype)
        if dtype == "<f8" and n > 3:
            new[:3] = [np.nan, -0.0, np.inf]
        raw, braw = new.tobytes(), base.tobytes()
        for b in (None, braw):
            codec, blob = pack(raw, np.dtype(dtype).itemsize, b)
            assert unpack(codec, blob, np.dtype(dtype).itemsize, len(raw), b) == raw, (dtype, n, codec)


def test_a_slowly_changing_field_is_stored_as_xor_and_small():
    rng = np.random.default_rng(5)
    field = 20.0 + 10.0 * rng.random(30_000)
    later = field + 1e-3 * rng.standard_normal(field.size)
    codec, blob = pack(later.tobytes(), 8, field.tobytes())
    assert codec == "xor" and len(blob) < 0.7 * later.nbytes
    codec, blob = pack(np.zeros(30_000).tobytes(), 8)
    assert codec == "shuffle" and len(blob) < 1000


def test_an_array_that_is_another_times_a_few_factors_is_stored_as_their_product(tmp_path, site):
    """The engine's face fluxes are its face velocities times the face areas: exact, and nearly free."""
    rng = np.random.default_rng(9)
    u = rng.standard_normal(50_000)
    u[::7] = 0.0
    u[5] = np.nan
    area = np.where(np.arange(u.size) % 3 == 0, 0.36, 0.18)
    flux = u * area
    flux[11] = 1.5  # one face off the rule: carried exactly in the residual
    with Project.create(tmp_path / "s.dctwin") as p:
        rec = Recorder(p, p.save_layout(site), 1.0)
        rec.on_step(0.0, state={"flow_u": u, "flow_flux": flux})
        rec.close()
        con = sqlite3.connect(tmp_path / "s.dctwin")
        codec, n = con.execute("SELECT codec, length(data) FROM keyframe_arrays WHERE name = 'flow_flux'").fetchone()
        con.close()
        assert codec == "scale" and n < 0.05 * flux.nbytes
        got = p.recording().load_keyframe(p.recording().keyframes()[0])
    assert _bits(got["flow_flux"]) == _bits(flux) and _bits(got["flow_u"]) == _bits(u)


def test_noise_stays_raw():
    raw = np.random.default_rng(6).bytes(10_000)
    assert pack(raw, 1) == ("raw", raw)


@pytest.mark.parametrize("codec", ["zstd", "shuffle", "xor"])
def test_a_blob_that_decodes_to_another_size_is_refused_without_allocating_it(codec):
    import zstandard

    bomb = zstandard.ZstdCompressor().compress(bytes(50_000_000))  # 50 MB of zeros in a few kB
    with pytest.raises(ProjectFileError, match="decompress"):
        unpack(codec, bomb, 8, 800, bytes(800))
    small = zstandard.ZstdCompressor().compress(bytes(80))
    with pytest.raises(ProjectFileError, match="80 bytes, expected 800"):
        unpack(codec, small, 8, 800, bytes(800))
    with pytest.raises(ProjectFileError, match="unknown encoding"):
        unpack("lzma", small, 8, 80)


def test_series_blobs_round_trip():
    v = np.random.default_rng(7).random((20, 61)).astype("<f4")
    assert unpack_blob(pack_blob(v.tobytes(), 4), 4, v.nbytes) == v.tobytes()


# ---------------------------------------------------------------- rows of a recording


def _record(path, seconds=60.0, **kw):
    live: dict = {}
    with Project.create(path) as p:
        sim = FakeSim(dt_s=0.5)
        rec = Recorder(p, p.save_layout(synthetic_site(6)), 0.5, keyframe_every_s=kw.pop("every", 15.0), **kw)
        run_live(sim, rec, seconds, INCIDENT, live)
    return live


def test_decoding_never_chains(tmp_path):
    """Every xor row's base is stored in full, every reference points at a row with bytes."""
    path = tmp_path / "r.dctwin"
    _record(path, 120.0, every=5.0)
    con = sqlite3.connect(path)
    rows = {r[0]: r[1:] for r in con.execute("SELECT id, codec, ref_id, base_id, length(data) FROM keyframe_arrays")}
    codecs = {c for c, *_ in rows.values()}
    assert {"xor", "shuffle", "raw"} <= codecs
    for rid, (codec, ref, base, n) in rows.items():
        if ref is not None:
            assert ref < rid and rows[ref][1] is None and n == 0
        if codec == "xor":
            assert base < rid and rows[base][0] in ("raw", "zstd", "shuffle") and rows[base][1] is None
        if codec == "scale":
            assert base < rid and rows[base][0] in ("raw", "zstd", "shuffle", "xor") and rows[base][1] is None
    first = con.execute("SELECT first_array_id, n_arrays FROM keyframes ORDER BY id").fetchall()
    assert all(a + n == b for (a, n), (b, _) in zip(first, first[1:]))  # consecutive ids, keyframe by keyframe
    con.close()


def test_identical_arrays_under_other_names_are_stored_once(tmp_path, site):
    big = np.random.default_rng(8).standard_normal(20_000)
    with Project.create(tmp_path / "d.dctwin") as p:
        rec = Recorder(p, p.save_layout(site), 1.0, keyframe_every_s=1.0)
        rec.on_step(0.0, state={"march1_flow_u": big, "flow_u": big * 2})
        rec.on_step(1.0, state={"march0_flow_u": big, "march1_flow_u": big * 2, "flow_u": big * 3})
        rec.close()
        con = sqlite3.connect(tmp_path / "d.dctwin")
        stored = con.execute("SELECT count(*) FROM keyframe_arrays WHERE length(data) > 0").fetchone()[0]
        con.close()
        assert stored == 3  # big, 2 big, 3 big
        reader = p.recording()
        arrays = reader.load_keyframe(reader.keyframes()[1])
        assert _bits(arrays["march0_flow_u"]) == _bits(big) and _bits(arrays["flow_u"]) == _bits(big * 3)


def test_compact_recording_replays_bit_identical(tmp_path):
    path = tmp_path / "r.dctwin"
    live = _record(path, 60.0)
    with Project.open(path, read_only=True) as p:
        assert p.version == SCHEMA_VERSION
        for t in (0.0, 7.5, 15.0, 33.0, 60.0):
            got = replay_to(p.recording(), t, lambda r: FakeSim(dt_s=r.dt_s)).keyframe()
            assert {k: _bits(v) for k, v in got.items()} == {k: _bits(v) for k, v in live[t].items()}, t


# ---------------------------------------------------------------- keyframe spacing


def _spacing(site, events: dict, step_cost: float | None, seconds: int = 4000, budget: float | None = 0.5,
             cells: int = 3):
    with Project.create(f"/tmp/spacing-{id(events)}-{cells}.dctwin") as p:
        rec = Recorder(p, p.save_layout(site), 1.0, keyframe_every_s=60.0, seek_budget_s=budget,
                       max_keyframe_gap_s=900.0, step_cost_s=step_cost)
        for k in range(seconds + 1):
            if k in events:
                rec.add_events([Event(len(rec._seen_seq) + 1, float(k), "fail", "CRAH-1")])
            rec.on_step(float(k), state={"air_T": np.full(cells, float(k))})
        rec.close()
        times = [kf.t_s for kf in p.recording().keyframes()]
    import os

    os.unlink(p.path)
    return times, rec


def test_quiet_stretches_get_sparse_keyframes_up_to_the_seek_budget(site):
    # 2 ms a step: a seek re-simulating a whole 200 s gap takes the 0.5 s budget (less 0.1 s to load)
    times, rec = _spacing(site, {}, 0.002)
    gaps = np.diff(times)
    assert list(gaps[:3]) == [120.0, 200.0, 200.0]  # doubling from keyframe_every_s ...
    assert set(gaps[3:-1]) == {200.0} and gaps[-1] <= 200.0  # ... up to (0.5 s - 0.1 s) / 2 ms
    assert rec.quiet_gap_s() == pytest.approx(200.0)
    # a slower engine gets denser keyframes; a very fast one is held at max_keyframe_gap_s
    assert set(np.diff(_spacing(site, {}, 0.005)[0])[2:-1]) == {80.0}
    assert max(np.diff(_spacing(site, {}, 0.0001)[0])) == 900.0


def test_spacing_follows_the_cells_not_the_clock(monkeypatch, site):
    """The step cost is modelled from the air grid, so a busy machine writes the same keyframes."""
    class Busy:  # a CPU clock that says every step took a second
        now = 0.0

        def tick(self) -> float:
            self.now += 1.0
            return self.now

    quiet, rec = _spacing(site, {}, None, seconds=2000, cells=32_640)
    assert rec.step_cost_s == pytest.approx(32_640 * recorder_mod.STEP_S_PER_CELL)
    monkeypatch.setattr("time.thread_time", Busy().tick)
    monkeypatch.setattr("time.process_time", Busy().tick)
    busy, _ = _spacing(site, {}, None, seconds=2000, cells=32_640)
    assert busy == quiet
    gap = math.floor((0.5 - recorder_mod.SEEK_FIXED_S) / (32_640 * recorder_mod.STEP_S_PER_CELL))
    assert max(np.diff(quiet)) == gap  # (0.5 s - 0.1 s) / (32,640 cells x 65 ns) = 188 steps
    # four times the cells, a quarter of the gap (never under keyframe_every_s)
    assert max(np.diff(_spacing(site, {}, None, seconds=1000, cells=4 * 32_640)[0])) == max(60.0, gap // 4)


def test_events_bring_dense_keyframes_and_one_at_the_event(site):
    times, _ = _spacing(site, {2000: True, 2100: True}, 0.002)
    assert 2000.0 in times  # the first event after a quiet stretch gets its own keyframe
    assert [t for t in times if 2000 <= t <= 2300] == [2000.0, 2060.0, 2120.0, 2180.0, 2300.0]  # dense, then
    assert max(np.diff(times)) <= 200.0  # doubling again


def test_fixed_spacing_without_a_budget(site):
    times, _ = _spacing(site, {}, 0.002, seconds=600, budget=None)
    assert times == [float(t) for t in range(0, 601, 60)]


def test_record_run_adapts_by_default(tmp_path, site):
    sim = FakeSim(dt_s=1.0)
    rr = record_run(tmp_path / "a.dctwin", site, sim, background=False)
    for _ in range(3000):
        sim.step()
        rr.on_step(sim)
    rr.close(sim)
    with Project.open(tmp_path / "a.dctwin", read_only=True) as p:
        reader = p.recording()
        assert reader.params["seek_budget_s"] == 0.5
        assert len(reader.keyframes()) < 3000 / 60  # a fake step takes microseconds: gaps grow to the cap


# ---------------------------------------------------------------- files of format 1


@pytest.fixture
def old(tmp_path):
    path = tmp_path / "old.dctwin"
    shutil.copy(FIXTURE, path)
    return path


def _live_of_fixture() -> dict:
    """The live states of the run tests/data/store/format1.dctwin was recorded from (the fake engine is deterministic)."""
    class Null:
        def on_step(self, *a, **k):
            return None

        def close(self):
            return None

    live: dict = {}
    run_live(FakeSim(dt_s=0.5), Null(), 60.0, INCIDENT, live)
    return live


def test_the_format_is_4_with_migrations_from_1_2_and_3():
    assert SCHEMA_VERSION == 4 and 1 in MIGRATIONS and 2 in MIGRATIONS and 3 in MIGRATIONS


def test_an_old_file_opens_read_only_in_place_and_replays_exactly(old):
    digest = hashlib.sha256(old.read_bytes()).hexdigest()
    live = _live_of_fixture()
    with Project.open(old, read_only=True) as p:
        assert p.version == 1 and p.path == old and p.migrated_from is None
        reader = p.recording()
        assert [k.t_s for k in reader.keyframes()] == [0.0, 15.0, 30.0, 45.0, 60.0]
        assert [e.kind for e in reader.events()][:1] == ["fail"] and len(reader.alarms()) == 2
        assert len(reader.series("hall")[0]) == 61  # metrics every 1 s
        assert reader.rack_trend("rack_inlet_c", "R-00")[0][-1] == 60.0
        for t in (0.0, 12.5, 45.0, 60.0):
            got = replay_to(reader, t, lambda r: FakeSim(dt_s=r.dt_s)).keyframe()
            assert {k: _bits(v) for k, v in got.items()} == {k: _bits(v) for k, v in live[t].items()}, t
        reader.check_data()
    assert hashlib.sha256(old.read_bytes()).hexdigest() == digest
    assert sorted(x.name for x in old.parent.iterdir()) == ["old.dctwin"]


def test_compact_rewrites_an_old_file_into_a_new_one_and_keeps_everything(old, tmp_path):
    digest = hashlib.sha256(old.read_bytes()).hexdigest()
    new = tmp_path / "new.dctwin"
    res = compact(old, new)
    assert res["from_format"] == 1 and res["format"] == SCHEMA_VERSION and new.exists()
    assert hashlib.sha256(old.read_bytes()).hexdigest() == digest  # never in place
    assert check_file(new).user_version == SCHEMA_VERSION
    with Project.open(old, read_only=True) as a, Project.open(new, read_only=True) as b:
        assert a.meta()["kind"] == b.meta()["kind"] == "project" and "file_id" in b.meta()
        assert a.layout_text() == b.layout_text() and a.incidents() == b.incidents()
        assert a.recordings() == b.recordings()
        ra, rb = a.recording(), b.recording()
        assert ra.keyframes()[-1].t_s == rb.keyframes()[-1].t_s
        for ka, kb in zip(ra.keyframes(), rb.keyframes()):
            assert (ka.id, ka.t_s, ka.last_event_seq) == (kb.id, kb.t_s, kb.last_event_seq)
            assert {k: _bits(v) for k, v in ra.load_keyframe(ka).items()} == \
                {k: _bits(v) for k, v in rb.load_keyframe(kb).items()}
        assert ra.events() == rb.events() and ra.alarms() == rb.alarms()
        for name in ("hall", "rack_inlet_c", "rack_power_w"):
            ta, va = ra.series(name)
            tb, vb = rb.series(name)
            assert ta.tobytes() == tb.tobytes() and va.tobytes() == vb.tobytes()
    live = _live_of_fixture()
    with Project.open(new, read_only=True) as b:
        got = replay_to(b.recording(), 33.0, lambda r: FakeSim(dt_s=r.dt_s)).keyframe()
    assert {k: _bits(v) for k, v in got.items()} == {k: _bits(v) for k, v in live[33.0].items()}
    with pytest.raises(InputError, match="already exists"):
        compact(old, new)
    again = compact(new, tmp_path / "again.dctwin")  # already compact: a vacuumed copy
    assert again["from_format"] == SCHEMA_VERSION


def test_an_old_file_opened_for_writing_is_migrated_into_a_copy(old):
    with Project.open(old) as p:
        assert p.migrated_from == old and p.path == old.with_name(f"old.v{SCHEMA_VERSION}.dctwin") and p.version == SCHEMA_VERSION
        p.save_layout(synthetic_site(3), "new")
    with pytest.raises(ProjectFileError, match="older format.*dctwin compact"):
        record_run(old, synthetic_site(6), FakeSim(dt_s=0.5), background=False)


def test_a_file_of_format_2_opens_replays_and_compacts(tmp_path):
    """Files main wrote in format 2 (the tables of 3, every keyframe with all its arrays): read in place,
    replayed bit-identically, compacted into the current format, migrated into a copy for writing."""
    path = tmp_path / "two.dctwin"
    live = _record(path, 60.0)
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 2")
    con.close()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    def replays(p):
        for t in (0.0, 12.5, 15.0, 33.0, 60.0):
            got = replay_to(p.recording(), t, lambda r: FakeSim(dt_s=r.dt_s)).keyframe()
            assert {k: _bits(v) for k, v in got.items()} == {k: _bits(v) for k, v in live[t].items()}, t

    with Project.open(path, read_only=True) as p:
        assert p.version == 2 and p.path == path and p.checked
        replays(p)
        p.recording().check_data()
    res = compact(path, tmp_path / "three.dctwin")
    assert (res["from_format"], res["format"]) == (2, SCHEMA_VERSION)
    assert check_file(tmp_path / "three.dctwin").user_version == SCHEMA_VERSION
    with Project.open(path, read_only=True) as a, Project.open(tmp_path / "three.dctwin", read_only=True) as b:
        assert a.recordings() == b.recordings() and a.layout_text() == b.layout_text()
        ra, rb = a.recording(), b.recording()
        assert [(k.id, k.t_s) for k in ra.keyframes()] == [(k.id, k.t_s) for k in rb.keyframes()]
        for ka, kb in zip(ra.keyframes(), rb.keyframes()):
            assert {k: _bits(v) for k, v in ra.load_keyframe(ka).items()} == \
                {k: _bits(v) for k, v in rb.load_keyframe(kb).items()}
        assert ra.events() == rb.events() and ra.alarms() == rb.alarms()
        replays(b)
    with Project.open(path) as p:  # for writing: a migrated copy, the original as it was
        assert p.migrated_from == path and p.path == path.with_name(f"two.v{SCHEMA_VERSION}.dctwin") \
            and p.version == SCHEMA_VERSION
    with pytest.raises(ProjectFileError, match="older format.*dctwin compact"):
        record_run(path, synthetic_site(6), FakeSim(dt_s=0.5), background=False)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_exporting_and_verifying_an_old_file(old, tmp_path):
    out = tmp_path / "review.dctwin"
    res = export_review(old, out, from_s=20.0, to_s=50.0)
    assert res["keyframes"] == 3 and (res["from_s"], res["to_s"]) == (20.0, 50.0)
    assert verify_file(out).intact
    with Project.open(out) as r:
        assert r.meta()["exported_from"] == "old.dctwin" and r.version == SCHEMA_VERSION
    assert sorted(x.name for x in tmp_path.iterdir()) == ["old.dctwin", "review.dctwin"]


def test_an_old_review_export_is_compacted_with_fresh_hashes_only_if_intact(tmp_path):
    live_file = tmp_path / "run.dctwin"
    _record(live_file, 30.0)
    review = tmp_path / "review.dctwin"
    export_review(live_file, review)
    old_review = downgrade(review, tmp_path / "old-review.dctwin")
    from dctwin.twin.store.export import write_manifest

    con = sqlite3.connect(old_review)
    con.execute("DELETE FROM manifest")
    con.commit()
    write_manifest(con)  # an intact review of format 1: its hashes match its content
    con.close()
    assert verify_file(old_review).intact
    res = compact(old_review, tmp_path / "compact-review.dctwin")
    assert res["from_format"] == 1 and verify_file(tmp_path / "compact-review.dctwin").intact
    con = sqlite3.connect(old_review)
    con.execute("UPDATE events SET t_s = t_s + 1")
    con.commit()
    con.close()
    with pytest.raises(ProjectFileError, match="altered since it was made"):
        compact(old_review, tmp_path / "laundered.dctwin")
    assert not (tmp_path / "laundered.dctwin").exists()


def test_cli_compact(old, tmp_path, capsys):
    assert main(["compact", str(old), "--out", str(tmp_path / "c.dctwin")]) == 0
    assert f"format {SCHEMA_VERSION} (from format 1)" in capsys.readouterr().out
    assert main(["compact", str(old), "--out", str(old)]) == 2
    assert "never writes in place" in capsys.readouterr().err
    assert main(["compact", str(old), "--out", str(tmp_path / "c.dctwin")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["recordings", str(old)]) == 0
    assert "format 1 (dctwin compact converts it)" in capsys.readouterr().out


def test_an_engine_run_of_format_1_replays_exactly_before_and_after_compact(tmp_path):
    from dctwin.twin.sim.engine import Simulation

    site = synthetic_site(4)
    sim = Simulation(site, grid_m=1.2, dt_s=1.0)
    sim.solve_steady()
    sim.schedule(5.0, "fail", sim.unit_ids[0])
    rr = record_run(tmp_path / "run.dctwin", site, sim, keyframe_every_s=10.0, grid_m=1.2, seek_budget_s=None)
    live = {}

    def on_step(s):
        rr.on_step(s)
        live[s.t_s] = s.keyframe()

    sim.run(25.0, 1.0, on_step=on_step)
    rr.close(sim)
    old_file = downgrade(tmp_path / "run.dctwin", tmp_path / "old.dctwin")
    new_file = tmp_path / "new.dctwin"
    compact(old_file, new_file)
    for path in (old_file, new_file):
        with Project.open(path, read_only=True) as p:
            state = replay_to(p.recording(), 17.0).keyframe()
        for name, a in live[17.0].items():
            if name != "event_seq":
                assert a.tobytes() == state[name].tobytes(), (path.name, name)


# ---------------------------------------------------------------- tables other helpers add



@optional_table
class MeasuredSeries(_OfRecording, Checked, table=True):
    """An example of a table a later feature adds (measured series beside a recording)."""

    __tablename__ = "test_measured"
    sensor: str
    t_s: float
    value: Optional[float] = None


def test_an_optional_table_is_created_when_first_written_checked_exported_and_compacted(tmp_path):
    path = tmp_path / "r.dctwin"
    _record(path, 30.0)
    _record(tmp_path / "other.dctwin", 10.0)
    t = MeasuredSeries.__table__
    with Project.open(path) as p:
        assert p.read_rows(t) == []  # not there yet: nothing to read
        p.ensure_table(t)
        p.insert_rows(t, [{"recording_id": 1, "sensor": "S1", "t_s": float(k), "value": 20.0 + k} for k in range(5)])
        assert [r["value"] for r in p.read_rows(t)] == [20.0, 21.0, 22.0, 23.0, 24.0]
    check_file(path)  # files with the table open as before
    con = sqlite3.connect(path)
    con.execute("UPDATE test_measured SET value = 99 WHERE id = 3")
    con.commit()
    con.close()
    with Project.open(path, read_only=True) as p:
        with pytest.raises(ProjectFileError, match="test_measured row 3 is damaged"):
            p.read_rows(t)
    con = sqlite3.connect(path)
    con.execute("UPDATE test_measured SET value = 22.0 WHERE id = 3")
    con.commit()
    con.close()
    review = tmp_path / "review.dctwin"
    export_review(path, review)
    assert verify_file(review).intact
    with Project.open(review) as r:
        assert len(r.read_rows(t)) == 5
    compact(path, tmp_path / "copy.dctwin")
    with Project.open(tmp_path / "copy.dctwin", read_only=True) as p:
        assert len(p.read_rows(t)) == 5
