"""dctwin sweep on the command line: the JSON contract, the count said first, bad input, and a run on a
separately started dask scheduler and worker on localhost giving the local cluster's results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from dctwin.app.main import main
from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.model.layoutfile import save_layout
from dctwin.twin.sim import sweep as sweep_mod

#: each scenario of the 4-rack hall on the coarse grid runs in about a second
FAST = ["--grid", "0.6", "--duration", "480", "--elements", "SWB-M,UPS-01A,GEN-1"]
KEYS = ("failed", "racks_down", "kw_down", "racks_over_allowable", "first_over_allowable_s", "max_inlet_c",
        "ups_min_soc", "max_node_utilization", "overloaded_nodes", "severity", "cause")


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep") / "tiny.json"
    save_layout(synthetic_site(4, rack_kw=8.0), path)
    return path


@pytest.fixture(scope="module")
def local_run(tiny_file, tmp_path_factory):
    """The sweep on a local cluster of one worker, as JSON (and what it said on stderr)."""
    out = tmp_path_factory.mktemp("sweep") / "local.dctwin"
    proc = subprocess.run([sys.executable, "-m", "dctwin.app.main", "sweep", str(tiny_file), *FAST, "--workers", "1",
                           "--out", str(out), "--json"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr, out


def test_sweep_json_has_the_contract_keys_ranked_by_severity(local_run):
    d, err, out = local_run
    assert "dctwin sweep: 4 scenarios (single failures)" in err  # said before it starts
    assert err.index("4 scenarios") < err.index("running")
    for key in ("n_scenarios", "wall_s", "workers", "scenarios"):
        assert key in d
    assert d["n_scenarios"] == 4 and d["workers"] == 1 and d["file"] == str(out)
    assert [o["severity"] for o in d["scenarios"]] == sorted(o["severity"] for o in d["scenarios"])
    for o in d["scenarios"]:
        assert set(KEYS) <= set(o), set(KEYS) - set(o)
    top = d["scenarios"][0]
    assert top["failed"] == ["UTIL", "GEN-1"] and top["racks_down"] == 4 and "utility loss" in top["cause"]
    assert top["recording_id"] is not None and top["hints"][0]["verified"]
    ups = next(o for o in d["scenarios"] if o["key"] == "fail:UPS-01A")
    assert ups["racks_down"] == 0 and ups["changes_nothing"] and ups["cause"] is None


def test_sweep_text_report_and_pairs_with_pruning(tiny_file, capsys):
    assert main(["sweep", str(tiny_file), "--grid", "0.6", "--duration", "200", "--elements", "SWB-M,CRAH-01,CRAH-02",
                 "--n", "2", "--workers", "1", "--hints", "0"]) == 0
    cap = capsys.readouterr()
    assert "3 scenarios (pairs of failures), 2 of them pruned as equal to a single failure" in cap.err
    assert "3 scenarios (1 run now, 0 resumed, 2 pruned)" in cap.out
    assert "CRAH-01 fails and CRAH-02 fails" in cap.out


@pytest.mark.parametrize("args, needle", [
    (["--elements", "SWB-M,NOPE"], "'NOPE' is not an element"),
    (["--kinds", "power,water"], "unknown kind 'water'"),
    (["--duration", "30"], "--duration must be from"),
    (["--dt", "0"], "--dt"),
    (["--record", "2"], "--record needs --out"),
    (["--workers", "0"], "--workers must be from 1"),
    (["--hall", "NOPE"], "NOPE"),
])
def test_sweep_bad_input_exits_2_naming_it(tiny_file, capsys, args, needle):
    assert main(["sweep", str(tiny_file), "--no-progress"] + args) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_sweep_out_must_be_a_project_file(tiny_file, tmp_path, capsys):
    assert main(["sweep", str(tiny_file), "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main(["sweep", str(tiny_file), "--out", str(tiny_file)]) == 2
    assert "is an input of this sweep" in capsys.readouterr().err
    text = tiny_file.read_text()
    other = tmp_path / "notes.dctwin"
    other.write_text("not a project")
    assert main(["sweep", str(tiny_file), "--out", str(other)]) == 2
    assert "not a dctwin project file" in capsys.readouterr().err
    assert other.read_text() == "not a project" and tiny_file.read_text() == text


def test_an_unreachable_scheduler_exits_2(tiny_file, capsys, monkeypatch):
    monkeypatch.setattr(sweep_mod, "CONNECT_TIMEOUT_S", 2)
    assert main(["sweep", str(tiny_file), *FAST, "--scheduler", "tcp://127.0.0.1:9", "--no-progress"]) == 2
    assert "cannot reach a dask scheduler" in capsys.readouterr().err


def _wait_for(path, proc, timeout_s):
    t0 = time.monotonic()
    while not os.path.exists(path) or os.path.getsize(path) == 0:
        if proc.poll() is not None or time.monotonic() - t0 > timeout_s:
            raise RuntimeError(f"the dask scheduler did not start (exit {proc.poll()})")
        time.sleep(0.2)
    time.sleep(0.2)  # written whole
    with open(path) as fh:
        return json.load(fh)["address"]


def test_a_separately_started_scheduler_and_worker_give_the_local_results(local_run, tiny_file, tmp_path):
    """``dask scheduler`` and ``dask worker`` started apart on 127.0.0.1, the sweep run through
    ``--scheduler``: the same scenarios, figure for figure."""
    local, _, _ = local_run
    info = tmp_path / "scheduler.json"
    procs = []
    try:
        sched = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                  "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(sched)
        address = _wait_for(info, sched, 60)
        assert address.startswith("tcp://127.0.0.1:")
        worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                                   "--nworkers", "1", "--no-dashboard", "--local-directory", str(tmp_path / "w")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(worker)
        proc = subprocess.run([sys.executable, "-m", "dctwin.app.main", "sweep", str(tiny_file), *FAST,
                               "--scheduler", address, "--out", str(tmp_path / "remote.dctwin"), "--json"],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        remote = json.loads(proc.stdout)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=20)
    assert remote["workers"] == 1

    def figures(d):
        return [{k: v for k, v in o.items() if k != "recording_id"} for o in d["scenarios"]]

    assert figures(remote) == figures(local)
    assert remote["baseline"] == local["baseline"]
