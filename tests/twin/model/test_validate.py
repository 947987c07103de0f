"""Every validation rule, each with a bad layout file: the error names element id and field."""

from __future__ import annotations

import copy
import dataclasses
import json
import math

import pytest

from dctwin.twin.model.demos import load_demo, synthetic_site
from dctwin.twin.errors import LayoutError, LayoutIssue
from dctwin.twin.model.layout import Rack
from dctwin.twin.model.layoutfile import load_layout, site_to_dict
from dctwin.twin.model.validate import find_power_cycle, validate


@pytest.fixture(scope="module")
def small_dict() -> dict:
    return site_to_dict(load_demo("small"))


def load_bad(tmp_path, data, name="bad.json") -> list[LayoutIssue]:
    """Write ``data`` as a file, load it, and return the issues (the load must fail)."""
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=1), encoding="utf-8")
    with pytest.raises(LayoutError) as info:
        load_layout(path)
    err = info.value
    assert str(path) in str(err)  # the message says which file
    assert err.issues
    return err.issues


def find(issues, element, field, *words) -> LayoutIssue:
    """The issue for (element, field) whose message holds every word; fail listing them all."""
    for i in issues:
        if i.element == element and i.field == field and all(w in i.message for w in words):
            return i
    raise AssertionError(f"no issue {element}.{field} {words!r} in:\n" + "\n".join(map(str, issues)))


def rack(d, ident):
    return next(r for r in d["halls"][0]["racks"] if r["id"] == ident)


def node(d, ident):
    return next(n for n in d["power_nodes"] if n["id"] == ident)


def test_demo_layouts_are_valid():
    for name in ("small", "ai-hall"):
        assert validate(load_demo(name)) == []


def test_overlapping_footprints(tmp_path, small_dict):
    d = copy.deepcopy(small_dict)
    rack(d, "R-A02")["x_m"] = 3.3  # half over R-A01
    rack(d, "R-B05")["y_m"] = 4.9   # into the cold aisle, over two tiles
    issues = load_bad(tmp_path, d)
    i = find(issues, "R-A01", "x_m", "overlaps R-A02")
    assert "3.3" in i.message  # says where
    assert sum("lies under R-B05" in i.message for i in issues) == 2


def test_cooling_unit_overlapping_a_rack(tmp_path, small_dict):
    d = copy.deepcopy(small_dict)
    unit = d["halls"][0]["cooling_units"][0]
    unit["x_m"], unit["y_m"] = 2.5, 3.0  # CRAH-1 (0.9 x 1.8, facing E) into the end of row A
    issues = load_bad(tmp_path, d)
    assert any(i.field == "x_m" and "CRAH-1" in (i.element + i.message) and "R-A01" in (i.element + i.message)
               for i in issues), issues


def test_tiles_overlapping_and_under_racks(tmp_path, small_dict):
    d = copy.deepcopy(small_dict)
    tiles = d["halls"][0]["tiles"]
    tiles[1]["x_m"] = tiles[0]["x_m"] + 0.3
    tiles[2]["y_m"] = 3.0  # under row A
    issues = load_bad(tmp_path, d)
    find(issues, tiles[0]["id"], "x_m", "overlaps tile", tiles[1]["id"])
    find(issues, tiles[2]["id"], "x_m", "lies under", "R-A")


@pytest.mark.parametrize("field,value", [("x_m", 11.7), ("y_m", -0.5), ("x_m", -3.0), ("y_m", 9.5)])
def test_rack_outside_the_hall(tmp_path, small_dict, field, value):
    d = copy.deepcopy(small_dict)
    rack(d, "R-A01")[field] = value
    find(load_bad(tmp_path, d), "R-A01", field, "outside hall HALL-1")


def test_rotated_footprint_outside_the_hall(tmp_path, small_dict):
    # facing E swaps the extents: 1.2 m in x, so x 11.0 reaches 12.2 > 12
    d = copy.deepcopy(small_dict)
    r = rack(d, "R-A01")
    r.update(x_m=11.0, y_m=8.5, facing="E")
    find(load_bad(tmp_path, d), "R-A01", "x_m", "outside hall", "11..12.2")


