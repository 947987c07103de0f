"""Validation of a whole site: every rule, every problem reported together.

Each :class:`~dctwin.twin.model.layout.LayoutIssue` names the element id and the field
and says what is wrong, so a person can find and fix it.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Iterable, Optional

import numpy as np

from dctwin.twin.errors import LayoutIssue
from dctwin.twin.model.layoutfile import finite_number
from dctwin.twin.model.text import (
    MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_PATH_CHARS, id_problem, issue, show, text_problem,
)
from dctwin.twin.model.layout import (
    ASSUMED_EXISTS, ASHRAE_CLASSES, CONTAINMENT_KINDS, COOLING_KINDS, FACINGS, MAX_HALL_SIDE_M, MAX_RACK_POWER_W,
    OBSTRUCTION_KINDS, PLENUM_KINDS, POWER_KINDS, WORKLOAD_KINDS, Containment, CoolingUnit, Element, Grille, Hall,
    Obstruction, PowerNode, Rack, Site, Tile, rack_units,
)

_EPS = 1e-6
#: Power-node kinds a rack or cooling unit can plug into.
FEEDABLE_KINDS = ("ups", "switchboard", "pdu", "rpp")
AIR_COOLING_KINDS = ("crah", "crac", "inrow", "rdhx")
AIRFLOW_CONTROLS = ("fixed", "plenum_pressure", "inlet_target", "return_temperature", "containment_dp")
#: volumetric heat capacity of air for the rack-rise check (J/(m3 K), 1.2 kg/m3 x 1005 J/(kg K))
AIR_RHO_CP_J_PER_M3K = 1.2 * 1005.0
#: smallest open fraction of a perforated tile (real tiles are 10 to 60 % open; a closed tile is no tile)
MIN_TILE_OPEN_FRACTION = 0.05
#: smallest airflow of a cooling unit that moves air at all (m3/s; a small in-row unit moves about 0.5)
MIN_UNIT_AIRFLOW_M3S = 0.05
#: largest air temperature rise across a rack a layout may ask for (K)
MAX_RACK_AIR_RISE_K = 75.0
#: heaviest rack a layout may state (kg): a fully loaded AI rack weighs about 1,400 to 1,600 kg
MAX_RACK_WEIGHT_KG = 5000.0
#: highest floor rating a layout may state (kg/m2): slabs for heavy equipment are rated to a few tonnes
MAX_FLOOR_KG_M2 = 20000.0
#: largest width or depth of a rack and of a cooling unit (m)
_SIDE_MAX_M = {"racks": 3.0, "cooling_units": 10.0}
#: smallest width or depth of a rack (a 10-inch rack is 0.3 m wide) and of a cooling unit (a rear door
#: is 0.15 m deep), and the smallest height of a rack (a 6U wall cabinet is 0.35 m) and of a cooling unit
#: (a low supply box, as the CFD rooms' floor supply of 0.25 m) (m); below them an element is a typo, and one
#: a thousand times too small squeezed its airflow through one cell
_SIDE_MIN_M = {"racks": 0.2, "cooling_units": 0.1}
MIN_ELEMENT_HEIGHT_M = 0.3
_HEIGHT_MIN_M = {"racks": MIN_ELEMENT_HEIGHT_M, "cooling_units": 0.1}
#: smallest side and height of a hall, smallest raised-floor depth, grille and containment side (m)
MIN_HALL_SIDE_M = 1.0
MIN_PLENUM_DEPTH_M = 0.1
MIN_PANEL_SIDE_M = 0.1
#: fastest air through a rack's front (m/s; servers draw 0.5 to 3 m/s): above it the airflow or the
#: rack's size is a typo (a 250 kW air-cooled rack needs 25 m3/s, 21 m/s through a 0.6 x 2 m front)
MAX_RACK_FACE_SPEED_M_S = 10.0
#: fastest air through a cooling unit's front (m/s; a CRAH blows about 2.5 m/s, an in-row unit 3; the CFD
#: rooms' floor supply into the plenum, a 0.6 x 0.25 m box, blows 34 to 53 m/s)
MAX_UNIT_FACE_SPEED_M_S = 60.0
#: fastest mean jet out of a hall's perforated tiles (m/s; real tiles 2 to 10): the plenum's air over
#: their open area (a demo hall's tiles shrunk to 0.1 m blew 200 m/s)
MAX_TILE_JET_M_S = 25.0
#: smallest chiller COP (a chiller moves more heat than it draws; 1e-308 gave NaN loads) and capacity (kW)
MIN_CHILLER_COP = 1.0
MIN_CHILLER_KW = 1.0
#: smallest capacity of a power node other than a utility (kW; the smallest PDU carries about 1 kW)
MIN_NODE_KW = 0.1
#: farthest a power node may be drawn from a hall's corner (m)
MAX_NODE_POSITION_M = 10_000.0
#: most power nodes in a site, most inputs of one node, deepest chain from a source (levels)
MAX_POWER_NODES = 50_000
MAX_NODE_INPUTS = 64
MAX_POWER_DEPTH = 32


class _Checker:
    def __init__(self) -> None:
        self.issues: list[LayoutIssue] = []

    def err(self, el: str, field: str, msg: str) -> None:
        self.issues.append(issue(el, field, msg))

    def between(self, el: str, field: str, value: Optional[float], lo: float, hi: float,
                unit: str = "", lo_open: bool = False) -> None:
        if value is None:
            return
        bad_lo = value <= lo if lo_open else value < lo
        if bad_lo or value > hi:
            lo_s = f"> {lo:g}" if lo_open else f">= {lo:g}"
            self.err(el, field, f"{value:g}{unit} is out of range (must be {lo_s} and <= {hi:g}{unit})")

    def positive(self, el: str, field: str, value: Optional[float], hi: float, unit: str = " m",
                 least: float = 0.0) -> None:
        """``value`` above 0 (and at least ``least``: the smallest that makes physical sense) and at most ``hi``."""
        if value is None:
            return
        if value <= 0:
            self.err(el, field, f"must be positive, got {value:g}{unit}")
        elif value < least:
            self.err(el, field, f"{value:g}{unit} is too small (at least {least:g}{unit})")
        elif value > hi:
            self.err(el, field, f"{value:g}{unit} is absurdly large (at most {hi:g}{unit})")


_FIELD_KINDS: dict[type, list[tuple[str, str, bool]]] = {}


def _field_kinds(cls: type) -> list[tuple[str, str, bool]]:
    """(name, "float"|"bool"|"str"|"strs"|"other", optional) for each field of an element class."""
    kinds = _FIELD_KINDS.get(cls)
    if kinds is None:
        kinds = []
        for name, tp in typing.get_type_hints(cls).items():
            if typing.get_origin(tp) is typing.ClassVar:
                continue
            optional = typing.get_origin(tp) is typing.Union and type(None) in typing.get_args(tp)
            if optional:
                tp = [a for a in typing.get_args(tp) if a is not type(None)][0]
            if tp is float:
                kind = "float"
            elif tp is bool:
                kind = "bool"
            elif tp is str:
                kind = "str"
            elif typing.get_origin(tp) is tuple and typing.get_args(tp) == (str, Ellipsis):
                kind = "strs"
            else:
                kind = "other"
            kinds.append((name, kind, optional))
        _FIELD_KINDS[cls] = kinds
    return kinds


class _Memo:
    """Results of a check that depends on its argument alone, kept for the values seen lately.

    An edit copies the site but shares every element it leaves alone (elements are frozen values), so
    after an edit these checks run for the changed elements only: the editor validates the whole
    layout on every edit, on the GUI thread. Frozen elements are kept by identity (a strong reference
    beside the result, so an id is never taken for another object's), strings by value. At most
    :attr:`LIMIT` entries: then it starts again empty."""

    LIMIT = 200_000

    def __init__(self, key_by_identity: bool):
        self._by_identity = key_by_identity
        self._seen: dict = {}

    def get(self, value: object) -> Optional[tuple]:
        """The result kept for ``value`` (None when there is none)."""
        hit = self._seen.get(id(value) if self._by_identity else value)
        return hit[1] if hit is not None and (not self._by_identity or hit[0] is value) else None

    def put(self, value: object, result: tuple) -> None:
        if len(self._seen) >= self.LIMIT:
            self._seen = {}
        self._seen[id(value) if self._by_identity else value] = (value, result)


#: the type check of each frozen element: (ident, its issues, whether all types are right)
_TYPES_SEEN = _Memo(key_by_identity=True)
#: what is wrong with the spelling of each id (:func:`~dctwin.twin.model.text.id_problem`)
_ID_PROBLEMS = _Memo(key_by_identity=False)


def _check_types(ident: str, obj: object, c: _Checker) -> bool:
    """Every field holds a value of its declared type (numbers finite). Elements made in
    code rather than read from a file can hold anything; the other rules assume types.
    A frozen element's answer is kept (:class:`_Memo`): it changes only with the element."""
    frozen = isinstance(obj, Element)
    if frozen:
        hit = _TYPES_SEEN.get(obj)
        if hit is not None and hit[0] == ident:
            c.issues.extend(hit[1])
            return hit[2]
        mine = _Checker()
        ok = _check_field_types(ident, obj, mine)
        _TYPES_SEEN.put(obj, (ident, tuple(mine.issues), ok))
        c.issues.extend(mine.issues)
        return ok
    return _check_field_types(ident, obj, c)


def _check_field_types(ident: str, obj: object, c: _Checker) -> bool:
    """:func:`_check_types` done field by field."""
    ok = True
    for name, kind, optional in _field_kinds(type(obj)):
        v = getattr(obj, name)
        if v is None:
            if not optional:
                c.err(ident, name, "is required (got None)")
                ok = False
            continue
        if kind == "float":
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                c.err(ident, name, f"must be a number, got {show(v)}")
                ok = False
            elif not finite_number(v):
                c.err(ident, name, f"must be a finite number, got {show(v)}")
                ok = False
        elif kind == "bool" and not isinstance(v, bool):
            c.err(ident, name, f"must be true or false, got {show(v)}")
            ok = False
        elif kind == "str" and not isinstance(v, str):
            c.err(ident, name, f"must be a string, got {show(v)}")
            ok = False
        elif kind == "strs" and not (isinstance(v, (tuple, list)) and all(isinstance(x, str) for x in v)):
            c.err(ident, name, f"must be a list of ids, got {show(v)}")
            ok = False
    return ok


#: most elements of each kind in one hall, and in the whole site: what a run can carry (a hall of 20,000
#: racks at its default grid has 1.5 million air cells; every rack is a consumer of the site's power graph)
MAX_PER_HALL = {"racks": 20_000, "cooling_units": 5_000, "tiles": 100_000, "grilles": 50_000, "containments": 5_000}
MAX_PER_SITE = {"halls": 100, "racks": 100_000, "power_nodes": MAX_POWER_NODES, "chillers": 1_000, "pumps": 1_000,
                "workloads": 10_000}
#: most points of a csv workload given inline (a year at one a minute is 525,600)
MAX_WORKLOAD_POINTS = 1_000_000


def _check_counts(site: Site, c: _Checker) -> bool:
    """Element counts within :data:`MAX_PER_HALL` and :data:`MAX_PER_SITE`; False (and an issue each)
    when some are not, and the rest of the checks would only spend time on a layout no run can carry."""
    ok = True
    for hall in site.halls:
        for name, limit in MAX_PER_HALL.items():
            n = len(getattr(hall, name))
            if n > limit:
                c.err(hall.id if isinstance(hall.id, str) else "hall", name, f"{n:,} {name.replace('_', ' ')} in "
                                                                              f"one hall; at most {limit:,}")
                ok = False
    counts = {"halls": len(site.halls), "racks": sum(len(h.racks) for h in site.halls)}
    counts.update({name: len(getattr(site, name)) for name in Site.SITE_COLLECTIONS})
    for name, limit in MAX_PER_SITE.items():
        if counts[name] > limit:
            c.err("layout", name, f"{counts[name]:,} {name.replace('_', ' ')} in the site; at most {limit:,}")
            ok = False
    return ok


def validate(site: Site) -> list[LayoutIssue]:
    """Every problem in ``site`` (empty list when it is valid)."""
    c = _Checker()
    if not _check_counts(site, c):
        return c.issues
    _check_ids(site, c)
    _check_names(site, c)
    typed = True
    for hall in site.halls:
        typed &= _check_types(hall.id if isinstance(hall.id, str) else "hall", hall, c)
    for _, _, _, el in site.iter_elements():
        typed &= _check_types(el.id if isinstance(el.id, str) else el.COLLECTION, el, c)
    p = site.plant
    typed &= _check_types("plant", p, c)
    for sub in ("storage_tank", "economizer", "outdoor"):
        obj = getattr(p, sub)
        if obj is not None:
            typed &= _check_types(f"plant.{sub}", obj, c)
        elif sub != "storage_tank":
            c.err("plant", sub, "is required (got None)")
            typed = False
    if not typed:
        return c.issues  # the remaining rules compare numbers; they need the right types
    _check_provenance(site, c)
    nodes = {n.id: n for n in site.power_nodes}
    units = {u.id: u for h in site.halls for u in h.cooling_units}
    racks = {r.id: r for h in site.halls for r in h.racks}
    workloads = {w.id for w in site.workloads}
    if not site.halls:
        c.err("layout", "halls", "the site has no hall")
    for hall in site.halls:
        _check_hall(hall, c)
        for rack in hall.racks:
            _check_rack(hall, rack, nodes, units, workloads, c)
        for unit in hall.cooling_units:
            _check_unit(hall, unit, nodes, racks, c)
        for tile in hall.tiles:
            _check_tile(hall, tile, c)
        _check_tile_jets(hall, c)
        for grille in hall.grilles:
            _check_grille(hall, grille, c)
        for zone in hall.containments:
            _check_containment(hall, zone, c)
        for ob in hall.obstructions:
            _check_obstruction(hall, ob, c)
        _check_overlaps(hall, c)
    _check_power(site, nodes, c)
    _check_power_positions(site, c)
    for ch in site.chillers:
        c.positive(ch.id, "capacity_kw", ch.capacity_kw, 50e3, " kW", least=MIN_CHILLER_KW)
        c.between(ch.id, "cop", ch.cop, MIN_CHILLER_COP, 30.0)
        c.between(ch.id, "restart_delay_s", ch.restart_delay_s, 0.0, 7200.0, " s")
        if ch.kind not in ("water_cooled", "air_cooled"):
            c.err(ch.id, "kind", f"unknown chiller kind {show(ch.kind)} (water_cooled or air_cooled)")
        _check_feeds(ch.id, ch.feeds, nodes, c)
    for p in site.pumps:
        c.between(p.id, "power_kw", p.power_kw, 0.0, 5000.0, " kW")
        c.between(p.id, "flow_m3s", p.flow_m3s, 0.0, 50.0, " m3/s")
        if p.loop not in ("chw", "cw", "tcs"):
            c.err(p.id, "loop", f"unknown loop {show(p.loop)} (chw, cw or tcs)")
        _check_feeds(p.id, p.feeds, nodes, c)
    for w in site.workloads:
        _check_workload(w, c)
    _check_plant(site, c)
    return c.issues


#: longest ``external_id`` (NetBox's longest names are 100 characters; a model and a number go before)
MAX_EXTERNAL_ID_CHARS = 200


def _check_provenance(site: Site, c: _Checker) -> None:
    """``external_id`` is printable text, unique within the site; ``assumed`` names fields of the element
    (or ``"exists"``), each once."""
    seen: dict[str, str] = {}
    for obj in [*site.halls, *(el for _, _, _, el in site.iter_elements())]:
        ext = obj.external_id
        if ext is not None:
            if not ext.strip() or text_problem(ext, MAX_EXTERNAL_ID_CHARS):
                c.err(obj.id, "external_id", f"must be 1 to {MAX_EXTERNAL_ID_CHARS} printable characters, "
                                             f"got {show(ext)}")
            elif ext in seen:
                c.err(obj.id, "external_id", f"{show(ext)} is also the external id of {seen[ext]}")
            else:
                seen[ext] = obj.id
        if obj.assumed:
            names = {f.name for f in dataclasses.fields(obj)} - {"id", "external_id", "assumed"}
            bad = [a for a in obj.assumed if a not in names and a != ASSUMED_EXISTS]
            if bad:
                c.err(obj.id, "assumed", f"names no field of a {type(obj).__name__.lower()}: "
                                         f"{', '.join(map(show, bad))} (a field name, or {ASSUMED_EXISTS!r})")
            if len(set(obj.assumed)) != len(obj.assumed):
                c.err(obj.id, "assumed", "names a field twice")


def _check_ids(site: Site, c: _Checker) -> None:
    """Every id (halls too) a bounded, printable, visible identifier (:func:`~dctwin.twin.model.text.id_problem`),
    used once in the site; every rack's row an identifier too."""
    seen: dict[str, str] = {}
    items: list[tuple[str, str]] = [(h.id, "hall") for h in site.halls]
    items += [(el.id, coll) for _, coll, _, el in site.iter_elements()]
    for ident, coll in items:
        problem = _id_problem(ident)
        if problem:
            c.err(ident if isinstance(ident, str) and ident.strip() else coll, "id", problem)
            if not isinstance(ident, str):
                continue
        if ident in seen:
            c.err(ident, "id", f"duplicate id (also used by a {seen[ident]} element)")
        else:
            seen[ident] = coll
    for hall in site.halls:
        for r in hall.racks:
            if isinstance(r.row, str):
                problem = _id_problem(r.row, "a row")
                if problem:
                    c.err(r.id, "row", problem)


def _id_problem(ident: object, what: str = "an id") -> str:
    """:func:`~dctwin.twin.model.text.id_problem` of ``ident``, kept for string ids (:class:`_Memo`)."""
    if type(ident) is not str:
        return id_problem(ident, what)
    hit = _ID_PROBLEMS.get((what, ident))
    if hit is None:
        hit = (id_problem(ident, what),)
        _ID_PROBLEMS.put((what, ident), hit)
    return hit[0]


def _check_names(site: Site, c: _Checker) -> None:
    """The site's name and description: bounded, printable free text (the description may hold line breaks)."""
    for field_name, text, limit, multiline in (("name", site.name, MAX_NAME_CHARS, False),
                                               ("description", site.description, MAX_DESCRIPTION_CHARS, True)):
        if isinstance(text, str):  # a wrong type is reported by the type check
            problem = text_problem(text, limit, multiline)
            if problem:
                c.err("layout", field_name, problem)


def _check_hall(h: Hall, c: _Checker) -> None:
    c.positive(h.id, "width_m", h.width_m, MAX_HALL_SIDE_M, least=MIN_HALL_SIDE_M)
    c.positive(h.id, "depth_m", h.depth_m, MAX_HALL_SIDE_M, least=MIN_HALL_SIDE_M)
    c.positive(h.id, "height_m", h.height_m, 30.0, least=MIN_HALL_SIDE_M)
    c.between(h.id, "tile_m", h.tile_m, 0.1, 2.0, " m")
    if h.plenum not in PLENUM_KINDS:
        c.err(h.id, "plenum", f"unknown plenum {show(h.plenum)} (raised_floor or none)")
    if h.plenum == "raised_floor":
        c.positive(h.id, "plenum_depth_m", h.plenum_depth_m, 5.0, least=MIN_PLENUM_DEPTH_M)
    c.between(h.id, "supply_c", h.supply_c, 5.0, 35.0, " °C")
    c.between(h.id, "leakage_fraction", h.leakage_fraction, 0.0, 0.5)
    if h.grid_m is not None:
        c.between(h.id, "grid_m", h.grid_m, 0.05, 3.0, " m")
    c.positive(h.id, "floor_kg_m2", h.floor_kg_m2, MAX_FLOOR_KG_M2, " kg/m2")
    # one issue for the hall, not one per tile: switching the plenum off is one mistake
    if h.tiles and h.plenum != "raised_floor":
        c.err(h.id, "plenum", f"is {show(h.plenum)}, but {_some(h.tiles)} perforated tile(s) need a raised floor "
                              f"(plenum \"raised_floor\"); remove the tiles or raise the floor")
    if h.grilles and not h.ceiling_return:
        c.err(h.id, "ceiling_return", f"is false, but {_some(h.grilles)} return grille(s) need a ceiling "
                                      f"return; remove the grilles or set ceiling_return true")


def _some(elements: list) -> str:
    ids = [e.id for e in elements[:3]]
    more = f" and {len(elements) - 3} more" if len(elements) > 3 else ""
    return f"{len(elements)} ({', '.join(ids)}{more})"


def _outside(hall: Hall, fp: tuple[float, float, float, float]) -> bool:
    """Whether a footprint (x0, y0, x1, y1) reaches past the hall's walls."""
    x0, y0, x1, y1 = fp
    return x0 < -_EPS or y0 < -_EPS or x1 > hall.width_m + _EPS or y1 > hall.depth_m + _EPS


def _inside(hall: Hall, el: Element, c: _Checker) -> None:
    x0, y0, x1, y1 = hall.footprint(el)
    if _outside(hall, (x0, y0, x1, y1)):
        c.err(el.id, "x_m" if (x0 < -_EPS or x1 > hall.width_m + _EPS) else "y_m",
              f"footprint x {x0:g}..{x1:g} m, y {y0:g}..{y1:g} m lies outside hall {hall.id} "
              f"(0..{hall.width_m:g} by 0..{hall.depth_m:g} m)")


def _check_facing(el: Element, facing: str, c: _Checker) -> bool:
    if facing not in FACINGS:
        c.err(el.id, "facing", f"must be one of N, E, S, W, got {show(facing)}")
        return False
    return True


def _check_standing(hall: Hall, el: Rack | CoolingUnit, side_max_m: float, height_max_m: float,
                    c: _Checker) -> bool:
    """Facing, footprint and height of something that stands in the hall; whether its facing is valid."""
    ok = _check_facing(el, el.facing, c)
    least = _SIDE_MIN_M[el.COLLECTION]
    c.positive(el.id, "width_m", el.width_m, side_max_m, least=least)
    c.positive(el.id, "depth_m", el.depth_m, side_max_m, least=least)
    c.positive(el.id, "height_m", el.height_m, height_max_m, least=_HEIGHT_MIN_M[el.COLLECTION])
    if el.height_m > hall.height_m + _EPS:
        c.err(el.id, "height_m", f"{el.height_m:g} m is taller than hall {hall.id} ({hall.height_m:g} m)")
    return ok


def _check_feeds(ident: str, feeds: Iterable[str], nodes: dict[str, PowerNode], c: _Checker,
                 max_feeds: int = 2) -> None:
    feeds = list(feeds)
    if len(feeds) > max_feeds:
        c.err(ident, "feeds", f"at most {max_feeds} feeds (A and B), got {len(feeds):,}")
        return  # one issue, not one per feed of a list of a million
    if len(set(feeds)) != len(feeds):
        c.err(ident, "feeds", "the same power node is given twice")
    for k, f in enumerate(feeds):
        label = "AB"[k] if k < 2 else str(k)
        node = nodes.get(f)
        if node is None:
            c.err(ident, "feeds", f"feed {label} names power node {show(f)}, which does not exist")
        elif node.kind not in FEEDABLE_KINDS:
            c.err(ident, "feeds", f"feed {label} is {show(f)}, a {node.kind}; loads plug into a "
                                  f"{', '.join(FEEDABLE_KINDS)}")


def _check_face_speed(el: Rack | CoolingUnit, q_m3s: float, what: str, field: str, limit: float, usual: str,
                      c: _Checker) -> None:
    """The air an element moves, through its front (width x height), at most ``limit`` m/s."""
    if el.width_m >= _SIDE_MIN_M[el.COLLECTION] and el.height_m >= _HEIGHT_MIN_M[el.COLLECTION] and q_m3s > 0:
        speed = q_m3s / (el.width_m * el.height_m)
        if speed > limit:
            c.err(el.id, field, f"{what} through its {el.width_m:g} x {el.height_m:g} m front is {speed:.3g} m/s "
                                f"(at most {limit:g} m/s; {usual})")


def _check_rack(hall: Hall, r: Rack, nodes: dict[str, PowerNode], units: dict[str, CoolingUnit],
                workloads: set[str], c: _Checker) -> None:
    ok = _check_standing(hall, r, _SIDE_MAX_M["racks"], 5.0, c)
    if r.it_kw < 0:
        c.err(r.id, "it_kw", f"must not be negative, got {r.it_kw:g} kW")
    elif r.it_kw * 1e3 > MAX_RACK_POWER_W:
        c.err(r.id, "it_kw", f"{r.it_kw:g} kW is absurd for one rack (at most {MAX_RACK_POWER_W / 1e3:g} kW)")
    c.between(r.id, "liquid_fraction", r.liquid_fraction, 0.0, 1.0)
    if r.airflow_m3s is not None:
        c.between(r.id, "airflow_m3s", r.airflow_m3s, 0.0, 30.0, " m3/s")
    air_heat = max(r.it_kw, 0.0) * (1.0 - min(max(r.liquid_fraction, 0.0), 1.0))
    if air_heat > 0 and r.design_airflow_m3s <= 0:
        c.err(r.id, "airflow_m3s", f"rack puts {air_heat:g} kW into the air but has no airflow")
    elif air_heat > 0:
        rise_k = air_heat * 1e3 / (AIR_RHO_CP_J_PER_M3K * r.design_airflow_m3s)
        if rise_k > MAX_RACK_AIR_RISE_K:
            # a few litres a second through a 60 kW rack: an air rise of thousands of kelvin, no steady state
            c.err(r.id, "airflow_m3s", f"{r.design_airflow_m3s:g} m3/s carrying {air_heat:g} kW heats the air by "
                                       f"{rise_k:.3g} K across the rack (at most {MAX_RACK_AIR_RISE_K:g} K; "
                                       f"servers run at 10 to 25 K)")
    if air_heat > 0 or r.airflow_m3s:
        what = (f"{r.design_airflow_m3s:g} m3/s" if r.airflow_m3s is not None
                else f"its default airflow for {air_heat:g} kW ({r.design_airflow_m3s:g} m3/s)")
        _check_face_speed(r, r.design_airflow_m3s, what, "airflow_m3s" if r.airflow_m3s is not None else "it_kw",
                          MAX_RACK_FACE_SPEED_M_S, "servers draw 0.5 to 3 m/s", c)
    _check_feeds(r.id, r.feeds, nodes, c)
    if r.workload is not None and r.workload not in workloads:
        c.err(r.id, "workload", f"names workload {show(r.workload)}, which does not exist")
    if r.cdu is not None:
        u = units.get(r.cdu)
        if u is None or u.kind != "cdu":
            c.err(r.id, "cdu", f"names {show(r.cdu)}, which is not a CDU of this site")
    if r.fan_fraction is not None:
        c.between(r.id, "fan_fraction", r.fan_fraction, 0.0, 0.9)
    if r.thermal_mass_kj_per_k is not None:
        c.between(r.id, "thermal_mass_kj_per_k", r.thermal_mass_kj_per_k, 0.0, 1e5, " kJ/K")
    _check_open_u(r, c)
    if r.ashrae_class not in ASHRAE_CLASSES:
        c.err(r.id, "ashrae_class", f"unknown class {show(r.ashrae_class)} ({', '.join(ASHRAE_CLASSES)})")
    c.positive(r.id, "weight_kg", r.weight_kg, MAX_RACK_WEIGHT_KG, " kg")
    if ok and r.width_m > 0 and r.depth_m > 0:
        _inside(hall, r, c)


def _check_open_u(r: Rack, c: _Checker) -> None:
    """``open_u``: at least 0 and at most the rack units the rack holds (42 in a 2.0 m rack)."""
    if r.open_u < 0:
        c.err(r.id, "open_u", f"must not be negative, got {r.open_u:g} U (0 = every empty unit has its blanking panel)")
        return
    units = rack_units(r.height_m)
    if r.open_u > units:
        c.err(r.id, "open_u", f"{r.open_u:g} U without blanking panels is more than the {units} U a "
                              f"{r.height_m:g} m rack holds")


def _check_unit(hall: Hall, u: CoolingUnit, nodes: dict[str, PowerNode], racks: dict[str, Rack],
                c: _Checker) -> None:
    if u.kind not in COOLING_KINDS:
        c.err(u.id, "kind", f"unknown cooling unit kind {show(u.kind)} ({', '.join(COOLING_KINDS)})")
    ok = _check_standing(hall, u, _SIDE_MAX_M["cooling_units"], 10.0, c)
    c.between(u.id, "airflow_m3s", u.airflow_m3s, 0.0, 60.0, " m3/s")
    if u.kind in AIR_COOLING_KINDS and u.airflow_m3s <= 0 and u.capacity_kw > 0:
        c.err(u.id, "airflow_m3s", f"a {u.kind} with {u.capacity_kw:g} kW capacity needs airflow")
    elif u.kind in AIR_COOLING_KINDS and 0 < u.airflow_m3s < MIN_UNIT_AIRFLOW_M3S:
        # a trickle of air that can carry no heat away: the steady solve ran for minutes without an answer
        c.err(u.id, "airflow_m3s", f"{u.airflow_m3s:g} m3/s is too little for a {u.kind} (at least "
                                   f"{MIN_UNIT_AIRFLOW_M3S:g} m3/s, or 0 for a unit that moves no air)")
    if u.kind in AIR_COOLING_KINDS and u.kind != "rdhx":
        _check_face_speed(u, u.airflow_m3s, f"{u.airflow_m3s:g} m3/s", "airflow_m3s", MAX_UNIT_FACE_SPEED_M_S,
                          "a CRAH blows about 2.5 m/s", c)
    c.between(u.id, "capacity_kw", u.capacity_kw, 0.0, 5000.0, " kW")
    c.between(u.id, "supply_setpoint_c", u.supply_setpoint_c, 5.0, 45.0, " °C")
    if u.fan_power_kw is not None:
        c.between(u.id, "fan_power_kw", u.fan_power_kw, 0.0, 200.0, " kW")
    if u.airflow_control not in AIRFLOW_CONTROLS:
        c.err(u.id, "airflow_control", f"unknown control {show(u.airflow_control)} ({', '.join(AIRFLOW_CONTROLS)})")
    elif u.airflow_control == "containment_dp" and u.kind != "inrow":
        c.err(u.id, "airflow_control", f"containment_dp is for in-row units, not a {u.kind}")
    if u.return_target_c is not None:
        c.between(u.id, "return_target_c", u.return_target_c, 10.0, 60.0, " C")
    if u.dp_target_pa is not None:
        c.between(u.id, "dp_target_pa", u.dp_target_pa, -50.0, 50.0, " Pa")
    _check_feeds(u.id, u.feeds, nodes, c)
    if u.kind == "rdhx":
        if u.rack is None:
            c.err(u.id, "rack", "a rear-door heat exchanger must name the rack it is mounted on")
        elif u.rack not in racks:
            c.err(u.id, "rack", f"names rack {show(u.rack)}, which does not exist")
    elif u.rack is not None:
        c.err(u.id, "rack", f"only a rear-door heat exchanger (rdhx) is mounted on a rack, not a {u.kind}")
    if u.kind in ("crah", "crac") and hall.plenum == "none" and hall.ceiling_return is False:
        pass  # a room unit that blows through its front and breathes through its top: fine
    if ok and u.width_m > 0 and u.depth_m > 0:
        _inside(hall, u, c)


def _check_tile(hall: Hall, t: Tile, c: _Checker) -> None:
    # below a few per cent the tile's loss coefficient (~1/f^2) makes the plenum solve crawl for minutes
    c.between(t.id, "open_fraction", t.open_fraction, MIN_TILE_OPEN_FRACTION, 1.0)
    if t.size_m is not None:
        c.between(t.id, "size_m", t.size_m, 0.1, 2.0, " m")
    _inside(hall, t, c)


def _check_tile_jets(hall: Hall, c: _Checker) -> None:
    """The air the raised floor's units blow into the plenum leaves through the tiles' open area no faster
    than :data:`MAX_TILE_JET_M_S` (mean over the tiles; the flow divides about in proportion to open area)."""
    if hall.plenum != "raised_floor" or not hall.tiles:
        return
    plenum_q = sum(u.airflow_m3s for u in hall.cooling_units if u.kind in ("crah", "crac") and u.airflow_m3s > 0)
    out_q = plenum_q * (1.0 - min(max(hall.leakage_fraction, 0.0), 1.0))
    open_m2 = sum(hall.tile_size(t) ** 2 * t.open_fraction for t in hall.tiles
                  if 0 < hall.tile_size(t) and 0 < t.open_fraction <= 1)
    if open_m2 > 0 and out_q / open_m2 > MAX_TILE_JET_M_S:
        c.err(hall.id, "tiles", f"the units blow {out_q:.3g} m3/s through {_some(hall.tiles)} tiles of "
                                f"{open_m2:.3g} m2 open area: jets of {out_q / open_m2:.3g} m/s (at most "
                                f"{MAX_TILE_JET_M_S:g} m/s; real tiles 2 to 10); add tiles, open them more or "
                                f"give them their real size")


def _check_grille(hall: Hall, g: Grille, c: _Checker) -> None:
    c.positive(g.id, "width_m", g.width_m, 50.0, least=MIN_PANEL_SIDE_M)
    c.positive(g.id, "depth_m", g.depth_m, 50.0, least=MIN_PANEL_SIDE_M)
    if g.width_m > 0 and g.depth_m > 0:
        _inside(hall, g, c)


def _check_containment(hall: Hall, z: Containment, c: _Checker) -> None:
    if z.kind not in CONTAINMENT_KINDS:
        c.err(z.id, "kind", f"unknown containment kind {show(z.kind)} (hot or cold)")
    _check_box(hall, z, c)
    if z.door_gap_m2 is not None:
        c.between(z.id, "door_gap_m2", z.door_gap_m2, 0.0, 5.0, " m2")
    if z.roof_gap_m2 is not None:
        c.between(z.id, "roof_gap_m2", z.roof_gap_m2, 0.0, 50.0, " m2")


def _check_obstruction(hall: Hall, ob: Obstruction, c: _Checker) -> None:
    if ob.kind not in OBSTRUCTION_KINDS:
        c.err(ob.id, "kind", f"unknown obstruction kind {show(ob.kind)} ({', '.join(OBSTRUCTION_KINDS)})")
    _check_box(hall, ob, c)


def _check_box(hall: Hall, el: Containment | Obstruction, c: _Checker) -> None:
    """Size, height (None: to the ceiling) and place of a rectangle drawn on the floor."""
    c.positive(el.id, "width_m", el.width_m, MAX_HALL_SIDE_M, least=MIN_PANEL_SIDE_M)
    c.positive(el.id, "depth_m", el.depth_m, MAX_HALL_SIDE_M, least=MIN_PANEL_SIDE_M)
    if el.height_m is not None:
        c.between(el.id, "height_m", el.height_m, MIN_ELEMENT_HEIGHT_M, hall.height_m, " m")
    if el.width_m > 0 and el.depth_m > 0:
        _inside(hall, el, c)


def _check_power_positions(site: Site, c: _Checker) -> None:
    """A power node on a floor: both coordinates, a hall that exists, inside its walls."""
    halls = {h.id: h for h in site.halls}
    for n in site.power_nodes:
        if (n.x_m is None) != (n.y_m is None):
            c.err(n.id, "x_m" if n.x_m is None else "y_m", "a position on the floor needs both x_m and y_m")
            continue
        if not n.on_floor:
            if n.hall is not None:
                c.err(n.id, "hall", "names a hall but has no position on its floor (give x_m and y_m)")
            continue
        hall = halls.get(n.hall) if n.hall is not None else (site.halls[0] if site.halls else None)
        if hall is None:
            c.err(n.id, "hall", f"names hall {show(n.hall)}, which does not exist" if n.hall is not None
                  else "stands on a floor, but the site has no hall")
            continue
        _inside(hall, n, c)


def floor_kind(el: Element) -> str:
    """How an element takes floor: "solid" (a rack, a cooling unit standing on the floor, a column or
    wall), "tile" (a perforated tile), or "" (shares the floor with anything: a rear door on its rack, a
    ceiling grille, a contained aisle, a power node's mark). Two elements that both take floor must not
    overlap."""
    if isinstance(el, (Rack, Obstruction)) or (isinstance(el, CoolingUnit) and el.kind != "rdhx"):
        return "solid"
    return "tile" if isinstance(el, Tile) else ""


def _check_overlaps(hall: Hall, c: _Checker) -> None:
    """Solid footprints must not overlap; tiles must not overlap each other or lie under solids."""
    # elements whose size is already reported as wrong stay out: they would only add noise
    solids = [(el, el.footprint()) for el in (*hall.racks, *hall.cooling_units)
              if floor_kind(el) == "solid" and el.facing in FACINGS
              and 0 < el.width_m <= _SIDE_MAX_M[el.COLLECTION] and 0 < el.depth_m <= _SIDE_MAX_M[el.COLLECTION]]
    solids += [(ob, ob.footprint()) for ob in hall.obstructions
               if 0 < ob.width_m <= MAX_HALL_SIDE_M and 0 < ob.depth_m <= MAX_HALL_SIDE_M]
    _pairwise(solids, solids, c, "overlaps", same=True, hall=hall)
    tiles = [(t, hall.footprint(t)) for t in hall.tiles if hall.tile_size(t) > 0]
    _pairwise(tiles, tiles, c, "overlaps tile", same=True, hall=hall)
    _pairwise(tiles, solids, c, "lies under", same=False, hall=hall)


# --------------------------------------------------------------------------- placement


def placement_problem(hall: Hall, elements: Iterable[Element], ignore: Iterable[str] = ()) -> str:
    """Why ``elements`` cannot stand where they are in ``hall`` ("" when they can).

    The rule the editor checks while something is dragged, dropped, nudged or pasted (the model
    validates everything again when the edit is applied): inside the walls; perforated tiles only
    on a raised floor, return grilles only under a ceiling return; nothing that takes floor (see
    :func:`floor_kind`) on anything else that does. Elements of ``ignore`` (the ones being moved)
    are not in the way. The reason names the element (its kind when it has no id yet).
    """
    return FloorIndex(hall).problem(elements, ignore)


class FloorIndex:
    """The floor of one hall as a grid of cells, for many placement questions about it (a drag
    asks for every tile of the hall). Build it again after the hall changes."""

    def __init__(self, hall: Hall, cell_m: float = 2.4):
        self.hall = hall
        self.cell_m = cell_m
        self._taken: list[tuple[Element, tuple[float, float, float, float]]] = []
        self._cells: dict[tuple[int, int], list[int]] = {}
        self._big: list[int] = []  # spanning more cells than is worth listing: always a candidate
        for el in hall.elements():
            if floor_kind(el):
                fp = hall.footprint(el)
                k = len(self._taken)
                self._taken.append((el, fp))
                cells = self._cells_of(fp)
                if cells is None:
                    self._big.append(k)
                for cell in cells or ():
                    self._cells.setdefault(cell, []).append(k)

    #: a footprint over more cells than this is compared with everything instead
    _MAX_CELLS = 64

    def _cells_of(self, fp: tuple[float, float, float, float]) -> Optional[list[tuple[int, int]]]:
        c = self.cell_m
        i0, j0, i1, j1 = (math.floor(v / c) for v in fp)
        if (i1 - i0 + 1) * (j1 - j0 + 1) > self._MAX_CELLS:
            return None
        return [(i, j) for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)]

    def _near(self, fp: tuple[float, float, float, float]) -> list[int]:
        """Indices of the elements that may overlap ``fp``, in hall order."""
        cells = self._cells_of(fp)
        if cells is None:
            return list(range(len(self._taken)))
        return sorted({k for cell in cells for k in self._cells.get(cell, ())}.union(self._big))

    def problem(self, elements: Iterable[Element], ignore: Iterable[str] = ()) -> str:
        """See :func:`placement_problem`."""
        hall = self.hall
        ignore = set(ignore)
        for el in elements:
            fp = hall.footprint(el)
            name = el.id or type(el).__name__.lower()
            if _outside(hall, fp):
                return (f"{name} would lie outside hall {hall.id} ({footprint_text(fp)}; the hall is "
                        f"0..{hall.width_m:g} by 0..{hall.depth_m:g} m)")
            if isinstance(el, Tile) and hall.plenum != "raised_floor":
                return f"hall {hall.id} has no raised floor, so it takes no perforated tiles"
            if isinstance(el, Grille) and not hall.ceiling_return:
                return f"hall {hall.id} has no ceiling return, so it takes no return grilles"
            if not floor_kind(el):
                continue
            for k in self._near(fp):
                other, ofp = self._taken[k]
                if other.id in ignore or not _overlap(fp, ofp):
                    continue
                if isinstance(other, Tile) and not isinstance(el, Tile):
                    return f"{name} would stand on tile {other.id}"
                what = "lie on" if isinstance(el, Tile) and not isinstance(other, Tile) else "overlap"
                return f"{name} would {what} {other.id} ({footprint_text(ofp)})"
        return ""


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Whether the interiors of two footprints overlap by more than the tolerance."""
    return (min(a[2], b[2]) - max(a[0], b[0]) > _EPS) and (min(a[3], b[3]) - max(a[1], b[1]) > _EPS)


def footprint_text(fp: tuple[float, float, float, float]) -> str:
    """A footprint (x0, y0, x1, y1) in words: ``x 1.2..1.8 m, y 0..1.2 m``."""
    return f"x {fp[0]:g}..{fp[2]:g} m, y {fp[1]:g}..{fp[3]:g} m"


def _pairwise(a_items, b_items, c: _Checker, verb: str, same: bool, cell: float = 2.0,
              hall: Optional[Hall] = None) -> None:
    """Report every overlapping pair of footprints, A's element named first."""
    if not a_items or not b_items:
        return
    a = np.array([fp for _, fp in a_items], dtype=np.float64).reshape(-1, 4)
    b = None if same else np.array([fp for _, fp in b_items], dtype=np.float64).reshape(-1, 4)
    pairs = overlapping_pairs(a, b, cell=cell, limit=MAX_OVERLAP_ISSUES)
    for i, j in pairs:
        el, fp = a_items[i]
        other, ofp = b_items[j]
        if other is el:
            continue
        c.err(el.id, "x_m", f"footprint {verb} {other.id} "
                            f"(x {fp[0]:g}..{fp[2]:g} m, y {fp[1]:g}..{fp[3]:g} m against "
                            f"x {ofp[0]:g}..{ofp[2]:g} m, y {ofp[1]:g}..{ofp[3]:g} m)")
    if len(pairs) >= MAX_OVERLAP_ISSUES:
        where = hall.id if hall is not None else "layout"
        c.err(where, "", f"more footprints {'overlap' if verb == 'overlaps' else verb} than the "
                         f"{MAX_OVERLAP_ISSUES} listed; fix those first")


