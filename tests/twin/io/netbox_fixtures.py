"""Hand-made NetBox data in its real shapes: a ``dumpdata`` fixture, REST API pages, and a local
HTTP server that answers like NetBox (pagination with limit/offset and ``next`` links, token check,
API-Version header). Field names are NetBox's (3.6: rack ``type``; 4.1+: ``form_factor``/``rack_type``;
4.6+: rack groups; 4.7: cooling sources and feeds).

:func:`site_objects` builds the objects of one site as fixture records ``(model, pk, fields)``;
:func:`to_fixture`, :func:`to_api_pages` and :func:`write_api_folder` turn them into each source.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, urlparse

STAMP = "2024-03-01T10:00:00Z"

#: fields that are foreign keys (nested objects in the API)
FK_FIELDS = {"site", "location", "parent", "tenant", "role", "rack", "device", "device_type", "power_panel",
             "rack_type", "group", "manufacturer", "module", "module_type", "cooling_source", "region",
             "platform", "assigned_image", "cable"}
#: choice fields (``{"value", "label"}`` in the API)
CHOICE_FIELDS = {"status", "type", "supply", "phase", "outer_unit", "width", "airflow", "face", "form_factor",
                 "weight_unit", "measurement_unit", "cooling_capability", "fluid_type"}
#: decimal fields (strings in a dump, numbers in the API)
DECIMAL_FIELDS = {"u_height", "position", "cooling_capacity"}
DECIMAL_BY_MODEL = {"netbox_floorplan.floorplan": {"width", "height"}}

#: model -> API path
API_PATH = {
    "dcim.site": "dcim/sites", "dcim.location": "dcim/locations", "dcim.rackgroup": "dcim/rack-groups",
    "dcim.racktype": "dcim/rack-types", "dcim.rack": "dcim/racks", "dcim.devicetype": "dcim/device-types",
    "dcim.device": "dcim/devices", "dcim.powerport": "dcim/power-ports",
    "dcim.powerporttemplate": "dcim/power-port-templates", "dcim.powerpanel": "dcim/power-panels",
    "dcim.powerfeed": "dcim/power-feeds", "dcim.cable": "dcim/cables",
    "dcim.coolingsource": "dcim/cooling-sources", "dcim.coolingfeed": "dcim/cooling-feeds",
    "netbox_floorplan.floorplan": "plugins/floorplan/floorplans", "dcim.manufacturer": "dcim/manufacturers",
}


class Objects(list):
    """Fixture records (model, pk, fields) with a counter per model."""

    def add(self, model_label: str, pk: int, **fields: Any) -> int:
        model = model_label
        base = {"created": STAMP, "last_updated": STAMP, "custom_field_data": {}}
        if model not in ("dcim.cabletermination", "contenttypes.contenttype"):
            base.update(description="", comments="") if model not in ("dcim.powerport", "dcim.powerporttemplate") \
                else base.update(description="")
        else:
            base = {}
        base.update(fields)
        self.append((model, pk, base))
        return pk

    def get(self, model: str, pk: int) -> dict:
        return next(f for m, p, f in self if m == model and p == pk)


def site_objects(version: str = "3.6", rows: int = 3, per_row: int = 8, custom_positions: bool = False,
                 floorplan: bool = False, cooling: bool = False, extras: bool = True,
                 site_pk: int = 1) -> Objects:
    """One site, "DC-East": a hall location "Hall 1" with row locations (3.6..4.5) or rack groups
    (4.6+) "Row A".., ``per_row`` racks each (600 x 1200 mm, 42U), panels PP-A and PP-B feeding every
    rack (primary from A, redundant from B; 208 V, 30 A single-phase, 80 %), and per rack five
    devices: power ports with allocated_draw (2 x 350 W), with only maximum_draw (450 W), a device type
    with power port templates (500 W), a 2U server with nothing (default per U) and a 0U PDU.

    ``extras``: a device without a rack and a feed to nothing (both reported as skipped), and a second
    site with one rack that must not come in.
    """
    o = Objects()
    v4 = not version.startswith("3")
    minor = int(version.split(".")[1]) if v4 else 0
    o.add("dcim.site", site_pk, name="DC-East", slug="dc-east", status="active", region=None, group=None,
          tenant=None, facility="", time_zone=None, physical_address="", shipping_address="", latitude=None,
          longitude=None)
    if extras:
        o.add("dcim.site", 2, name="DC-West", slug="dc-west", status="active", region=None, group=None,
              tenant=None, facility="", time_zone=None, physical_address="", shipping_address="", latitude=None,
              longitude=None)
    o.add("dcim.location", 10, name="Hall 1", slug="hall-1", site=site_pk, parent=None, status="active",
          tenant=None, lft=1, rght=8, tree_id=1, level=0)
    use_groups = v4 and minor >= 6
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for k in range(rows):
        if use_groups:
            o.add("dcim.rackgroup", 20 + k, name=f"Row {letters[k]}", slug=f"row-{letters[k].lower()}")
        else:
            o.add("dcim.location", 11 + k, name=f"Row {letters[k]}", slug=f"row-{letters[k].lower()}",
                  site=site_pk, parent=10, status="active", tenant=None, lft=2 + k, rght=3 + k, tree_id=1, level=1)
    o.add("dcim.manufacturer", 1, name="Acme", slug="acme")
    dtypes = {"srv-alloc": (101, 1.0), "srv-max": (102, 1.0), "srv-tmpl": (103, 1.0), "srv-2u": (104, 2.0),
              "pdu-0u": (105, 0.0)}
    for slug, (pk, u) in dtypes.items():
        o.add("dcim.devicetype", pk, manufacturer=1, model=slug.upper(), slug=slug, part_number="",
              u_height=f"{u:.1f}", is_full_depth=True, subdevice_role=None, airflow=None, weight=None,
              weight_unit=None, _abs_weight=None, front_image="", rear_image="",
              **({"exclude_from_utilization": False} if v4 else {}))
    o.add("dcim.powerporttemplate", 201, device_type=103, module_type=None, name="PSU1", label="",
          type="iec-60320-c14", maximum_draw=500, allocated_draw=None)
    o.add("dcim.powerporttemplate", 202, device_type=101, module_type=None, name="PSU1", label="",
          type="iec-60320-c14", maximum_draw=999, allocated_draw=999)  # the device's own ports win
    if v4 and minor >= 1:
        o.add("dcim.racktype", 301, manufacturer=1, model="42U 600x1200", slug="42u-600x1200",
              form_factor="4-post-cabinet", width=19, u_height=42, starting_unit=1, desc_units=False,
              outer_width=600, outer_depth=1200, outer_unit="mm", mounting_depth=None, weight=None,
              max_weight=None, weight_unit=None, _abs_weight=None, _abs_max_weight=None,
              **({"outer_height": None} if minor >= 3 else {}))
    o.add("dcim.powerpanel", 401, site=site_pk, location=10, name="PP-A")
    o.add("dcim.powerpanel", 402, site=site_pk, location=10, name="PP-B")
    rack_pk, dev_pk, port_pk, feed_pk = 1000, 5000, 8000, 600
    for k in range(rows):
        for i in range(per_row):
            rack_pk += 1
            name = f"{letters[k]}{i + 1:02d}"
            fields: dict[str, Any] = dict(
                name=name, facility_id=None, site=site_pk, tenant=None, status="active", role=None, serial="",
                asset_tag=None, width=19, u_height=42, starting_unit=1, desc_units=False, outer_width=600,
                outer_depth=1200, outer_unit="mm", weight=None, max_weight=None, weight_unit=None,
                _abs_weight=None, _abs_max_weight=None, mounting_depth=None)
            if use_groups:
                fields.update(location=10, group=20 + k)
            else:
                fields["location"] = 11 + k
            if v4 and minor >= 1:
                fields.update(form_factor="4-post-cabinet", rack_type=301, airflow=None)
            else:
                fields.update(type="4-post-cabinet", _name=name)
            if custom_positions:
                # two rows facing each other across a 1.2 m aisle, the third behind a hot aisle
                y = {0: 2.4, 1: 4.8, 2: 7.2}[k % 3] + 6.0 * (k // 3)
                fields["custom_field_data"] = {"x_m": 1.8 + 0.6 * i, "y_m": y, "facing": "N" if k % 3 != 1 else "S"}
            o.add("dcim.rack", rack_pk, **fields)
            for t, side in ((0, "A"), (1, "B")):
                feed_pk += 1
                o.add("dcim.powerfeed", feed_pk, power_panel=401 + t, rack=rack_pk, name=f"{side}-{name}",
                      status="active", type="primary" if t == 0 else "redundant", supply="ac",
                      phase="single-phase", voltage=208, amperage=30, max_utilization=80,
                      available_power=4992, tenant=None, mark_connected=False, cable=None, cable_end="",
                      _path=None, link_peers_type=None, _link_peer_ids=[] if v4 else None)
            specs = [("srv-alloc", 101, 1, [(350, 400), (350, 400)]), ("srv-max", 102, 3, [(None, 450)]),
                     ("srv-tmpl", 103, 5, []), ("srv-2u", 104, 7, []), ("pdu-0u", 105, None, [])]
            for slug, dt, pos, ports in specs:
                dev_pk += 1
                o.add("dcim.device", dev_pk, device_type=dt, role=1, tenant=None, platform=None,
                      name=f"{name}-{slug}", serial="", asset_tag=None, site=site_pk,
                      location=fields["location"], rack=rack_pk, position=None if pos is None else f"{pos:.1f}",
                      face="front" if pos else "", status="active", airflow=None, primary_ip4=None,
                      primary_ip6=None, oob_ip=None, cluster=None, virtual_chassis=None, vc_position=None,
                      vc_priority=None, config_template=None, latitude=None, longitude=None,
                      local_context_data=None)
                for n, (alloc, maxi) in enumerate(ports):
                    port_pk += 1
                    o.add("dcim.powerport", port_pk, device=dev_pk, module=None, name=f"PSU{n + 1}", label="",
                          type="iec-60320-c14", mark_connected=False, cable=None, cable_end="",
                          maximum_draw=maxi, allocated_draw=alloc, _path=None)
    if extras:
        o.add("dcim.device", 9001, device_type=101, role=1, tenant=None, platform=None, name="spare-in-store",
              serial="", asset_tag=None, site=site_pk, location=10, rack=None, position=None, face="",
              status="active", airflow=None, primary_ip4=None, primary_ip6=None, oob_ip=None, cluster=None,
              virtual_chassis=None, vc_position=None, vc_priority=None, config_template=None, latitude=None,
              longitude=None, local_context_data=None)
        o.add("dcim.powerfeed", 699, power_panel=401, rack=None, name="spare-feed", status="planned",
              type="primary", supply="ac", phase="three-phase", voltage=400, amperage=32, max_utilization=80,
              available_power=17735, tenant=None, mark_connected=False, cable=None, cable_end="", _path=None,
              link_peers_type=None, _link_peer_ids=[] if v4 else None)
        o.add("dcim.rack", 1999, name="W01", facility_id=None, site=2, location=None, tenant=None, status="active",
              role=None, serial="", asset_tag=None, width=19, u_height=42, starting_unit=1, desc_units=False,
              outer_width=None, outer_depth=None, outer_unit=None, weight=None, max_weight=None, weight_unit=None,
              _abs_weight=None, _abs_max_weight=None, mounting_depth=None,
              **({"form_factor": None, "rack_type": None, "airflow": None} if v4 and minor >= 1 else
                 {"type": None, "_name": "W01"}))
    if floorplan:
        add_floorplan(o, site_pk, [p for m, p, _ in o if m == "dcim.rack" and p != 1999])
    if cooling:
        o.add("dcim.coolingsource", 701, site=site_pk, location=10, name="CRAH-N", type="crah", status="active",
              fluid_type="water", cooling_capacity="90.00", tenant=None)
        o.add("dcim.coolingsource", 702, site=site_pk, location=10, name="CRAH-S", type="crah", status="active",
              fluid_type="water", cooling_capacity="90.00", tenant=None)
        o.add("dcim.coolingsource", 703, site=site_pk, location=None, name="Chiller-1", type="chiller",
              status="active", fluid_type="water", cooling_capacity="400.00", tenant=None)
        o.add("dcim.coolingsource", 704, site=site_pk, location=None, name="Tower-1", type="cooling-tower",
              status="active", fluid_type="water", cooling_capacity=None, tenant=None)
    return o


def floorplan_group(rack_pk: int, name: str, cx_px: float, cy_px: float, angle: float,
                    w_px: float = 60.0, h_px: float = 120.0) -> dict:
    """A rack as the floorplan plugin's edit.js saves it: a fabric.js group (origin left/top) holding the
    rack rectangle (origin centre, at the group's centre) and its name text."""
    import math

    # the group's bounding box is the rectangle's; its left/top is the top-left corner turned with it
    a = math.radians(angle)
    dx, dy = -w_px / 2, -h_px / 2
    left = cx_px + dx * math.cos(a) - dy * math.sin(a)
    top = cy_px + dx * math.sin(a) + dy * math.cos(a)
    meta = {"object_type": "rack", "object_id": rack_pk, "object_name": name,
            "object_url": f"/dcim/racks/{rack_pk}/"}
    return {
        "type": "Group", "version": "6.0.2", "originX": "left", "originY": "top", "left": left, "top": top,
        "width": w_px, "height": h_px, "scaleX": 1, "scaleY": 1, "angle": angle, "flipX": False, "flipY": False,
        "custom_meta": meta, "id": rack_pk,
        "objects": [
            {"type": "Rect", "version": "6.0.2", "originX": "center", "originY": "center", "left": 0, "top": 0,
             "width": w_px, "height": h_px, "fill": "#000000", "opacity": 0.8, "angle": 0, "scaleX": 1,
             "scaleY": 1, "name": "rectangle", "custom_meta": dict(meta)},
            {"type": "IText", "version": "6.0.2", "originX": "center", "originY": "center", "left": 0, "top": 0,
             "width": 30, "height": 14, "text": name, "fontSize": 12, "custom_meta": {"text_type": "name"}},
        ],
    }


def add_floorplan(o: Objects, site_pk: int, rack_pks: list[int], width_m: float = 12.0, depth_m: float = 14.4) -> None:
    """A site floor plan (100 px per m) with the racks in rows: row A at 3 m facing north (angle 0),
    row B at 5.4 m facing south (angle 180), row C at 8.4 m facing north; x from 2.4 m."""
    px = 100.0
    objects = [{"type": "Group", "originX": "left", "originY": "top", "left": 0, "top": 0, "width": width_m * px,
                "height": depth_m * px, "angle": 0, "scaleX": 1, "scaleY": 1,
                "custom_meta": {"object_type": "floorplan_boundry"}, "objects": []}]
    for k, pk in enumerate(rack_pks):
        row, i = divmod(k, 8)
        # the rack's centre in metres (y north), drawn with y down from the plan's top edge
        cx = 2.4 + 0.6 * i + 0.3
        cy = {0: 3.0, 1: 5.4, 2: 8.4}.get(row, 8.4 + 3.0 * (row - 2)) + 0.6
        angle = 180.0 if row == 1 else 0.0
        objects.append(floorplan_group(pk, o.get("dcim.rack", pk)["name"], cx * px, (depth_m - cy) * px, angle))
    o.add("netbox_floorplan.floorplan", 1, site=site_pk, location=None, assigned_image=None,
          width=f"{width_m * px:.2f}", height=f"{depth_m * px:.2f}", measurement_unit="m",
          canvas={"version": "6.0.2", "objects": objects}, tags=[])


# --------------------------------------------------------------------------- the three forms


def to_fixture(o: Objects) -> list[dict]:
    return [{"model": m, "pk": pk, "fields": dict(f)} for m, pk, f in o]


def _api_record(o_index: dict, model: str, pk: int, fields: dict) -> dict:
    out: dict[str, Any] = {"id": pk, "url": f"http://netbox.local/api/{API_PATH.get(model, model)}/{pk}/",
                           "display": str(fields.get("name", pk))}
    decimals = DECIMAL_FIELDS | DECIMAL_BY_MODEL.get(model, set())
    for k, v in fields.items():
        if k.startswith("_"):
            continue
        if k == "custom_field_data":
            out["custom_fields"] = dict(v)
        elif k in FK_FIELDS and not (model == "dcim.powerfeed" and k == "cable"):
            if v is None:
                out[k] = None
            else:
                target = o_index.get((k, v), {})
                out[k] = {"id": v, "url": f"http://netbox.local/api/x/{v}/", "display": str(target.get("name", v)),
                          "name": target.get("name")}
        elif k in decimals:
            out[k] = float(v) if isinstance(v, str) else v
        elif k in CHOICE_FIELDS:
            out[k] = None if v is None or v == "" else {"value": v, "label": str(v).title()}
        else:
            out[k] = v
    out.setdefault("custom_fields", {})
    out["tags"] = []
    return out


_FK_MODEL = {"site": "dcim.site", "location": "dcim.location", "parent": "dcim.location", "rack": "dcim.rack",
             "device": "dcim.device", "device_type": "dcim.devicetype", "power_panel": "dcim.powerpanel",
             "rack_type": "dcim.racktype", "group": "dcim.rackgroup", "manufacturer": "dcim.manufacturer"}


def to_api_records(o: Objects) -> dict[str, list[dict]]:
    """API path -> records as NetBox's REST API returns them."""
    by_model = {(m, pk): f for m, pk, f in o}
    index = {(fk, pk): by_model.get((model, pk), {}) for fk, model in _FK_MODEL.items() for (m, pk) in by_model
             if m == model}
    out: dict[str, list[dict]] = {}
    for m, pk, f in o:
        if m not in API_PATH:
            continue
        out.setdefault(API_PATH[m], []).append(_api_record(index, m, pk, f))
    return out


def to_api_pages(records: list[dict], page: int, base: str) -> list[dict]:
    pages = []
    for k in range(0, max(len(records), 1), page):
        nxt = f"{base}?limit={page}&offset={k + page}" if k + page < len(records) else None
        prev = f"{base}?limit={page}&offset={max(k - page, 0)}" if k else None
        pages.append({"count": len(records), "next": nxt, "previous": prev, "results": records[k:k + page]})
    return pages


def write_api_folder(o: Objects, folder: Path, page: int = 7, version: Optional[str] = "3.6.9") -> Path:
    """The API responses saved as files: dcim/racks.json as a list of pages (``page`` per page), ..."""
    for path, recs in to_api_records(o).items():
        f = folder / f"{path}.json"
        f.parent.mkdir(parents=True, exist_ok=True)
        pages = to_api_pages(recs, page, f"http://netbox.local/api/{path}/")
        f.write_text(json.dumps(pages if len(pages) > 1 else pages[0]))
    if version:
        (folder / "status.json").write_text(json.dumps({"netbox-version": version, "django-version": "4.2"}))
    return folder


# --------------------------------------------------------------------------- a local NetBox


class FakeNetBox:
    """A local HTTP server that answers the read-only calls of the importer like NetBox does:
    ``GET /api/`` with the API-Version header, list views with limit/offset pagination (``max_page``
    caps the page like NetBox's MAX_PAGE_SIZE) and ``next`` links, 403 for a wrong token, 404 for
    paths it does not hold. ``requests`` records every path asked for."""

    def __init__(self, o: Objects, token: str = "0123456789abcdef", api_version: str = "3.6",
                 max_page: int = 5):
        self.records = to_api_records(o)
        self.token = token
        self.api_version = api_version
        self.max_page = max_page
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802 - http.server's name
                outer.requests.append(self.path)
                url = urlparse(self.path)
                if self.headers.get("Authorization") != f"Token {outer.token}":
                    return self._send(403, {"detail": "Invalid token"})
                if url.path in ("/api/", "/api"):
                    return self._send(200, {"dcim": "http://x/api/dcim/"})
                if url.path == "/api/status/":
                    return self._send(200, {"netbox-version": outer.api_version + ".0"})
                path = url.path[len("/api/"):].strip("/")
                if path not in outer.records and path not in API_PATH.values():
                    return self._send(404, {"detail": "Not found."})
                recs = outer.records.get(path, [])
                q = parse_qs(url.query)
                limit = min(int(q.get("limit", [outer.max_page])[0]) or outer.max_page, outer.max_page)
                offset = int(q.get("offset", [0])[0])
                base = f"http://{self.headers.get('Host')}/api/{path}/"
                nxt = f"{base}?limit={limit}&offset={offset + limit}" if offset + limit < len(recs) else None
                return self._send(200, {"count": len(recs), "next": nxt, "previous": None,
                                        "results": recs[offset:offset + limit]})

            def _send(self, code: int, body: dict) -> None:
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("API-Version", outer.api_version)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeNetBox":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