def test_tile_and_containment_outside_the_hall(tmp_path, small_dict):
    d = copy.deepcopy(small_dict)
    d["halls"][0]["tiles"][0]["x_m"] = 11.7
    d["halls"][0]["containments"] = [{"id": "CA-1", "kind": "cold", "x_m": 3.0, "y_m": 4.2,
                                      "width_m": 20.0, "depth_m": 1.8}]
    issues = load_bad(tmp_path, d)
    find(issues, d["halls"][0]["tiles"][0]["id"], "x_m", "outside hall")
    find(issues, "CA-1", "x_m", "outside hall")


def test_duplicate_ids(tmp_path, small_dict):
    d = copy.deepcopy(small_dict)
    rack(d, "R-A02")["id"] = "R-A01"
    node(d, "GEN-1")["id"] = "CRAH-1"  # across collections too
    node(d, "ATS-1")["inputs"] = ["UTIL", "CRAH-1"]
    issues = load_bad(tmp_path, d)
    find(issues, "R-A01", "id", "duplicate id")
    find(issues, "CRAH-1", "id", "duplicate id", "cooling_units")


def test_feeds_to_missing_nodes(tmp_path, small_dict):
    d = copy.deepcopy(small_dict)
    rack(d, "R-A03")["feeds"] = ["PDU-A", "PDU-X"]
    d["halls"][0]["cooling_units"][1]["feeds"] = ["SWB-NOPE"]
    issues = load_bad(tmp_path, d)
    find(issues, "R-A03", "feeds", "feed B", "'PDU-X'", "does not exist")
    find(issues, "CRAH-2", "feeds", "feed A", "'SWB-NOPE'", "does not exist")


def test_feed_into_a_source_and_too_many_feeds(tmp_path, small_dict):
    d = copy.deepcopy(small_dict)
    rack(d, "R-A03")["feeds"] = ["UTIL"]
    rack(d, "R-A04")["feeds"] = ["PDU-A", "PDU-B", "SWB-M"]
    rack(d, "R-A05")["feeds"] = ["PDU-A", "PDU-A"]
    issues = load_bad(tmp_path, d)
    find(issues, "R-A03", "feeds", "a utility")
    find(issues, "R-A04", "feeds", "at most 2 feeds")
    find(issues, "R-A05", "feeds", "twice")


def test_unknown_references(tmp_path, small_dict):
    d = copy.deepcopy(small_dict)
    rack(d, "R-A01")["workload"] = "W-NOPE"
    rack(d, "R-A02")["cdu"] = "CRAH-1"  # exists, but is not a CDU
    node(d, "PDU-A")["inputs"] = ["UPS-9"]
    issues = load_bad(tmp_path, d)
    find(issues, "R-A01", "workload", "'W-NOPE'", "does not exist")
    find(issues, "R-A02", "cdu", "'CRAH-1'", "not a CDU")
    find(issues, "PDU-A", "inputs", "'UPS-9'", "does not exist")


def test_power_graph_cycle(tmp_path, small_dict):
    d = copy.deepcopy(small_dict)
    node(d, "UPS-1A")["inputs"] = ["PDU-A"]  # UPS-1A -> PDU-A -> UPS-1A
    issues = load_bad(tmp_path, d)
    i = next(i for i in issues if "cycle" in i.message)
    assert i.field == "inputs" and i.element in ("UPS-1A", "PDU-A")
    assert "UPS-1A" in i.message and "PDU-A" in i.message


def test_self_loop_and_ats_inputs(tmp_path, small_dict):
    d = copy.deepcopy(small_dict)
    node(d, "SWB-M")["inputs"] = ["SWB-M"]
    node(d, "ATS-1")["inputs"] = ["UTIL"]
    node(d, "GEN-1")["inputs"] = ["UTIL"]
    issues = load_bad(tmp_path, d)
    find(issues, "SWB-M", "inputs", "cannot feed itself")
    find(issues, "ATS-1", "inputs", "2 inputs")
    find(issues, "GEN-1", "inputs", "source")


