"""Typed results print the CLI's JSON: optional keys left out while unknown, view-only fields never,
and a run's keys over its final state's, in the order the CLI has always printed them."""

from __future__ import annotations

from dctwin.twin.sim.results import AshraeCounts, Headroom, HallSummary, RackResult, RunSummary, UnitResult


def test_hall_summary_json_leaves_out_what_is_unknown_and_what_is_for_the_views():
    s = HallSummary(hall="H", racks={"R1": RackResult(20.0, 30.0, 1e3, 0.1, "on")},
                    cooling_units={"U1": UnitResult(25.0, 25.0, 0.0, 0.0)}, settling=True, preview=True)
    d = s.to_json()
    assert "settling" not in d and "preview" not in d
    assert "rci_hi" not in d and "ashrae" not in d and "plant_headroom" not in d and "chw_supply_c" not in d
    assert d["pue"] is None and d["power_nodes"] == {}  # printed as null / empty, as always
    assert d["cooling_units"]["U1"] == {"return_c": 25.0, "supply_c": 25.0, "duty_w": 0.0, "airflow_m3s": 0.0}
    s.ashrae = AshraeCounts(1, 0, 0, [])
    s.power_nodes = {"PDU": Headroom(1.0, None, None, None)}
    d = s.to_json()
    assert d["ashrae"] == {"recommended": 1, "allowable": 0, "out_of_allowable": 0, "racks_out": []}
    assert d["power_nodes"]["PDU"] == {"load_w": 1.0, "capacity_w": None, "headroom_w": None, "headroom_n1_w": None}


def test_run_summary_json_overrides_the_final_state_in_place():
    final = HallSummary(hall="H", max_inlet_c=25.0, energy_error=0.5)
    r = RunSummary(final, duration_s=10.0, dt_s=1.0, max_inlet_c=27.0, final_max_inlet_c=25.0, energy_error=1e-12)
    d = r.to_json()
    keys = list(d)
    # the run's max inlet and energy error replace the state's where the state had them
    assert d["max_inlet_c"] == 27.0 and d["energy_error"] == 1e-12 and d["final_max_inlet_c"] == 25.0
    assert keys.index("max_inlet_c") < keys.index("it_power_w") < keys.index("duration_s")
    assert "final" not in d and "recording" not in d
    r.recording = {"file": "x.dctwin"}
    assert list(r.to_json())[-1] == "recording"
