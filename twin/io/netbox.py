"""NetBox -> dctwin layout: halls, rows, racks and their IT power, power panels and feeds, cooling.

:func:`import_netbox` maps one NetBox site (:class:`~dctwin.twin.io.netbox_source.NetBoxData`, from a
dump, saved API pages or a live server) to a validated :class:`~dctwin.twin.model.layout.Site` and an
:class:`~dctwin.twin.io.report.ImportReport`. What NetBox does not hold (where racks stand when no
floor plan or custom field says it, the supply above the power panels, room cooling) is assumed,
marked on the elements (``assumed``) and listed in the report. Every element keeps where it came from
(``external_id = "netbox:dcim.rack:14"``) so a later import updates it (:mod:`dctwin.twin.io.merge`).

NetBox 3.6 and 4.x differ in names: racks have ``type`` (3.6, 4.0) or ``form_factor`` and
``rack_type`` (4.1+), rows are locations or (4.6+) rack groups, cooling sources and feeds exist from
4.7. Both are read.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import defaultdict
from typing import Any, Callable, Optional

from dctwin.twin.errors import LayoutError
from dctwin.twin.io import arrange
from dctwin.twin.io.arrange import natural_key
from dctwin.twin.io.netbox_source import NetBoxData
from dctwin.twin.io.report import ImportReport, SourceError, nb_label
from dctwin.twin.model.layout import MAX_RACK_POWER_W, Chiller, Hall, PowerNode, Rack, Site
from dctwin.twin.model.validate import validate

#: IT power of a device with no power draw anywhere in NetBox, per rack unit it occupies (W)
DEFAULT_W_PER_U = 200.0
#: rack footprint when NetBox gives no outer dimension (m): rail width -> outer width, and depth
RAIL_WIDTH_M = {10: 0.3, 19: 0.6, 21: 0.65, 23: 0.75}
DEFAULT_DEPTH_M = 1.2
#: NetBox's own defaults for a power feed (dcim.constants): 120 V, 20 A, 80 % utilisation
FEED_DEFAULTS = {"voltage": 120, "amperage": 20, "max_utilization": 80}
#: the floorplan plugin draws 100 canvas pixels per metre (its conversion_scale; feet are
#: converted to metres before scaling)
FLOORPLAN_PX_PER_M = 100.0
#: device statuses that draw no power
UNPOWERED_STATUSES = ("offline", "decommissioning", "inventory")
#: a location named like this is a hall (a room of racks); one named like ROW_RE is a row
HALL_RE = re.compile(r"\b(hall|room|suite|white\s*space|data\s*hall|dh\s*\d*|floor|cage)\b", re.I)
ROW_RE = re.compile(r"\b(row|aisle|line|reihe)\b", re.I)
_FACING_WORDS = {"n": "N", "north": "N", "e": "E", "east": "E", "s": "S", "south": "S", "w": "W", "west": "W"}


def _num(v: Any) -> Optional[float]:
    """A number from a record (decimals come as strings in a dump); None when absent or not a number."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


@dataclasses.dataclass
class _RackInfo:
    pk: int
    name: str
    hall_key: Any
    row: str
    rack: Rack
    how: str = "auto"          # floorplan, custom_fields, auto
    reverse_airflow: bool = False


def import_netbox(data: NetBoxData, site_name: Optional[str] = None,
                  progress: Optional[Callable[[str], None]] = None) -> tuple[Site, ImportReport]:
    """One NetBox site as a layout and its report. Raises :class:`SourceError` naming the NetBox object
    when the data cannot be imported; the returned site always passes validation."""
    return _Mapper(data, progress).run(site_name)


