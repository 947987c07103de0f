"""Fuzzing layout files: hostile mutations of real layouts must be refused cleanly or be valid for real.

The promise for any JSON a person can write: reading it either gives a site that passes every rule,
prints back to the same site and holds only printable, bounded identifiers and finite numbers, or
raises one LayoutError whose issues name an element and a field in printable, bounded text. Never
any other exception (a TypeError from a constructor, a RecursionError, an OverflowError), and never
a hang. A second suite solves mutated tiny halls: a clean error or finite results, within a minute.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dctwin.twin.errors import DctwinError, LayoutError
from dctwin.twin.model.demos import demo_text
from dctwin.twin.model.layout import Site
from dctwin.twin.model.layoutfile import dumps_layout, field_types, loads_layout, site_from_dict
from dctwin.twin.model.text import MAX_MESSAGE_CHARS, id_problem
from dctwin.twin.model.validate import validate
from tests.app.attack_files import TINY
from tests.hostile import FUZZ, NUMBERS, ends_within, mutated

SMALL = json.loads(demo_text("small"))
BASES = {"tiny": TINY, "small": SMALL}


def _every_element(site: Site):
    yield from site.halls
    for _, _, _, el in site.iter_elements():
        yield el


def _check_refusal(exc: LayoutError) -> None:
    assert exc.issues, "a refusal names at least one problem"
    for issue in exc.issues:
        for part in (issue.element, issue.field):
            assert isinstance(part, str) and part.isprintable() and len(part) <= 110, issue
        assert issue.message.isprintable() and len(issue.message) <= MAX_MESSAGE_CHARS + 3, issue
    str(exc)  # the whole message can be printed


def _check_accepted(site: Site) -> None:
    assert validate(site) == []
    for el in _every_element(site):
        assert id_problem(el.id) == "", el.id
        for f in dataclasses.fields(el):
            v = getattr(el, f.name)
            if isinstance(v, float):
                assert math.isfinite(v), (el.id, f.name, v)
    for hall in site.halls:
        for r in hall.racks:
            assert r.row is None or id_problem(r.row) == ""
    again = loads_layout(dumps_layout(site))
    assert dumps_layout(again) == dumps_layout(site)


def _read(doc) -> None:
    """The promise for one document, through the parsed-dict path and the text path."""
    for read in (lambda: site_from_dict(doc), lambda: loads_layout(json.dumps(doc))):
        try:
            with ends_within(60, doc if len(json.dumps(doc)) < 2000 else "a large document"):
                site = read()
        except LayoutError as exc:
            _check_refusal(exc)
        except ValueError:  # json.dumps of a value no JSON can hold (only the text path)
            continue
        else:
            _check_accepted(site)


@FUZZ
@given(base=st.sampled_from(sorted(BASES)), data=st.data())
def test_mutated_layouts_are_valid_or_cleanly_refused(base, data):
    doc, _ = data.draw(mutated(BASES[base]))
    _read(doc)


@FUZZ
@given(data=st.data())
def test_every_field_of_every_element_takes_any_value(data):
    """Schema-driven: each field of each element type (read from the dataclasses, so new fields are
    fuzzed too) gets a hostile value of any type."""
    doc = json.loads(json.dumps(TINY))
    hall = doc["halls"][0]
    targets = {"hall": (hall, "Hall"), "rack": (hall["racks"][0], "Rack"),
               "unit": (hall["cooling_units"][0], "CoolingUnit"), "tile": (hall["tiles"][0], "Tile"),
               "node": (doc["power_nodes"][1], "PowerNode")}
    from dctwin.twin.model import layout as L

    name = data.draw(st.sampled_from(sorted(targets)))
    obj, cls = targets[name]
    fields = sorted(f for f in field_types(getattr(L, cls)) if f not in L.Hall.ELEMENT_COLLECTIONS)
    for field in data.draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True)):
        from tests.hostile import VALUES

        obj[field] = data.draw(VALUES)
    _read(doc)


# ---------------------------------------------------------------- solving what validates

#: numeric fields of the tiny hall and the values they are pushed to
_KNOBS = {
    ("halls", 0, "width_m"): [1.0, 5.0, 9.6, 2000.0], ("halls", 0, "depth_m"): [1.0, 7.2, 2000.0],
    ("halls", 0, "height_m"): [1.0, 2.0, 3.0, 30.0], ("halls", 0, "supply_c"): [5.0, 18.0, 35.0],
    ("halls", 0, "leakage_fraction"): [0.0, 0.5], ("halls", 0, "tile_m"): [0.1, 0.6, 2.0],
    ("halls", 0, "racks", 0, "it_kw"): [0.0, 0.001, 4.0, 40.0, 250.0],
    ("halls", 0, "racks", 0, "airflow_m3s"): [None, 0.0, 0.05, 1.0, 30.0],
    ("halls", 0, "racks", 0, "height_m"): [0.3, 2.0, 3.0], ("halls", 0, "racks", 0, "width_m"): [0.2, 0.6, 3.0],
    ("halls", 0, "racks", 0, "liquid_fraction"): [0.0, 1.0],
    ("halls", 0, "cooling_units", 0, "airflow_m3s"): [0.05, 1.0, 60.0],
    ("halls", 0, "cooling_units", 0, "capacity_kw"): [0.0, 1e-9, 30.0, 5000.0],
    ("halls", 0, "cooling_units", 0, "supply_setpoint_c"): [5.0, 18.0, 45.0],
    ("halls", 0, "cooling_units", 0, "height_m"): [0.3, 1.9],
    ("halls", 0, "tiles", 0, "open_fraction"): [0.05, 0.25, 1.0],
    ("power_nodes", 1, "capacity_kw"): [0.1, 100.0, 1e6],
}


@FUZZ
@given(st.dictionaries(st.sampled_from(sorted(_KNOBS, key=str)), st.integers(0, 4), min_size=1, max_size=5))
def test_what_validates_solves_to_finite_results_or_a_clean_error(knobs):
    """A tiny hall pushed to its limits: validated, solved at a 1 m grid and stepped; each run ends
    with finite results or a DctwinError (a budget, no steady state), never NaN and never a hang."""
    doc = json.loads(json.dumps(TINY))
    for path, k in knobs.items():
        values = _KNOBS[path]
        node = doc
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = values[k % len(values)]
    try:
        site = site_from_dict(doc)
    except LayoutError as exc:
        _check_refusal(exc)
        return
    from dctwin.twin.sim.engine import Simulation

    with ends_within(120, knobs):
        try:
            sim = Simulation(site, grid_m=1.0)
            summary = sim.solve_steady()
            run = sim.run(3.0)
        except DctwinError as exc:
            assert str(exc) and "Traceback" not in str(exc)
            return
    assert np.isfinite(sim.T).all()
    for value in (summary.it_power_w, run.energy_error, *(r.inlet_c for r in summary.racks.values())):
        assert value is None or math.isfinite(value), knobs


def test_numbers_pool_holds_the_edges():
    """The pools reach past every bound the validator sets (else the suites prove little)."""
    assert min(NUMBERS) < -1e300 and max(NUMBERS) > 1e300 and 5e-324 in NUMBERS and 10 ** 400 in NUMBERS
