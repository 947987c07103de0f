"""Contingency scenarios: the scenario set and its pruning (proven by running), the static pass,
one scenario's outcome, early stop, severity ranking, design hints."""

from __future__ import annotations

import itertools
import math

import pytest

from dctwin.twin.errors import InputError
from dctwin.twin.model import demos
from dctwin.twin.sim import contingency as C
from dctwin.twin.sim import hints as H

#: the outcome figures a pruned pair must share with the scenario it is said to equal
FIGURES = ("racks_down", "racks_down_ids", "kw_down", "racks_over_allowable", "first_over_allowable_s",
           "max_inlet_c", "ups_min_soc", "max_node_utilization", "overloaded_nodes", "stopped_units", "ended_s")


@pytest.fixture(scope="module")
def small():
    return demos.load_demo("small")


def _by_key(failures):
    return {f.key: f for f in failures}


def test_single_failures_of_small_cover_every_power_node_cooling_unit_plant_element_and_the_generator(small):
    keys = [f.key for f in C.single_failures(small)]
    assert keys == ["fail:UTIL", "fail:GEN-1", "fail:ATS-1", "fail:UPS-1A", "fail:UPS-1B", "fail:PDU-A", "fail:PDU-B",
                    "fail:SWB-M", "utility_loss+generator_fail_to_start:GEN-1", "fail:CRAH-1", "fail:CRAH-2",
                    "fail:CH-1", "fail:CHWP-1"]
    gen = _by_key(C.single_failures(small))["utility_loss+generator_fail_to_start:GEN-1"]
    # the generator is armed before the utility goes: its start attempt follows the loss
    assert C.Scenario((gen,)).events == (("generator_fail_to_start", "GEN-1"), ("utility_loss", ""))
    assert [f.key for f in C.single_failures(small, kinds=("plant",))] == ["fail:CH-1", "fail:CHWP-1"]
    assert [f.key for f in C.single_failures(small, elements=("SWB-M", "CRAH-2"))] == ["fail:SWB-M", "fail:CRAH-2"]


def test_the_ai_hall_has_cdus_and_their_pumps_and_a_compound_failure_per_generator():
    ai = demos.load_demo("ai-hall")
    f = _by_key(C.single_failures(ai))
    assert "fail:CDU-1" in f and "cdu_pump_fail:CDU-1" in f and f["cdu_pump_fail:CDU-1"].kind == "plant"
    assert {"utility_loss+generator_fail_to_start:GEN-A", "utility_loss+generator_fail_to_start:GEN-B"} <= set(f)
    assert len(f) == 35 + 2 + 63 + 3 + 3 + 3


def test_unknown_elements_and_kinds_are_refused_by_name(small):
    with pytest.raises(InputError, match="'NOPE' is not an element"):
        C.single_failures(small, elements=("SWB-M", "NOPE"))
    with pytest.raises(InputError, match="unknown kind 'water'"):
        C.single_failures(small, kinds=("power", "water"))
    with pytest.raises(InputError, match="--n must be 1 or 2"):
        C.scenario_set(small, C.single_failures(small), 3)
    for bad in (C.SweepSettings(duration_s=30), C.SweepSettings(dt_s=0), C.SweepSettings(grid_m=9)):
        with pytest.raises(InputError):
            bad.check()


def test_pairs_are_every_pair_less_only_those_one_failure_makes_irrelevant(small):
    failures = C.single_failures(small)
    full = C.scenario_set(small, failures, 2, exhaustive=True)
    assert len(full.scenarios) == math.comb(13, 2) and not full.pruned
    pruned = C.scenario_set(small, failures, 2)
    assert pruned.n_total == math.comb(13, 2)
    same = {p.key: p.same_as for p in pruned.pruned}
    assert same["fail:CRAH-1 & fail:SWB-M"] == "fail:SWB-M"  # SWB-M is the CRAHs' only feed
    assert same["fail:PDU-A & fail:UPS-1A"] == "fail:UPS-1A"
    assert same["fail:SWB-M & utility_loss+generator_fail_to_start:GEN-1"] == \
        "utility_loss+generator_fail_to_start:GEN-1"
    kept = {s.key for s in pruned.scenarios}
    # the 2N pair: each alone changes nothing, together they do; never pruned
    assert "fail:UPS-1A & fail:UPS-1B" in kept
    # a UPS with a battery behind a lost ATS still runs: the PDU below it is not dark, the pair stays
    assert "fail:ATS-1 & fail:PDU-A" in kept
    assert all(p.reason for p in pruned.pruned)


