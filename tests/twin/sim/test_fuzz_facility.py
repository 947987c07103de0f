"""Fuzzing the power chain and the chilled-water plant: no layout that validates makes NaN.

Every number of the power nodes, chillers, pumps and plant of a tiny site is pushed to values at
and past its bounds (1e-308, 1e308, 0, the edges of each range). Whatever validates is solved and
run through a utility loss, a generator that fails to start, a breaker trip and a chiller failure;
the engine checks every report for NaN, infinity and temperatures below absolute zero after every
step (:mod:`dctwin.twin.sim.guard`), so a ResultError here is a gap in validation: the test fails.
Refusals of other kinds (no steady state, a budget) are clean and allowed.
"""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dctwin.twin.errors import DctwinError, LayoutError, ResultError
from dctwin.twin.model.layoutfile import site_from_dict
from tests.app.attack_files import TINY
from tests.hostile import FUZZ, NUMBERS, ends_within

SITE = json.loads(json.dumps(TINY))
SITE["halls"][0]["cooling_units"][0]["feeds"] = ["SWB"]
SITE["power_nodes"] = [
    {"id": "UTIL", "kind": "utility", "capacity_kw": 500},
    {"id": "GEN", "kind": "generator", "capacity_kw": 300, "start_delay_s": 2},
    {"id": "ATS", "kind": "ats", "inputs": ["UTIL", "GEN"], "capacity_kw": 300, "transfer_delay_s": 0.5,
     "retransfer_delay_s": 5},
    {"id": "UPS-A", "kind": "ups", "inputs": ["ATS"], "capacity_kw": 50, "battery_kwh": 5, "peukert_k": 1.1},
    {"id": "UPS-B", "kind": "ups", "inputs": ["ATS"], "capacity_kw": 50, "battery_kwh": 5},
    {"id": "PDU-A", "kind": "pdu", "inputs": ["UPS-A"], "capacity_kw": 100, "loss_fraction": 0.02},
    {"id": "PDU-B", "kind": "pdu", "inputs": ["UPS-B"], "capacity_kw": 100},
    {"id": "SWB", "kind": "switchboard", "inputs": ["ATS"], "capacity_kw": 100},
]
SITE["plant"] = {"chw_supply_c": 12, "loop_volume_m3": 5, "storage_tank": {"volume_m3": 10, "usable_dt_k": 6},
                 "economizer": {"enabled": True, "approach_k": 5, "min_outdoor_margin_k": 1},
                 "outdoor": {"kind": "sine", "c": 25, "amplitude_k": 8, "peak_hour": 15},
                 "chillers": [{"id": "CH-1", "capacity_kw": 50, "cop": 4, "feeds": ["SWB"]}],
                 "pumps": [{"id": "P-1", "power_kw": 2, "flow_m3s": 0.005, "feeds": ["SWB"]}]}

#: every number of the facility, by path
KNOBS = [("power_nodes", i, f) for i, n in enumerate(SITE["power_nodes"]) for f, v in n.items()
         if isinstance(v, (int, float)) and not isinstance(v, bool)]
KNOBS += [("plant", f) for f in ("chw_supply_c", "loop_volume_m3")]
KNOBS += [("plant", sub, f) for sub in ("storage_tank", "economizer", "outdoor")
          for f, v in SITE["plant"][sub].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
KNOBS += [("plant", "chillers", 0, f) for f in ("capacity_kw", "cop", "restart_delay_s")]
KNOBS += [("plant", "pumps", 0, f) for f in ("power_kw", "flow_m3s")]

VALUES = st.one_of(st.sampled_from(NUMBERS), st.sampled_from([1e-300, 1e-12, 0.01, 0.999, 1.0, 2.0, 7200, 1e4]),
                   st.floats(0, 1e4))


@FUZZ
@given(st.dictionaries(st.sampled_from(KNOBS), VALUES, min_size=1, max_size=6))
def test_a_facility_that_validates_reports_only_physical_values(knobs):
    doc = json.loads(json.dumps(SITE))
    for path, value in knobs.items():
        node = doc
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value
    try:
        site = site_from_dict(doc)
    except LayoutError:
        return
    from dctwin.twin.sim.engine import Simulation

    with ends_within(120, knobs):
        try:
            sim = Simulation(site, grid_m=1.0)
            sim.solve_steady()
            for t, kind, target in ((1.0, "generator_fail_to_start", "GEN"), (2.0, "utility_loss", "UTIL"),
                                    (4.0, "breaker_trip", "PDU-B"), (5.0, "fail", "CH-1"),
                                    (7.0, "utility_restore", "UTIL")):
                sim.schedule(t, kind, target)
            sim.run(12.0)
        except ResultError as exc:  # validation let through a layout whose results are no numbers
            raise AssertionError(f"{knobs}: {exc}") from None
        except DctwinError:
            return
    assert np.isfinite(sim.facility.load_w).all()
    assert np.isfinite(sim.facility.power.state.out_w).all()
