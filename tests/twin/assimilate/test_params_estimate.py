"""The parameter space (applied to layouts, tile factors through the open fraction) and the Kalman filter
on a linear problem where the answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.twin.assimilate.estimate import InletField, KalmanEstimator, intake_points
from dctwin.twin.assimilate.observe import Sensor
from dctwin.twin.assimilate.params import (
    apply, open_fraction_for, param_space, parse_params, tile_weight,
)
from dctwin.twin.errors import InputError
from dctwin.twin.model.demos import load_demo
from dctwin.twin.model.layout import Rack
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


def test_a_hall_of_many_inrow_coolers_gets_one_airflow_factor_per_row():
    """ai-hall: 56 in-row coolers in 10 rows and 4 CRAHs -> 14 unit airflow parameters (a Jacobian of 60
    steady solves per regime made its shadow replay impractical); per unit when asked."""
    site = load_demo("ai-hall")
    ps = param_space(site, ("unit_airflow",))
    rows = [p for p in ps if p.target.startswith("row:")]
    assert len(ps) == 14 and len(rows) == 10 and sum(len(p.members) for p in rows) == 56
    a = next(p for p in rows if p.target == "row:A")
    assert a.members == tuple(f"IRC-A{i}" for i in range(1, 7))
    out = apply(site, [a], [0.5])
    units = {u.id: u for u in site.hall.cooling_units}
    assert {u.id: u.airflow_m3s for u in out.hall.cooling_units if u.id.startswith("IRC-A")} == \
        {f"IRC-A{i}": pytest.approx(0.5 * units[f"IRC-A{i}"].airflow_m3s) for i in range(1, 7)}
    assert len(param_space(site, ("unit_airflow",), units="unit")) == 60
    assert [p.name for p in param_space(site, ("unit_airflow",), only={"unit_airflow": ["IRC-A1"]})] == \
        ["unit_airflow:IRC-A1"]


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


def test_inlet_field_carries_a_local_model_error_to_the_hidden_inlets_between_sensors():
    """A model error no hall-wide parameter explains (+1.5 K over the first five racks of a row, none
    over the last five): the field puts it on the hidden inlets among the warm racks and not on the hidden
    one among the others; without the field the hidden inlets keep the prediction's error. While a
    regime change settles the parameters are held and the field still tracks."""
    rng = np.random.default_rng(5)
    n = 10
    racks = [Rack(id=f"R{i}", x_m=0.6 * i, y_m=0.0, facing="S") for i in range(n)]
    pts = intake_points(racks)
    assert pts[0] == pytest.approx([0.3, 0.0])  # facing S: the intake face is the footprint's low y
    truth = np.where(np.arange(n) < 5, 1.5, 0.0)
    J = np.ones((n, 1)) * 0.5  # one hall-wide parameter that moves every inlet alike
    sensors = [Sensor(f"s{k}", f"R{k}", "inlet_c", k) for k in range(n)]
    hidden = np.isin(np.arange(n), [2, 8])
    y_pred = np.full(n, 24.0)

    def run(with_field: bool, hold: bool = False) -> KalmanEstimator:
        est = KalmanEstimator(np.array([0.2]), sensors, ~hidden, inlets=InletField(pts) if with_field else None,
                              field_of=np.arange(n) if with_field else None)
        est.set_jacobian(J)
        if hold:
            est.set_jacobian(2 * J, transition=True)
        for _ in range(30):
            est.predict(60.0)
            est.update(y_pred, y_pred + truth + rng.normal(0.0, 0.3, n))
        return est

    est = run(True)
    err = est.at_sensors(y_pred) - (y_pred + truth)
    assert abs(err[2]) < 0.35 and abs(err[8]) < 0.35  # the warm rack's hidden neighbour, and a cool one
    assert est.at_inlets(y_pred, np.arange(n)) == pytest.approx(y_pred + truth, abs=0.5)
    plain = run(False)
    err0 = plain.at_sensors(y_pred) - (y_pred + truth)
    assert abs(err0[2]) > 0.6 or abs(err0[8]) > 0.6  # a shared parameter cannot be warm here and cool there
    held = run(True, hold=True)
    assert held.delta == pytest.approx([0.0]) and held.settling
    assert abs((held.at_sensors(y_pred) - y_pred - truth)[2]) < 0.35