@pytest.fixture(scope="module")
def small_base(small):
    settings = C.SweepSettings(duration_s=300.0, early_stop=False)
    base, sim, _ = C.prepare_base(small, settings)
    return base, sim


def test_a_pruned_pair_runs_to_the_same_figures_as_the_failure_it_equals(small, small_base):
    """The proof by running: every pair pruned among these elements equals its single failure."""
    base, sim = small_base
    failures = C.single_failures(small, elements=("SWB-M", "CRAH-1", "CH-1", "UPS-1A", "PDU-A"))
    pruned = C.scenario_set(small, failures, 2).pruned
    assert {p.key for p in pruned} == {"fail:CRAH-1 & fail:SWB-M", "fail:CH-1 & fail:SWB-M",
                                       "fail:PDU-A & fail:UPS-1A"}
    f = _by_key(failures)
    singles = {k: C.run_scenario(sim, base, C.Scenario((f[k],))) for k in {p.same_as for p in pruned}}
    for p in pruned:
        a, b = p.key.split(" & ")
        pair = C.run_scenario(sim, base, C.Scenario((f[a], f[b])))
        for name in FIGURES:
            assert pair[name] == singles[p.same_as][name], (p.key, name)


def test_static_pass_names_what_loses_power_and_the_cooling_left(small, small_base):
    base, sim = small_base
    f = _by_key(C.single_failures(small))
    swb = C.static_pass(sim, base, C.Scenario((f["fail:SWB-M"],)))
    assert swb["units_stopped"] == ["CRAH-1", "CRAH-2"] and swb["racks_unpowered"] == 0
    assert swb["air_cooling_capacity_kw"] == 0 and swb["cooling_short_kw"] == pytest.approx(swb["air_cooling_load_kw"])
    assert swb["chiller_capacity_kw"] == 0  # CH-1 hangs on SWB-M too
    ups = C.static_pass(sim, base, C.Scenario((f["fail:UPS-1A"],)))
    # the whole IT load moves onto the B side: PDU-B (150 kW) carries about twice its share
    assert ups["dark_nodes"] == ["UPS-1A", "PDU-A"] and ups["racks_unpowered"] == 0
    assert 0.75 < ups["max_node_utilization"] < 1.0 and not ups["overloaded_nodes"]
    pair = C.static_pass(sim, base, C.Scenario((f["fail:UPS-1A"], f["fail:UPS-1B"])))
    assert pair["racks_unpowered"] == 20 and pair["kw_unpowered"] == pytest.approx(base.rack_power_w.sum() / 1e3)


def test_the_single_switchboard_takes_racks_down_and_one_ups_changes_nothing(small, small_base):
    base, sim = small_base
    f = _by_key(C.single_failures(small))
    baseline = C.run_scenario(sim, base, C.BASELINE)
    swb = C.run_scenario(sim, base, C.Scenario((f["fail:SWB-M"],)))
    ups = C.run_scenario(sim, base, C.Scenario((f["fail:UPS-1A"],)))
    assert len(swb["racks_over_allowable"]) == 20 and 60 < swb["first_over_allowable_s"] < 120
    # both CRAHs stop with SWB-M: every rack shuts down on heat within four minutes
    assert swb["racks_down"] == 20 and swb["kw_down"] == pytest.approx(base.rack_power_w.sum() / 1e3)
    assert swb["cause"].startswith(swb["racks_down_ids"][0]) and "shut down" in swb["cause"]
    assert swb["stopped_units"] == ["CRAH-1", "CRAH-2"] and "SWB-M" in swb["dark_nodes"]
    assert "SWB-M failed" in swb["cause"] and swb["cause_steps"][-1]["target"] == "SWB-M"
    assert set(swb["unpowered"]) == {"CRAH-1", "CRAH-2", "CH-1", "CHWP-1"}
    assert ups["racks_down"] == 0 and not ups["racks_over_allowable"] and ups["cause"] is None
    ranked = C.rank([ups, swb], baseline)
    assert [o["key"] for o in ranked] == ["fail:SWB-M", "fail:UPS-1A"]
    assert ranked[0]["severity_level"] == "it_lost" and not ranked[0]["changes_nothing"]
    assert ranked[1]["severity_level"] == "none" and ranked[1]["changes_nothing"]