class _Mapper:
    def __init__(self, data: NetBoxData, progress: Optional[Callable[[str], None]]):
        self.d = data
        self.say = progress or (lambda _text: None)
        self.report = ImportReport(source=data.source, source_kind=data.source_kind, netbox_version=data.version)
        self.ids = arrange.Ids()
        self.t = {k: data.table(k) for k in ("sites", "locations", "rack_groups", "rack_types", "racks",
                                             "device_types", "devices", "power_ports", "power_port_templates",
                                             "power_panels", "power_feeds", "cooling_sources", "cooling_feeds",
                                             "floorplans")}
        self.site_pk: Any = None
        #: hall key (location pk or None) -> floor plan size (m)
        self.plan_size: dict[Any, tuple[float, float]] = {}

    # ------------------------------------------------------------------ site
    def _pick_site(self, wanted: Optional[str]) -> int:
        sites = self.t["sites"]
        if not sites:
            raise SourceError(f"{self.d.source}: holds no NetBox site (dcim.site)")
        if wanted is None:
            if len(sites) == 1:
                return next(iter(sites))
            names = ", ".join(sorted(str(s.get("name")) for s in sites.values()))
            raise SourceError(f"{self.d.source}: holds {len(sites)} sites ({names}); choose one with --site NAME")
        w = wanted.strip().lower()
        for pk, s in sites.items():
            if str(s.get("name", "")).lower() == w or str(s.get("slug", "")).lower() == w or str(pk) == w:
                return pk
        names = ", ".join(sorted(str(s.get("name")) for s in sites.values()))
        raise SourceError(f"{self.d.source}: no site named {wanted!r} (sites: {names})")

    def run(self, wanted: Optional[str]) -> tuple[Site, ImportReport]:
        site_pk = self.site_pk = self._pick_site(wanted)
        site_rec = self.t["sites"][site_pk]
        site_name = str(site_rec.get("name") or f"site-{site_pk}")
        self.report.site = site_name
        self.say("racks")
        infos = self._racks(site_pk, site_name)
        self.say("devices and their power")
        self._devices(site_pk, infos)
        self.say("positions")
        self._positions(site_pk, infos)
        self.say("power")
        nodes, rack_feeds = self._power(site_pk, infos)
        for info in infos.values():
            feeds = rack_feeds.get(info.pk)
            if feeds:
                info.rack = dataclasses.replace(info.rack, feeds=feeds)
        self.say("halls and cooling")
        halls, chillers = self._halls(site_pk, infos)
        it_kw = sum(i.rack.it_kw for i in infos.values())
        mech_kw = sum(u.fan_power_kw or 0.0 for h in halls for u in h.cooling_units)
        sides = sorted({n.inputs[0][-1] for n in nodes if n.inputs and n.inputs[0].startswith("UPS-")})
        skeleton = arrange.supply_skeleton(it_kw, _mech_kw(mech_kw), sides)
        self.report.assume("utility, generator, ATS, mechanical switchboard and UPS above the power "
                           "panels (not in NetBox): sized for the imported load, UPS 2N with 10 min "
                           "of battery", *[n.id for n in skeleton])
        site = Site(name=site_name, halls=halls, power_nodes=skeleton + nodes, chillers=chillers,
                    description=f"Imported from NetBox site {site_name}")
        self.report.counts.update({
            "halls": len(halls), "racks": len(infos), "devices": self.report.counts.get("devices", 0),
            "power_panels": sum(1 for n in nodes if n.kind == "pdu"),
            "power_feeds": sum(1 for n in nodes if n.kind == "rpp"),
            "cooling_units": sum(len(h.cooling_units) for h in halls), "tiles": sum(len(h.tiles) for h in halls),
            "power_nodes": len(site.power_nodes), "it_kw": round(it_kw, 3),
        })
        issues = validate(site)
        if issues:  # the mapping's promise: never hand out a layout that does not load
            raise LayoutError(issues, f"{self.d.source} (imported site {site_name})")
        return site, self.report

    # ------------------------------------------------------------------ racks
    def _location_chain(self, pk: Optional[int]) -> list[int]:
        out, seen = [], set()
        locs = self.t["locations"]
        while pk is not None and pk in locs and pk not in seen:
            seen.add(pk)
            out.append(pk)
            pk = locs[pk].get("parent")
        return out

    def _hall_of(self, loc: Optional[int]) -> Any:
        for pk in self._location_chain(loc):
            rec = self.t["locations"][pk]
            if HALL_RE.search(str(rec.get("name", ""))) or HALL_RE.search(str(rec.get("slug", "")).replace("-", " ")):
                return pk
        return None

    def _row_of(self, rec: dict[str, Any], hall_loc: Any) -> Optional[str]:
        group = rec.get("group")
        if group is not None and group in self.t["rack_groups"]:
            return str(self.t["rack_groups"][group].get("name") or f"group-{group}")
        for pk in self._location_chain(rec.get("location")):
            if pk == hall_loc:
                break
            name = str(self.t["locations"][pk].get("name", ""))
            if ROW_RE.search(name):
                return name
        return None

    def _racks(self, site_pk: int, site_name: str) -> dict[int, _RackInfo]:
        infos: dict[int, _RackInfo] = {}
        unrowed: list[tuple[int, dict[str, Any], Any]] = []
        for pk, rec in sorted(self.t["racks"].items(), key=lambda kv: natural_key(str(kv[1].get("name", "")))):
            if rec.get("site") is None:
                self.report.skip(nb_label("dcim.rack", pk, rec.get("name")), "a rack without a site")
                continue
            if rec.get("site") != site_pk:
                continue
            name = str(rec.get("name") or f"rack-{pk}")
            hall_key = self._hall_of(rec.get("location"))
            rack = self._rack(pk, rec, name)
            row = self._row_of(rec, hall_key)
            airflow = rec.get("airflow")
            if row is not None:
                rack = dataclasses.replace(rack, row=row)
            info = _RackInfo(pk, name, hall_key, row or "", rack, reverse_airflow=airflow == "rear-to-front")
            if row is None:
                unrowed.append((pk, rec, hall_key))
            infos[pk] = info
        self._infer_rows(infos, unrowed)
        self.report.counts["racks"] = len(infos)
        return infos

    def _infer_rows(self, infos: dict[int, _RackInfo], unrowed: list) -> None:
        """Rows for racks that NetBox puts in none: the letters before a rack name's number (``A01``,
        ``B-07`` -> rows ``A``, ``B``), else runs of 10 racks in name order."""
        if not unrowed:
            return
        by_hall: dict[Any, list[int]] = defaultdict(list)
        for pk, _, hall in unrowed:
            by_hall[hall].append(pk)
        for hall, pks in by_hall.items():
            prefixes = {pk: re.sub(r"[\s\-_.]*\d+\s*$", "", infos[pk].name) for pk in pks}
            use_prefix = 1 < len(set(prefixes.values())) < len(pks) and all(prefixes.values())
            for k, pk in enumerate(pks):
                infos[pk].row = prefixes[pk] if use_prefix else f"{k // 10 + 1:02d}"
            how = "the letters before the number in the rack names" if use_prefix else "runs of 10 racks in name order"
            self.report.assume(f"rows from {how} (no rack group or row location in NetBox)",
                               *[infos[pk].rack.id for pk in pks])
            for pk in pks:
                infos[pk].rack = dataclasses.replace(infos[pk].rack, row=infos[pk].row)

    def _dim(self, rec: dict[str, Any], rtype: dict[str, Any], name: str) -> Optional[float]:
        v = _num(rec.get(name))
        unit = rec.get("outer_unit")
        if v is None and rtype:
            v, unit = _num(rtype.get(name)), rtype.get("outer_unit")
        if v is None:
            return None
        return v * 0.0254 if unit == "in" else v / 1000.0

    def _rack(self, pk: int, rec: dict[str, Any], name: str) -> Rack:
        label = nb_label("dcim.rack", pk, name)
        rtype = self.t["rack_types"].get(rec.get("rack_type"), {}) if rec.get("rack_type") is not None else {}
        assumed = []
        width = self._dim(rec, rtype, "outer_width")
        if width is None:
            rail = _num(rec.get("width")) or _num(rtype.get("width")) or 19
            width = RAIL_WIDTH_M.get(int(rail), 0.6)
            assumed.append("width_m")
        depth = self._dim(rec, rtype, "outer_depth")
        if depth is None:
            depth = DEFAULT_DEPTH_M
            assumed.append("depth_m")
        for what, v in (("outer_width", width), ("outer_depth", depth)):
            if not 0.2 <= v <= 3.0:
                raise SourceError(f"{label}: {what} is {v:g} m, not a rack's (0.2 to 3 m); check it and its "
                                  f"outer_unit in NetBox")
        u = _num(rec.get("u_height")) or _num(rtype.get("u_height")) or 42
        if not 1 <= u <= 100:
            raise SourceError(f"{label}: u_height {u:g} is not a rack's (1 to 100 U)")
        ident = self.ids.make(name, pk)
        rack = Rack(id=ident, width_m=round(width, 4), depth_m=round(depth, 4), height_m=round(u * 0.04445 + 0.2, 3),
                    external_id=f"netbox:dcim.rack:{pk}", assumed=tuple(assumed))
        if "width_m" in assumed:
            self.report.assume(f"rack width from the rail width (19 in -> 0.6 m) where NetBox has no "
                               f"outer_width", ident)
        if "depth_m" in assumed:
            self.report.assume(f"rack depth {DEFAULT_DEPTH_M:g} m where NetBox has no outer_depth", ident)
        return rack

    # ------------------------------------------------------------------ devices
    def _devices(self, site_pk: int, infos: dict[int, _RackInfo]) -> None:
        ports: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for p in self.t["power_ports"].values():
            ports[p.get("device")].append(p)
        templates: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for p in self.t["power_port_templates"].values():
            if p.get("device_type") is not None:
                templates[p.get("device_type")].append(p)
        dtypes = self.t["device_types"]
        watts: dict[int, float] = defaultdict(float)
        defaulted: set[int] = set()
        n_devices = 0
        rp = self.report
        for pk, dev in self.t["devices"].items():
            rack = dev.get("rack")
            if dev.get("site") not in (site_pk, None) and (rack is None or rack not in infos):
                continue  # another site's device
            if rack is None:
                if dev.get("site") == site_pk:
                    rp.skip(nb_label("dcim.device", pk, dev.get("name")), "a device without a rack")
                continue
            if rack not in infos:
                if rack not in self.t["racks"]:
                    rp.skip(nb_label("dcim.device", pk, dev.get("name")), f"its rack {rack} is not in the source")
                continue
            n_devices += 1
            if dev.get("status") in UNPOWERED_STATUSES:
                rp.power_source("not_powered")
                continue
            w, how = _draw(ports.get(pk))
            if how is None:
                w, how = _draw(templates.get(dev.get("device_type")))
                how = "port_template" if how else None
            if how is None:
                u = _num(dtypes.get(dev.get("device_type"), {}).get("u_height"))
                if u is None and dev.get("device_type") not in dtypes:
                    raise SourceError(f"{nb_label('dcim.device', pk, dev.get('name'))}: its device type "
                                      f"{dev.get('device_type')} is not in the source")
                if u and u > 0:
                    w, how = DEFAULT_W_PER_U * u, "default_per_u"
                    defaulted.add(rack)
                else:
                    w, how = 0.0, "no_draw"
            rp.power_source(how)
            watts[rack] += w
        rp.counts["devices"] = n_devices
        for rack_pk, info in infos.items():
            w = watts.get(rack_pk, 0.0)
            if w > MAX_RACK_POWER_W:
                raise SourceError(f"{nb_label('dcim.rack', rack_pk, info.name)}: its devices draw {w / 1e3:g} kW, "
                                  f"more than one rack can (at most {MAX_RACK_POWER_W / 1e3:g} kW); check their "
                                  f"power ports' allocated_draw and maximum_draw (in W)")
            assumed = info.rack.assumed + (("it_kw",) if rack_pk in defaulted else ())
            info.rack = dataclasses.replace(info.rack, it_kw=round(w / 1e3, 6), assumed=assumed)
        hit = [infos[pk].rack.id for pk in infos if pk in defaulted]
        if hit:
            rp.assume(f"IT power of devices with no power draw in NetBox (no allocated_draw or maximum_draw on "
                      f"their power ports or their device type's): {DEFAULT_W_PER_U:g} W per rack unit", *hit)

    # ------------------------------------------------------------------ positions
    def _positions(self, site_pk: int, infos: dict[int, _RackInfo]) -> None:
        plans = self._floorplan_positions(site_pk, infos)
        for pk, info in infos.items():
            label = nb_label("dcim.rack", pk, info.name)
            if pk in plans:
                x, y, facing = plans[pk]
                info.how = "floorplan"
            else:
                got = self._custom_position(self.t["racks"][pk], label)
                if got is None:
                    continue
                x, y, facing = got
                info.how = "custom_fields"
            r = info.rack
            if info.reverse_airflow:
                facing = arrange.opposite(facing)
            placed = dataclasses.replace(r, facing=facing)
            sx, sy = placed.size_xy()
            if info.how == "floorplan":  # the plan gives the centre
                x, y = x - sx / 2, y - sy / 2
            info.rack = dataclasses.replace(placed, x_m=round(x, 6), y_m=round(y, 6))
        reversed_ = [i.rack.id for i in infos.values() if i.reverse_airflow]
        if reversed_:
            self.report.assume("air intake at the rear (NetBox airflow rear-to-front): the rack's front in the "
                               "layout is its NetBox rear", *reversed_)

    def _custom_position(self, rec: dict[str, Any], label: str) -> Optional[tuple[float, float, str]]:
        cf = {str(k).lower(): v for k, v in (rec.get("custom_fields") or {}).items()}
        if cf.get("x_m") is None and cf.get("y_m") is None:
            return None
        x, y = _num(cf.get("x_m")), _num(cf.get("y_m"))
        if x is None or y is None:
            raise SourceError(f"{label}: custom fields x_m and y_m must both be numbers (metres), got "
                              f"x_m={cf.get('x_m')!r}, y_m={cf.get('y_m')!r}")
        raw = cf.get("facing")
        facing = _FACING_WORDS.get(str(raw).strip().lower()) if raw not in (None, "") else "N"
        if facing is None:
            raise SourceError(f"{label}: custom field facing is {raw!r}; use N, E, S or W (where the front looks)")
        return x, y, facing

    def _floorplan_positions(self, site_pk: int, infos: dict[int, _RackInfo]) -> dict[int, tuple[float, float, str]]:
        """Rack centres (m, y north) and facings from the floorplan plugin's canvases of this site."""
        out: dict[int, tuple[float, float, str]] = {}
        site_locs = {pk for pk, loc in self.t["locations"].items() if loc.get("site") == site_pk}
        for pk, plan in sorted(self.t["floorplans"].items()):
            if plan.get("site") != site_pk and plan.get("location") not in site_locs:
                continue
            label = nb_label("netbox_floorplan.floorplan", pk)
            canvas = plan.get("canvas") or {}
            if not isinstance(canvas, dict):
                raise SourceError(f"{label}: its canvas is not a JSON object")
            width_px, height_px = _num(plan.get("width")), _num(plan.get("height"))
            objects = canvas.get("objects") or []
            for obj in objects:
                meta = obj.get("custom_meta") if isinstance(obj, dict) else None
                if isinstance(meta, dict) and meta.get("object_type") == "floorplan_boundry":
                    w, h = _scaled_size(obj)
                    width_px, height_px = width_px or w, height_px or h
            if not height_px:
                raise SourceError(f"{label}: has no height (set the floor plan's dimensions in NetBox)")
            hall_key = self._hall_of(plan.get("location")) if plan.get("location") is not None else None
            self.plan_size[hall_key] = (width_px / FLOORPLAN_PX_PER_M, height_px / FLOORPLAN_PX_PER_M)
            for obj in objects:
                meta = obj.get("custom_meta") if isinstance(obj, dict) else None
                if not isinstance(meta, dict) or meta.get("object_type") != "rack":
                    continue
                try:
                    rack_pk = int(meta.get("object_id"))
                except (TypeError, ValueError):
                    raise SourceError(f"{label}: a rack on its canvas has object_id {meta.get('object_id')!r}, "
                                      f"not a rack id") from None
                if rack_pk not in infos:
                    self.report.skip(f"{label} rack {rack_pk}", "drawn on the floor plan but not a rack of the site")
                    continue
                cx, cy = _rack_centre_px(obj)
                angle = _num(obj.get("angle")) or 0.0
                facing = "NESW"[int(round(angle / 90.0)) % 4]
                out[rack_pk] = (cx / FLOORPLAN_PX_PER_M, height_px / FLOORPLAN_PX_PER_M - cy / FLOORPLAN_PX_PER_M,
                                facing)
        return out

    # ------------------------------------------------------------------ halls
    def _halls(self, site_pk: int, infos: dict[int, _RackInfo]) -> tuple[list[Hall], list[Chiller]]:
        by_hall: dict[Any, list[_RackInfo]] = defaultdict(list)
        for info in infos.values():
            by_hall[info.hall_key].append(info)
        units_by_hall, chillers = self._cooling_sources(site_pk, set(by_hall) or {None})
        self._cooling_feeds(infos)
        keys = sorted(set(by_hall) | set(units_by_hall), key=lambda k: (k is not None, natural_key(self._hall_name(k))))
        halls = []
        for key in keys:
            halls.append(self._hall(key, by_hall.get(key, []), units_by_hall.get(key, [])))
        if not halls:
            raise SourceError(f"{self.d.label('sites', site_pk)}: has no racks to import")
        return halls, chillers

    def _hall_name(self, key: Any) -> str:
        if key is None:
            return str(self.report.site)
        return str(self.t["locations"][key].get("name") or f"location-{key}")

    def _hall(self, key: Any, infos: list[_RackInfo], unit_specs: list[dict]) -> Hall:
        hall_id = self.ids.make(self._hall_name(key), key if key is not None else "site", "")
        ext = f"netbox:dcim.location:{key}" if key is not None else f"netbox:dcim.site:{self.site_pk}"
        for i in infos:
            self.report.placed(i.how, i.rack.id)
        auto_rows: dict[str, list[Rack]] = defaultdict(list)
        for i in infos:
            if i.how == "auto":
                auto_rows[i.row].append(i.rack)
        plan = self.plan_size.get(key) or (self.plan_size.get(None) if len(self.plan_size) == 1 else None)
        return arrange.build_hall(
            hall_id, ext, [i.rack for i in infos if i.how != "auto"],
            sorted(auto_rows.items(), key=lambda kv: natural_key(kv[0])), unit_specs, self.ids, self.report,
            label=lambda r: nb_label("dcim.rack", r.external_id.rsplit(":", 1)[-1], r.id), plan_m=plan,
            source="NetBox")

    # ------------------------------------------------------------------ cooling
    def _cooling_sources(self, site_pk: int, hall_keys: set) -> tuple[dict[Any, list[dict]], list[Chiller]]:
        units: dict[Any, list[dict]] = defaultdict(list)
        chillers: list[Chiller] = []
        default_hall = next(iter(hall_keys)) if len(hall_keys) == 1 else None
        for pk, src in sorted(self.t["cooling_sources"].items()):
            if src.get("site") != site_pk:
                continue
            label = nb_label("dcim.coolingsource", pk, src.get("name"))
            kind = src.get("type")
            cap = _num(src.get("cooling_capacity"))
            ext = f"netbox:dcim.coolingsource:{pk}"
            if kind == "chiller":
                if cap is None or cap <= 0:
                    self.report.skip(label, "a chiller without a cooling capacity")
                    continue
                chillers.append(Chiller(id=self.ids.make(src.get("name"), pk), capacity_kw=cap,
                                        feeds=(arrange.MECH_BOARD,), external_id=ext))
                continue
            if kind not in ("crah", "crac"):
                self.report.skip(label, f"a {kind}: heat rejection outside the hall is not a layout element")
                continue
            hall = self._hall_of(src.get("location")) if src.get("location") is not None else default_hall
            if hall not in hall_keys:
                hall = default_hall
            assumed = ["airflow_m3s"]
            if cap is None or cap <= 0:
                raise SourceError(f"{label}: a {kind} needs its cooling_capacity (kW) to be imported")
            spec = dict(id=self.ids.make(src.get("name"), pk), kind=kind, capacity_kw=cap,
                        airflow_m3s=round(min(max(cap * arrange.UNIT_AIRFLOW_PER_KW, 0.5), 25.0), 3),
                        supply_setpoint_c=18.0, feeds=(arrange.MECH_BOARD,), external_id=ext)
            pos = self._custom_position(src, label)
            if pos is not None:
                spec.update(x_m=pos[0], y_m=pos[1], facing=pos[2])
            else:
                assumed += ["x_m", "y_m", "facing"]
            spec["assumed"] = tuple(assumed)
            units[hall].append(spec)
            self.report.assume("cooling unit airflow from its capacity (0.12 m3/s per kW) and, without x_m/y_m "
                               "custom fields, a place on the hall's perimeter", spec["id"])
        return units, chillers

    def _cooling_feeds(self, infos: dict[int, _RackInfo]) -> None:
        for pk, feed in sorted(self.t["cooling_feeds"].items()):
            rack = feed.get("rack")
            label = nb_label("dcim.coolingfeed", pk, feed.get("name"))
            if rack is None:
                self.report.skip(label, "a cooling feed to no rack")
            elif rack in infos:
                self.report.skip(label, f"liquid loop to rack {infos[rack].rack.id} not modelled: the rack's heat "
                                        f"goes to the room air")

    # ------------------------------------------------------------------ power
    def _power(self, site_pk: int, infos: dict[int, _RackInfo]) -> tuple[list[PowerNode], dict[int, tuple[str, ...]]]:
        panels = {pk: p for pk, p in sorted(self.t["power_panels"].items()) if p.get("site") == site_pk}
        feeds_by_panel: dict[int, list[int]] = defaultdict(list)
        for pk, f in sorted(self.t["power_feeds"].items(), key=lambda kv: natural_key(str(kv[1].get("name")))):
            if f.get("power_panel") in panels:
                feeds_by_panel[f.get("power_panel")].append(pk)
        rack_of_device = {pk: d.get("rack") for pk, d in self.t["devices"].items()}
        port_device = {pk: p.get("device") for pk, p in self.t["power_ports"].items()}
        cabled: dict[int, int] = {}
        for a_ends, b_ends in self.d.cable_links:
            for here, there in ((a_ends, b_ends), (b_ends, a_ends)):
                for model, fid in here:
                    if model == "dcim.powerfeed":
                        for m2, oid in there:
                            if m2 == "dcim.powerport" and rack_of_device.get(port_device.get(oid)) is not None:
                                cabled.setdefault(fid, rack_of_device[port_device[oid]])
        nodes: list[PowerNode] = []
        rack_feeds: dict[int, list[tuple[int, str, str]]] = defaultdict(list)  # rack -> (order, name, node)
        assumed_feeds = []
        for ppk, panel in panels.items():
            plabel = nb_label("dcim.powerpanel", ppk, panel.get("name"))
            feed_nodes = []
            primaries = 0
            for fpk in feeds_by_panel.get(ppk, []):
                f = self.t["power_feeds"][fpk]
                flabel = nb_label("dcim.powerfeed", fpk, f.get("name"))
                rack = f.get("rack") if f.get("rack") is not None else cabled.get(fpk)
                if rack is None:
                    self.report.skip(flabel, "a feed to nothing (no rack, no cable to a racked device)")
                    continue
                if rack not in infos:
                    self.report.skip(flabel, f"feeds rack {rack}, which is not imported")
                    continue
                cap, guessed = _feed_kw(f, flabel)
                ident = self.ids.make(f.get("name"), fpk)
                node = PowerNode(id=ident, kind="rpp", inputs=("",), capacity_kw=round(cap, 3),
                                 external_id=f"netbox:dcim.powerfeed:{fpk}",
                                 assumed=("capacity_kw",) if guessed else ())
                if guessed:
                    assumed_feeds.append(ident)
                feed_nodes.append(node)
                order = 0 if f.get("type", "primary") == "primary" else 1
                primaries += order == 0
                rack_feeds[rack].append((order, str(f.get("name")), ident))
            if not feed_nodes:
                self.report.skip(plabel, "a power panel with no feed to an imported rack")
                continue
            side = "A" if primaries * 2 >= len(feed_nodes) else "B"
            pid = self.ids.make(panel.get("name"), ppk)
            nodes.append(PowerNode(id=pid, kind="pdu", inputs=(f"UPS-{side}",),
                                   capacity_kw=round(sum(n.capacity_kw for n in feed_nodes), 3),
                                   external_id=f"netbox:dcim.powerpanel:{ppk}", assumed=("capacity_kw", "inputs")))
            nodes += [dataclasses.replace(n, inputs=(pid,)) for n in feed_nodes]
        panels_made = [n.id for n in nodes if n.kind == "pdu"]
        if panels_made:
            self.report.assume("power panel capacity = the sum of its feeds' capacities, fed from UPS-A (panels of "
                               "mostly primary feeds) or UPS-B", *panels_made)
        if assumed_feeds:
            self.report.assume(f"power feed voltage, amperage or max utilisation missing: NetBox's defaults "
                               f"({FEED_DEFAULTS['voltage']} V, {FEED_DEFAULTS['amperage']} A, "
                               f"{FEED_DEFAULTS['max_utilization']} %)", *assumed_feeds)
        out: dict[int, tuple[str, ...]] = {}
        for rack, lst in rack_feeds.items():
            lst.sort(key=lambda t: (t[0], natural_key(t[1])))
            primary = [t for t in lst if t[0] == 0]
            redundant = [t for t in lst if t[0] == 1]
            chosen = (primary[:1] + redundant[:1]) if primary and redundant else lst[:2]
            out[rack] = tuple(t[2] for t in chosen)
            for t in lst:
                if t not in chosen:
                    self.report.skip(f"power feed {t[2]}", f"rack {infos[rack].rack.id} has more than an A and a B "
                                                           f"feed; dctwin models two")
        no_feed = [i.rack.id for pk, i in infos.items() if pk not in out]
        if no_feed:
            self.report.assume("no power feed in NetBox: the rack is on no power path (its power is counted "
                               "by no panel or UPS)", *no_feed)
        return nodes, out


