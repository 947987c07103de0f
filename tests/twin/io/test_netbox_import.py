"""NetBox import: the three sources agree, positions from floor plans and custom fields, power and its
sources, assumptions reported, bad data named, NetBox 4.x names, re-import keeps moved positions."""

from __future__ import annotations

import json
import math

import pytest

from dctwin.twin.errors import DctwinError
from dctwin.twin.io import import_site
from dctwin.twin.io.merge import merge_into
from dctwin.twin.io.netbox import DEFAULT_W_PER_U, import_netbox
from dctwin.twin.io.netbox_source import read_api_folder, read_fixture, read_live
from dctwin.twin.io.report import SourceError
from dctwin.twin.model.commands import MoveElements, SetProperty
from dctwin.twin.model.layoutfile import dumps_layout, loads_layout
from dctwin.twin.model.validate import validate
from tests.twin.io.netbox_fixtures import FakeNetBox, site_objects, to_fixture, write_api_folder


def _dump(tmp_path, o, name="dump.json"):
    p = tmp_path / name
    p.write_text(json.dumps(to_fixture(o)))
    return p


def _import(tmp_path, o, **kw):
    return import_netbox(read_fixture(_dump(tmp_path, o)), "DC-East", **kw)


def test_fixture_folder_and_live_server_give_the_same_layout(tmp_path):
    o = site_objects()
    a, rep = _import(tmp_path, o)
    b, _ = import_netbox(read_api_folder(write_api_folder(o, tmp_path / "api")), "dc-east")
    with FakeNetBox(o, max_page=5) as srv:
        c, _ = import_netbox(read_live(srv.url, srv.token), "DC-East")
        # pynetbox paged: racks (24 of them) came in more than one request
        assert sum("/dcim/racks/" in r for r in srv.requests) > 1
    assert dumps_layout(a) == dumps_layout(b) == dumps_layout(c)
    assert rep.netbox_version == "3.6"


def test_site_of_three_rows_imports_with_power_and_assumptions(tmp_path):
    site, rep = _import(tmp_path, site_objects())
    assert validate(site) == []
    loads_layout(dumps_layout(site))  # the file reads back
    hall = site.halls[0]
    assert len(hall.racks) == 24 and {r.row for r in hall.racks} == {"Row A", "Row B", "Row C"}
    r = site.get("A01")
    # 2 x 350 W allocated + 450 W maximum + 500 W template + 2U x default + 0U PDU with nothing
    assert math.isclose(r.it_kw, (700 + 450 + 500 + 2 * DEFAULT_W_PER_U) / 1e3)
    assert "it_kw" in r.assumed and r.external_id == "netbox:dcim.rack:1001"
    assert rep.power_sources == {"allocated_draw": 24, "maximum_draw": 24, "port_template": 24,
                                 "default_per_u": 24, "no_draw": 24}
    # primary feed first, from PP-A; capacity 208 V x 30 A x 80 %
    a, b = (site.get(f) for f in r.feeds)
    assert a.inputs == ("PP-A",) and b.inputs == ("PP-B",)
    assert math.isclose(a.capacity_kw, 208 * 30 * 0.8 / 1e3)
    assert site.get("PP-A").inputs == ("UPS-A",) and site.get("PP-B").inputs == ("UPS-B",)
    assert {"UTIL", "GEN-1", "ATS-1", "UPS-A", "UPS-B"} <= {n.id for n in site.power_nodes if "exists" in n.assumed}
    # rows paired across a tiled cold aisle: A faces north, B south, fronts 1.2 m apart
    ra, rb = site.get("A03"), site.get("B03")
    assert (ra.facing, rb.facing) == ("N", "S") and math.isclose(rb.y_m - (ra.y_m + ra.depth_m), 1.2)
    assert any(t.y_m >= ra.y_m + ra.depth_m - 1e-9 and t.y_m < rb.y_m for t in hall.tiles)
    crahs = hall.cooling_units
    assert len(crahs) >= 2 and sum(u.capacity_kw for u in crahs[:-1]) >= sum(x.it_kw for x in hall.racks)
    skipped = {s["object"]: s["reason"] for s in rep.skipped}
    assert skipped['dcim.device 9001 "spare-in-store"'] == "a device without a rack"
    assert "a feed to nothing" in skipped['dcim.powerfeed 699 "spare-feed"']
    text = " ".join(rep.assumptions)
    for words in ("W per rack unit", "paired front to front", "perimeter CRAHs", "UPS", "power panel capacity"):
        assert words in text
    assert "W01" not in site.ids()  # the other site's rack


