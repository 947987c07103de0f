"""Sweeps in project files and on dask: tables made on first use, results streamed in, the same
results on 1 and 2 workers, an interrupted sweep resumed without re-running what finished, the top
scenarios recorded and replayable, the sweep carried by a review export."""

from __future__ import annotations

import json
import sqlite3

import pytest

from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.sim import contingency as C
from dctwin.twin.sim.air_models import AIR_MODELS
from dctwin.twin.sim.sweep import SweepCancelled
from dctwin.twin.store import Project, export_review, replay_to, verify_file
from dctwin.twin.store import sweeps as store
from dctwin.twin.store.sweep_job import SweepJob

#: a 4-rack hall on a coarse grid: each scenario runs in about a second
SETTINGS = dict(duration_s=480.0, grid_m=0.6, elements=("SWB-M", "UPS-01A", "CRAH-01", "GEN-1"))


@pytest.fixture(scope="module")
def tiny():
    return synthetic_site(4, rack_kw=8.0)


def _figures(result):
    """Everything a sweep found, without wall times and recording ids (which differ by run)."""
    return json.dumps([{k: v for k, v in o.items() if k not in ("recording_id",)} for o in result.scenarios],
                      sort_keys=True)


@pytest.fixture(scope="module")
def reference(tiny, tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep") / "one.dctwin"
    job = SweepJob(tiny, C.SweepSettings(**SETTINGS), path, workers=1, record=2, hints=1)
    result, report = job.run()
    return path, result, report


def test_a_sweep_on_one_worker_ranks_streams_records_and_hints(reference, tiny):
    path, result, report = reference
    assert report.n_scenarios == 5 and report.n_run == 5 and report.n_resumed == 0 and report.workers == 1
    gen_key = "utility_loss+generator_fail_to_start:GEN-1"
    # the same racks go down either way; without the generator the UPSs also drain: that one ranks first
    assert [o["key"] for o in result.scenarios][:2] == [gen_key, "fail:SWB-M"]
    gen, swb = result.by_key()[gen_key], result.by_key()["fail:SWB-M"]
    assert swb["severity"] == 2 and swb["severity_level"] == "it_lost" and swb["racks_down"] == 4
    assert swb["kw_down"] == pytest.approx(32.0, rel=0.05) and "SWB-M failed" in swb["cause"]
    assert gen["ups_min_soc"] < swb["ups_min_soc"] == 1.0 and "utility loss" in gen["cause"]
    assert result.by_key()["fail:UPS-01A"]["changes_nothing"]
    assert result.baseline is not None and result.baseline["racks_down"] == 0
    # the hint (--hints 1: the most severe only) gives the CRAHs a live second feed; the re-run keeps every rack up
    (h,) = gen["hints"]
    assert "hints" not in swb
    assert h["verified"] and h["helps"] and h["racks_down_after"] == 0
    assert "CRAH-01 and CRAH-02 are fed from SWB-M only: a second feed from PDU-001" in h["text"]
    # the two most severe are recorded, and replaying one gives the sweep's outcome
    recorded = [o for o in result.scenarios if o["recording_id"] is not None]
    assert [o["key"] for o in recorded] == [o["key"] for o in result.scenarios[:2]]
    with Project.open(path, read_only=True) as project:
        reader = project.recording(swb["recording_id"])
        assert reader.duration_s == pytest.approx(swb["ended_s"])
        down = {e.target for e in reader.events() if e.kind in ("rack_down", "shutdown")}
        assert down == set(swb["racks_down_ids"])
        assert reader.params["air_model"]["name"] == "fast"  # the sweep's model, which replay builds again
        sim = replay_to(reader, swb["ended_s"])
        assert sim.system.air_model == AIR_MODELS["fast"]
        assert {r.state for r in sim.summary().racks.values()} == {"shutdown"}


def test_two_workers_give_identical_results(reference, tiny, tmp_path):
    _, one, _ = reference
    two, report = SweepJob(tiny, C.SweepSettings(**SETTINGS), tmp_path / "two.dctwin", workers=2, record=0,
                           hints=1).run()
    assert report.workers == 2
    assert _figures(two) == _figures(one)
    assert json.dumps(two.baseline, sort_keys=True) == json.dumps(one.baseline, sort_keys=True)


def test_an_interrupted_sweep_resumes_without_running_the_finished_scenarios_again(reference, tiny, tmp_path):
    _, one, _ = reference
    path = tmp_path / "resume.dctwin"
    seen = []
    job = SweepJob(tiny, C.SweepSettings(**SETTINGS), path, workers=1, record=0, hints=0,
                   progress=seen.append, cancel=lambda: bool(seen))
    with pytest.raises(SweepCancelled):
        job.run()
    with Project.open(path, read_only=True) as project:
        (info,) = store.sweeps(project)
        assert not info.finished and 1 <= info.done < 5
        first = store.done_keys(project, info.id)
    ran = []
    again = SweepJob(tiny, C.SweepSettings(**SETTINGS), path, workers=1, record=0, hints=1,
                     progress=lambda p: ran.append(p.done))
    result, report = again.run()
    assert report.n_resumed == len(first) and report.n_run == 5 - len(first)
    assert result.id == info.id and result.finished
    assert _figures(result) == _figures(one)
    # a third run of the same sweep has nothing left to run
    _, report3 = SweepJob(tiny, C.SweepSettings(**SETTINGS), path, workers=1, record=0, hints=0).run()
    assert report3.n_run == 0 and report3.n_resumed == 5
    # other settings are another sweep
    other = dict(SETTINGS, duration_s=300.0)
    _, report4 = SweepJob(tiny, C.SweepSettings(**other), path, workers=1, record=0, hints=0).run()
    assert report4.n_resumed == 0
    with Project.open(path, read_only=True) as project:
        assert len(store.sweeps(project)) == 2


def test_sweep_tables_are_made_on_first_use_and_travel_in_a_review_export(reference, tiny, tmp_path):
    path, result, _ = reference
    plain = tmp_path / "plain.dctwin"
    with Project.create(plain) as project:
        assert not store.has_sweeps(project) and store.sweeps(project) == []
        project.save_layout(tiny)
    names = {r[0] for r in sqlite3.connect(plain).execute("select name from sqlite_schema where type='table'")}
    assert "sweeps" not in names
    review = tmp_path / "review.dctwin"
    export_review(path, review)
    assert verify_file(review).intact
    with Project.open(review) as project:
        assert project.read_only
        back = store.load_sweep(project)
    assert _figures(back) == _figures(result)
    con = sqlite3.connect(review)
    con.execute("update sweep_scenarios set outcome_json = replace(outcome_json, '\"racks_down\": 4', "
                "'\"racks_down\": 0')")
    con.commit()
    con.close()
    assert verify_file(review).altered == ["sweep_scenarios"]


def test_outcomes_are_stored_once_and_a_damaged_row_is_named(tmp_path, tiny):
    with Project.create(tmp_path / "p.dctwin") as project:
        settings = C.SweepSettings(**SETTINGS)
        sid, done = store.start_sweep(project, tiny, settings, "t" * 64, 3, [], "test")
        assert done == set()
        o = {"key": "fail:X", "n": 1, "racks_down": 0, "kw_down": 0.0, "racks_over_allowable": [],
             "first_over_allowable_s": None, "max_inlet_c": float("nan"), "ups_min_soc": 1.0,
             "max_node_utilization": 0.5, "overloaded_nodes": [], "wall_s": 1.5, "cpu_s": 1.25}
        assert store.add_outcomes(project, sid, [o, {"key": "fail:Y", "error": "boom"}]) == 1
        assert store.add_outcomes(project, sid, [o]) == 0
        assert store.start_sweep(project, tiny, settings, "t" * 64, 3, [], "test") == (sid, {"fail:X"})
        back = store.load_sweep(project, sid).scenarios[0]
        assert back["max_inlet_c"] is None and "wall_s" not in back and "cpu_s" not in back
        assert store.scenario_costs(project, sid) == [(1.5, 1.25)]
        with project.engine.begin() as conn:
            conn.exec_driver_sql("update sweep_scenarios set outcome_json = '{oops'")
        with pytest.raises(Exception, match="sweep 1 scenario 'fail:X' is not JSON"):
            store.load_sweep(project, sid)