def _mech_kw(fan_kw: float) -> float:
    return float(math.ceil(fan_kw * 1.25 + 10))


def _draw(ports: Optional[list[dict[str, Any]]]) -> tuple[float, Optional[str]]:
    """Watts of a device's power ports (or port templates): each port's allocated_draw, else its
    maximum_draw. ("allocated_draw" when every port that has a draw gives allocated, "maximum_draw"
    when some give only the maximum; None when no port gives either.)"""
    total, how = 0.0, None
    for p in ports or ():
        a, m = _num(p.get("allocated_draw")), _num(p.get("maximum_draw"))
        if a is not None and a > 0:
            total += a
            how = how or "allocated_draw"
        elif m is not None and m > 0:
            total += m
            how = "maximum_draw"
    return total, how


def _feed_kw(f: dict[str, Any], label: str) -> tuple[float, bool]:
    """Capacity of a feed (kW): |voltage| x amperage x (sqrt 3 for three-phase) x max_utilization, as
    NetBox's available_power; whether NetBox's defaults had to fill a missing value."""
    guessed = False
    vals = {}
    for name, default in FEED_DEFAULTS.items():
        v = _num(f.get(name))
        if v is None:
            v, guessed = float(default), True
        vals[name] = v
    if vals["amperage"] <= 0 or vals["voltage"] == 0 or not 0 < vals["max_utilization"] <= 100:
        raise SourceError(f"{label}: voltage {vals['voltage']:g} V, amperage {vals['amperage']:g} A and "
                          f"max_utilization {vals['max_utilization']:g} % give no capacity")
    kva = abs(vals["voltage"]) * vals["amperage"] * vals["max_utilization"] / 100.0
    if f.get("phase") == "three-phase":
        kva *= 1.732
    return kva / 1e3, guessed


