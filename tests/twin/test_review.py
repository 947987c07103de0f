"""The review of a recording, headless: key figures, the picture moment, causes in words (no Qt)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dctwin.twin import review
from dctwin.twin.errors import InputError
from dctwin.twin.model.events import Event
from dctwin.twin.store import Project
from tests.twin.replay_data import FAIL_AT_S, make_recording


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    return make_recording(tmp_path_factory.mktemp("review") / "run.dctwin")


@pytest.fixture(scope="module")
def data(run_file):
    return review.collect(run_file)


def test_the_review_never_loads_qt():
    """A fresh interpreter reads a review without Qt (pytest's own plugins load it here)."""
    code = ("import sys, dctwin.twin.review\n"
            "assert not [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_key_figures_match_the_recording(data, run_file):
    f = data.figures
    with Project.open(run_file, read_only=True) as p:
        reader = p.recording()
        alarms = reader.alarms()
        t, mx = reader.metric_trend("max_inlet_c")
    assert f["hottest_inlet_c"] == pytest.approx(float(mx.max()), abs=1e-3)
    allowable = [a["t_s"] for a in alarms if a["kind"] == "inlet_allowable"]
    assert allowable, "the CRAH failure drives an inlet over the allowable limit"
    assert f["first_allowable_breach_s"] is not None
    assert abs(f["first_allowable_breach_s"] - min(allowable)) <= 1.0
    assert f["breach_after_incident_s"] == pytest.approx(f["first_allowable_breach_s"] - FAIL_AT_S)
    assert f["reference_event"] == "fail CRAH-1 at 00:00:10"
    assert f["racks_down"] == [] and f["ride_through_s"] is None
    assert f["pue"] > 1.0 and f["facility_energy_kwh"] > f["it_energy_kwh"] > 0
    assert f["alarms"] == len(alarms)
    # the picture moment: the hottest second of the run, replayed
    assert data.picture_t_s == pytest.approx(t[int(mx.argmax())])
    assert data.picture_reason == "the hottest inlet of the run"
    assert data.summary.max_inlet_c == pytest.approx(float(mx.max()), abs=1e-3)
    assert data.incident_name == "CRAH-1 trips" and data.title.endswith(", CRAH-1 trips")


def test_key_figures_of_a_ride_through_and_racks_going_down():
    """Made-up series: a UPS on battery from 100 s, exhausted at 400 s; a rack down at 410 s."""
    t = np.arange(0.0, 601.0, 100.0)
    hall = {"max_inlet_c": np.array([22.0, 23.0, 25.0, 31.0, 33.0, 36.0, 30.0]),
            "it_power_w": np.full(7, 3.6e6), "facility_power_w": np.full(7, 5.4e6),
            "ups_min_soc": np.array([1.0, 1.0, 0.6, 0.3, 0.0, 0.0, 0.0])}
    events = [Event(1, 50.0, "utility_loss", "UTIL"), Event(2, 100.0, "ups_on_battery", "UPS-1", cause=1),
              Event(3, 400.0, "ups_battery_exhausted", "UPS-1", cause=2), Event(4, 410.0, "rack_down", "R-07", cause=3),
              Event(5, 420.0, "throttle", "R-02")]
    f = review.key_figures(600.0, events, [{}, {}], t, hall, np.zeros(0), np.zeros((0, 0)), [])
    assert f["hottest_inlet_c"] == 36.0 and f["hottest_inlet_t_s"] == 500.0
    assert f["first_allowable_breach_s"] == 400.0  # the first sample above A1's 32 °C
    assert f["reference_event"] == "utility loss UTIL at 00:00:50" and f["breach_after_incident_s"] == 350.0
    assert f["ride_through_s"] == 300.0 and f["ride_through_held"] is False and f["ups_min_soc"] == 0.0
    assert f["racks_down"] == ["R-07"] and f["first_rack_down"] == "R-07 (rack down)"
    assert f["racks_throttled"] == ["R-02"]
    assert f["it_energy_kwh"] == pytest.approx(600.0) and f["pue"] == pytest.approx(1.5)
    assert f["automatic_actions"] == 4 and f["alarms"] == 2


def test_alarm_explanations_read_back_to_the_failure(data):
    by_seq = data.event_by_seq()
    a = next(a for a in data.alarms if a["kind"] == "inlet_allowable")
    chain = review.cause_chain(a["cause"], by_seq)
    assert chain[-1].kind == "fail" and chain[-1].target == "CRAH-1"
    text = review.alarm_explanation(a, by_seq)
    assert text.endswith(".") and "CRAH-1" in text and a["target"] in text
    # without a message, the sentence is built from the chain
    bare = dict(a, message="")
    assert "caused by fail CRAH-1 at 00:00:10" in review.alarm_explanation(bare, by_seq)
    steps = review.chain_steps(a, by_seq)
    assert steps[0]["target"] == a["target"] and steps[0]["text"].startswith(f"{a['severity']}: inlet allowable on ")
    assert steps[-1]["text"] == "fail CRAH-1 [injected]" and len(steps) == 1 + len(chain)


def test_event_texts_chains_and_headlines():
    by_seq = {1: Event(1, 10.0, "utility_loss", "UTIL"),
              2: Event(2, 20.0, "ats_transfer", "ATS-1", cause=1, condition="normal source lost"),
              3: Event(3, 300.0, "generator_fail_to_start", "GEN-1", cause=3)}  # a cycle ends the chain
    assert review.event_text(by_seq[2]) == "ats transfer ATS-1 at 00:00:20"
    assert review.event_text(Event(9, 300.0, "fail", "CRAH-1")) == "fail CRAH-1 at 00:05:00"
    assert review.event_headline(2, by_seq) == "ats transfer ATS-1 at 00:00:20, caused by utility loss UTIL at 00:00:10."
    assert review.event_headline(1, by_seq) == "utility loss UTIL at 00:00:10 (injected)."
    assert review.event_headline(99, by_seq) == ""
    assert [s["text"] for s in review.event_chain_steps(2, by_seq)] == [
        "ats transfer ATS-1 [automatic] (normal source lost)", "utility loss UTIL [injected]"]
    assert len(review.cause_chain(3, by_seq)) == 1
    assert review.origin("breaker_trip_auto") == "automatic" and review.origin("fail") == "injected"


def test_figures_in_words(data):
    rows = dict(review.figures_rows(data))
    assert rows["Hottest inlet"].startswith(f"{data.figures['hottest_inlet_c']:.1f} °C")
    breach = rows["First inlet over the allowable 32 °C"]
    assert breach.startswith("at 00:") and breach.endswith("after fail CRAH-1 at 00:00:10")
    assert rows["Ride-through"].startswith("no UPS ran on battery") and rows["Racks down"] == "0"


def test_a_moment_outside_the_recording_is_refused(run_file):
    with pytest.raises(InputError, match="outside recording 1"):
        review.collect(run_file, at_s=500.0)
    moment = review.collect(run_file, at_s=60.0)
    assert moment.picture_t_s == 60.0 and moment.picture_reason == "the requested moment"
    assert moment.summary.t_s == 60.0 and moment.heat is not None
