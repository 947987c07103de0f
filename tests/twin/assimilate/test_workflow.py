"""The measured-data workflow on the synthetic site of the small demo hall (air grid 0.6 m for speed):
synthesize -> import (every defect counted) -> shadow (estimate at hidden sensors) -> calibrate (hidden
unit airflow and power scales recovered) -> shadow on the calibrated layout -> review export.

The figures asserted are the ones measured when this was written (see the commit), with margin:
calibration: measured rack power scales within 3 % of the truth, the weak unit's airflow factor within
0.15 of the truth (0.7; the fit lands at 0.79-0.82: the FFD steady flow is not unique and the model's
branch differs from the truth's), the strong unit's within 0.05; shadow: the estimate at hidden
sensors better than the prediction there, and under 1 K RMS on the calibrated layout.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from dctwin.twin.assimilate.calibrate import CalibrateOptions, calibrate
from dctwin.twin.assimilate.shadow import ShadowOptions, run_shadow
from dctwin.twin.assimilate.synth import SynthOptions, synthesize
from dctwin.twin.io.import_telemetry import import_telemetry
from dctwin.twin.model.demos import load_demo
from dctwin.twin.sim.air_models import AIR_MODELS, to_params
from dctwin.twin.store import Project, export_review, verify_file
from dctwin.twin.store.measured import ShadowReader, TelemetryReader

GRID = 0.6
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("synth")
    res = synthesize(load_demo("small"), d, SynthOptions(grid_m=GRID, hours=6.0, parquet=True))
    project = d / "site.dctwin"
    imp = import_telemetry(d / "layout.json", project, [d / "measurements.csv"], d / "points.csv",
                           d / "events.csv", d / "event-map.json")
    return d, res, project, imp


def test_import_counts_every_defect(site_data):
    d, res, project, imp = site_data
    expected = json.loads((d / "defects.json").read_text())
    got = imp["report"]["defects"]
    assert {k: got[k] for k in expected} == expected
    assert got["out_of_range"] == 0
    assert imp["report"]["unmapped"] == [] and imp["report"]["points_mapped"] == res["points"]
    ev = imp["report"]["events"]
    assert ev["kinds"]["fail"] == 1 and ev["kinds"]["repair"] == 1 and ev["kinds"]["set_utilization"] == 1
    with Project.open(project, read_only=True) as p:
        r = TelemetryReader(p)
        assert len(r.points()) == res["points"]
        t, v = r.series("DC1/HALL-1/R-A07/INLET_T")  # a sensor in F: stored in C
        assert 15.0 < np.median(v) < 30.0


def test_wide_parquet_reads_the_same_points(site_data, tmp_path):
    d, res, _, _ = site_data
    out = import_telemetry(d / "layout.json", tmp_path / "pq.dctwin", [d / "measurements.parquet"], d / "points.csv")
    assert out["report"]["formats"] == ["wide-parquet"] and out["report"]["points_mapped"] == res["points"]


@pytest.fixture(scope="module")
def shadowed(site_data, tmp_path_factory):
    d, res, project, _ = site_data
    path = tmp_path_factory.mktemp("shadow") / "site.dctwin"
    path.write_bytes(project.read_bytes())
    return path, run_shadow(str(path), ShadowOptions(grid_m=GRID, holdout=3))


def test_shadow_residuals_estimate_and_real_incident(shadowed):
    path, s = shadowed
    for key in ("residual_rms_k", "residual_max_k", "residuals", "worst_points", "holdout_rms_k"):
        assert key in s
    h = s["holdout"]
    assert len(h["points"]) == 6
    # the sensors improve the temperatures between them (the inlet error field and the parameters): at
    # the hidden sensors the estimate is clearly better than the prediction, and under 1 K
    assert h["estimated_rms_k"] < 0.85 * h["predicted_rms_k"] and h["estimated_rms_k"] < 1.0
    est = s["estimator"]
    assert est["field_points"] == 20 and est["updates"] > 0.95 * s["samples"]  # updated through the regime changes
    assert est["relinearised"] == 4 and est["jacobians_reused"] == 1  # the units back after the trip
    assert s["residual_rms_k"] < 2.0 and s["worst_points"][0]["rms_k"] >= s["worst_points"][-1]["rms_k"]
    assert s["residuals"]["DC1/HALL-1/CRAH-1/SAT"]["boundary"] is True
    with Project.open(path, read_only=True) as p:
        rec = p.recording(s["recording_id"])
        sh = ShadowReader.of(p, rec.id)
        t, meas = sh.stream("measured")
        _, pred = sh.stream("predicted")
        assert meas.shape == pred.shape == (s["samples"], s["sensors"])
        assert sh.holdout == h["points"]
        trips = [e for e in rec.events() if e.kind == "fail" and e.target == "CRAH-1"]
        assert trips and trips[0].details["origin"] == "site" and "fan motor" in trips[0].details["message"]
        measured = [a for a in rec.alarms() if a["kind"] == "measured_inlet_allowable" and a["active"]]
        assert measured, "the measured inlets crossed the allowable during the trip"
        assert all("CRAH-1, which supplied" in a["message"] and "(site log BMS TRIP:" in a["message"]
                   for a in measured)
    # the shadow recording replays like any other
    from dctwin.twin.store import replay_to

    with Project.open(path, read_only=True) as p:
        reader = p.recording(s["recording_id"])
        assert reader.params["air_model"] == to_params("fast", AIR_MODELS["fast"])  # the model it ran with
        t_rec, inlet = reader.rack_values_at("rack_inlet_c", 14000.0)
        sim = replay_to(reader, t_rec)
        np.testing.assert_array_equal(sim.rack_inlet_c.astype(np.float32), inlet)


@pytest.fixture(scope="module")
def calibrated(site_data, tmp_path_factory):
    d, res, project, _ = site_data
    path = tmp_path_factory.mktemp("cal") / "site.dctwin"
    path.write_bytes(project.read_bytes())
    out, site = calibrate(str(path), CalibrateOptions(grid_m=GRID, min_window_s=1200.0))
    return path, out, site, res["truth"]


def test_calibration_recovers_the_hidden_airflow_and_power_scales(calibrated):
    path, out, site, truth = calibrated
    p = out["params"]
    for key in ("params", "rms_before_k", "rms_after_k", "holdout_rms_before_k", "holdout_rms_after_k"):
        assert key in out
    assert abs(p["unit_airflow:CRAH-1"]["value"] - truth["params"]["unit_airflow:CRAH-1"]) < 0.15
    assert abs(p["unit_airflow:CRAH-2"]["value"] - 1.0) < 0.05
    assert p["unit_airflow:CRAH-1"]["sigma"] > 0
    for rid in truth["measured_power"]:
        assert p[f"rack_power:{rid}"]["method"] == "measured"
        assert p[f"rack_power:{rid}"]["value"] == pytest.approx(truth["params"][f"rack_power:{rid}"], rel=0.03)
    assert out["rms_after_k"] < out["rms_before_k"]
    assert out["holdout_rms_after_k"] < out["holdout_rms_before_k"] + 0.1
    with Project.open(path, read_only=True) as project:
        infos = project.layouts()
        assert len(infos) == 2 and infos[-1].note.startswith("calibrated to telemetry set")
        stored = project.load_layout()
    u = {x.id: x for x in stored.hall.cooling_units}
    assert u["CRAH-1"].airflow_m3s == pytest.approx(7.8 * p["unit_airflow:CRAH-1"]["value"])
    assert stored.hall.leakage_fraction == pytest.approx(p["leakage:HALL-1"]["value"])


def test_shadow_on_the_calibrated_layout_and_review_export(calibrated, tmp_path):
    path, out, site, truth = calibrated
    s = run_shadow(str(path), ShadowOptions(grid_m=GRID, holdout=3))
    assert s["layout_id"] == out["new_layout_id"]
    assert s["holdout"]["estimated_rms_k"] < 1.0
    review = tmp_path / "review.dctwin"
    export_review(path, review)
    assert verify_file(review).intact
    with Project.open(review) as p:
        assert ShadowReader.of(p, s["recording_id"]) is not None
        assert len(TelemetryReader(p).points()) > 0