def _o(key, down=0, kw=0.0, over=(), first=None, inlet=25.0, soc=1.0, util=0.5, nodes=()):
    return {"key": key, "racks_down": down, "kw_down": kw, "racks_over_allowable": list(over),
            "first_over_allowable_s": first, "max_inlet_c": inlet, "ups_min_soc": soc,
            "max_node_utilization": util, "overloaded_nodes": list(nodes)}


def test_severity_ranks_it_lost_then_breaches_then_time_margin_and_ties_share_a_rank():
    outs = [_o("z-nothing"), _o("a-nothing"), _o("hot", inlet=28.0), _o("late", over=["R1"], first=900, inlet=33),
            _o("early", over=["R1"], first=120, inlet=33), _o("two", over=["R1", "R2"], first=900, inlet=33),
            _o("down-small", down=3, kw=10.0), _o("down-big", down=1, kw=60.0), _o("battery", soc=0.5),
            _o("overload", util=1.2, nodes=["PDU-A"])]
    ranked = C.rank(outs)
    assert [o["key"] for o in ranked] == ["down-big", "down-small", "two", "early", "late", "hot", "battery",
                                          "overload", "a-nothing", "z-nothing"]
    assert [o["severity"] for o in ranked] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 9]
    levels = {o["key"]: o["severity_level"] for o in ranked}
    assert levels == {"down-big": "it_lost", "down-small": "it_lost", "two": "thermal_breach",
                      "early": "thermal_breach", "late": "thermal_breach", "hot": "degraded", "battery": "degraded",
                      "overload": "degraded", "a-nothing": "none", "z-nothing": "none"}
    # the ranking does not depend on the order the outcomes came in
    for perm in itertools.islice(itertools.permutations(outs), 0, 50, 7):
        assert [o["key"] for o in C.rank([dict(o) for o in perm])] == [o["key"] for o in ranked]


def test_early_stop_ends_a_quiet_scenario_once_steady_with_the_figures_of_the_full_run(small):
    settings = C.SweepSettings(duration_s=900.0)
    base, sim, _ = C.prepare_base(small, settings)
    f = _by_key(C.single_failures(small))
    quick = C.run_scenario(sim, base, C.Scenario((f["fail:UPS-1A"],)))
    assert quick["steady"] and quick["ended_s"] == pytest.approx(C.FAIL_AT_S + C.STEADY_MIN_AFTER_S)
    base.settings = C.SweepSettings(duration_s=900.0, early_stop=False)
    full = C.run_scenario(sim, base, C.Scenario((f["fail:UPS-1A"],)))
    assert not full["steady"] and full["ended_s"] == 900.0
    assert quick["max_inlet_c"] == pytest.approx(full["max_inlet_c"], abs=C.STEADY_INLET_K)
    assert quick["max_node_utilization"] == pytest.approx(full["max_node_utilization"], rel=1e-3)
    assert (quick["racks_down"], quick["racks_over_allowable"]) == (full["racks_down"], full["racks_over_allowable"])
    # a chiller that fails leaves the loop warming: never steady while its temperature moves
    base.settings = settings
    chiller = C.run_scenario(sim, base, C.Scenario((f["fail:CH-1"],)))
    assert not chiller["steady"] and chiller["ended_s"] == 900.0


def test_a_feed_hint_gives_the_switchboards_loads_a_second_live_source(small):
    outcome = {"failed": ["SWB-M"], "dark_nodes": ["SWB-M"], "unpowered": ["CRAH-1", "CRAH-2", "CH-1", "CHWP-1"],
               "racks_down_ids": [], "static": {}}
    node_w = {"PDU-A": 65e3, "PDU-B": 64e3, "UPS-1A": 66e3, "UPS-1B": 65e3}
    cons_w = {"CRAH-1": 4e3, "CRAH-2": 4e3, "CH-1": 32e3, "CHWP-1": 3e3}
    changes = H.feed_change(small, outcome, node_w, cons_w)
    assert changes == [H.FeedChange(("CRAH-1", "CRAH-2", "CH-1", "CHWP-1"), ("SWB-M",), "PDU-B")]
    assert changes[0].describe() == "CRAH-1, CRAH-2, CH-1 and CHWP-1 are fed from SWB-M only"
    changed = H.apply_changes(small, changes)
    assert changed.get("CRAH-1").feeds == ("SWB-M", "PDU-B") and small.get("CRAH-1").feeds == ("SWB-M",)
    # nothing live can carry it: no hint
    assert H.feed_change(small, outcome, node_w, {**cons_w, "CH-1": 500e3}) == []