def test_find_power_cycle_long_chain_without_recursion_limit():
    from dctwin.twin.model.layout import PowerNode
    nodes = [PowerNode(id="N0", kind="utility", capacity_kw=1.0)]
    nodes += [PowerNode(id=f"N{k}", kind="switchboard", inputs=(f"N{k - 1}",), capacity_kw=1.0)
              for k in range(1, 5000)]
    assert find_power_cycle(nodes) == []
    nodes[0] = PowerNode(id="N0", kind="switchboard", inputs=("N4999",), capacity_kw=1.0)
    cycle = find_power_cycle(nodes)
    assert len(cycle) == 5000 and set(cycle) == {n.id for n in nodes}


def test_rack_with_power_but_no_airflow(tmp_path, small_dict):
    d = copy.deepcopy(small_dict)
    rack(d, "R-B04")["airflow_m3s"] = 0.0
    find(load_bad(tmp_path, d), "R-B04", "airflow_m3s", "no airflow")


def test_liquid_rack_without_air_heat_may_have_no_airflow():
    site = load_demo("small")
    h = site.hall
    h.racks[0] = dataclasses.replace(h.racks[0], liquid_fraction=1.0, airflow_m3s=0.0)
    assert validate(site) == []


@pytest.mark.parametrize("field,value,words", [
    ("it_kw", 2000.0, ("absurd",)),       # a 2 MW rack
    ("it_kw", -5.0, ("negative",)),
    ("width_m", -0.6, ("positive",)),
    ("depth_m", 0.0, ("positive",)),
    ("height_m", 9.0, ("absurdly large",)),
    ("liquid_fraction", 1.5, ("out of range",)),
    ("airflow_m3s", -1.0, ("out of range",)),
    ("facing", "NE", ("N, E, S, W",)),
    ("ashrae_class", "Z9", ("unknown class",)),
])
def test_absurd_rack_values(tmp_path, small_dict, field, value, words):
    d = copy.deepcopy(small_dict)
    rack(d, "R-A07")[field] = value
    find(load_bad(tmp_path, d), "R-A07", field, *words)


@pytest.mark.parametrize("where,field,value,words", [
    ("hall", "width_m", -12.0, ("positive",)),
    ("hall", "depth_m", 5000.0, ("absurdly large",)),
    ("hall", "plenum", "basement", ("unknown plenum",)),
    ("hall", "supply_c", 90.0, ("out of range",)),
    ("unit", "capacity_kw", -10.0, ("out of range",)),
    ("unit", "airflow_m3s", 0.0, ("needs airflow",)),
    ("unit", "kind", "fridge", ("unknown cooling unit kind",)),
    ("unit", "supply_setpoint_c", 100.0, ("out of range",)),
    ("node", "capacity_kw", -1.0, ("positive",)),
    ("node", "kind", "battery", ("unknown power node kind",)),
    ("node", "battery_kwh", 5.0, ("does not apply to a pdu",)),
    ("tile", "open_fraction", 1.2, ("out of range",)),
])
def test_absurd_values_elsewhere(tmp_path, small_dict, where, field, value, words):
    d = copy.deepcopy(small_dict)
    target = {"hall": d["halls"][0], "unit": d["halls"][0]["cooling_units"][0],
              "node": node(d, "PDU-A"), "tile": d["halls"][0]["tiles"][0]}[where]
    target[field] = value
    find(load_bad(tmp_path, d), target["id"], field, *words)


def test_tiles_need_a_raised_floor_and_grilles_a_ceiling_return(tmp_path, small_dict):
    d = copy.deepcopy(small_dict)
    d["halls"][0]["plenum"] = "none"
    d["halls"][0]["grilles"] = [{"id": "G-1", "x_m": 1.0, "y_m": 1.0}]
    issues = load_bad(tmp_path, d)
    tile_id = d["halls"][0]["tiles"][0]["id"]
    assert len(issues) == 2  # one each, not one per tile
    find(issues, "HALL-1", "plenum", "30 (", tile_id, "raised floor")
    find(issues, "HALL-1", "ceiling_return", "1 (G-1)", "ceiling return")


