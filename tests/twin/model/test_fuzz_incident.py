"""Fuzzing incident files: any JSON is either an incident the engine runs or a clean refusal.

The file's checks and the engine's must agree: an incident read against a site never fails when
its events are scheduled on that site's simulation, and a short run of it ends. A refusal is one
LayoutError of printable, bounded issues. Keys given twice never vanish silently.
"""

from __future__ import annotations

import functools
import json

from hypothesis import given
from hypothesis import strategies as st

from dctwin.twin.errors import LayoutError
from dctwin.twin.model.events import EVENT_VALUES, INJECTED_KINDS
from dctwin.twin.model.incidents import MAX_EVENTS, incident_from_dict, load_incident
from dctwin.twin.model.layoutfile import site_from_dict
from tests.app.attack_files import TINY
from tests.hostile import FUZZ, NUMBERS, STRINGS, VALUES, ends_within, mutated
from tests.twin.model.test_fuzz_layout import _check_refusal

TARGETS = ["R-01", "CRAH-1", "UTIL", "PDU-A", "PDU-B", "all", "*", "", "H1", "TILE-001"]
BASE = {"format": "dctwin-incident", "version": 1, "name": "fuzz", "description": "", "duration_s": 60,
        "events": [{"t_s": 1.0, "kind": "fail", "target": "CRAH-1"},
                   {"t_s": 2.0, "kind": "set_utilization", "target": "all", "utilization": 0.5},
                   {"t_s": 3.0, "kind": "utility_loss", "target": "UTIL"}]}


@functools.lru_cache(maxsize=1)
def _site():
    return site_from_dict(json.loads(json.dumps(TINY)))


def _sim():
    from dctwin.twin.sim.engine import Simulation

    return Simulation(_site(), grid_m=1.0)


events = st.fixed_dictionaries(
    {"t_s": st.one_of(st.sampled_from(NUMBERS), st.floats(0, 10)),
     "kind": st.one_of(st.sampled_from(INJECTED_KINDS), st.sampled_from(STRINGS)),
     "target": st.one_of(st.sampled_from(TARGETS), st.sampled_from(STRINGS))},
    optional={name: st.one_of(st.sampled_from(NUMBERS), st.floats(-100, 100), VALUES)
              for name in [*(v.name for v in EVENT_VALUES.values()), "extra"]})


def _promise(data, text: bool = False, tmp_path=None) -> None:
    site = _site()
    try:
        if text:
            path = tmp_path / "inc.json"
            path.write_text(data, encoding="utf-8")
            inc = load_incident(path, site)
        else:
            inc = incident_from_dict(data, site)
    except LayoutError as exc:
        _check_refusal(exc)
        return
    sim = _sim()
    with ends_within(60, data if len(str(data)) < 2000 else "a large incident"):
        sim.solve_steady()
        inc.schedule_on(sim)  # the engine's own checks accept what the file's accepted
        sim.run(4.0)


@FUZZ
@given(st.lists(events, max_size=6), st.sampled_from(NUMBERS + [None, 60]))
def test_generated_incidents_run_or_are_refused(evs, duration):
    data = dict(BASE, events=evs, duration_s=duration)
    _promise(data)


@FUZZ
@given(st.data())
def test_mutated_incidents_run_or_are_refused(data):
    doc, _ = data.draw(mutated(BASE))
    _promise(doc)


@FUZZ
@given(key=st.sampled_from(["t_s", "kind", "target", "utilization", "name"]), where=st.sampled_from(["event", "top"]))
def test_a_key_given_twice_is_refused_naming_it(tmp_path_factory, key, where):
    ev = '{"t_s": 1.0, "kind": "set_utilization", "target": "all", "utilization": 0.5'
    top = '"format": "dctwin-incident", "version": 1, "name": "x"'
    if where == "event":
        ev += f', "{key}": 1.4'
    else:
        top += f', "{key}": "y"' if key != "name" else ', "name": "z"'
    text = "{" + top + ', "events": [' + ev + "}]}"
    folder = tmp_path_factory.mktemp("twice")
    try:
        load_incident(_write(folder, text), _site())
    except LayoutError as exc:
        if where == "event" and key in ("t_s", "kind", "target", "utilization"):
            assert any(i.element == "events[0]" and i.field == key and "twice" in i.message for i in exc.issues)
        if where == "top" and key == "name":
            assert any(i.field == "name" and "twice" in i.message for i in exc.issues)
        return
    assert key not in ("t_s", "kind", "target", "utilization", "name"), "a key given twice was accepted"


def _write(folder, text):
    path = folder / "inc.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_too_many_events_are_refused_before_any_is_checked():
    evs = [{"t_s": 1.0, "kind": "set_utilization", "target": "all", "utilization": 0.5}] * (MAX_EVENTS + 1)
    with ends_within(10, "100,000 events"):
        try:
            incident_from_dict(dict(BASE, events=evs), _site())
        except LayoutError as exc:
            assert f"at most {MAX_EVENTS:,}" in str(exc)
        else:
            raise AssertionError("accepted")
