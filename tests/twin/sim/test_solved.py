"""Stored solutions (twin/sim/solved.py): a cold steady solve solved before is reused bit for bit without a march,
only for the very same inputs, and only after it is verified; anything wrong with an entry is solved from rest."""

from __future__ import annotations

import dataclasses
import json
import logging
import pickle
import shutil

import numpy as np
import pytest

from dctwin.twin.model import demos
from dctwin.twin.physics import airflow, thermal
from dctwin.twin.sim import solved, steady
from dctwin.twin.sim.engine import Simulation

GRID = 0.6  # small on a coarse grid: a cold solve of seconds


class Miss(Exception):
    """The hall was solved from rest (steady.settle_hall called) where a test stubs it out."""


def _sim(site=None, **kw) -> Simulation:
    return Simulation(site if site is not None else demos.load_demo("small"), grid_m=GRID, **kw)


def _answer(summary) -> dict:
    out = summary.to_json()
    out.pop("solve_s")
    return out


def _counting(monkeypatch) -> dict:
    """Counts of flow marches and temperature solves from here on."""
    calls = {"marches": 0, "temperature solves": 0}
    march, solve = airflow.solve_flow, thermal.solve_steady

    def count_march(*a, **kw):
        calls["marches"] += 1
        return march(*a, **kw)

    def count_solve(*a, **kw):
        calls["temperature solves"] += 1
        return solve(*a, **kw)

    monkeypatch.setattr(airflow, "solve_flow", count_march)
    monkeypatch.setattr(thermal, "solve_steady", count_solve)
    return calls


def _no_solve_from_rest(monkeypatch) -> None:
    def settle_hall(*a, **kw):
        raise Miss()

    monkeypatch.setattr(steady, "settle_hall", settle_hall)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A cold solve of small stored in a folder: (folder, its simulation, the entry)."""
    folder = tmp_path_factory.mktemp("solved")
    mp = pytest.MonkeyPatch()
    mp.setenv(solved.ENV, str(folder))
    try:
        sim = _sim()
        sim.solve_steady()
    finally:
        mp.undo()
    assert not sim.solution.reused and sim.solution.path is not None
    return folder, sim, sim.solution.path


@pytest.fixture
def store(stored, tmp_path, monkeypatch):
    """A store of this test's own holding the stored entry: (folder, the entry)."""
    folder = tmp_path / "solved"
    folder.mkdir()
    entry = folder / solved.Path(stored[2]).name
    shutil.copy(stored[2], entry)
    monkeypatch.setenv(solved.ENV, str(folder))
    return folder, entry


def test_reuse_is_bit_identical_and_marches_nothing(stored, store, monkeypatch):
    _, cold, _ = stored
    calls = _counting(monkeypatch)
    sim = _sim()
    summary = sim.solve_steady()
    assert sim.solution.reused and sim.solution.path == str(store[1]) and sim.solution.stored_utc
    assert calls == {"marches": 0, "temperature solves": 1}  # the verification's one solve
    assert _answer(summary) == _answer(cold.summary())
    assert sim.stats.flow_solves == cold.stats.flow_solves and sim.stats.flow_adjusts == cold.stats.flow_adjusts
    a, b = sim.state.arrays(), cold.state.arrays()
    assert a.keys() == b.keys()
    for name in a:
        assert np.array_equal(a[name], b[name], equal_nan=True), name
    assert sim.state.flow.converged == cold.state.flow.converged and sim.state.flow.steps == cold.state.flow.steps
    assert sim.state.last_rack.state is sim.state.rack_state  # shared as the solve left it


def test_a_run_from_the_reused_solution_is_the_run_from_the_cold_one(stored, store):
    cold = stored[1]
    twin = _sim()
    twin.solve_steady()
    assert twin.solution.reused
    again = _sim()
    again.reuse_solution = False  # the cold solve, again
    again.solve_steady()
    assert not again.solution.reused
    for sim in (twin, again):
        for _ in range(6):
            sim.step(2.0)
    a, b = twin.state.arrays(), again.state.arrays()
    for name in a:
        assert np.array_equal(a[name], b[name], equal_nan=True), name
    assert twin.state.t_s == again.state.t_s == 12.0 and cold.state.t_s == 0.0


