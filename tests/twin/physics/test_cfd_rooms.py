"""More CFD reference rooms (tests/data/cfd/, see its README) built as dctwin layouts.

Each room is an OpenFOAM k-epsilon result on the coarse 0.15 x 0.15 x 0.2 m mesh: racks in hot/cold-aisle
rows, open floor tiles, one ceiling return; balanced and under-supplied aisles. The layout is built from
the room's own geometry (the same builder as room B1), the model is solved with the default settings
and its rack inlet temperatures are compared with the CFD's for every power case of the room. The same
rooms (and B1) are also solved with the intake momentum on (``intake_keep=0.5``, not the default yet),
which must bring every room and case within the target.

The issue's target is 2.5 K RMS per case. The bounds below are what the model reaches (default grid and
scheme) plus about 0.35 K, so a change that makes a room worse fails here; they are above the target where
the model does not reach it yet (b_under08 mixed, e_hot_return uniform). docs/validation.md has the per-room
figures, where the error is, and what each grid costs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from air_cases import VALIDATION, b1_site
from dctwin.twin.sim.compile import compile_hall
from dctwin.twin.physics import thermal
from dctwin.twin.physics.airflow import FlowBC, port_faces, solve_flow
from dctwin.twin.physics.constants import CP_AIR, RHO_AIR

CFD_DIR = Path(__file__).parents[2] / "data" / "cfd"
TARGET_RMS_K = 2.5
#: RMS bound (K) per room and power case (measured 2026-11-27, "sl": b_under08 2.36 / 2.91 K,
#: c_long_rows 0.80 / 1.14 K, d_far_return 1.89 / 1.87 K, e_hot_return 2.58 / 1.74 K)
BOUND_RMS_K = {
    ("b_under08", "uniform_4kW"): TARGET_RMS_K,
    ("b_under08", "mixed"): 3.25,
    ("c_long_rows", "uniform_4kW"): 1.2,
    ("c_long_rows", "mixed"): 1.5,
    ("d_far_return", "uniform_5kW"): 2.25,
    ("d_far_return", "mixed"): 2.25,
    ("e_hot_return", "uniform_6kW"): 2.95,
    ("e_hot_return", "mixed"): 2.1,
    # issue 18's rooms (measured 2026-12-06: g_short_rows 1.52 / 2.33 K, k_contained 0.45 / 0.75 K)
    ("g_short_rows", "uniform_5kW"): 1.85,
    ("g_short_rows", "mixed"): 2.65,
    ("k_contained", "uniform_5kW"): 0.8,
    ("k_contained", "mixed"): 1.1,
    # held out of every choice of issue 18 (compared once, 2026-12-06: h_long_rows 1.14 / 1.78 K,
    # j_gaps 2.80 / 3.79 K, i_mixed_heights 2.02 / 2.95 K: over the target, docs/validation.md says where)
    ("h_long_rows", "uniform_4kW"): 1.5,
    ("h_long_rows", "mixed"): 2.15,
    ("j_gaps", "uniform_5kW"): 3.15,
    ("j_gaps", "mixed"): 4.15,
    ("i_mixed_heights", "uniform_5kW"): 2.4,
    ("i_mixed_heights", "mixed"): 3.3,
    # session 23's room, held out of every choice (compared once, 2026-12-06: 2.32 / 3.35 K)
    ("l_end_gap", "uniform_5kW"): 2.65,
    ("l_end_gap", "mixed"): 3.7,
}
ROOMS = sorted(p.stem for p in CFD_DIR.glob("*.json"))
#: rooms held out of every choice of issue 18 (tests/data/cfd/README.md): the intake momentum share
#: was chosen to bring the others within TARGET_RMS_K; these are held to their measured bound
HELD_OUT = {"h_long_rows", "i_mixed_heights", "j_gaps", "l_end_gap"}
#: the bound on the mean supply fraction's difference from the CFD's where a held-out room misses
#: 0.05 (l_end_gap, under-supplied with a gap at the row end: 0.745 against the CFD's 0.686)
SUPPLY_MEAN_BOUND = {"l_end_gap": 0.07}
#: the intake momentum share checked against the target on every room (twin.physics.airflow.INTAKE_KEEP)
KEEP = 0.5


def load_room(name: str) -> dict:
    """A CFD reference room of tests/data/cfd, or B1 (the format of case_B1.json)."""
    path = VALIDATION if name == "case_B1" else CFD_DIR / f"{name}.json"
    return json.loads(path.read_text())


def test_there_are_rooms():
    assert len(ROOMS) >= 3


@pytest.fixture(scope="module", params=[(r, None) for r in ROOMS] + [(r, KEEP) for r in ["case_B1"] + ROOMS],
                ids=lambda p: p[0] + ("" if p[1] is None else f"-keep{p[1]}"))
def room(request):
    name, keep = request.param
    case = load_room(name)
    ap = compile_hall(b1_site(case))
    kw = {} if keep is None else {"intake_keep": keep}
    fl = solve_flow(ap, FlowBC(np.full(ap.n_racks, case["q_rack_m3s"]), np.zeros(0), case["tile_flow_total_m3s"]), **kw)
    return name, keep, case, ap, fl


def test_room_flow_matches_the_case_boundaries(room):
    name, keep, case, ap, fl = room
    assert ap.n_racks == len(case["geometry"]["racks"])
    assert fl.tile_q.sum() == pytest.approx(case["tile_flow_total_m3s"], rel=1e-9)
    assert fl.grille_q.sum() == pytest.approx(case["return_sum_phi_m3s"], rel=1e-4)
    assert fl.converged


def test_room_rack_inlets_within_bound(room):
    name, keep, case, ap, fl = room
    t_sup = case["temperatures"]["T_supply_C"]
    g = port_faces(ap).group["grille"]
    for power_case, cs in case["temperatures"]["cases"].items():
        T, info = thermal.solve_steady(ap, fl, np.array(cs["P_W"]), np.zeros(0), t_sup, return_info=True)
        err = info["rack_inlet_c"] - np.array(cs["T_inlet_C"])
        rms = float(np.sqrt(np.mean(err ** 2)))
        print(f"\n{name} (intake_keep {keep}) {power_case}: RMS {rms:.2f} K, max |err| {np.abs(err).max():.2f} K; per rack "
              + " ".join(f"{e:+.1f}" for e in err))
        # the mixing-cup return temperature is the energy balance, as in the CFD
        q = -fl.port_q[g]
        t_ret = float((q * T.reshape(-1)[port_faces(ap).cell[g]]).sum() / q.sum())
        assert t_ret == pytest.approx(t_sup + sum(cs["P_W"]) / (RHO_AIR * CP_AIR * q.sum()), abs=0.05)
        assert t_ret == pytest.approx(cs["T_return_C"], abs=0.05)
        within_target = keep is not None and name not in HELD_OUT
        assert rms <= (TARGET_RMS_K if within_target else BOUND_RMS_K.get((name, power_case), TARGET_RMS_K))


def test_room_supply_fractions(room):
    name, keep, case, ap, fl = room
    sf = thermal.supply_fraction(ap, fl)
    ref = np.array(case["matrix"]["F"][0])
    print(f"\n{name} supply fraction ours: " + " ".join(f"{x:.2f}" for x in sf))
    print(f"{name} supply fraction CFD:  " + " ".join(f"{x:.2f}" for x in ref))
    # bypass (the mean) close to the CFD's; the racks the CFD starves are among the model's starved half
    assert abs(sf.mean() - ref.mean()) < SUPPLY_MEAN_BOUND.get(name, 0.05)
    assert float(np.sqrt(np.mean((sf - ref) ** 2))) < 0.2
    worst = int(np.argmin(ref))
    assert sf[worst] < np.median(sf)