def test_many_errors_reported_together(tmp_path, small_dict):
    d = copy.deepcopy(small_dict)
    rack(d, "R-A01")["it_kw"] = 2000.0
    rack(d, "R-A02")["x_m"] = 50.0
    rack(d, "R-A03")["feeds"] = ["PDU-Z"]
    rack(d, "R-A04")["colour"] = "red"
    node(d, "UPS-1B")["capacity_kw"] = -4.0
    issues = load_bad(tmp_path, d)
    find(issues, "R-A01", "it_kw", "absurd")
    find(issues, "R-A02", "x_m", "outside")
    find(issues, "R-A03", "feeds", "PDU-Z")
    find(issues, "R-A04", "colour", "unknown field")
    find(issues, "UPS-1B", "capacity_kw", "positive")
    with pytest.raises(LayoutError) as info:
        load_layout(tmp_path / "bad.json")
    text = str(info.value)
    assert "5 errors" in text or f"{len(issues)} errors" in text
    for ident in ("R-A01", "R-A02", "R-A03", "R-A04", "UPS-1B"):
        assert ident in text


def test_elements_built_in_code_with_wrong_types_are_reported_not_crashing():
    site = load_demo("small")
    h = site.hall
    h.racks[0] = dataclasses.replace(h.racks[0], x_m=math.nan)
    h.racks[1] = dataclasses.replace(h.racks[1], it_kw="7")
    h.racks[2] = dataclasses.replace(h.racks[2], feeds=("PDU-A", 3))
    issues = validate(site)
    find(issues, "R-A01", "x_m", "finite")
    find(issues, "R-A02", "it_kw", "number")
    find(issues, "R-A03", "feeds", "list of ids")


def test_huge_footprint_does_not_stall_the_overlap_search():
    site = load_demo("small")
    h = site.hall
    h.racks[0] = dataclasses.replace(h.racks[0], width_m=1e12)
    h.tiles[0] = dataclasses.replace(h.tiles[0], x_m=-1e12)
    issues = validate(site)
    find(issues, "R-A01", "width_m", "absurdly large")
    find(issues, h.tiles[0].id, "x_m", "outside")


def test_synthetic_halls_are_valid():
    for n in (1, 2, 19, 20, 21, 40, 41, 333, 1000):
        site = synthetic_site(n)
        assert validate(site) == [], n
    site = synthetic_site(10000)
    assert sum(len(h.racks) for h in site.halls) == 10000
    assert validate(site) == []


def test_rack_taller_than_hall():
    site = load_demo("small")
    h = site.hall
    h.racks[5] = dataclasses.replace(h.racks[5], height_m=3.5)
    find(validate(site), "R-A06", "height_m", "taller than hall HALL-1")


def test_rack_default_airflow_is_per_watt_of_air_side_heat():
    r = Rack(id="R", it_kw=10.0, liquid_fraction=0.8)
    assert r.design_airflow_m3s == pytest.approx(1e-4 * 10e3 * 0.2)
    assert Rack(id="R", it_kw=10.0, airflow_m3s=0.7).design_airflow_m3s == 0.7


def brute_pairs(a, b=None):
    same = b is None
    b = a if same else b
    out = []
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            if same and j <= i:
                continue
            if min(p[2], q[2]) - max(p[0], q[0]) > 1e-6 and min(p[3], q[3]) - max(p[1], q[1]) > 1e-6:
                out.append((i, j))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_overlapping_pairs_agrees_with_brute_force(seed):
    import numpy as np

    from dctwin.twin.model.validate import overlapping_pairs
    rng = np.random.default_rng(seed)

    def rects(n):
        # mostly rack-sized on a 0.3 m grid (touching edges are not overlaps), some large, some far away
        x0 = rng.integers(-10, 60, n) * 0.3
        y0 = rng.integers(-10, 60, n) * 0.3
        w = rng.choice([0.6, 1.2, 0.3, 2.4, 7.0, 30.0], n, p=[0.4, 0.3, 0.1, 0.1, 0.07, 0.03])
        h = rng.choice([0.6, 1.2, 0.9, 1.8, 25.0], n, p=[0.4, 0.3, 0.1, 0.15, 0.05])
        far = rng.random(n) < 0.05
        x0 = np.where(far, x0 + 1e7, x0)
        return np.stack([x0, y0, x0 + w, y0 + h], axis=1)

    a, b = rects(150), rects(90)
    assert overlapping_pairs(a) == brute_pairs(a)
    assert overlapping_pairs(a, b) == brute_pairs(a, b)
    assert overlapping_pairs(a[:0]) == [] and overlapping_pairs(a, b[:0]) == []
