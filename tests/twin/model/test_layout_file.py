"""Layout files: strict reading (line/column, format, version, unknown fields), round trips, atomic save."""

from __future__ import annotations

import copy
import json
import os

import pytest

from dctwin.twin.model.demos import list_demos, load_demo, synthetic_site
from dctwin.twin.errors import InputError, LayoutError
from dctwin.twin.model.layout import Hall, Plant, PowerNode, Rack, Site, StorageTank, Workload
from dctwin.twin.model.layoutfile import dumps_layout, load_layout, loads_layout, save_layout, site_to_dict


def one_issue(exc: LayoutError):
    assert len(exc.issues) == 1, exc.issues
    return exc.issues[0]


@pytest.mark.parametrize("name", sorted(list_demos()))
def test_demo_round_trip(tmp_path, name):
    site = load_demo(name)
    for compact in (False, True):
        path = tmp_path / f"{name}-{compact}.json"
        save_layout(site, path, compact=compact)
        again = load_layout(path)
        assert again == site
        save_layout(again, path, compact=compact)
        assert load_layout(path) == site


def test_synthetic_round_trip(tmp_path):
    site = synthetic_site(137, rack_kw=6.5)
    path = tmp_path / "syn.json"
    save_layout(site, path)
    assert load_layout(path) == site
    # the written text is canonical: saving what was read gives the same bytes
    text = path.read_text()
    save_layout(load_layout(path), path)
    assert path.read_text() == text


def test_round_trip_keeps_every_optional_value(tmp_path):
    site = Site(
        name="opt", description="all the optional bits",
        halls=[Hall(id="H", width_m=6.0, depth_m=6.0, grid_m=0.2, ceiling_return=True, plenum="none",
                    racks=[Rack(id="R1", x_m=1.0, y_m=1.0, it_kw=4.0, airflow_m3s=0.5, fan_fraction=0.1,
                                thermal_mass_kj_per_k=80.0, ashrae_class="A2", workload="W")])],
        power_nodes=[PowerNode(id="U", kind="utility", capacity_kw=100.0, x_m=2.0, y_m=3.0)],
        workloads=[Workload(id="W", kind="csv", points=((0.0, 0.5), (60.0, 0.9)))],
        plant=Plant(storage_tank=StorageTank(volume_m3=10.0)),
    )
    path = tmp_path / "opt.json"
    save_layout(site, path)
    assert load_layout(path) == site


@pytest.mark.parametrize("text,line,col", [
    ('{"format": "dctwin-layout",\n "version": 1,\n "halls": [}\n', 3, 12),
    ('{"format": "dctwin-layout", "version": 1,,}', 1, 42),
    ('{\n\n   "format" "dctwin-layout"}', 3, 13),
    ('', 1, 1),
])
def test_malformed_json_reports_line_and_column(tmp_path, text, line, col):
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(LayoutError) as info:
        load_layout(path)
    issue = one_issue(info.value)
    assert f"line {line} column {col}" in issue.message
    assert "malformed JSON" in issue.message
    assert str(path) in str(info.value)


def test_nan_is_not_json():
    with pytest.raises(LayoutError) as info:
        loads_layout('{"format": "dctwin-layout", "version": 1, "halls": [{"id": "H", "width_m": NaN, "depth_m": 3}]}')
    assert "NaN" in str(info.value)


@pytest.mark.parametrize("fmt", [None, "dctwin-project", 7])
def test_unsupported_format(fmt):
    data = {"version": 1, "halls": []}
    if fmt is not None:
        data["format"] = fmt
    with pytest.raises(LayoutError) as info:
        loads_layout(json.dumps(data))
    issue = one_issue(info.value)
    assert (issue.element, issue.field) == ("layout", "format")
    assert "unsupported format" in issue.message and "dctwin-layout" in issue.message


@pytest.mark.parametrize("version,words", [(2, ("unsupported version 2", "newer")), (0, ("unsupported version 0",)),
                                           ("1", ("must be an integer",)), (None, ("must be an integer",))])
def test_unsupported_or_newer_version(version, words):
    data = {"format": "dctwin-layout", "halls": []}
    if version is not None:
        data["version"] = version
    with pytest.raises(LayoutError) as info:
        loads_layout(json.dumps(data))
    issue = one_issue(info.value)
    assert (issue.element, issue.field) == ("layout", "version")
    assert all(w in issue.message for w in words), issue.message


def test_not_an_object():
    with pytest.raises(LayoutError) as info:
        loads_layout("[1, 2]")
    assert "JSON object" in str(info.value)


def small_dict() -> dict:
    return site_to_dict(load_demo("small"))


@pytest.mark.parametrize("where", ["top", "hall", "rack", "unit", "tile", "node", "plant", "outdoor", "chiller"])
def test_unknown_field_is_named(where):
    d = small_dict()
    h = d["halls"][0]
    target, ident = {
        "top": (d, "layout"), "hall": (h, "HALL-1"), "rack": (h["racks"][3], "R-A04"),
        "unit": (h["cooling_units"][0], "CRAH-1"), "tile": (h["tiles"][0], h["tiles"][0]["id"]),
        "node": (d["power_nodes"][2], "ATS-1"), "plant": (d["plant"], "plant"),
        "outdoor": (d["plant"]["outdoor"], "plant.outdoor"), "chiller": (d["plant"]["chillers"][0], "CH-1"),
    }[where]
    target["colour_rgb"] = "red"
    with pytest.raises(LayoutError) as info:
        loads_layout(json.dumps(d))
    issue = one_issue(info.value)
    assert issue.element == ident and issue.field == "colour_rgb"
    assert "unknown field" in issue.message


