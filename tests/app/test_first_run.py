"""The first run on a machine: the physics kernels compile once, with a progress line per kernel group on
stderr (the JSON on stdout stays clean); ``dctwin warmup`` does it ahead; a command compiles only what it
needs (``validate``: nothing, numba is not even imported)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from dctwin.app import main as cli
from dctwin.twin.model.demos import load_demo
from dctwin.twin.model.layoutfile import load_layout, save_layout
from dctwin.twin.physics import kernels


@pytest.fixture()
def small(tmp_path):
    path = tmp_path / "small.json"
    save_layout(load_demo("small"), str(path))
    return str(path)


def run_python(code: str, cache_dir, timeout=900) -> subprocess.CompletedProcess:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=timeout)


# Python for run_python: every kernel numba compiles in the process goes into the list `compiled`.
COUNT_COMPILES = """
        from numba.core import event
        compiled = []
        class Listener(event.Listener):
            def on_start(self, ev):
                compiled.append(ev.data["dispatcher"].py_func.__qualname__)
            def on_end(self, ev):
                pass
        event.register("numba:compile", Listener())
"""


def test_validate_neither_imports_numba_nor_compiles(small, tmp_path):
    cache = tmp_path / "fresh-cache"
    out = run_python(f"""
        import sys
        from dctwin.app.main import main
        code = main(["validate", {small!r}])
        print(code, "numba" in sys.modules, sorted(m for m in sys.modules if m.endswith("_numba")))
        """, cache)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "0 False []"
    assert not cache.exists() or not any(cache.rglob("*.nb*"))  # nothing compiled, nothing loaded
    assert "compiling" not in out.stderr


@pytest.mark.parametrize("empty", [False, True], ids=["kernels-changed", "never-compiled"])
def test_a_first_solve_says_it_compiles_on_stderr_and_its_json_stays_clean(small, monkeypatch, capsys, empty):
    # a machine whose cache lacks every kernel (the groups then load from this worktree's cache: quick)
    monkeypatch.setattr(kernels, "known_compiled", lambda need="solve", has=None: False)
    monkeypatch.setattr(kernels, "cache_is_empty", lambda: empty)
    monkeypatch.setattr(kernels, "uncached_kernels", lambda need="all", has=None: list(kernels.manifest(need, has)))
    monkeypatch.setattr(kernels, "default_jobs", lambda: 1)
    assert cli.main(["solve", small, "--json", "--grid", "1.2"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["racks"]  # stdout: the JSON and nothing else
    lines = err.strip().splitlines()
    groups = kernels.manifest_groups("solve", kernels.layout_has(load_layout(small)))  # small: no CDU, no workload
    assert lines[0].startswith("dctwin: compiling the physics kernels for this machine (first run only")
    assert lines[0].endswith("does it ahead)" if empty else f": {len(groups)} groups")  # said once, at once
    assert [ln.split("] ", 1)[1].split(" compiled")[0] for ln in lines[1:]] == [label for label, _ in groups]
    assert lines[-1].startswith(f"dctwin:   [{len(groups)}/{len(groups)}]")


def test_a_later_solve_prints_nothing_about_compiling(small, capsys):
    kernels.warm_up("solve")  # this worktree's cache has them (compiles only if it did not)
    assert cli.main(["solve", small, "--json", "--grid", "1.2"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["racks"] and "compiling" not in err


def test_an_empty_cache_is_told_from_its_files(tmp_path, monkeypatch):
    from dctwin import twin

    monkeypatch.setattr(twin, "NUMBA_CACHE_DIR", str(tmp_path))
    assert kernels.cache_is_empty()
    (tmp_path / "physics_0123").mkdir()
    (tmp_path / "physics_0123" / "_thermal_numba.steady-168.py311.nbi").write_bytes(b"")
    assert not kernels.cache_is_empty()


def test_validate_and_warmup_are_commands():
    parser = cli.build_parser()
    args = parser.parse_args(["warmup", "--jobs", "2", "--json"])
    assert args.command == "warmup" and args.jobs == 2 and args.json
    assert cli.main(["warmup", "--jobs", "0"]) == 2  # a clear error, not a traceback


def test_the_manifest_covers_the_kernel_modules_and_parses():
    names = kernels.manifest("all")
    dispatchers = kernels.kernel_dispatchers()
    assert set(names) <= set(dispatchers)
    for name, sigs in names.items():
        kernels.group_of(name)  # every kernel has a group
        for s in sigs:
            assert "Literal" not in s  # a literal argument means one compile per value: give it a signature
            assert len(kernels.parse_signature(s)) == dispatchers[name].py_func.__code__.co_argcount
    assert {m for m in kernels.KERNEL_MODULES} == {n.split(".")[0] for n in names}


@pytest.mark.slow
def test_warmup_on_a_fresh_cache_compiles_everything_a_solve_and_a_simulation_need(small, tmp_path):
    cache = tmp_path / "fresh-cache"
    out = subprocess.run([sys.executable, "-m", "dctwin.app.main", "warmup", "--json"], capture_output=True,
                         text=True, timeout=1800, env={**os.environ, "NUMBA_CACHE_DIR": str(cache)})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["groups_compiled"] == len(kernels.manifest_groups("all")) and not result["uncached_kernels"]
    assert out.stderr.count("] ") == result["groups_compiled"]
    # then the commands compile nothing: numba reports no compilation of any kernel
    probe = run_python(COUNT_COMPILES + f"""
        from dctwin.app.main import main
        assert main(["solve", {small!r}, "--json"]) == 0
        assert main(["simulate", {small!r}, "--duration", "30", "--incident", "crah-failure", "--json"]) == 0
        print("COMPILED", compiled)
        """, cache)
    assert probe.returncode == 0, probe.stderr
    assert "COMPILED []" in probe.stdout and "compiling" not in probe.stderr


def test_progress_weighs_the_groups_by_their_compile_time():
    p = kernels.CompileProgress(1, 8, "air flow: pressure solver", 20.0, 0.4)
    assert p.fraction == 0.4 and p.time_left_s == pytest.approx(30.0)  # 20 s for 40 %: 30 s for the rest
    assert kernels.CompileProgress(0, 8).time_left_s is None  # no pace yet
    assert kernels.CompileProgress(2, 8, elapsed_s=10.0).fraction == 0.25  # no weights: groups counted


def test_a_warm_up_reports_each_group_once_up_to_the_whole(monkeypatch):
    monkeypatch.setattr(kernels, "uncached_kernels", lambda need="all", has=None: list(kernels.manifest(need, has)))
    seen: list = []
    assert kernels.warm_up("all", seen.append, jobs=1) == len(kernels.manifest_groups("all"))
    assert [p.done for p in seen] == list(range(len(seen)))
    assert [p.what for p in seen[1:]] == [label for label, _ in kernels.manifest_groups("all")]
    shares = [p.fraction for p in seen]
    assert shares == sorted(shares) and shares[0] == 0.0 and shares[-1] == pytest.approx(1.0)


def test_a_cache_found_complete_is_known_from_a_file_until_a_kernel_source_changes(tmp_path, monkeypatch):
    from dctwin import twin

    monkeypatch.setattr(twin, "NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    source = tmp_path / "_thermal_numba.py"
    source.write_text("x = 1\n")
    monkeypatch.setattr(kernels, "_source_files", lambda: [str(source)])
    monkeypatch.setattr(kernels, "uncached_kernels", lambda need="all", has=None: [])
    assert not kernels.known_compiled("solve")
    assert not kernels.compile_pending("solve")  # asked numba's cache: all there, noted
    assert kernels.known_compiled("solve") and not kernels.known_compiled("simulate")
    assert kernels.warm_up("all") == 0  # nothing to compile: noted for every need "all" covers
    assert kernels.known_compiled("simulate") and kernels.known_compiled("all")
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 10**9))  # edited
    assert not kernels.known_compiled("solve") and not kernels.known_compiled("all")


def test_a_later_solve_loads_neither_numbas_extras_nor_the_store_nor_qt(small):
    from dctwin import twin

    kernels.warm_up("solve")  # this worktree's cache has them (compiles only if it did not)
    heavy = ("scipy", "cffi", "yaml", "sqlmodel", "sqlalchemy", "pyarrow", "dask", "PySide6", "pandas")
    out = run_python(f"""
        import sys
        from dctwin.app.main import main
        assert main(["solve", {small!r}, "--json", "--grid", "1.2"]) == 0
        print("LOADED", sorted(m for m in {heavy!r} if m in sys.modules))
        import scipy.linalg  # still importable afterwards
        """, twin.NUMBA_CACHE_DIR)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stdout and "compiling" not in out.stderr


def test_a_never_compiled_cache_starts_the_compile_before_numba_is_even_imported(small, tmp_path):
    # the parent only says so and hands every group of the solve to the warm-up's processes: importing the
    # kernel modules first would compile those with explicit signatures here, one after the other
    out = run_python(f"""
        import sys
        from dctwin.twin.physics import kernels
        def warm_up(need, report, **kw):
            print("WARM", need, kw.get("only_pending"), "numba" in sys.modules, flush=True)
            raise SystemExit(0)
        kernels.warm_up = warm_up
        from dctwin.app.main import main
        main(["solve", {small!r}, "--json"])
        """, tmp_path / "empty-cache")
    assert out.returncode == 0, out.stderr
    assert "WARM solve False False" in out.stdout
    assert out.stderr.startswith("dctwin: compiling the physics kernels for this machine (first run only")


def test_a_parallel_warm_up_for_a_command_loads_the_finished_groups_here_while_the_last_compile():
    from dctwin import twin

    kernels.warm_up("solve")  # this worktree's cache has them: the processes load rather than compile
    out = run_python(COUNT_COMPILES + """
        from dctwin.twin.physics import kernels
        assert kernels.warm_up("solve", jobs=2, only_pending=False, preload=True) == 8
        d = kernels.kernel_dispatchers()
        wanted = kernels.manifest("solve")
        here = [n for n, sigs in wanted.items() if all(kernels.parse_signature(s) in d[n].overloads for s in sigs)]
        print("LOADED", len(here), len(wanted), "COMPILED", compiled)
        """, twin.NUMBA_CACHE_DIR)
    assert out.returncode == 0, out.stderr
    loaded, wanted = map(int, out.stdout.split("LOADED ")[1].split()[:2])
    biggest_group = max(len(k) for _label, k in kernels.manifest_groups("solve"))
    assert loaded >= wanted - biggest_group  # all but the group still compiling when a core fell idle
    assert "COMPILED []" in out.stdout  # loaded from the cache, none compiled a second time here


def test_side_by_side_the_share_done_follows_the_schedule_not_the_groups_weight():
    # two processes: "big" runs alone on one, "a" then "b" on the other (each first group sets numba up)
    s = kernels.SETUP_S
    ends, whole = kernels.schedule([("big", 10.0), ("a", 4.0), ("b", 4.0)], 2)
    assert ends == {"big": 10.0 + s, "a": 4.0 + s, "b": 8.0 + s} and whole == 10.0 + s
    # "a" done: (4 + s) / (10 + s) of the time, not 4 / 18 of the work
    ends1, whole1 = kernels.schedule([("big", 10.0), ("a", 4.0), ("b", 4.0)], 1)
    assert ends1 == {"big": 10.0 + s, "a": 14.0 + s, "b": 18.0 + s} and whole1 == 18.0 + s