def test_custom_field_positions_are_honoured(tmp_path):
    site, rep = _import(tmp_path, site_objects(custom_positions=True))
    r, b = site.get("A02"), site.get("B01")
    assert (r.x_m, r.y_m, r.facing) == (2.4, 2.4, "N") and (b.x_m, b.y_m, b.facing) == (1.8, 4.8, "S")
    assert "x_m" not in r.assumed and len(rep.placement["custom_fields"]) == 24
    assert validate(site) == []


def test_floorplan_canvas_positions_are_honoured(tmp_path):
    site, rep = _import(tmp_path, site_objects(floorplan=True))
    assert len(rep.placement["floorplan"]) == 24
    a, b = site.get("A01"), site.get("B02")
    # centres (2.7, 3.6) facing N and (3.3, 6.0) facing S (angle 180), y north of the plan's bottom edge
    assert (round(a.x_m, 6), round(a.y_m, 6), a.facing) == (2.4, 3.0, "N")
    assert (round(b.x_m, 6), round(b.y_m, 6), b.facing) == (3.0, 5.4, "S")
    assert site.halls[0].width_m >= 12.0 and site.halls[0].depth_m >= 14.4
    assert validate(site) == []


def test_floorplan_wins_over_custom_fields(tmp_path):
    site, rep = _import(tmp_path, site_objects(floorplan=True, custom_positions=True))
    assert set(rep.placement) == {"floorplan"}


@pytest.mark.parametrize("version", ["4.2", "4.6", "4.7"])
def test_netbox_4_field_names(tmp_path, version):
    o = site_objects(version=version, cooling=version == "4.7")
    site, rep = _import(tmp_path, o)
    assert len(site.halls[0].racks) == 24 and {r.row for r in site.halls[0].racks} == {"Row A", "Row B", "Row C"}
    assert site.get("A01").width_m == 0.6 and "width_m" not in site.get("A01").assumed  # from the rack type
    if version == "4.7":
        units = {u.id: u for u in site.halls[0].cooling_units}
        assert set(units) == {"CRAH-N", "CRAH-S"} and units["CRAH-N"].capacity_kw == 90.0
        assert [c.id for c in site.chillers] == ["Chiller-1"]
        assert any("Tower-1" in s["object"] for s in rep.skipped)
    with FakeNetBox(o, api_version=version) as srv:
        live, _ = import_netbox(read_live(srv.url, srv.token), "DC-East")
    assert dumps_layout(live) == dumps_layout(site)


def test_reimport_keeps_moved_positions_and_updates_power(tmp_path):
    site, _ = _import(tmp_path, site_objects())
    MoveElements(("A01",), 0.0, -1.8).apply(site)
    moved = site.get("A01")
    o2 = site_objects()
    o2[:] = [t for t in o2 if not (t[0] == "dcim.rack" and t[1] == 1002)
             and not (t[0] in ("dcim.powerfeed", "dcim.device") and t[2].get("rack") == 1002)]
    o2.get("dcim.powerport", 8001)["allocated_draw"] = 600  # A01's first port
    new, rep = import_netbox(read_fixture(_dump(tmp_path, o2, "newer.json")), "DC-East")
    merged = merge_into(new, site, rep)
    a01 = merged.get("A01")
    assert (a01.x_m, a01.y_m) == (moved.x_m, moved.y_m) and "x_m" not in a01.assumed
    assert math.isclose(a01.it_kw, moved.it_kw + 0.25)
    assert "A02" not in merged.ids() and "A02" in rep.changes["removed"] and "A01" in rep.changes["updated"]
    assert validate(merged) == []


