"""``Rack.open_u`` (rack units without blanking panels) in the layout file: validation and round trip."""

from __future__ import annotations

import json

import pytest

from dctwin.twin.errors import LayoutError
from dctwin.twin.model.demos import load_demo
from dctwin.twin.model.layoutfile import load_layout, save_layout, site_to_dict
from dctwin.twin.model.commands import SetProperty


def _with_open_u(tmp_path, value, height_m=None):
    d = site_to_dict(load_demo("small"))
    d["halls"][0]["racks"][0]["open_u"] = value
    if height_m is not None:
        d["halls"][0]["racks"][0]["height_m"] = height_m
    path = tmp_path / "gaps.json"
    path.write_text(json.dumps(d), encoding="utf-8")
    return path


def _issue(tmp_path, value, height_m=None):
    with pytest.raises(LayoutError) as info:
        load_layout(_with_open_u(tmp_path, value, height_m))
    issues = [i for i in info.value.issues if i.field == "open_u"]
    assert len(issues) == 1, info.value.issues
    assert issues[0].element == "R-A01"
    return issues[0].message


def test_open_u_round_trips_and_is_left_out_when_zero(tmp_path):
    site = load_layout(_with_open_u(tmp_path, 4))
    assert site.get("R-A01").open_u == 4.0 and site.get("R-A02").open_u == 0.0
    out = tmp_path / "out.json"
    save_layout(site, out)
    assert load_layout(out) == site
    racks = json.loads(out.read_text())["halls"][0]["racks"]
    assert racks[0]["open_u"] == 4.0 and "open_u" not in racks[1]  # fully blanked racks stay as they were
    # a demo without gaps writes the same bytes as before the field existed
    assert "open_u" not in json.dumps(site_to_dict(load_demo("small")))


def test_bad_open_u_is_named_with_rack_and_field(tmp_path):
    assert "must not be negative" in _issue(tmp_path, -2)
    msg = _issue(tmp_path, 43)
    assert "43 U" in msg and "42 U" in msg and "2 m rack" in msg
    msg = _issue(tmp_path, 20, height_m=1.0)  # a half-height rack holds 19 U
    assert "19 U" in msg
    assert "number" in _issue(tmp_path, "four")
    load_layout(_with_open_u(tmp_path, 42))  # every unit open: allowed
    load_layout(_with_open_u(tmp_path, 0.5))  # part of a unit (gaps between panels)


def test_set_property_edits_open_u_and_undoes(tmp_path):
    site = load_demo("small")
    undo = SetProperty("R-A01", "open_u", 6).apply(site)
    assert site.get("R-A01").open_u == 6.0
    undo.apply(site)
    assert site.get("R-A01").open_u == 0.0
    with pytest.raises(LayoutError) as info:
        SetProperty("R-A01", "open_u", -1).apply(site)
    assert info.value.issues[0].field == "open_u"
    assert site.get("R-A01").open_u == 0.0
