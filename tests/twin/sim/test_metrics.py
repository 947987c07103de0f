"""Metrics on hand-worked cases: PUE, ASHRAE status, RCI, RTI, headroom now and N-1."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "physics"))
from power_sites import plant_site, rack_load, two_n_site  # noqa: E402

from dctwin.twin.model.layout import Chiller, CoolingUnit, Hall, PowerNode, Pump, Rack, Site  # noqa: E402
from dctwin.twin.sim.metrics import (  # noqa: E402
    IN_ALLOWABLE, IN_RECOMMENDED, OUT_OF_ALLOWABLE, EnergyMeter, ashrae_status, ashrae_summary,
    facility_breakdown, group_headroom, plant_headroom, power_headroom, pue, rci_hi, rci_lo, rti,
    rti_from_airflow,
)
from dctwin.twin.physics.plant import CoolingPlant  # noqa: E402
from dctwin.twin.physics.power import PowerSystem  # noqa: E402


def _pue_site() -> Site:
    nodes = [PowerNode(id="UTIL", kind="utility"),
             PowerNode(id="UPS", kind="ups", inputs=("UTIL",), capacity_kw=100.0, loss_fraction=0.05),
             PowerNode(id="PDU", kind="pdu", inputs=("UPS",), capacity_kw=100.0, loss_fraction=0.02),
             PowerNode(id="SWB", kind="switchboard", inputs=("UTIL",), capacity_kw=100.0, loss_fraction=0.01)]
    racks = [Rack(id=f"R{i}", x_m=1.0 + 0.6 * i, y_m=2.0, it_kw=10.0, feeds=("PDU",)) for i in range(5)]
    unit = CoolingUnit(id="CRAH", kind="crah", x_m=10.0, y_m=8.0, airflow_m3s=5.0, capacity_kw=100.0, feeds=("SWB",))
    return Site(name="pue", halls=[Hall(id="H", width_m=20.0, depth_m=12.0, racks=racks, cooling_units=[unit])],
                power_nodes=nodes, chillers=[Chiller(id="CH", capacity_kw=100.0, feeds=("SWB",))],
                pumps=[Pump(id="P", power_kw=1.0, feeds=("SWB",))])


def test_pue_of_a_simple_known_case_instant_and_energy_averaged():
    # IT 5 x 10 = 50 kW; PDU loss 2 % = 1 kW; UPS out 51 kW, loss 5 % = 2.55 kW;
    # mechanical: CRAH 4 + chiller 10 + pump 1 = 15 kW through SWB (1 % = 0.15 kW).
    # facility = 50 + 15 + 1 + 2.55 + 0.15 = 68.7 kW, PUE = 68.7/50 = 1.374.
    site = _pue_site()
    ps = PowerSystem(site)
    load = ps.consumer_load(rack_w=np.full(5, 10e3), unit_w=[4e3], chiller_w=[10e3], pump_w=[1e3])
    ps.step(1.0, load)
    tot = facility_breakdown(ps.totals())
    assert tot["it_w"] == pytest.approx(50e3) and tot["mechanical_w"] == pytest.approx(15e3)
    assert tot["losses_w"] == pytest.approx(1e3 + 2.55e3 + 0.15e3)
    assert tot["facility_w"] == pytest.approx(68.7e3)
    assert tot["pue"] == pytest.approx(1.374)
    assert ps.node("UTIL")["load_w"] == pytest.approx(68.7e3)     # what the meter at the utility reads
    # energy average: 100 s as above, then 100 s with racks at 5 kW: PDU loss 0.5, UPS 25.5*0.05 = 1.275,
    # facility = 25 + 15 + 0.5 + 1.275 + 0.15 = 41.925 kW. PUE_avg = (68.7 + 41.925)/(50 + 25) = 1.475
    meter = EnergyMeter()
    for rack_w in (10e3, 5e3):
        load[ps.plant.rack_slice] = rack_w
        for _ in range(100):
            ps.step(1.0, load)
            t = ps.totals()
            meter.add(1.0, t["it_w"], t["facility_w"], t["mechanical_w"], t["losses_w"])
    assert meter.pue_avg == pytest.approx(1.475)
    assert meter.it_energy_kwh == pytest.approx((50 + 25) * 100 / 3600)
    assert pue(0.0, 10.0) != pue(0.0, 10.0)   # NaN without IT


def test_rci_and_ashrae_on_a_hand_example():
    inlets = np.array([20.0, 25.0, 28.0, 30.0, 33.0, 17.0])
    # above 27: 1 + 3 + 6 = 10 K over 6 intakes: RCI_HI = (1 - 10/((32 - 27) 6)) 100 = 66.667 %
    assert rci_hi(inlets) == pytest.approx(100 * (1 - 10 / 30))
    # below 18: 1 K: RCI_LO = (1 - 1/((18 - 15) 6)) 100 = 94.444 %
    assert rci_lo(inlets) == pytest.approx(100 * (1 - 1 / 18))
    assert rci_hi(np.array([18.0, 27.0])) == 100.0 and rci_lo(np.array([18.0, 27.0])) == 100.0
    r, a, o = IN_RECOMMENDED, IN_ALLOWABLE, OUT_OF_ALLOWABLE
    assert list(ashrae_status(inlets, "A1")) == [r, r, a, a, o, a]
    assert list(ashrae_status(inlets, "A2")) == [r, r, a, a, a, a]
    # H1: recommended 18-22, allowable 5-25
    assert list(ashrae_status(inlets, "H1")) == [r, a, o, o, o, a]
    s = ashrae_summary([f"R{i}" for i in range(6)], inlets, ["A1", "A1", "A1", "A1", "A2", "A1"])
    assert s.to_json() == {"recommended": 2, "allowable": 4, "out_of_allowable": 0, "racks_out": []}
    with pytest.raises(ValueError, match="Z9"):
        ashrae_status(inlets, "Z9")


def test_rti():
    # return 30, supply 18, IT rise 10 K: 12/10 = 120 % (recirculation); airflow 8 vs 10 m3/s: 80 % (bypass)
    assert rti(30.0, 18.0, 10.0) == pytest.approx(120.0)
    assert rti_from_airflow(8.0, 10.0) == pytest.approx(80.0)
    assert math.isnan(rti(30.0, 18.0, 0.0))


def test_power_headroom_now_and_n_minus_1_on_2n():
    # 8 racks x 10 kW dual-corded: PDU-A 40 kW of 100 -> headroom 60 kW; losing PDU-B (or UPS-B)
    # puts 80 kW on A -> N-1 headroom 20 kW. UPS-A: out 40.8 kW (PDU loss 2 %), N-1 81.6 kW of 200 -> 118.4 kW.
    site = two_n_site(8)
    ps = PowerSystem(site)
    load = rack_load(ps, site)
    ps.settle(load)
    h = power_headroom(ps)
    assert h["PDU-A"].to_json() == pytest.approx({"load_w": 40e3, "capacity_w": 100e3, "headroom_w": 60e3,
                                        "headroom_n1_w": 20e3})
    assert h["UPS-B"].headroom_w == pytest.approx(200e3 - 40.8e3)
    assert h["UPS-B"].headroom_n1_w == pytest.approx(200e3 - 81.6e3)
    assert h["UTIL"].capacity_w is None and h["UTIL"].headroom_n1_w is None


def test_power_headroom_without_partner_equals_headroom():
    site = two_n_site(0, extra_single_a=3)       # 3 x 10 kW on A only: B carries nothing
    ps = PowerSystem(site)
    ps.settle(rack_load(ps, site))
    h = power_headroom(ps)
    assert h["PDU-A"].headroom_w == pytest.approx(70e3)
    assert h["PDU-A"].headroom_n1_w == pytest.approx(70e3)


def test_cooling_group_headroom():
    # duties 100/80/60 kW, 150 kW each. Unit 1: N-1 load 100 + max(80, 60)/2 = 140 -> 10 kW.
    # Unit 3: 60 + 100/2 = 110 -> 40 kW. A unit alone in its group has no partner.
    h = group_headroom(["U1", "U2", "U3", "U4"], np.array([100e3, 80e3, 60e3, 50e3]), np.full(4, 150e3),
                       groups=["H1", "H1", "H1", "H2"])
    assert h["U1"].headroom_w == pytest.approx(50e3) and h["U1"].headroom_n1_w == pytest.approx(10e3)
    assert h["U3"].headroom_n1_w == pytest.approx(40e3)
    assert h["U4"].headroom_n1_w == h["U4"].headroom_w == pytest.approx(100e3)


def test_a_stopped_cooling_unit_has_no_headroom_and_is_no_partner():
    # U2 failed (no airflow, no duty): it offers nothing now, and U1 has no running partner left
    h = group_headroom(["U1", "U2"], np.array([120e3, 0.0]), np.full(2, 150e3), running=np.array([True, False]))
    assert h["U2"].capacity_w == 0.0 and h["U2"].headroom_w == 0.0 and h["U2"].headroom_n1_w == 0.0
    assert h["U1"].headroom_w == pytest.approx(30e3) and h["U1"].headroom_n1_w == pytest.approx(30e3)


def test_plant_headroom():
    # 2 chillers share 500 kW (250 each); plant capacity 2a; N-1 = 2a - a - 500 kW.
    cp = CoolingPlant(plant_site(chillers=2, chiller_kw=400.0))
    cp.step(1.0, 500e3)
    a = cp.state.ch_avail_w[0]
    h = plant_headroom(cp)
    assert h["CH-1"].load_w == pytest.approx(250e3)
    assert h["CH-1"].headroom_n1_w == pytest.approx(a - 500e3)
    assert h["plant"].headroom_w == pytest.approx(2 * a - 500e3)
    assert h["plant"].headroom_n1_w == pytest.approx(a - 500e3)


def _demo_pue(name: str, outdoor_c: float) -> float:
    """Power + plant on a demo site at design IT load, outdoor held at ``outdoor_c``; all heat
    (IT, unit fans and pumps, distribution losses) ends in the chilled-water loop."""
    from dctwin.twin.model.demos import load_demo
    from dctwin.twin.model.layout import Outdoor
    from dctwin.twin.physics.constants import FAN_W_PER_M3S

    site = load_demo(name)
    site.plant.outdoor = Outdoor(kind="constant", c=outdoor_c)
    ps = PowerSystem(site)
    cp = CoolingPlant(site, log=ps.log)
    units = [u for h in site.halls for u in h.cooling_units]
    unit_w = np.array([u.fan_power_kw * 1e3 if u.fan_power_kw is not None else FAN_W_PER_M3S * u.airflow_m3s
                       for u in units])
    is_cdu = np.array([u.kind == "cdu" for u in units])
    rack_w = np.array([r.it_kw * 1e3 for h in site.halls for r in h.racks])
    meter = EnergyMeter()
    for k in range(40):
        unit_w[is_cdu] = cp.cdu_pump_power_w
        load = ps.consumer_load(rack_w=rack_w, unit_w=unit_w, chiller_w=cp.chiller_power_w, pump_w=cp.pump_power_w)
        ps.step(60.0, load)
        t = ps.totals()
        heat = t["it_w"] + t["units_w"] + t["pumps_w"] + t["losses_w"]
        cp.step(60.0, heat, chiller_powered=ps.chiller_on, pump_powered=ps.pump_on, cdu_powered=ps.unit_on[is_cdu])
        if k >= 10:
            meter.add(60.0, t["it_w"], t["facility_w"])
    assert cp.state.flows[3] == 0.0                    # the plant carries the load
    return meter.pue_avg


@pytest.mark.parametrize("name", ["small", "ai-hall"])
def test_demo_pue_within_published_range_and_higher_on_a_hot_day(name):
    # Uptime 2024 average ≈ 1.5; modern halls 1.1-1.6 (reference §6.1).
    cold, mild, hot = (_demo_pue(name, t) for t in (5.0, 22.0, 35.0))
    for p in (cold, mild, hot):
        assert 1.1 <= p <= 1.6
    assert cold < mild < hot


def test_run_metrics_summary_after_a_generator_failure():
    # backup site: 4 x 10 kW racks; generator fails to start; the battery runs out near 952.6 s
    # (test_power.py works the Peukert runtime out); min SOC 0; racks_down at the same time for all 4.
    from power_sites import backup_site
    from dctwin.twin.sim.metrics import RunMetrics, solve_power_extras

    site = backup_site(peukert_k=1.15)
    ps = PowerSystem(site)
    load = rack_load(ps, site)
    ps.settle(load)
    rm = RunMetrics(ps)
    for k in range(1000):
        evs = []
        if k == 0:
            evs = [ps.log.record(0.0, "generator_fail_to_start", "GEN"), ps.log.record(0.0, "utility_loss", "UTIL")]
        new = ps.step(1.0, load, evs)
        rm.update(1.0, ps, new)
    s = rm.summary(ps.log)
    assert s["ups_min_soc"] == 0.0
    assert set(s["racks_down"]) == {"R01", "R02", "R03", "R04"}
    assert abs(s["racks_down"]["R01"] - 952.6) / 952.6 < 0.05
    assert s["events"]["rack_down"] == 4 and s["events"]["utility_loss"] == 1
    # IT energy: 40 kW for the whole time the racks ran (until they went down)
    t_down = s["racks_down"]["R01"]
    assert s["it_energy_kwh"] == pytest.approx(40.0 * t_down / 3600.0)
    nodes, pue_now = solve_power_extras(ps)
    assert set(nodes) == {"UTIL", "GEN", "ATS", "UPS", "PDU"} and pue_now is None   # no IT now


def test_overloaded_plant_shows_negative_headroom():
    # one 400 kW chiller (available a at 25 C outdoor) against 1 MW into the loop: headroom a - 1 MW < 0
    cp = CoolingPlant(plant_site(chillers=1, chiller_kw=400.0))
    cp.step(1.0, 1e6)
    a = cp.state.ch_avail_w[0]
    h = plant_headroom(cp)["plant"]
    assert h.load_w == pytest.approx(1e6) and h.headroom_w == pytest.approx(a - 1e6) and a < 1e6
