"""The parameter space (applied to layouts, tile factors through the open fraction) and the Kalman filter
on a linear problem where the answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.twin.assimilate.estimate import KalmanEstimator
from dctwin.twin.assimilate.observe import Sensor
from dctwin.twin.assimilate.params import (
    apply, open_fraction_for, param_space, parse_params, tile_weight,
)
from dctwin.twin.errors import InputError
from dctwin.twin.model.demos import load_demo
from dctwin.twin.model.validate import validate


def test_apply_changes_exactly_the_named_elements():
    site = load_demo("small")
    ps = param_space(site, ("leakage", "unit_airflow", "tile_flow", "rack_power", "rack_airflow"), racks="rack")
    values = [p.nominal for p in ps]
    by = {p.name: k for k, p in enumerate(ps)}
    values[by["leakage:HALL-1"]] = 0.12
    values[by["unit_airflow:CRAH-1"]] = 0.7
    values[by["tile_flow:T-106"]] = 0.5
    values[by["rack_power:R-A01"]] = 1.2
    values[by["rack_airflow:R-A02"]] = 1.5
    out = apply(site, ps, values)
    h0, h = site.hall, out.hall
    assert h.leakage_fraction == 0.12 and h0.leakage_fraction == 0.05
    assert h.cooling_units[0].airflow_m3s == pytest.approx(0.7 * h0.cooling_units[0].airflow_m3s)
    assert h.cooling_units[1] == h0.cooling_units[1]
    t = [x for x in h.tiles if x.id == "T-106"][0]
    assert tile_weight(t.open_fraction) == pytest.approx(0.5 * tile_weight(0.25), rel=1e-4)
    r1, r2 = h.racks[0], h.racks[1]
    assert r1.it_kw == pytest.approx(1.2 * h0.racks[0].it_kw) and r1.airflow_m3s is None  # airflow per W kept
    assert r1.design_airflow_m3s == pytest.approx(1.2 * h0.racks[0].design_airflow_m3s)
    assert r2.it_kw == h0.racks[1].it_kw and r2.airflow_m3s == pytest.approx(1.5 * h0.racks[1].design_airflow_m3s)
    assert h.racks[2:] == h0.racks[2:]
    assert not [i for i in validate(out) if i]  # still a valid layout
    assert site.hall.leakage_fraction == 0.05  # the original is untouched


def test_tile_factor_bounds_and_rows():
    assert open_fraction_for(1.0, 0.25) == pytest.approx(0.25, abs=1e-6)
    assert open_fraction_for(1e-3, 0.25) == 0.05 and open_fraction_for(100.0, 0.25) == 0.95
    site = load_demo("small")
    rows = param_space(site, ("rack_power",), exclude=["R-A01"], racks="row")
    assert [(p.target, len(p.members)) for p in rows] == [("row:A", 9), ("row:B", 10)]
    out = apply(site, rows, [2.0, 1.0])
    assert out.hall.racks[0].it_kw == site.hall.racks[0].it_kw  # excluded from its row's scale
    assert out.hall.racks[1].it_kw == 2.0 * site.hall.racks[1].it_kw
    assert parse_params("unit_airflow,rack_power:R-A01+R-A02") == (("unit_airflow", "rack_power"),
                                                                   {"rack_power": ["R-A01", "R-A02"]})
    with pytest.raises(InputError, match="unknown group 'fans'"):
        parse_params("fans")
    with pytest.raises(InputError, match="no such element in hall HALL-1: R-ZZ"):
        param_space(site, ("rack_power",), only={"rack_power": ["R-ZZ"]})


def test_kalman_filter_finds_known_parameters_and_predicts_hidden_sensors():
    """y = J theta + bias + noise: the filter recovers theta from 6 sensors and predicts 2 hidden ones."""
    rng = np.random.default_rng(3)
    n_out, p = 8, 2
    J = rng.normal(0.0, 3.0, (n_out, p))
    truth = np.array([0.3, -0.2])
    sensors = [Sensor(f"s{k}", f"e{k}", "inlet_c", k) for k in range(n_out)]
    assimilated = np.array([True] * 6 + [False] * 2)
    est = KalmanEstimator(np.array([0.5, 0.5]), sensors, assimilated, bias_sigma=0.05, model_sigma=0.0,
                          delta_bounds=(np.array([-1.0, -1.0]), np.array([1.0, 1.0])))
    est.set_jacobian(J)
    y_pred = np.zeros(n_out)
    for _ in range(60):
        z = J @ truth + rng.normal(0.0, 0.3, n_out)
        est.predict(60.0)
        est.update(y_pred, z)
    assert est.delta == pytest.approx(truth, abs=0.05)
    hidden = est.at_sensors(y_pred)[6:]
    assert hidden == pytest.approx((J @ truth)[6:], abs=0.2)
    assert np.all(est.delta_sigma < 0.05)
    # bounds hold even when the data push beyond them
    est2 = KalmanEstimator(np.array([0.5, 0.5]), sensors, assimilated, model_sigma=0.0,
                           delta_bounds=(np.array([-0.1, -0.1]), np.array([0.1, 0.1])))
    est2.set_jacobian(J)
    for _ in range(20):
        est2.update(y_pred, J @ np.array([2.0, -2.0]))
    assert np.all(np.abs(est2.delta) <= 0.1 + 1e-12)
    # while a regime change settles, the previous regime's correction holds
    est.set_jacobian(2 * J, transition=True)
    assert est.correction(np.arange(n_out)) == pytest.approx(J @ est.delta)
    est.settled()
    assert est.correction(np.arange(n_out)) == pytest.approx(2 * J @ est.delta)