@pytest.mark.parametrize("change", ["rack power", "setpoint", "tile", "grid", "air model", "failed unit", "tolerance"])
def test_any_change_to_the_inputs_misses(stored, store, monkeypatch, change):
    _no_solve_from_rest(monkeypatch)
    site = demos.load_demo("small")
    hall = site.halls[0]
    kw, tol = {}, steady.STEADY_TOL_K
    if change == "rack power":
        hall.racks[3] = dataclasses.replace(hall.racks[3], it_kw=hall.racks[3].it_kw * 1.01)
    elif change == "setpoint":
        hall.cooling_units[0] = dataclasses.replace(hall.cooling_units[0],
                                                    supply_setpoint_c=hall.cooling_units[0].supply_setpoint_c + 0.5)
    elif change == "tile":
        hall.tiles.pop()
    elif change == "grid":
        kw["grid_m"] = 0.5
    elif change == "air model":
        kw["air_model"] = "one_equation"
    elif change == "tolerance":
        tol = steady.STEADY_TOL_K / 2
    sim = Simulation(site, **{"grid_m": GRID, **kw})
    if change == "failed unit":
        sim.state.unit_failed[0] = 1
    with pytest.raises(Miss):
        sim.solve_steady(tol_k=tol)
    assert store[1].exists()  # another layout's entry stays


def test_an_unchanged_layout_copy_hits_whatever_its_file(stored, store, tmp_path, monkeypatch):
    from dctwin.twin.model.layoutfile import load_layout, save_layout

    _no_solve_from_rest(monkeypatch)
    path = tmp_path / "elsewhere" / "copy.json"
    path.parent.mkdir()
    save_layout(demos.load_demo("small"), path, compact=True)
    sim = Simulation(load_layout(path), grid_m=GRID, base_dir=str(path.parent))
    sim.solve_steady()
    assert sim.solution.reused


def _rewrite(entry, change, keep_digest: bool = False) -> None:
    """Change the entry's arrays with ``change(arrays)`` and write it back (its checksum recomputed unless
    ``keep_digest``: a tampering that also forges the checksum is for the physics to catch)."""
    with np.load(entry, allow_pickle=False) as z:
        k = {name: z[name] for name in z.files}
    meta = json.loads(str(k.pop("meta")))
    change(k)
    if not keep_digest:
        meta["digest"] = solved.digest(k)
    k["meta"] = np.array(json.dumps(meta))
    with open(entry, "wb") as fh:
        np.savez(fh, **k)


def _flip(name, index, by):
    """Add ``by`` to the ``index``-th number of the array ``name`` (index: an int, or a function of the plant)."""
    def change(k, ap):
        a = k[name].copy()
        a.flat[index if isinstance(index, int) else index(ap)] += by
        k[name] = a
    return change


