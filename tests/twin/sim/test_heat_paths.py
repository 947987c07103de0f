"""Energy never vanishes: a rack whose intake faces a wall breathes what it can reach; a hall whose heat
has no way to a cooling unit is named as such at once, and its transient shows the heat-up."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from dctwin.app.document import blank_site
from dctwin.app.main import main
from dctwin.twin.model import demos
from dctwin.twin.model.heat import hall_stranded_heat, layout_warnings, stranded_heat
from dctwin.twin.model.layout import CoolingUnit, Rack
from dctwin.twin.model.layoutfile import save_layout
from dctwin.twin.sim.engine import NoCoolingPath, Simulation

RHO_CP = 1.19 * 1006.0


def wall_rack_site():
    """The small hall with a 10 kW rack facing N, flush against the north wall (its intake on the wall)."""
    site = demos.load_demo("small")
    h = site.halls[0]
    h.racks.append(Rack(id="R-WALL", x_m=6.0, y_m=h.depth_m - 1.2, facing="N", it_kw=10.0, feeds=("PDU-A", "PDU-B")))
    return site


def lone_rack_site():
    """File > New, one 10 kW rack dropped: no cooling unit at all."""
    site = blank_site()
    site.halls[0].racks.append(Rack(id="R-01", x_m=10.2, y_m=6.0, it_kw=10.0))
    return site


# ---------------------------------------------------------------------- item 3
def test_a_rack_facing_a_wall_breathes_over_its_top_and_its_heat_reaches_the_cooling():
    import warnings

    base = Simulation(demos.load_demo("small"), grid_m=0.6).solve_steady()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no "racks with heat but no airflow" on stderr
        sim = Simulation(wall_rack_site(), grid_m=0.6)
        s = sim.solve_steady()
    assert [w for w in s.warnings if w.startswith("R-WALL: ")] == [
        "R-WALL: rack front (intake, facing N) is blocked by a wall or another element: it draws its air in "
        "through its top instead, so it breathes the warmer air found there"]
    r = s.racks["R-WALL"]
    assert r.airflow_m3s > 0 and r.exhaust_c > r.inlet_c
    # the energy balance closes: the cooling takes the new rack's heat (it lost 10 kW before: energy_error 0.075)
    assert s.energy_error < 1e-3 and s.air_energy_error < 1e-3
    duty = sum(u.duty_w for u in s.cooling_units.values()) - sum(u.duty_w for u in base.cooling_units.values())
    assert duty == pytest.approx(s.it_power_w - base.it_power_w, rel=0.01)
    head = sum(h.headroom_w for h in s.cooling_headroom.values())
    head0 = sum(h.headroom_w for h in base.cooling_headroom.values())
    assert head0 - head == pytest.approx(duty, rel=0.01)
    # it breathes warmer air than its row, which breathes the cold aisle
    row = [v.inlet_c for k, v in s.racks.items() if k.startswith("R-B")]
    assert r.inlet_c > np.mean(row)


def test_solve_json_names_the_rack_that_breathes_over_its_top(tmp_path, capsys):
    path = tmp_path / "wall.json"
    site = wall_rack_site()
    site.halls[0] = __import__("dataclasses").replace(site.halls[0], grid_m=0.6)
    save_layout(site, path)
    assert main(["solve", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert any(w.startswith("R-WALL: rack front (intake, facing N) is blocked") for w in out["warnings"])
    assert out["energy_error"] < 1e-3


# ---------------------------------------------------------------------- item 4
def test_a_hall_without_cooling_is_named_in_words():
    s = hall_stranded_heat(lone_rack_site().halls[0])
    volume = 24.0 * 14.4 * 3.2 - 0.6 * 1.2 * 2.0
    assert s.heat_w == 10e3 and s.heat_up_k_per_min == pytest.approx(10e3 / (RHO_CP * volume) * 60.0)
    assert s.message() == "H1: no cooling unit: 10 kW with nowhere to go; the room heats by 0.45 K/min"
    assert [str(i) for i in layout_warnings(lone_rack_site())] == [
        "H1.cooling_units: no cooling unit: 10 kW with nowhere to go; the room heats by 0.45 K/min"]
    # a CRAH that moves air is a way out; one that moves none is not; a rear door takes its own rack's heat
    site = lone_rack_site()
    h = site.halls[0]
    h.cooling_units.append(CoolingUnit(id="CRAH-1", kind="crah", x_m=0.0, y_m=4.2, facing="E", airflow_m3s=0.0,
                                       capacity_kw=100.0))
    assert stranded_heat(site)[0].reason == "no cooling unit that moves air"
    h.cooling_units[0] = CoolingUnit(id="CRAH-1", kind="crah", x_m=0.0, y_m=4.2, facing="E", airflow_m3s=8.0,
                                     capacity_kw=100.0)
    assert stranded_heat(site) == [] and stranded_heat(demos.load_demo("small")) == []
    site = lone_rack_site()
    site.halls[0].cooling_units.append(CoolingUnit(id="RD-1", kind="rdhx", rack="R-01", capacity_kw=30.0))
    assert stranded_heat(site) == []


def test_no_steady_solve_runs_and_the_transient_shows_the_heat_up():
    sim = Simulation(lone_rack_site(), grid_m=0.6)
    t0 = time.perf_counter()
    with pytest.raises(NoCoolingPath, match="10 kW with nowhere to go; the room heats by 0.45 K/min"):
        sim.solve_steady()
    assert time.perf_counter() - t0 < 1.0  # refused up front: no solver ran (it did not finish in 180 s)
    start = sim.start_heat_up()
    assert start.warnings[0] == "H1: no cooling unit: 10 kW with nowhere to go; the room heats by 0.45 K/min"
    ap = sim.air
    fluid = ~ap.solid
    vol = float(np.count_nonzero(fluid)) * ap.dx * ap.dy * ap.dz
    t_air0 = float(sim.state.T[fluid].mean())
    server0 = sim.rack_state.server_c.copy()
    run = sim.run(600.0, dt_s=5.0)
    # energy never vanishes: all the racks' heat is stored, in the air and the servers
    assert run.energy_error < 1e-9 and run.heat_removed_j == pytest.approx(0.0, abs=1.0)
    rise = float(sim.state.T[fluid].mean()) - t_air0
    servers = float((sim.ra.c_s_j_per_k * (sim.rack_state.server_c - server0)).sum())
    assert RHO_CP * vol * rise + servers == pytest.approx(run.heat_in_j, rel=0.02)
    # the room warms at about the rate the diagnosis named (the servers' own mass and the design power aside)
    assert rise / 10.0 == pytest.approx(0.45, rel=0.25)
    assert run.max_inlet_c > start.max_inlet_c + 3.0


def test_cli_validate_warns_solve_refuses_and_simulate_heats_up(tmp_path, capsys):
    path = tmp_path / "lone.json"
    site = lone_rack_site()
    site.halls[0] = __import__("dataclasses").replace(site.halls[0], grid_m=0.6)
    save_layout(site, path)
    assert main(["validate", str(path)]) == 0
    assert "warning: H1: no cooling unit: 10 kW with nowhere to go; the room heats by 0.45 K/min" in \
        capsys.readouterr().out
    assert main(["validate", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] and out["warnings"][0]["element"] == "H1"
    t0 = time.perf_counter()
    assert main(["solve", str(path), "--json"]) == 2
    assert time.perf_counter() - t0 < 30.0
    err = capsys.readouterr().err
    assert "no cooling unit: 10 kW with nowhere to go" in err and "Traceback" not in err
    assert main(["simulate", str(path), "--duration", "120", "--dt", "5", "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["warnings"][0].startswith("H1: no cooling unit") and out["energy_error"] < 1e-9
    assert out["max_inlet_c"] > 18.0


def test_the_review_report_lists_the_engine_warnings_of_a_recording(tmp_path, capsys, qapp):
    path, run, html = tmp_path / "wall.json", tmp_path / "wall.dctwin", tmp_path / "review.html"
    site = wall_rack_site()
    site.halls[0] = __import__("dataclasses").replace(site.halls[0], grid_m=0.6)
    save_layout(site, path)
    assert main(["simulate", str(path), "--duration", "20", "--dt", "5", "--out", str(run), "--no-progress",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert any(w.startswith("R-WALL: rack front (intake, facing N) is blocked") for w in out["warnings"])
    assert out["energy_error"] < 1e-3
    assert main(["export", str(run), "--html", str(html)]) == 0
    text = html.read_text(encoding="utf-8")
    section = text.split("<h2>Engine warnings</h2>", 1)[1].split("<h2>", 1)[0]
    assert "R-WALL: rack front (intake, facing N) is blocked by a wall or another element" in section
