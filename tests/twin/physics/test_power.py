"""Power chain scenarios with hand-worked numbers (twin.physics.power)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from power_sites import backup_site, rack_load, run, two_n_site
from dctwin.twin.errors import LayoutError
from dctwin.twin.model.layout import PowerNode, Site
from dctwin.twin.physics.constants import RESTART_DELAY_S
from dctwin.twin.physics.power import PowerSystem, breaker_trip_time_s, compile_power

A0, A1, A2 = 0.0131, 0.0132, 0.0153


def kinds(events, kind):
    return [e for e in events if e.kind == kind]


def ups_loss(out_w, cap_w):
    x = out_w / cap_w
    return cap_w * (A0 + A1 * x + A2 * x * x)


# ------------------------------------------------------------------ compile


def test_compile_orders_inputs_first_and_maps_consumers():
    site = two_n_site(3)
    p = compile_power(site)
    pos = p.node_index
    for node in site.power_nodes:
        for src in node.inputs:
            assert pos[src] < pos[node.id]
    assert p.consumer_ids[p.rack_slice] == ["R01", "R02", "R03"]
    assert (p.feed_a[p.rack_slice] == pos["PDU-A"]).all() and (p.feed_b[p.rack_slice] == pos["PDU-B"]).all()


def test_compile_rejects_unknown_feed_naming_the_element():
    site = two_n_site(1)
    h = site.halls[0]
    h.racks[0] = type(h.racks[0])(id="R01", x_m=1.0, y_m=2.0, it_kw=5.0, feeds=("PDU-X",))
    with pytest.raises(LayoutError, match="R01.feeds"):
        compile_power(site)


# ------------------------------------------------------------------ utility loss, generator starts


def test_utility_loss_generator_starts_in_10_s_ups_carries_the_gap():
    # 4 racks x 10 kW on one PDU (2 % loss): PDU out 40 kW, PDU in 40.8 kW = UPS out.
    # UPS 100 kW: x = 0.408, loss = 100e3 (0.0131 + 0.0132*0.408 + 0.0153*0.408^2) = 2103.25 W,
    # battery power Pb = 40800 + 2103.25 = 42903.25 W. k = 1: dSOC/dt = Pb/E, E = 10 kWh = 36e6 J.
    # Generator on load at t = 10 s: the battery carries steps t = 0..9 = 10 s,
    # SOC drop = 10 * 42903.25 / 36e6 = 0.0119176.
    site = backup_site(peukert_k=1.0)
    ps = PowerSystem(site)
    load = rack_load(ps, site)
    ps.settle(load)
    pb = 40.8e3 + ups_loss(40.8e3, 100e3)
    assert pb == pytest.approx(42903.25, abs=0.01)
    evs = run(ps, load, 10, events_at={0.0: [("utility_loss", "UTIL")]})
    assert ps.t_s == 10.0
    soc = ps.node("UPS")["soc"]
    assert 1.0 - soc == pytest.approx(10 * pb / 36e6, rel=1e-12)
    assert kinds(evs, "ups_on_battery") and not kinds(evs, "rack_down")
    assert ps.rack_on.all()
    # next step: generator on load and the ATS transfers at t = 10 s, the UPS goes back online
    evs = run(ps, load, 1)
    on_load = kinds(evs, "generator_on_load")
    assert on_load and on_load[0].t_s == 10.0
    assert kinds(evs, "ats_transfer")[0].t_s == 10.0
    assert kinds(evs, "ups_online")
    assert ps.node("UPS")["mode"] == "online" and ps.node("ATS")["position"] == "emergency"
    assert ps.rack_on.all() and not kinds(list(ps.log), "rack_down")
    # generator now carries UPS input = out + loss + recharge (10 % of 100 kW while SOC < 1)
    assert ps.node("GEN")["load_w"] == pytest.approx(pb + 10e3, rel=1e-12)


def test_soc_drop_follows_peukert_at_partial_load():
    # k = 1.15, P_ref = 100 kW, E = 36e6 J: dSOC/dt = (P_ref/E) (Pb/P_ref)^k.
    # 10 s at Pb = 42903.25 W: 0.4290325^1.15 = exp(1.15 ln 0.4290325) = exp(-0.97316) = 0.37789,
    # so 10 * (1e5/36e6) * 0.37789 = 0.0104969.
    site = backup_site(peukert_k=1.15)
    ps = PowerSystem(site)
    load = rack_load(ps, site)
    ps.settle(load)
    run(ps, load, 10, events_at={0.0: [("utility_loss", "UTIL")]})
    pb = 40.8e3 + ups_loss(40.8e3, 100e3)
    expect = 10 * (1e5 / 36e6) * (pb / 1e5) ** 1.15
    assert expect == pytest.approx(0.0104969, rel=1e-4)
    assert 1.0 - ps.node("UPS")["soc"] == pytest.approx(expect, rel=1e-12)


def test_generator_fails_to_start_racks_go_down_at_the_peukert_runtime():
    # Runtime T = (E/P_ref) (P_ref/Pb)^k = 360 s * (1e5/42903.25)^1.15 = 360 * 2.6462 = 952.6 s.
    site = backup_site(peukert_k=1.15)
    ps = PowerSystem(site)
    load = rack_load(ps, site)
    ps.settle(load)
    pb = 40.8e3 + ups_loss(40.8e3, 100e3)
    runtime = 360.0 * (1e5 / pb) ** 1.15
    assert runtime == pytest.approx(952.6, abs=0.5)
    evs = run(ps, load, 1200, events_at={0.0: [("generator_fail_to_start", "GEN"), ("utility_loss", "UTIL")]},
              stop=lambda p: not p.rack_on.any())
    downs = kinds(evs, "rack_down")
    assert len(downs) == 4
    assert abs(downs[0].t_s - runtime) / runtime < 0.05
    assert kinds(evs, "generator_stop")[0].condition == "failed to start"
    # explanation: rack_down <- ... <- ups_battery_exhausted <- generator failed <- start <- utility_loss
    chain = [e.kind for e in ps.log.chain(downs[0])]
    assert chain == ["rack_down", "node_dark", "node_dark", "ups_battery_exhausted", "generator_stop",
                     "generator_start", "utility_loss"]
    assert [e.target for e in ps.log.chain(downs[0])][1:3] == ["PDU", "UPS"]


def test_utility_restore_retransfers_after_delay_and_generator_stops():
    # ATS retransfer delay default 300 s: utility back at t = 100 -> retransfer at t = 400.
    site = backup_site()
    ps = PowerSystem(site)
    load = rack_load(ps, site)
    ps.settle(load)
    evs = run(ps, load, 420, events_at={0.0: [("utility_loss", "UTIL")], 100.0: [("utility_restore", "UTIL")]})
    assert kinds(evs, "ats_retransfer")[0].t_s == 400.0
    stop = kinds(evs, "generator_stop")[0]
    assert stop.t_s == 401.0 and ps.log.get(stop.cause).kind == "ats_retransfer"
    assert ps.node("GEN")["state"] == "off" and ps.node("ATS")["position"] == "normal"
    assert not kinds(evs, "rack_down")


# ------------------------------------------------------------------ 2N


def test_2n_each_pdu_at_40_percent_losing_a_leaves_racks_up_b_carries_80_percent():
    # 8 dual-corded racks x 10 kW = 80 kW: 40 kW (40 %) on each 100 kW PDU; without A, B carries 80 kW.
    site = two_n_site(8)
    ps = PowerSystem(site)
    load = rack_load(ps, site)
    ps.settle(load)
    assert ps.node("PDU-A")["load_w"] == pytest.approx(40e3) and ps.node("PDU-B")["load_w"] == pytest.approx(40e3)
    evs = run(ps, load, 600, events_at={0.0: [("fail", "PDU-A")]})
    assert ps.rack_on.all() and not kinds(evs, "rack_down")
    assert ps.node("PDU-B")["load_w"] == pytest.approx(80e3, rel=1e-12)
    assert not ps.node("PDU-A")["energized"] and not kinds(evs, "breaker_trip_auto")


def test_2n_each_pdu_at_60_percent_b_trips_by_its_curve_with_cause_chain():
    # 12 racks x 10 kW: 60 kW each, steady breaker state θ0 = 0.6² = 0.36. Without A, r = 1.2:
    # t_trip = -τ ln((r² - R²)/(r² - θ0)) = -120 ln((1.44 - 1.2769)/(1.44 - 0.36)) = -120 ln(0.151019) = 226.84 s.
    site = two_n_site(12)
    ps = PowerSystem(site)
    load = rack_load(ps, site)
    ps.settle(load)
    assert ps.state.theta[ps.plant.node_index["PDU-B"]] == pytest.approx(0.36)
    t_trip = breaker_trip_time_s(1.2, theta0=0.36)
    assert t_trip == pytest.approx(-120 * math.log(0.1631 / 1.08), rel=1e-12)
    assert t_trip == pytest.approx(226.84, abs=0.01)
    evs = run(ps, load, 300, events_at={0.0: [("fail", "PDU-A")]})
    trip = kinds(evs, "breaker_trip_auto")
    assert len(trip) == 1 and trip[0].target == "PDU-B"
    assert t_trip <= trip[0].t_s <= t_trip + 1.0          # detected at the end of the step it crosses
    downs = kinds(evs, "rack_down")
    assert len(downs) == 12 and not ps.rack_on.any()
    assert all(d.t_s == trip[0].t_s for d in downs)
    chain = ps.log.chain(downs[0])
    # rack down <- B dark <- B trip <- B over capacity <- A dark <- A failure
    assert [e.kind for e in chain] == ["rack_down", "node_dark", "breaker_trip_auto", "capacity_exceeded",
                                       "node_dark", "fail"]
    assert [e.target for e in chain] == ["R01", "PDU-B", "PDU-B", "PDU-B", "PDU-A", "PDU-A"]


def test_single_corded_rack_goes_down_with_its_feed_and_restarts_after_the_delay():
    site = two_n_site(2, extra_single_a=1)
    ps = PowerSystem(site)
    load = rack_load(ps, site)
    ps.settle(load)
    evs = run(ps, load, 50, events_at={0.0: [("fail", "PDU-A")]})
    downs = kinds(evs, "rack_down")
    assert [d.target for d in downs] == ["S01"] and downs[0].t_s == 0.0
    assert [e.kind for e in ps.log.chain(downs[0])] == ["rack_down", "node_dark", "fail"]
    assert list(ps.rack_on) == [True, True, False]
    # repair at t = 50: power back, the rack restarts RESTART_DELAY_S later
    evs = run(ps, load, RESTART_DELAY_S + 10, events_at={50.0: [("repair", "PDU-A")]})
    ups = kinds(evs, "rack_up")
    assert [u.target for u in ups] == ["S01"] and ups[0].t_s == 50.0 + RESTART_DELAY_S
    assert ps.rack_on.all()
    # a dark rack draws nothing: while down, PDU-A carried only the two dual-corded halves


def test_breaker_curve_trips_in_seconds_at_2x_and_minutes_at_1_35x():
    # From cold (θ0 = 0): t = -τ ln(1 - R²/r²), τ = 120 s, R = 1.13.
    # 2x: -120 ln(1 - 1.2769/4) = 46.1 s; 1.35x: -120 ln(1 - 1.2769/1.8225) = -120 ln(0.29937) = 144.73 s; 1.1x: never.
    assert breaker_trip_time_s(2.0) == pytest.approx(46.14, abs=0.01)
    assert breaker_trip_time_s(1.35) == pytest.approx(144.73, abs=0.01)
    assert breaker_trip_time_s(1.1) == math.inf
    for ratio, expect in ((2.0, 46.14), (1.35, 144.73)):
        site = two_n_site(0, extra_single_a=1, rack_kw=10.0 * ratio, pdu_kw=10.0)
        ps = PowerSystem(site)
        load = rack_load(ps, site)
        ps.settle(load)
        ps.state.theta[:] = 0.0
        evs = run(ps, load, 200, dt_s=0.1, stop=lambda p: not p.rack_on.any())
        trip = kinds(evs, "breaker_trip_auto")
        assert trip and trip[0].target == "PDU-A"
        assert expect - 0.01 <= trip[0].t_s <= expect + 0.11
    assert 10 < breaker_trip_time_s(2.0) < 60 < breaker_trip_time_s(1.35)


def test_breaker_holds_at_1_1x_forever():
    site = two_n_site(0, extra_single_a=1, rack_kw=11.0, pdu_kw=10.0)
    ps = PowerSystem(site)
    load = rack_load(ps, site)
    ps.settle(load)
    evs = run(ps, load, 3600, dt_s=10.0)
    assert not kinds(evs, "breaker_trip_auto") and ps.rack_on.all()
    assert kinds(list(ps.log), "capacity_exceeded") == []  # settled overload is state, not a new event


def test_overloaded_ups_goes_to_bypass_or_trips_without_one():
    for bypass in (True, False):
        site = backup_site(n_racks=6, ups_kw=50.0)  # 60 kW racks -> PDU in 61.2 kW on a 50 kW UPS
        site.power_nodes[3] = PowerNode(id="UPS", kind="ups", inputs=("ATS",), capacity_kw=50.0, battery_kwh=10.0,
                                        bypass=bypass)
        ps = PowerSystem(site)
        load = rack_load(ps, site)
        evs = run(ps, load, 300)
        if bypass:
            assert kinds(evs, "ups_on_bypass") and ps.node("UPS")["mode"] == "bypass"
            assert ps.node("UPS")["loss_w"] == 0.0 and ps.rack_on.all()
        else:
            # r = 61.2/50 = 1.224 from cold: t = -120 ln(1 - 1.2769/1.498) = 229.7 s
            trip = kinds(evs, "ups_trip")
            assert trip and trip[0].target == "UPS"
            assert breaker_trip_time_s(1.224) <= trip[0].t_s <= breaker_trip_time_s(1.224) + 1
            assert not ps.rack_on.any()


def test_dark_consumers_draw_nothing_and_losses_roll_up():
    # 2N, 4 racks x 10 kW: each PDU 20 kW out, loss 2 % = 400 W; UPS out 20.4 kW,
    # UPS loss 200e3 (0.0131 + 0.0132 x + 0.0153 x²), x = 0.102.
    site = two_n_site(4)
    ps = PowerSystem(site)
    load = rack_load(ps, site)
    ps.settle(load)
    x = 20.4e3 / 200e3
    ul = 200e3 * (A0 + A1 * x + A2 * x * x)
    assert ps.node("UPS-A")["loss_w"] == pytest.approx(ul, rel=1e-12)
    assert ps.node("UTIL")["load_w"] == pytest.approx(2 * (20.4e3 + ul), rel=1e-12)
    t = ps.totals()
    assert t["it_w"] == pytest.approx(40e3) and t["losses_w"] == pytest.approx(2 * (400 + ul))
    assert t["facility_w"] == pytest.approx(ps.node("UTIL")["load_w"])


# ------------------------------------------------------------------ determinism and keyframes


def _scenario(backend="numba"):
    site = two_n_site(12, extra_single_a=2)
    ps = PowerSystem(site, backend=backend)
    load = rack_load(ps, site)
    ps.settle(load)
    return ps, load


def test_same_inputs_give_bit_identical_states():
    outs = []
    for _ in range(2):
        ps, load = _scenario()
        run(ps, load, 400, events_at={5.0: [("fail", "PDU-A")], 300.0: [("repair", "PDU-A")]})
        outs.append((ps.keyframe(), [e.to_dict() for e in ps.log]))
    for k in outs[0][0]:
        assert np.array_equal(outs[0][0][k], outs[1][0][k]), k
    assert outs[0][1] == outs[1][1]


def test_restore_from_keyframe_then_step_is_bit_identical():
    ps, load = _scenario()
    run(ps, load, 100, events_at={5.0: [("fail", "PDU-A")]})
    key = ps.keyframe()
    t_key = ps.t_s
    run(ps, load, 200)
    after = ps.keyframe()
    events_after = [e.to_dict() for e in ps.log]
    ps.restore(key)
    ps.log.truncate_after(t_key)
    run(ps, load, 200)
    for k, v in ps.keyframe().items():
        assert np.array_equal(v, after[k]), k
    assert [e.to_dict() for e in ps.log] == events_after


def test_site_without_power_graph_keeps_everything_on():
    site = Site(name="bare", halls=two_n_site(3).halls, power_nodes=[])
    site.halls[0].racks[:] = [type(r)(id=r.id, x_m=r.x_m, y_m=r.y_m, it_kw=5.0) for r in site.halls[0].racks]
    ps = PowerSystem(site)
    load = rack_load(ps, site)
    run(ps, load, 5)
    assert ps.rack_on.all() and ps.totals()["it_w"] == pytest.approx(15e3) and len(ps.log) == 0


def test_racks_left_to_the_it_model_report_powered_and_the_cause():
    # manage_racks=False: no rack events from the power chain; rack_powered and the cause of the
    # loss (the node_dark of the last live feed) are handed to the IT model.
    site = two_n_site(2, extra_single_a=1)
    ps = PowerSystem(site, manage_racks=False)
    load = rack_load(ps, site)
    ps.settle(load)
    evs = run(ps, load, 3, events_at={0.0: [("fail", "PDU-A")]})
    assert not kinds(evs, "rack_down") and not kinds(evs, "unit_stop")
    assert list(ps.rack_powered) == [True, True, False]
    causes = ps.rack_power_causes()
    assert list(causes) == ["S01"] and ps.log.get(causes["S01"]).kind == "node_dark"
    # power back: flag only, the IT model owns the restart delay
    run(ps, load, 1, events_at={3.0: [("repair", "PDU-A")]})
    assert ps.rack_powered.all() and ps.rack_on.all() and ps.rack_power_causes() == {}


def test_power_balance_every_step_through_an_incident():
    # sources deliver what consumers draw plus losses plus battery charge, minus battery discharge:
    # Σ source out = Σ fed consumer draw + Σ node loss − Σ battery power (discharge > 0, charge < 0)
    from dctwin.twin.model.demos import load_demo
    from dctwin.twin.physics.codes import K_GENERATOR, K_UTILITY

    site = load_demo("ai-hall")
    ps = PowerSystem(site)
    p = ps.plant
    load = np.zeros(p.n_consumers)
    load[p.rack_slice] = [r.it_kw * 1e3 for r in site.hall.racks]
    load[p.unit_slice] = 2e3
    load[p.chiller_slice] = 300e3
    load[p.pump_slice] = 45e3
    ps.settle(load)
    src = (p.kind == K_UTILITY) | (p.kind == K_GENERATOR)
    fed = (p.feed_a >= 0) | (p.feed_b >= 0)
    script = {10.0: [("generator_fail_to_start", "GEN-B"), ("utility_loss", "UTIL")], 200.0: [("fail", "PDU-A-A")],
              400.0: [("utility_restore", "UTIL")]}
    for _ in range(800):
        run(ps, load, 1, events_at=script)
        s = ps.state
        supplied = s.out_w[src].sum()
        used = s.cons_w[fed].sum() + s.loss_w.sum() - s.batt_w.sum()
        assert supplied == pytest.approx(used, rel=1e-9, abs=1e-6)
        assert np.isfinite(s.soc).all() and np.isfinite(s.theta).all()
    assert {"ats_transfer", "ups_on_battery", "ats_retransfer"} <= set(ps.log.counts())