def _fluid(ap) -> int:
    return int(np.flatnonzero(~np.asarray(ap.solid))[ap.n_cells // 3])


def _solid(ap) -> int:
    return int(np.flatnonzero(np.asarray(ap.solid))[0])


def _scale_flow(k, ap):
    k["state.flow.u"] = k["state.flow.u"] * 1.2
    k["state.flow.flux"] = k["state.flow.flux"] * 1.2


def test_a_flipped_number_is_caught_by_the_checksum_deleted_and_solved_from_rest(stored, store, monkeypatch, caplog):
    _rewrite(store[1], lambda k: _flip("state.T", _fluid, 1e-9)(k, stored[1].air), keep_digest=True)
    _no_solve_from_rest(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="dctwin.twin.sim.solved"), pytest.raises(Miss):
        _sim().solve_steady()
    assert not store[1].exists()
    assert any("checksum" in r.getMessage() and "solving from rest" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("what, change", [
    ("a warmer inlet", _flip("state.rack_inlet_c", 4, 1.0)),
    ("a hot spot in the air", _flip("state.T", _fluid, 1.0)),
    ("a warmer solid", _flip("state.T", _solid, 1.0)),
    ("a faster face", _flip("state.flow.u", 100, 0.5)),
    ("velocities and fluxes scaled together", _scale_flow),
    ("a unit's duty", _flip("state.last_unit.duty_w", 0, 500.0)),
    ("a rack's power", _flip("state.last_rack.power_w", 2, 300.0)),
    ("the energy error", _flip("state.energy_error~float", 0, 0.01)),
    ("an exhaust", _flip("state.rack_exhaust_c", 1, 0.5)),
    ("the grid's shape", lambda k, ap: k.__setitem__("state.T", k["state.T"][:-1])),
])
def test_tampering_that_forges_the_checksum_is_caught_by_the_physics(stored, store, monkeypatch, what, change):
    _rewrite(store[1], lambda k: change(k, stored[1].air))
    _no_solve_from_rest(monkeypatch)
    with pytest.raises(Miss):
        _sim().solve_steady()
    assert not store[1].exists(), what


def test_the_untouched_entry_passes_the_same_rewrite(store):
    """The rewrite of the tests above changes nothing by itself: the entry is still reused."""
    _rewrite(store[1], lambda k: None)
    sim = _sim()
    sim.solve_steady()
    assert sim.solution.reused


@pytest.mark.parametrize("damage", ["truncated", "empty", "not a zip", "other key"])
def test_a_damaged_entry_is_solved_from_rest_never_a_crash(store, monkeypatch, damage):
    entry = store[1]
    raw = entry.read_bytes()
    if damage == "truncated":
        entry.write_bytes(raw[: len(raw) // 2])
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "not a zip":
        entry.write_bytes(b"\x93NUMPY garbage" * 100)
    else:  # arrays and checksum intact, stored for other inputs
        with np.load(entry, allow_pickle=False) as z:
            k = {n: z[n] for n in z.files}
        meta = json.loads(str(k["meta"]))
        meta["key"] = "0" * 64
        k["meta"] = np.array(json.dumps(meta))
        with open(entry, "wb") as fh:
            np.savez(fh, **k)
    _no_solve_from_rest(monkeypatch)
    with pytest.raises(Miss):
        _sim().solve_steady()
    assert not entry.exists()


def test_a_damaged_entry_is_replaced_by_the_new_solve(store, monkeypatch):
    store[1].write_bytes(store[1].read_bytes()[:1000])
    calls = _counting(monkeypatch)
    sim = _sim()
    sim.solve_steady()
    assert not sim.solution.reused and calls["marches"] >= 1
    assert sim.solution.path == str(store[1]) and store[1].exists()
    again = _sim()
    again.solve_steady()
    assert again.solution.reused


def test_fresh_solves_from_rest_and_switched_off_stores_nothing(store, monkeypatch):
    _no_solve_from_rest(monkeypatch)
    sim = _sim()
    sim.reuse_solution = False
    with pytest.raises(Miss):
        sim.solve_steady()
    monkeypatch.setenv(solved.ENV, "off")
    assert solved.store_dir() is None
    with pytest.raises(Miss):
        _sim().solve_steady()


def test_switched_off_a_cold_solve_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(solved.ENV, "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    sim = _sim()
    sim.solve_steady()
    assert sim.solution.path is None and not sim.solution.reused
    assert not any(tmp_path.rglob("*"))


def test_a_solve_that_leaves_the_store_alone_neither_reads_nor_writes(store, tmp_path, monkeypatch):
    """A trial model of a calibration (reuse_solution None) solves from rest beside a stored entry for its
    very inputs, and adds none of its own: the store holds what users solve again."""
    folder, entry = store
    before = sorted(p.name for p in folder.iterdir())
    sim = _sim()
    sim.reuse_solution = None
    sim.solve_steady()
    assert not sim.solution.reused and sim.solution.path is None
    assert sorted(p.name for p in folder.iterdir()) == before


def test_a_calibration_trial_model_leaves_the_store_alone():
    from dctwin.twin.assimilate.model import Conditions, SteadyModel

    model = SteadyModel(demos.load_demo("small"), [], Conditions.__new__(Conditions), grid_m=GRID)
    assert model.simulation(np.zeros(0)).reuse_solution is None


def test_the_default_folder_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv(solved.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert solved.store_dir() == tmp_path / "dctwin" / "solved"


def test_no_pickle_is_written_or_read(stored, store, monkeypatch):
    def refuse(*a, **kw):
        raise AssertionError("pickle used")

    for name in ("dump", "dumps", "load", "loads"):
        monkeypatch.setattr(pickle, name, refuse)
    loads = []
    np_load = np.load

    def load(*a, **kw):
        loads.append(kw.get("allow_pickle"))
        return np_load(*a, **kw)

    monkeypatch.setattr(np, "load", load)
    sim = _sim()
    sim.solve_steady()
    assert sim.solution.reused and loads == [False]
    with np_load(store[1], allow_pickle=False) as z:  # every array loads without pickles
        assert all(z[name].dtype != object for name in z.files)


def test_a_state_holding_what_an_entry_cannot_is_not_stored(tmp_path):
    st = _sim().state
    st.warnings.append(object())  # not a string
    with pytest.raises(solved.BadEntry):
        solved.snapshot(st, {})


def test_the_store_drops_the_least_recently_used(tmp_path):
    import os

    for i, name in enumerate("abcd"):
        p = tmp_path / f"{name}.npz"
        p.write_bytes(b"x" * 1000)
        os.utime(p, (1000 + i, 1000 + i))
    os.utime(tmp_path / "a.npz", (5000, 5000))  # used last
    solved.trim(tmp_path, max_bytes=2500, keep=tmp_path / "b.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "b.npz"]


def test_concurrent_writers_leave_one_whole_entry(stored, tmp_path, monkeypatch):
    """The entry is written to a temporary file and renamed: a reader never sees half of it."""
    monkeypatch.setenv(solved.ENV, str(tmp_path))
    sim = stored[1]
    key = solved.Path(stored[2]).stem
    path = tmp_path / f"{key}.npz"
    for _ in range(2):
        assert solved._store(path, key, sim.state, sim.state.last_rack, sim.state.last_unit, {"flow_solves": 1})
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    meta, values = solved.read_entry(path, key)
    assert meta["key"] == key and values["stats"]["flow_solves"] == 1
    assert dataclasses.is_dataclass(values["state"]["flow"])


def test_the_key_is_the_same_in_another_process(stored):
    """Nothing in the key depends on the process (a place in memory, a set's order): another run finds the entry."""
    import subprocess
    import sys

    code = ("from dctwin.twin.model import demos; from dctwin.twin.sim.engine import Simulation; "
            "from dctwin.twin.sim import solved; "
            f"sim = Simulation(demos.load_demo('small'), grid_m={GRID}); "
            "print(solved.solve_key(sim.system, sim.state, *sim._inputs(), sim.facility.chw_supply_c, 0.01))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True)
    assert out.stdout.strip() == solved.Path(stored[2]).stem


def test_a_store_that_cannot_be_written_still_answers(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(solved.ENV, str(blocker / "solved"))
    with caplog.at_level(logging.WARNING, logger="dctwin.twin.sim.solved"):
        sim = _sim()
        summary = sim.solve_steady()
    assert sim.solution.path is None and not sim.solution.reused and summary.energy_error < 0.01
    assert any("could not store" in r.getMessage() for r in caplog.records)
