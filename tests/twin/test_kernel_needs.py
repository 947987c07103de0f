"""A command compiles only the kernels its layout runs (issue 16, first run): `solve` of small, which has no
CDU and no workload, neither compiles nor calls the CDU and workload kernels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from dctwin import twin
from dctwin.twin.model.demos import load_demo
from dctwin.twin.physics import kernels

CDU, WORKLOADS = "_cooling_air_numba.cdu_kernel", "_workloads_numba.utilization_kernel"


def test_the_layouts_equipment_decides_the_kernels_of_a_need():
    assert kernels.layout_has(load_demo("small")) == frozenset()
    assert "cdu" in kernels.layout_has(load_demo("ai-hall"))
    small = kernels.manifest("solve", kernels.layout_has(load_demo("small")))
    assert CDU not in small and WORKLOADS not in small
    assert set(small) == set(kernels.manifest("solve")) - {CDU, WORKLOADS, "_thermal_numba.steady_lines_tvd"}
    assert set(kernels.manifest("solve", {"cdu", "workloads", "validated"})) == set(kernels.manifest("solve"))
    # the validated air model's TVD temperature kernel: compiled for it (and by `dctwin warmup`) only
    tvd = "_thermal_numba.steady_lines_tvd"
    assert tvd not in small and kernels.manifest("solve", {"validated"})[tvd] == small["_thermal_numba.steady_lines"]
    assert tvd in kernels.manifest("all")
    labels = [label for label, _k in kernels.manifest_groups("solve", frozenset())]
    assert "workloads" not in labels and "cooling units" in labels


def test_a_solve_of_small_runs_none_of_the_kernels_its_layout_lacks():
    # a process of its own (this one may have run them for other tests); the worktree's cache: a load
    code = textwrap.dedent("""
        import json
        from dctwin.twin.model.demos import load_demo
        from dctwin.twin.physics import kernels
        from dctwin.twin.sim.engine import Simulation
        Simulation(load_demo("small"), grid_m=1.2).solve_steady()
        print(json.dumps(sorted(n for n, d in kernels.kernel_dispatchers().items() if d.signatures)))
        """)
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "NUMBA_CACHE_DIR": twin.NUMBA_CACHE_DIR},
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    ran = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert ran and CDU not in ran and WORKLOADS not in ran
    assert ran <= set(kernels.manifest("solve", frozenset()))  # what the first run of small compiled


def test_a_warm_up_for_a_layout_is_noted_for_such_layouts_only(tmp_path, monkeypatch):
    monkeypatch.setattr(twin, "NUMBA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(kernels, "uncached_kernels", lambda need="all", has=None: [])
    assert kernels.warm_up("solve", has=frozenset()) == 0  # nothing to compile: noted
    assert kernels.known_compiled("solve", has=frozenset()) and kernels.known_compiled("solve", has=[])
    assert not kernels.known_compiled("solve")  # a layout with a CDU still compiles it
    assert not kernels.known_compiled("solve", has={"cdu"})
    assert kernels.warm_up("solve") == 0
    assert kernels.known_compiled("solve", has={"cdu"}) and kernels.known_compiled("solve")


def test_a_command_compiles_one_lane_itself_and_imports_a_shared_module_before_the_other_process(monkeypatch):
    # air flow's two groups share a module (importing it compiles its fixed-signature kernels): the command
    # takes the pressure solver first, the other process the transport last, when that code is in the cache
    w = {"air flow: pressure solver": 8.0, "air flow: transport": 6.0, "air temperature": 5.0, "power chain": 4.0,
         "racks and servers": 1.0}
    monkeypatch.setattr(kernels, "SETUP_S", 1.5)
    monkeypatch.setattr(kernels, "HERE_SETUP_S", 0.5)
    here, ends, whole = kernels.plan_lanes(list(w.items()), 2)
    assert here == ["air flow: pressure solver", "power chain", "racks and servers"]
    s, s0 = kernels.SETUP_S, kernels.HERE_SETUP_S
    assert ends == {"air flow: pressure solver": s0 + 8.0, "power chain": s0 + 12.0, "racks and servers": s0 + 13.0,
                    "air temperature": s + 5.0, "air flow: transport": s + 11.0}
    assert whole == max(s0 + 13.0, s + 11.0)
    alone, _e, whole1 = kernels.plan_lanes(list(w.items()), 1)
    assert alone == list(w) and whole1 == s0 + sum(w.values())


def test_a_first_validated_solve_compiles_the_tvd_kernel_and_a_fast_one_does_not(tmp_path, monkeypatch):
    from dctwin.app import main as cli
    from dctwin.twin.model.layoutfile import save_layout

    path = tmp_path / "small.json"
    save_layout(load_demo("small"), str(path))
    asked = []
    monkeypatch.setattr(kernels, "known_compiled", lambda need="solve", has=None: False)
    monkeypatch.setattr(kernels, "cache_is_empty", lambda: True)
    monkeypatch.setattr(kernels, "warm_up", lambda need, report, **kw: asked.append((need, kw["has"])))
    monkeypatch.setattr(kernels, "load_numba", lambda: None)
    cli._compile_first_run("solve", str(path), "validated")
    cli._compile_first_run("solve", str(path))
    cli._compile_first_run("solve", str(tmp_path / "missing.json"))  # unreadable: every kernel of the need
    assert asked == [("solve", frozenset({"validated"})), ("solve", frozenset()), ("solve", None)]