def test_reimport_adds_a_rack_on_free_floor(tmp_path):
    site, _ = _import(tmp_path, site_objects())
    o2 = site_objects()
    f = dict(o2.get("dcim.rack", 1008))
    f["name"] = "A09"
    o2.add("dcim.rack", 1100, **f)
    new, rep = import_netbox(read_fixture(_dump(tmp_path, o2, "newer.json")), "DC-East")
    merged = merge_into(new, site, rep)
    added_racks = [i for i in rep.changes["added"] if not i.startswith("TILE")]
    assert added_racks == ["A09"] and validate(merged) == []
    for r in site.halls[0].racks:
        assert (merged.get(r.id).x_m, merged.get(r.id).y_m) == (r.x_m, r.y_m)


def test_editing_an_assumed_value_clears_its_marker_and_undo_restores_it(tmp_path):
    site, _ = _import(tmp_path, site_objects())
    before = site.get("A01")
    inverse = SetProperty("A01", "it_kw", 3.0).apply(site)
    assert "it_kw" not in site.get("A01").assumed
    inverse.apply(site)
    assert site.get("A01") == before
    inverse = MoveElements(("A01",), 0.0, -0.6).apply(site)
    assert "x_m" not in site.get("A01").assumed
    inverse.apply(site)
    assert site.get("A01") == before


def test_bad_data_names_the_netbox_object(tmp_path):
    o = site_objects()
    o.get("dcim.rack", 1003)["outer_width"] = 6000
    with pytest.raises(SourceError, match=r'dcim.rack 1003 "A03": outer_width is 6 m'):
        _import(tmp_path, o)
    o = site_objects(custom_positions=True)
    o.get("dcim.rack", 1004)["custom_field_data"]["facing"] = "up"
    with pytest.raises(SourceError, match=r'dcim.rack 1004 "A04": custom field facing'):
        _import(tmp_path, o)
    o = site_objects()
    o.get("dcim.powerport", 8001)["allocated_draw"] = 400_000
    with pytest.raises(SourceError, match=r'dcim.rack 1001 "A01": its devices draw'):
        _import(tmp_path, o)


def test_sources_refuse_what_they_cannot_read(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{not json")
    with pytest.raises(SourceError, match="malformed JSON at line 1"):
        read_fixture(p)
    (tmp_path / "api" / "dcim").mkdir(parents=True)
    (tmp_path / "api" / "dcim" / "racks.json").write_text(json.dumps({"count": 5, "next": None, "results": []}))
    with pytest.raises(SourceError, match="say there are 5 objects but hold 0"):
        read_api_folder(tmp_path / "api")
    with pytest.raises(SourceError, match="choose one with --site"):
        import_netbox(read_fixture(_dump(tmp_path, site_objects())))
    with pytest.raises(SourceError, match="cannot reach NetBox"):
        read_live("http://127.0.0.1:9", "abc")
    with FakeNetBox(site_objects()) as srv:
        with pytest.raises(SourceError, match="refused the token"):
            read_live(srv.url, "wrong-token")
    with FakeNetBox(site_objects(), api_version="2.10") as srv:
        with pytest.raises(SourceError, match="NetBox 2.10 is not a version this importer knows"):
            read_live(srv.url, srv.token)


def test_rack_without_site_is_skipped(tmp_path):
    o = site_objects()
    o.get("dcim.rack", 1999)["site"] = None
    _, rep = _import(tmp_path, o)
    assert {"object": 'dcim.rack 1999 "W01"', "reason": "a rack without a site"} in rep.skipped


def test_import_site_is_a_dctwin_error_for_no_source():
    with pytest.raises(DctwinError):
        import_site("netbox")
