"""The numba power kernel and its numpy reference agree (states and transitions)."""

from __future__ import annotations

import numpy as np
import pytest

from power_sites import backup_site, rack_load, run, two_n_site
from dctwin.twin.model.demos import load_demo
from dctwin.twin.physics.power import PowerSystem


def _pair(site_fn, scenario, seconds, dt_s=1.0, load_scale=1.0):
    out = []
    for backend in ("numba", "numpy"):
        site = site_fn()
        ps = PowerSystem(site, backend=backend)
        load = rack_load(ps, site) * load_scale
        load[ps.plant.unit_slice] = 3e3
        load[ps.plant.chiller_slice] = 20e3
        load[ps.plant.pump_slice] = 2e3
        ps.settle(load)
        run(ps, load, seconds, dt_s=dt_s, events_at=scenario)
        out.append(ps)
    return out


SCENARIOS = [
    ("gen-ok", lambda: backup_site(peukert_k=1.15), {0.0: [("utility_loss", "UTIL")], 60.0: [("utility_restore", "UTIL")]}, 420),
    ("gen-fails", lambda: backup_site(peukert_k=1.15),
     {0.0: [("generator_fail_to_start", "GEN"), ("utility_loss", "UTIL")]}, 1100),
    ("2n-trip", lambda: two_n_site(12, extra_single_a=2), {3.0: [("fail", "PDU-A")], 400.0: [("repair", "PDU-A")]}, 800),
    ("2n-breaker", lambda: two_n_site(8), {0.0: [("breaker_trip", "UPS-B")], 30.0: [("repair", "UPS-B")]}, 60),
    ("demo-small", lambda: load_demo("small"), {0.0: [("utility_loss", "UTIL")], 100.0: [("fail", "UPS-1A")]}, 500),
    ("demo-ai", lambda: load_demo("ai-hall"), {0.0: [("generator_fail_to_start", "GEN-A"), ("utility_loss", "UTIL")]},
     400),
]


@pytest.mark.parametrize("name,site_fn,scenario,seconds", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_numba_equals_numpy(name, site_fn, scenario, seconds):
    a, b = _pair(site_fn, scenario, seconds)
    ka, kb = a.keyframe(), b.keyframe()
    for k in ka:
        if ka[k].dtype.kind == "f":
            np.testing.assert_allclose(ka[k], kb[k], rtol=1e-12, atol=1e-9, err_msg=k)
        else:
            assert np.array_equal(ka[k], kb[k]), k
    ea = [(e.kind, e.target, e.cause, round(e.t_s, 9)) for e in a.log]
    eb = [(e.kind, e.target, e.cause, round(e.t_s, 9)) for e in b.log]
    assert ea == eb
    assert len(ea) > 3  # the scenario did something


def test_dt_does_not_change_the_generator_gap():
    # 0.5 s steps: battery for 20 steps x 0.5 s = 10 s, same SOC drop as 10 x 1 s (k = 1: linear)
    socs = []
    for dt in (1.0, 0.5):
        site = backup_site(peukert_k=1.0)
        ps = PowerSystem(site)
        load = rack_load(ps, site)
        ps.settle(load)
        run(ps, load, 10, dt_s=dt, events_at={0.0: [("utility_loss", "UTIL")]})
        socs.append(ps.node("UPS")["soc"])
    assert socs[0] == pytest.approx(socs[1], rel=1e-12)


def test_numba_equals_numpy_with_racks_left_to_the_it_model():
    out = []
    for backend in ("numba", "numpy"):
        site = two_n_site(12, extra_single_a=2)
        ps = PowerSystem(site, backend=backend, manage_racks=False)
        load = rack_load(ps, site)
        ps.settle(load)
        run(ps, load, 400, events_at={3.0: [("fail", "PDU-A")], 300.0: [("repair", "PDU-A")]})
        out.append(ps)
    ka, kb = out[0].keyframe(), out[1].keyframe()
    for k in ka:
        np.testing.assert_allclose(ka[k], kb[k], rtol=1e-12, atol=1e-9, err_msg=k)
    assert [(e.kind, e.target, e.cause) for e in out[0].log] == [(e.kind, e.target, e.cause) for e in out[1].log]
    assert "breaker_trip_auto" in out[0].log.counts()