def _scaled_size(obj: dict[str, Any]) -> tuple[float, float]:
    return ((_num(obj.get("width")) or 0.0) * (_num(obj.get("scaleX")) or 1.0),
            (_num(obj.get("height")) or 0.0) * (_num(obj.get("scaleY")) or 1.0))


_ORIGIN = {"left": 0.0, "top": 0.0, "center": 0.5, "right": 1.0, "bottom": 1.0}


def _rack_centre_px(group: dict[str, Any]) -> tuple[float, float]:
    """Centre (canvas px, y down) of the rack drawn by a fabric.js group: the group's centre from its
    origin point, rotated by its angle, plus the rack rectangle's offset (children sit relative to the
    group's centre)."""
    w, h = _scaled_size(group)
    ox = _ORIGIN.get(str(group.get("originX", "left")), 0.0)
    oy = _ORIGIN.get(str(group.get("originY", "top")), 0.0)
    a = math.radians(_num(group.get("angle")) or 0.0)
    ca, sa = math.cos(a), math.sin(a)
    dx, dy = (0.5 - ox) * w, (0.5 - oy) * h
    cx = (_num(group.get("left")) or 0.0) + dx * ca - dy * sa
    cy = (_num(group.get("top")) or 0.0) + dx * sa + dy * ca
    rect = next((o for o in group.get("objects") or () if isinstance(o, dict) and o.get("type") == "rect"
                 and (o.get("custom_meta") or {}).get("object_type") == "rack"), None)
    if rect is not None:
        sx, sy = _num(group.get("scaleX")) or 1.0, _num(group.get("scaleY")) or 1.0
        rw, rh = _scaled_size(rect)
        rox = _ORIGIN.get(str(rect.get("originX", "left")), 0.0)
        roy = _ORIGIN.get(str(rect.get("originY", "top")), 0.0)
        rx = ((_num(rect.get("left")) or 0.0) + (0.5 - rox) * rw) * sx
        ry = ((_num(rect.get("top")) or 0.0) + (0.5 - roy) * rh) * sy
        cx, cy = cx + rx * ca - ry * sa, cy + rx * sa + ry * ca
    return cx, cy
