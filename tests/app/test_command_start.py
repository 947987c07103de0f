"""What a command sets up before its work (issue 16: a later run's whole command under 2 s). Commands that run
no physics import no numba; a physics command whose kernels are cached loads their code without setting up
numba's compiler, and loads only the kernels its layout runs; a kernel missing from the cache still compiles."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dctwin import twin
from dctwin.app import main as cli
from dctwin.twin.model.demos import load_demo, synthetic_site
from dctwin.twin.model.events import Event
from dctwin.twin.model.layoutfile import save_layout
from dctwin.twin.physics import kernels
from dctwin.twin.store import Project, Recorder

#: Python telling whether numba set up its compiler in this process: the registries of the typing and lowering
#: of all it supports, which its CPU target installs on the first refresh
COMPILER_SET_UP = "bool(__import__('numba.core.registry').core.registry.cpu_target.target_context._registries)"


def run_python(code: str, cache_dir, timeout=900) -> subprocess.CompletedProcess:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture()
def small(tmp_path):
    path = tmp_path / "small.json"
    save_layout(load_demo("small"), str(path))
    return str(path)


@pytest.fixture()
def run_file(tmp_path):
    spec = importlib.util.spec_from_file_location("store_fakesim", Path(__file__).parents[1] / "twin" / "store" /
                                                  "fakesim.py")
    fakesim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fakesim)
    path = tmp_path / "run.dctwin"
    with Project.create(path) as p:
        rec = Recorder(p, p.save_layout(synthetic_site(4)), 0.5, keyframe_every_s=15)
        fakesim.run_live(fakesim.FakeSim(dt_s=0.5), rec, 30.0, [Event(0, 10.0, "fail", "CRAH-1")], {})
    return str(path)


def test_commands_without_physics_import_no_numba(small, run_file, tmp_path):
    review = str(tmp_path / "review.dctwin")
    commands = [["validate", small], ["demo"], ["new", "--racks", "12", "--out", str(tmp_path / "new.json")], ["incidents"],
                ["recordings", run_file], ["export", run_file, "--out", review], ["verify", review]]
    out = run_python(f"""
        import sys
        from dctwin.app.main import main
        for argv in {commands!r}:
            code = main(argv)
            print("RESULT", argv[0], code, sorted(m for m in sys.modules if m == "numba" or m.endswith("_numba")))
        """, tmp_path / "fresh-cache")
    assert out.returncode == 0, out.stderr
    results = [line.split(" ", 3)[1:] for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert results == [[argv[0], "0", "[]"] for argv in commands]  # each ran, and numba is still not imported
    assert "compiling" not in out.stderr


def test_a_later_solve_loads_its_cached_kernels_without_numbas_compiler_and_gives_the_same_state(small, capsys):
    kernels.warm_up("solve")  # this worktree's cache has them (compiles only if it did not)
    out = run_python(f"""
        import json, sys
        from dctwin.app.main import main
        from dctwin.twin.physics import kernels
        assert "numba" not in sys.modules  # the command sets numba up itself
        assert main(["solve", {small!r}, "--json", "--grid", "1.2"]) == 0
        dispatchers = kernels.kernel_dispatchers()
        loaded = sorted(n for n, d in dispatchers.items() if d.overloads)
        compiled = sorted(n for n, d in dispatchers.items() if sum(d._cache_misses.values()))  # not from the cache
        print("PROBE", json.dumps({{"compiled": compiled, "compiler": {COMPILER_SET_UP},
                                    "loaded": loaded}}))
        """, twin.NUMBA_CACHE_DIR)
    assert out.returncode == 0, out.stderr
    probe = json.loads(out.stdout.split("PROBE ", 1)[1])
    assert probe["compiled"] == [] and not probe["compiler"]  # code loaded from the cache, no compiler set up
    # only the kernels of the groups a solve of this layout needs (small: no CDU, no workload)
    assert probe["loaded"] and set(probe["loaded"]) <= set(kernels.manifest("solve", frozenset()))
    # the same state as a solve in this process, where numba set its compiler up as usual
    assert cli.main(["solve", small, "--json", "--grid", "1.2"]) == 0
    here = json.loads(capsys.readouterr().out)
    there = json.loads(out.stdout.split("PROBE ", 1)[0])
    for state in (here, there):
        state.pop("solve_s")
    assert there == here


KERNEL = """
import numpy as np
from numba import njit

@njit(cache=True, nogil=True)
def total(a):
    return np.sum(a) * 2.0
"""


def test_a_kernel_missing_from_the_cache_still_compiles_after_a_start_that_expected_it_cached(tmp_path):
    (tmp_path / "probe_kernel.py").write_text(KERNEL)
    code = f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from dctwin.twin.physics import kernels
        kernels.load_numba(cached=True)
        import numpy as np
        import probe_kernel
        result = probe_kernel.total(np.arange(4.0))
        compiled = sum(probe_kernel.total._cache_misses.values())  # not found in the cache: compiled
        print("RESULT", result, compiled, {COMPILER_SET_UP})
        """
    cache = tmp_path / "cache"
    first = run_python(code, cache)
    assert first.returncode == 0, first.stderr
    # not in the cache: numba set its compiler up and compiled it (numpy's sum included)
    assert "RESULT 12.0 1 True" in first.stdout
    second = run_python(code, cache)
    assert second.returncode == 0, second.stderr
    assert "RESULT 12.0 0 False" in second.stdout  # now cached: loaded, without the compiler


def test_a_physics_command_run_as_the_process_leaves_its_objects_out_of_the_last_collections(small, tmp_path):
    # the interpreter's last garbage collections over numba's objects cost more than the rest of the shutdown:
    # a process that is the command (argv from the command line) freezes them; a caller of main() keeps its GC
    kernels.warm_up("solve")
    out = run_python(f"""
        import gc, sys
        from dctwin.app.main import main
        sys.argv = ["dctwin", "validate", {small!r}]
        print("VALIDATE", main(), gc.get_freeze_count())  # no numba: nothing to spare
        print("CALLED", main(["solve", {small!r}, "--json", "--grid", "1.2"]), gc.get_freeze_count())
        sys.argv = ["dctwin", "solve", {small!r}, "--json", "--grid", "1.2"]
        print("SOLVE", main(), gc.get_freeze_count() > 0)
        """, twin.NUMBA_CACHE_DIR)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith(("CALLED", "VALIDATE", "SOLVE"))]
    assert lines == ["VALIDATE 0 0", "CALLED 0 0", "SOLVE 0 True"]
