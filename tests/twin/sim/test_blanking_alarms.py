"""Missing blanking panels through the engine and the CLI: the hall's energy balance, the solve's JSON
(each rack's recirculated share and server intake) and the alarm that says why a rack runs hot."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dctwin.app.main import main
from dctwin.twin.model import demos
from dctwin.twin.model.layoutfile import save_layout
from dctwin.twin.physics import constants as K
from dctwin.twin.sim.engine import Simulation

OPEN_U = 10.0


def _site(open_u: float):
    site = demos.load_demo("small")
    hall = site.halls[0]
    i = next(k for k, r in enumerate(hall.racks) if r.id == "R-A01")
    hall.racks[i] = dataclasses.replace(hall.racks[i], open_u=open_u)
    return site


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    d = tmp_path_factory.mktemp("gaps")
    out = {}
    for u in (0.0, OPEN_U):
        path = d / f"open{u:g}.json"
        save_layout(_site(u), path)
        out[u] = path
    return out


def test_solve_json_shows_each_racks_share_and_intake_and_the_energy_closes(solved, capsys):
    res = {}
    for u, path in solved.items():
        assert main(["solve", str(path), "--grid", "0.6", "--json"]) == 0
        res[u] = json.loads(capsys.readouterr().out)
    blanked, gaps = res[0.0], res[OPEN_U]
    for r in blanked["racks"].values():  # every rack has the keys; fully blanked: nothing recirculates
        assert r["recirculated_share"] == 0.0 and r["server_intake_c"] == r["inlet_c"]
    a01 = gaps["racks"]["R-A01"]
    assert 0.3 < a01["recirculated_share"] < 0.5
    # the servers breathe the mix of the room air at the front and the exhaust (the solve's exhaust is the air's,
    # on the flow of its last march: within the steady tolerance of the racks')
    mix = (1 - a01["recirculated_share"]) * a01["inlet_c"] + a01["recirculated_share"] * a01["exhaust_c"]
    assert a01["server_intake_c"] == pytest.approx(mix, abs=0.05)
    assert a01["server_intake_c"] > blanked["racks"]["R-A01"]["server_intake_c"] + 3.0
    # the heat the units remove and the air carries is the racks' heat, gaps or none
    for out in (blanked, gaps):
        assert out["energy_error"] < 1e-3 and out["air_energy_error"] < 1e-3
    assert gaps["racks"]["R-A01"]["airflow_m3s"] < blanked["racks"]["R-A01"]["airflow_m3s"]
    assert all(r["recirculated_share"] == 0.0 for k, r in gaps["racks"].items() if k != "R-A01")


def test_the_hot_racks_alarm_says_it_recirculates_through_its_open_units():
    sim = Simulation(_site(OPEN_U), grid_m=0.6)
    sim.solve_steady()
    mine = [a for a in sim.alarms if a["id"] == "R-A01" and a["active"]]
    assert mine, sim.alarms
    share = float(sim.state.last_rack.recirc[sim.rack_ids.index("R-A01")])
    words = f"recirculating {100 * share:.0f} % of its exhaust through 10 U without blanking panels"
    assert all(words in a["message"] for a in mine)
    assert not any("recirculating" in a["message"] for a in sim.alarms if a["id"] != "R-A01")
    # the alarm reads the servers' intake (30.3 C), not the room air at the front (25.8 C); blanked, no alarm
    i = sim.rack_ids.index("R-A01")
    intake = float(sim.state.last_rack.inlet_c[i])
    assert sim.state.rack_inlet_c[i] < 27.0 < intake
    assert [a["kind"] for a in mine] == ["inlet_recommended"]
    assert mine[0]["message"].startswith(f"R-A01 inlet {intake:.1f} °C over recommended 27 °C at 00:00:00, {words}")
    blanked = Simulation(_site(0.0), grid_m=0.6)
    blanked.solve_steady()
    assert not [a for a in blanked.alarms if a["id"] == "R-A01" and a["active"]]


def test_a_run_with_gaps_conserves_energy_and_settles_where_the_solve_is():
    sim = Simulation(_site(OPEN_U), grid_m=0.6, dt_s=5.0)
    sim.solve_steady()
    i = sim.rack_ids.index("R-A01")
    rs = sim.state.last_rack
    intake0 = float(rs.inlet_c[i])
    # the room sees the rack draw and blow q_s - q_r at the exhaust: P_air = rho cp (q_s - q_r) (T_out - T_room)
    q_room = rs.server_airflow_m3s[i] * (1.0 - rs.recirc[i])
    assert q_room == pytest.approx(rs.airflow_m3s[i], rel=1e-14)
    assert K.RHO_CP_AIR * q_room * (rs.exhaust_c[i] - sim.state.rack_inlet_c[i]) == pytest.approx(
        rs.air_power_w[i], rel=1e-9)
    summary = sim.run(300.0)
    assert summary.energy_error < 1e-3
    assert float(sim.state.last_rack.inlet_c[i]) == pytest.approx(intake0, abs=0.3)
    assert summary.final.racks["R-A01"].recirculated_share == pytest.approx(
        float(sim.ra.recirc[i]), rel=1e-12)


def test_a_run_counts_a_rack_over_allowable_by_what_its_servers_breathe():
    site = _site(42.0)
    hall = site.halls[0]
    i = next(k for k, r in enumerate(hall.racks) if r.id == "R-A01")
    hall.racks[i] = dataclasses.replace(hall.racks[i], it_kw=12.0)
    sim = Simulation(site, grid_m=0.6, dt_s=5.0)
    sim.solve_steady()
    j = sim.rack_ids.index("R-A01")
    assert sim.state.rack_inlet_c[j] < sim.ra.warn_c[j] < sim.state.last_rack.inlet_c[j]
    summary = sim.run(20.0)
    assert "R-A01" in summary.racks_over_allowable