def test_wrong_types_name_element_and_field():
    d = small_dict()
    h = d["halls"][0]
    h["racks"][0]["it_kw"] = "eight"
    h["racks"][1]["feeds"] = "PDU-A"
    h["racks"][2]["x_m"] = True
    h["ceiling_return"] = "no"
    d["power_nodes"][0]["inputs"] = [1]
    with pytest.raises(LayoutError) as info:
        loads_layout(json.dumps(d))
    got = {(i.element, i.field) for i in info.value.issues}
    assert {("R-A01", "it_kw"), ("R-A02", "feeds"), ("R-A03", "x_m"), ("HALL-1", "ceiling_return"),
            ("UTIL", "inputs[0]")} <= got
    msgs = {(i.element, i.field): i.message for i in info.value.issues}
    assert "number" in msgs[("R-A01", "it_kw")] and '"eight"' in msgs[("R-A01", "it_kw")]


def test_missing_required_fields():
    d = small_dict()
    del d["halls"][0]["racks"][4]["x_m"]
    del d["power_nodes"][1]["kind"]
    with pytest.raises(LayoutError) as info:
        loads_layout(json.dumps(d))
    got = {(i.element, i.field, i.message) for i in info.value.issues}
    assert ("R-A05", "x_m", "is required") in got
    assert ("GEN-1", "kind", "is required") in got


def test_null_nested_plant_settings_are_errors_not_crashes():
    d = small_dict()
    d["plant"]["economizer"] = None
    d["plant"]["outdoor"] = [1]
    with pytest.raises(LayoutError) as info:
        loads_layout(json.dumps(d))
    msgs = " | ".join(str(i) for i in info.value.issues)
    assert "plant.economizer" in msgs and "plant.outdoor" in msgs
    d = small_dict()
    d["plant"]["storage_tank"] = None  # optional: null means no tank
    assert loads_layout(json.dumps(d)).plant.storage_tank is None


def test_short_forms_hall_and_power_and_auto_tile_ids():
    text = json.dumps({
        "format": "dctwin-layout", "version": 1,
        "hall": {"id": "H", "width_m": 6.0, "depth_m": 4.8},
        "racks": [{"id": "R1", "x_m": 1.2, "y_m": 1.2, "it_kw": 5, "feeds": ["P"]}],
        "tiles": [{"x_m": 1.2, "y_m": 2.4}, {"x_m": 1.8, "y_m": 2.4}, {"id": "TILE-001", "x_m": 2.4, "y_m": 2.4}],
        "power": [{"id": "U", "kind": "utility", "capacity_kw": 50}, {"id": "P", "kind": "pdu", "inputs": ["U"],
                                                                       "capacity_kw": 10}],
    })
    site = loads_layout(text)
    assert [t.id for t in site.hall.tiles] == ["TILE-002", "TILE-003", "TILE-001"]
    assert site.hall.racks[0].it_kw == 5.0 and isinstance(site.hall.racks[0].it_kw, float)
    assert loads_layout(dumps_layout(site)) == site


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(LayoutError) as info:
        load_layout(tmp_path / "nope.json")
    assert "file not found" in str(info.value) and "nope.json" in str(info.value)
    with pytest.raises(LayoutError) as info:
        load_layout(tmp_path)
    assert "folder" in str(info.value)


def test_binary_file(tmp_path):
    path = tmp_path / "x.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(LayoutError) as info:
        load_layout(path)
    assert "UTF-8" in str(info.value)


def test_save_is_atomic_and_failed_save_leaves_the_original(tmp_path):
    site = load_demo("small")
    path = tmp_path / "site.json"
    path.write_text("original")
    bad = copy.copy(site)
    bad.halls = [copy.copy(site.hall)]
    bad.halls[0].racks = [Rack(id="R", it_kw=float("inf"))]  # cannot be written as JSON
    with pytest.raises(ValueError):
        save_layout(bad, path)
    assert path.read_text() == "original"
    assert os.listdir(tmp_path) == ["site.json"]  # no temporary file left behind
    save_layout(site, path)
    assert load_layout(path) == site
    assert sorted(os.listdir(tmp_path)) == ["site.json"]


def test_save_into_missing_folder_or_onto_a_folder(tmp_path):
    site = load_demo("small")
    with pytest.raises(InputError) as info:
        save_layout(site, tmp_path / "no" / "such" / "dir" / "x.json")
    assert "cannot write" in str(info.value)
    with pytest.raises(InputError) as info:
        save_layout(site, tmp_path)
    assert "folder" in str(info.value)


def test_key_given_twice_is_an_error_not_silently_dropped():
    d = small_dict()
    text = json.dumps(d, indent=1).replace('"id": "R-A02",', '"id": "R-A02", "it_kw": 1.0,', 1)
    text = text.replace('"version": 1,', '"version": 1, "name": "x",', 1)
    with pytest.raises(LayoutError) as info:
        loads_layout(text)
    got = {(i.element, i.field, i.message) for i in info.value.issues}
    assert ("R-A02", "it_kw", "given twice in the same object") in got
    assert ("layout", "name", "given twice in the same object") in got


def test_deeply_nested_json_is_refused_cleanly():
    with pytest.raises(LayoutError) as info:
        loads_layout("[" * 100000 + "]" * 100000)
    assert "nested too deeply" in str(info.value) or "JSON object" in str(info.value)


def test_saved_file_gets_normal_permissions(tmp_path):
    site = load_demo("small")
    umask = os.umask(0o022)
    try:
        path = tmp_path / "new.json"
        save_layout(site, path)
        assert path.stat().st_mode & 0o777 == 0o644  # not the 0600 of a temporary file
        path.chmod(0o640)
        save_layout(site, path)
        assert path.stat().st_mode & 0o777 == 0o640  # replacing keeps the file's mode
    finally:
        os.umask(umask)