#: overlapping pairs listed per kind of check: a file of thousands of stacked racks must not
#: make millions of messages (or use gigabytes finding them)
MAX_OVERLAP_ISSUES = 200
#: candidate pairs compared at once before the search goes on in chunks (bounds memory)
_CANDIDATE_BUDGET = 4_000_000


class _TooManyCandidates(Exception):
    pass


def overlapping_pairs(a: np.ndarray, b: Optional[np.ndarray] = None, cell: float = 2.0,
                      eps: float = _EPS, limit: Optional[int] = None) -> list[tuple[int, int]]:
    """Index pairs (i, j) of rectangles of ``a`` and ``b`` whose interiors overlap by more than ``eps``.

    ``a`` and ``b`` are float arrays [n, 4] of (x0, y0, x1, y1) in m. Without ``b``,
    pairs within ``a`` with i < j. Sorted by (i, j). With ``limit``, at most
    ``limit`` pairs (the first in that order), found in chunks of ``a`` when the
    rectangles are piled up so densely that comparing all candidates at once
    would take too much memory.
    """
    if limit is None:
        return _overlapping_pairs(a, b, cell, eps, None)
    try:
        return _overlapping_pairs(a, b, cell, eps, _CANDIDATE_BUDGET)[:limit]
    except _TooManyCandidates:
        pass
    full_b = a if b is None else b
    out: list[tuple[int, int]] = []
    step = max(1, _CANDIDATE_BUDGET // (9 * max(len(full_b), 1)))
    for start in range(0, len(a), step):  # chunks in order of i: their pairs come out in (i, j) order
        out += _overlapping_pairs(a[start:start + step], full_b, cell, eps, None, offset=start,
                                  upper=b is None, limit=limit - len(out))
        if len(out) >= limit:
            break
    return out


def _overlapping_pairs(a: np.ndarray, b: Optional[np.ndarray], cell: float, eps: float,
                       budget: Optional[int], offset: int = 0, upper: bool = False,
                       limit: Optional[int] = None) -> list[tuple[int, int]]:
    """Index pairs (i, j) of rectangles of ``a`` and ``b`` whose interiors overlap by more than ``eps``.

    ``a`` and ``b`` are float arrays [n, 4] of (x0, y0, x1, y1) in m. Without ``b``,
    pairs within ``a`` with i < j. Sorted by (i, j).

    Rectangles no larger than ``cell`` go into a uniform grid by their lower-left
    cell; two of them can overlap only if those cells are neighbours, so each one
    is compared with the rectangles of 9 cells: O(n) for a floor of racks and
    tiles. Cell indices are clamped to +-2e5 so far-away rectangles stay cheap
    (clamping is monotonic, so neighbours stay neighbours). The few larger
    rectangles are compared with everything.
    """
    same = b is None
    if same:
        b = a
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return []
    # cells as large as the largest ordinary rectangle (capped), so only outliers are "large"
    sides = np.concatenate([a[:, 2] - a[:, 0], a[:, 3] - a[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]])
    cell = float(min(max(cell, float(np.max(sides, initial=0.0))), 12.0))

    def cells(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cx = np.clip(np.floor(r[:, 0] / cell), -2e5, 2e5).astype(np.int64)
        cy = np.clip(np.floor(r[:, 1] / cell), -2e5, 2e5).astype(np.int64)
        return cx, cy

    def big(r: np.ndarray) -> np.ndarray:
        return ((r[:, 2] - r[:, 0]) > cell) | ((r[:, 3] - r[:, 1]) > cell)

    big_a, big_b = big(a), big(b)
    small_a, small_b = np.flatnonzero(~big_a), np.flatnonzero(~big_b)
    ii_parts: list[np.ndarray] = []
    jj_parts: list[np.ndarray] = []
    if len(small_a) and len(small_b):
        ax, ay = cells(a[small_a])
        bx, by = cells(b[small_b])
        span = np.int64(4e5 + 8)
        keys_b = (bx + 2) * span + (by + 2)
        order = np.argsort(keys_b, kind="stable")
        sorted_keys = keys_b[order]
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                target = (ax + dx + 2) * span + (ay + dy + 2)
                lo = np.searchsorted(sorted_keys, target, "left")
                hi = np.searchsorted(sorted_keys, target, "right")
                counts = hi - lo
                total = int(counts.sum())
                if total == 0:
                    continue
                if budget is not None:
                    budget -= total
                    if budget < 0:
                        raise _TooManyCandidates()
                rows = np.repeat(np.arange(len(small_a)), counts)
                first = np.repeat(lo - (np.cumsum(counts) - counts), counts)
                ii_parts.append(small_a[rows])
                jj_parts.append(small_b[order[first + np.arange(total)]])
    for k in np.flatnonzero(big_a):  # a large rectangle of a against all of b
        ii_parts.append(np.full(m, k))
        jj_parts.append(np.arange(m))
    for k in np.flatnonzero(big_b):  # all (small) of a against a large rectangle of b
        ii_parts.append(small_a)
        jj_parts.append(np.full(len(small_a), k))
    if not ii_parts:
        return []
    ii = np.concatenate(ii_parts)
    jj = np.concatenate(jj_parts)
    if same:
        ii, jj = np.minimum(ii, jj), np.maximum(ii, jj)
        keep = ii < jj
        ii, jj = ii[keep], jj[keep]
    ra, rb = a[ii], b[jj]
    hit = ((np.minimum(ra[:, 2], rb[:, 2]) - np.maximum(ra[:, 0], rb[:, 0]) > eps)
           & (np.minimum(ra[:, 3], rb[:, 3]) - np.maximum(ra[:, 1], rb[:, 1]) > eps))
    ii, jj = ii[hit] + offset, jj[hit]
    if upper:  # a chunk of a set against the whole set: each pair once, never an element with itself
        keep = ii < jj
        ii, jj = ii[keep], jj[keep]
    span = np.int64(len(b) + 1)
    keys = np.unique(ii.astype(np.int64) * span + jj)  # sorted by (i, j); faster than unique(axis=0)
    if limit is not None:
        keys = keys[:limit]
    return [(int(k // span), int(k % span)) for k in keys]


def _check_power(site: Site, nodes: dict[str, PowerNode], c: _Checker) -> None:
    for n in site.power_nodes:
        if n.kind not in POWER_KINDS:
            c.err(n.id, "kind", f"unknown power node kind {show(n.kind)} ({', '.join(POWER_KINDS)})")
            continue
        for fname, kinds in PowerNode.KIND_FIELDS.items():
            if getattr(n, fname) is not None and n.kind not in kinds:
                c.err(n.id, fname, f"does not apply to a {n.kind} (only to {', '.join(kinds)})")
        if n.kind == "utility":
            c.between(n.id, "capacity_kw", n.capacity_kw, 0.0, 1e6, " kW")
        else:
            c.positive(n.id, "capacity_kw", n.capacity_kw, 1e6, " kW", least=MIN_NODE_KW)
        for axis in ("x_m", "y_m"):
            c.between(n.id, axis, getattr(n, axis), -MAX_NODE_POSITION_M, MAX_NODE_POSITION_M, " m")
        if len(n.inputs) > MAX_NODE_INPUTS:
            c.err(n.id, "inputs", f"at most {MAX_NODE_INPUTS} inputs, got {len(n.inputs):,}")
            continue
        if len(set(n.inputs)) != len(n.inputs):
            c.err(n.id, "inputs", "the same input is given twice")
        for src in n.inputs:
            if src not in nodes:
                c.err(n.id, "inputs", f"input {show(src)} does not exist")
            elif src == n.id:
                c.err(n.id, "inputs", "a node cannot feed itself")
        if n.kind in ("utility", "generator") and n.inputs:
            c.err(n.id, "inputs", f"a {n.kind} is a source and takes no inputs")
        elif n.kind == "ats" and len(n.inputs) != 2:
            c.err(n.id, "inputs", f"an ATS switches between 2 inputs (normal, emergency), got {len(n.inputs)}")
        elif n.kind not in ("utility", "generator") and not n.inputs:
            c.err(n.id, "inputs", f"a {n.kind} needs at least one input")
        c.between(n.id, "battery_kwh", n.battery_kwh, 0.0, 1e5, " kWh")
        c.between(n.id, "peukert_k", n.peukert_k, 1.0, 2.0)
        c.between(n.id, "start_delay_s", n.start_delay_s, 0.0, 3600.0, " s")
        c.between(n.id, "transfer_delay_s", n.transfer_delay_s, 0.0, 3600.0, " s")
        c.between(n.id, "retransfer_delay_s", n.retransfer_delay_s, 0.0, 86400.0, " s")
        c.between(n.id, "loss_fraction", n.loss_fraction, 0.0, 0.5)
    if len(site.power_nodes) > MAX_POWER_NODES:
        c.err("layout", "power_nodes", f"{len(site.power_nodes):,} power nodes; at most {MAX_POWER_NODES:,}")
        return
    cycle = find_power_cycle(site.power_nodes)
    if cycle:
        c.err(cycle[0], "inputs", "the power graph has a cycle: " + _path(cycle + [cycle[0]]))
        return
    chain = deepest_power_chain(site.power_nodes)
    if len(chain) > MAX_POWER_DEPTH:
        # every load-flow and fault pass walks the graph level by level: 20,000 switchboards in a chain
        # took minutes per step
        c.err(chain[-1], "inputs", f"the power chain is {len(chain):,} nodes deep ({_path(chain)}); at most "
                                   f"{MAX_POWER_DEPTH} from a source to a load (a utility, ATS, UPS, switchboard, "
                                   f"PDU and RPP are 6)")


def _path(ids: list[str], shown: int = 4) -> str:
    """``A -> B -> C``, or the first and last ids of a long one."""
    if len(ids) <= 2 * shown:
        return " -> ".join(ids)
    return " -> ".join(ids[:shown]) + f" -> ... ({len(ids) - 2 * shown:,} more) -> " + " -> ".join(ids[-shown:])


def deepest_power_chain(nodes: list[PowerNode]) -> list[str]:
    """Ids of the longest path from a node without inputs down the graph (the graph must be acyclic)."""
    inputs = {n.id: [i for i in n.inputs] for n in nodes}
    depth: dict[str, int] = {}
    via: dict[str, Optional[str]] = {}
    for start in inputs:
        work = [start]  # iterative: a chain of 20,000 nodes must not hit the recursion limit
        while work:
            node = work[-1]
            if node in depth:
                work.pop()
                continue
            todo = [i for i in inputs.get(node, ()) if i in inputs and i not in depth]
            if todo:
                work.extend(todo)
                continue
            work.pop()
            best = max((i for i in inputs.get(node, ()) if i in inputs), key=lambda i: depth[i], default=None)
            depth[node] = 1 + (depth[best] if best is not None else 0)
            via[node] = best
    if not depth:
        return []
    node: Optional[str] = max(depth, key=depth.__getitem__)
    chain = []
    while node is not None:
        chain.append(node)
        node = via[node]
    return chain[::-1]


def find_power_cycle(nodes: list[PowerNode]) -> list[str]:
    """Ids along one cycle of the input graph (empty if it is acyclic)."""
    graph = {n.id: [i for i in n.inputs] for n in nodes}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(start: str) -> list[str]:
        # iterative DFS so a 10,000-node chain does not hit the recursion limit
        work = [(start, iter(graph.get(start, ())))]
        state[start] = 1
        stack.append(start)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is None:
                work.pop()
                stack.pop()
                state[node] = 2
                continue
            if nxt not in graph:
                continue
            s = state.get(nxt, 0)
            if s == 1:
                return stack[stack.index(nxt):]
            if s == 0:
                state[nxt] = 1
                stack.append(nxt)
                work.append((nxt, iter(graph[nxt])))
        return []

    for n in nodes:
        if state.get(n.id, 0) == 0:
            cyc = visit(n.id)
            if cyc:
                return list(reversed(cyc))
    return []


#: shortest period of a workload profile (s)
MIN_WORKLOAD_PERIOD_S = 1.0


def _check_workload(w, c: _Checker) -> None:
    if w.kind not in WORKLOAD_KINDS:
        c.err(w.id, "kind", f"unknown workload kind {show(w.kind)} ({', '.join(WORKLOAD_KINDS)})")
    c.between(w.id, "utilization", w.utilization, 0.0, 1.5)
    if w.amplitude is not None:
        c.between(w.id, "amplitude", w.amplitude, 0.0, 1.5)
    if w.dip_utilization is not None:
        c.between(w.id, "dip_utilization", w.dip_utilization, 0.0, 1.5)
    if w.period_s is not None:
        c.between(w.id, "period_s", w.period_s, MIN_WORKLOAD_PERIOD_S, 1e7, " s")
    if w.phase_s is not None:
        c.between(w.id, "phase_s", w.phase_s, -1e7, 1e7, " s")
    if w.dip_s is not None:
        c.between(w.id, "dip_s", w.dip_s, 0.0, 1e7, " s")
        if w.period_s is not None and w.dip_s >= w.period_s:
            c.err(w.id, "dip_s", f"the dip ({w.dip_s:g} s) must be shorter than the period ({w.period_s:g} s)")
    if w.kind == "csv":
        if w.path is None and not w.points:
            c.err(w.id, "path", "a csv workload needs a path (or inline points)")
    _check_path(w.id, "path", w.path, c)
    if w.points and len(w.points) > MAX_WORKLOAD_POINTS:
        c.err(w.id, "points", f"{len(w.points):,} points; at most {MAX_WORKLOAD_POINTS:,}")
    elif w.points:
        times = [p[0] for p in w.points]
        if any(b <= a for a, b in zip(times, times[1:])):
            c.err(w.id, "points", "times must increase")
        if times and not -1e9 <= times[0] <= times[-1] <= 1e9:
            c.err(w.id, "points", f"times must lie within +-1e9 s, got {times[0]:g}..{times[-1]:g} s")
        for t, u in w.points:
            if not 0.0 <= u <= 1.5:
                c.err(w.id, "points", f"utilization {u:g} at t = {t:g} s is out of range (0..1.5)")
                break


def _check_plant(site: Site, c: _Checker) -> None:
    p = site.plant
    c.between("plant", "chw_supply_c", p.chw_supply_c, 2.0, 35.0, " °C")
    c.between("plant", "loop_volume_m3", p.loop_volume_m3, 0.0, 1e5, " m3")
    if p.storage_tank is not None:
        c.between("plant", "storage_tank.volume_m3", p.storage_tank.volume_m3, 0.0, 1e5, " m3")
        c.between("plant", "storage_tank.usable_dt_k", p.storage_tank.usable_dt_k, 0.0, 30.0, " K", lo_open=True)
    c.between("plant", "economizer.approach_k", p.economizer.approach_k, 0.0, 30.0, " K")
    o = p.outdoor
    if o.kind not in ("constant", "sine", "csv"):
        c.err("plant", "outdoor.kind", f"unknown outdoor profile {show(o.kind)} (constant, sine or csv)")
    c.between("plant", "outdoor.c", o.c, -60.0, 60.0, " °C")
    c.between("plant", "outdoor.amplitude_k", o.amplitude_k, 0.0, 40.0, " K")
    c.between("plant", "outdoor.peak_hour", o.peak_hour, 0.0, 24.0, " h")
    if o.kind == "csv" and not o.path:
        c.err("plant", "outdoor.path", "a csv outdoor profile needs a path")
    _check_path("plant", "outdoor.path", o.path, c)
    c.between("plant", "economizer.min_outdoor_margin_k", p.economizer.min_outdoor_margin_k, 0.0, 30.0, " K")


def _check_path(ident: str, field: str, path: Optional[str], c: _Checker) -> None:
    """A file path written in the layout: bounded, without control characters (it is shown and opened)."""
    if path is not None:
        problem = text_problem(path, MAX_PATH_CHARS)
        if problem:
            c.err(ident, field, problem)
