"""Every CFD reference room solved end to end through ``dctwin solve``, as a person would check it.

The room is written as a layout file (tests/twin/physics/air_cases.cfd_site): racks with
``airflow_fixed`` at the CFD's airflow and power, the CFD's tiles and return grille, and a small DX
unit feeding the raised floor the CFD's tile flow at 18 °C. ``dctwin solve --json`` must then give
every rack exactly the CFD's airflow and power (no fan curve), the return temperature of the energy
balance, and rack inlets within the same bounds as the in-process check (test_cfd_rooms.py). Without
``airflow_fixed`` the racks follow their fan curve (0.775 of ``airflow_m3s`` at an 18 °C inlet): the
test shows the field is what makes the CLI reproduce the room.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from air_cases import cfd_site
from dctwin.app.main import main
from dctwin.twin.model.layoutfile import load_layout, save_layout
from dctwin.twin.physics.constants import CP_AIR, RHO_AIR
from test_cfd_rooms import BOUND_RMS_K, ROOMS, TARGET_RMS_K, load_room

#: the validated air model's bound: the issue's target (1.5 K RMS) where it reaches it, else what it
#: reaches plus about 0.25 K (docs/validation.md has every room's figures)
VALIDATED_TARGET_RMS_K = 1.5
VALIDATED_BOUND_RMS_K = {("case_B1", "uniform_4kW"): 1.9, ("case_B1", "mixed"): 2.2, ("b_under08", "mixed"): 1.75,
                         ("g_short_rows", "uniform_5kW"): 1.8, ("g_short_rows", "mixed"): 1.9,
                         # held out, compared once: h_long_rows 1.66 / 2.67 K (worse than "fast"'s
                         # 1.14 / 1.78 K), j_gaps 2.51 / 3.40 K (fast 2.80 / 3.79 K), i_mixed_heights
                         # 2.30 / 2.97 K (fast 2.02 / 2.95 K)
                         ("h_long_rows", "uniform_4kW"): 1.9, ("h_long_rows", "mixed"): 2.9,
                         ("j_gaps", "uniform_5kW"): 2.8, ("j_gaps", "mixed"): 3.65,
                         ("i_mixed_heights", "uniform_5kW"): 2.55, ("i_mixed_heights", "mixed"): 3.25,
                         # session 23's held-out room: 1.75 / 2.51 K (fast 2.32 / 3.35 K)
                         ("l_end_gap", "uniform_5kW"): 2.0, ("l_end_gap", "mixed"): 2.75}
CASES = [(room, pc) for room in ["case_B1"] + ROOMS for pc in load_room(room)["temperatures"]["cases"]]


def _solve(path, capsys, model: str = "fast") -> dict:
    capsys.readouterr()
    assert main(["solve", str(path), "--json", "--air-model", model]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("model", ["fast", "validated"])
@pytest.mark.parametrize("room,power_case", CASES, ids=[f"{r}-{p}" for r, p in CASES])
def test_cli_reproduces_the_cfd_room(room, power_case, model, tmp_path, capsys):
    case = load_room(room)
    cs = case["temperatures"]["cases"][power_case]
    site = cfd_site(case, power_case)
    path = tmp_path / f"{room}.json"
    save_layout(site, path)
    assert all(r.airflow_fixed for r in load_layout(path).halls[0].racks)  # the field survives the file
    out = _solve(path, capsys, model)
    racks = site.halls[0].racks
    q = np.array([out["racks"][r.id]["airflow_m3s"] for r in racks])
    p = np.array([out["racks"][r.id]["power_w"] for r in racks])
    np.testing.assert_allclose(q, case["q_rack_m3s"], rtol=1e-12)
    np.testing.assert_allclose(p, cs["P_W"], rtol=1e-12)
    unit = out["cooling_units"]["SUPPLY"]
    assert unit["supply_c"] == pytest.approx(case["temperatures"]["T_supply_C"], abs=1e-6)
    t_bal = case["temperatures"]["T_supply_C"] + sum(cs["P_W"]) / (RHO_AIR * CP_AIR * case["tile_flow_total_m3s"])
    assert unit["return_c"] == pytest.approx(t_bal, abs=0.05)
    tin = np.array([out["racks"][r.id]["inlet_c"] for r in racks])
    err = tin - np.array(cs["T_inlet_C"])
    rms = float(np.sqrt(np.mean(err ** 2)))
    print(f"\n{room} {power_case} through dctwin solve --air-model {model}: RMS {rms:.2f} K, worst {np.abs(err).max():.2f} K; "
          + " ".join(f"{e:+.1f}" for e in err))
    if model == "fast":
        assert rms <= BOUND_RMS_K.get((room, power_case), TARGET_RMS_K)
    else:
        assert rms <= VALIDATED_BOUND_RMS_K.get((room, power_case), VALIDATED_TARGET_RMS_K)


def test_without_airflow_fixed_the_racks_follow_their_fan_curve(tmp_path, capsys):
    case = load_room("case_B1")
    site = cfd_site(case, "uniform_4kW")
    hall = site.halls[0]
    hall.racks[:] = [dataclasses.replace(r, airflow_fixed=False) for r in hall.racks]
    path = tmp_path / "curve.json"
    save_layout(site, path)
    assert "airflow_fixed" not in path.read_text()  # false is left out of the file
    out = _solve(path, capsys)
    for r in hall.racks:
        d = out["racks"][r.id]
        # OpenStudio fFlow at full utilization: -0.125 + 0.05 T, 1 at 22.5 °C
        assert d["airflow_m3s"] == pytest.approx(case["q_rack_m3s"] * (-0.125 + 0.05 * d["inlet_c"]), rel=1e-6)
    assert min(out["racks"][r.id]["airflow_m3s"] for r in hall.racks) < 0.8 * case["q_rack_m3s"]


def test_the_validated_model_solves_steady_states_only_and_forgets_the_flow_before(tmp_path):
    """"validated" starts every march from rest: a simulation warm-started from another layout's
    gives the same flow, bit for bit; runs are refused with a clear message."""
    from dctwin.twin.errors import InputError
    from dctwin.twin.sim.engine import Simulation

    case = load_room("d_far_return")
    site = cfd_site(case, "uniform_5kW")
    other = cfd_site(case, "mixed")
    other.halls[0].racks[:] = [dataclasses.replace(r, airflow_m3s=0.25) for r in other.halls[0].racks]
    before = Simulation(other, air_model="validated")
    before.solve_steady()
    cold = Simulation(site, air_model="validated")
    cold.solve_steady()
    warm = Simulation(site, air_model="validated", warm_from=before)
    warm.solve_steady()
    assert np.array_equal(cold.flow.u, warm.flow.u)
    assert not np.allclose(before.flow.u, cold.flow.u, atol=0.05)  # the flow before was another
    assert cold.flow.scheme == "mcl"
    with pytest.raises(InputError, match="solves steady states only"):
        cold.step()
    with pytest.raises(InputError, match="unknown air model 'best'"):
        Simulation(site, air_model="best")
