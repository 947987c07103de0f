"""Which sensor is which: the point map (``point,element,quantity,unit``), units, and a proposed map.

A *point* is one measured stream of the site's BMS/DCIM (``"DC1.HALL1.R-A01.INLET"``). The point
map says which element of the layout it measures, which quantity, and in which unit:

==============  ==============  =======================================  ==========================
quantity        element         what                                     units accepted (SI first)
==============  ==============  =======================================  ==========================
``inlet_c``     rack            rack intake air temperature              C, F, K
``exhaust_c``   rack            rack exhaust air temperature             C, F, K
``power_w``     rack            rack electrical power                    W, kW, MW, BTU/h
``supply_c``    cooling unit    unit supply (leaving) air temperature    C, F, K
``return_c``    cooling unit    unit return (entering) air temperature   C, F, K
``airflow_m3s`` cooling unit    unit airflow                             m3/s, m3/h, CFM, L/s
``running``     cooling unit    running (1) or stopped (0)               (none)
``load_w``      power node      load the node delivers                   W, kW, MW
``soc``         power node UPS  battery state of charge                  fraction, %
``outdoor_c``   (none / site)   outdoor dry-bulb temperature             C, F, K
==============  ==============  =======================================  ==========================

:func:`read_point_map` reads and checks a map against a layout (every problem names the file and
line); :func:`propose_map` guesses one by finding element ids inside point names, for a person to
review.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from dctwin.twin.io.report import SourceError, read_source_text
from dctwin.twin.model.layout import Site


@dataclass(frozen=True)
class Quantity:
    """A measurable quantity: the element kind it belongs to, its SI unit, its plausible range."""

    name: str
    element: str  # "rack", "cooling_unit", "power_node", "ups", "site"
    si_unit: str
    kind: str  # "temperature", "power", "airflow", "state", "fraction"
    low: float
    high: float
    #: a single sample this far from both neighbours (that agree) is a spike: (absolute, relative)
    spike: tuple[float, float] = (np.inf, np.inf)
    #: the model's value is a boundary condition the shadow imposes, not a prediction
    boundary: bool = False


QUANTITIES: dict[str, Quantity] = {q.name: q for q in (
    Quantity("inlet_c", "rack", "C", "temperature", -40.0, 90.0, (5.0, 0.0)),
    Quantity("exhaust_c", "rack", "C", "temperature", -40.0, 120.0, (5.0, 0.0)),
    Quantity("power_w", "rack", "W", "power", 0.0, 1e6, (200.0, 0.3), boundary=True),
    Quantity("supply_c", "cooling_unit", "C", "temperature", -20.0, 60.0, (5.0, 0.0), boundary=True),
    Quantity("return_c", "cooling_unit", "C", "temperature", -20.0, 90.0, (5.0, 0.0)),
    Quantity("airflow_m3s", "cooling_unit", "m3/s", "airflow", 0.0, 500.0, (0.1, 0.3)),
    Quantity("running", "cooling_unit", "", "state", 0.0, 1.0, boundary=True),
    Quantity("load_w", "power_node", "W", "power", 0.0, 1e9, (1000.0, 0.3)),
    Quantity("soc", "ups", "", "fraction", 0.0, 1.0, (0.05, 0.0)),
    Quantity("outdoor_c", "site", "C", "temperature", -70.0, 70.0, (5.0, 0.0), boundary=True),
)}
#: quantities whose residuals are temperatures (K) and count in the shadow's residual figures
TEMPERATURES = tuple(q for q, spec in QUANTITIES.items() if spec.kind == "temperature")

#: unit key (lower case, no spaces or degree signs) -> (kind, scale, offset): SI = value * scale + offset
UNITS: dict[str, tuple[str, float, float]] = {
    "c": ("temperature", 1.0, 0.0), "degc": ("temperature", 1.0, 0.0), "celsius": ("temperature", 1.0, 0.0),
    "f": ("temperature", 5.0 / 9.0, -32.0 * 5.0 / 9.0), "degf": ("temperature", 5.0 / 9.0, -32.0 * 5.0 / 9.0),
    "fahrenheit": ("temperature", 5.0 / 9.0, -32.0 * 5.0 / 9.0),
    "k": ("temperature", 1.0, -273.15), "kelvin": ("temperature", 1.0, -273.15),
    "w": ("power", 1.0, 0.0), "kw": ("power", 1e3, 0.0), "mw": ("power", 1e6, 0.0),
    "btu/h": ("power", 0.29307107, 0.0), "btuh": ("power", 0.29307107, 0.0),
    "m3/s": ("airflow", 1.0, 0.0), "m3s": ("airflow", 1.0, 0.0), "m3/h": ("airflow", 1.0 / 3600.0, 0.0),
    "cfm": ("airflow", 4.719474432e-4, 0.0), "l/s": ("airflow", 1e-3, 0.0),
    "%": ("fraction", 0.01, 0.0), "percent": ("fraction", 0.01, 0.0), "fraction": ("fraction", 1.0, 0.0),
    "": ("", 1.0, 0.0),
}


def unit_key(unit: Any) -> str:
    """``" °F "`` -> ``"f"``; ``"m³/s"`` -> ``"m3/s"`` (case, spaces and degree signs left out)."""
    text = str(unit or "").strip().lower().replace("°", "").replace("º", "").replace("³", "3").replace(" ", "")
    return {"deg.c": "degc", "deg.f": "degf", "btu/hr": "btu/h", "cfm.": "cfm"}.get(text, text)


def conversion(quantity: str, unit: Any) -> Optional[tuple[float, float]]:
    """(scale, offset) taking ``unit`` to the SI unit of ``quantity`` (SI = v * scale + offset), or None
    when the unit does not fit the quantity. An empty unit means the SI unit."""
    q = QUANTITIES[quantity]
    key = unit_key(unit)
    if key == "" or key == unit_key(q.si_unit):
        return 1.0, 0.0
    spec = UNITS.get(key)
    if spec is None or spec[0] != q.kind:
        return None
    return spec[1], spec[2]


def units_for(quantity: str) -> list[str]:
    """Unit names accepted for ``quantity`` (for messages)."""
    kind = QUANTITIES[quantity].kind
    return [u for u, spec in UNITS.items() if spec[0] == kind and u] or ["(none)"]


@dataclass(frozen=True)
class PointSpec:
    """One line of a point map."""

    point: str
    element: str
    quantity: str
    unit: str = ""
    line: int = 0

    @property
    def si_unit(self) -> str:
        return QUANTITIES[self.quantity].si_unit

    def to_dict(self) -> dict[str, Any]:
        return {"point": self.point, "element": self.element, "quantity": self.quantity, "unit": self.unit}


@dataclass
class PointMap:
    """Points by name, in the order of the map file."""

    points: dict[str, PointSpec] = field(default_factory=dict)
    source: str = ""

    def __len__(self) -> int:
        return len(self.points)

    def __contains__(self, point: str) -> bool:
        return point in self.points

    def get(self, point: str) -> Optional[PointSpec]:
        return self.points.get(point)

    def of(self, quantity: str) -> list[PointSpec]:
        return [p for p in self.points.values() if p.quantity == quantity]

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["point", "element", "quantity", "unit"])
        for p in self.points.values():
            w.writerow([p.point, p.element, p.quantity, p.unit])
        return buf.getvalue()


def element_kinds(site: Site) -> dict[str, str]:
    """Element id -> the kind a point may measure on it ("rack", "cooling_unit", "power_node", "ups")."""
    out: dict[str, str] = {}
    for hall in site.halls:
        out.update({r.id: "rack" for r in hall.racks})
        out.update({u.id: "cooling_unit" for u in hall.cooling_units})
    for n in site.power_nodes:
        out[n.id] = "ups" if n.kind == "ups" else "power_node"
    return out


def _fits(kind: Optional[str], want: str) -> bool:
    return kind == want or (want == "power_node" and kind == "ups")


def check_point(spec: PointSpec, kinds: dict[str, str], where: str) -> None:
    """SourceError naming ``where`` when the point's quantity, element or unit does not fit."""
    if spec.quantity not in QUANTITIES:
        raise SourceError(f"{where}: quantity {spec.quantity!r} is not one of {', '.join(QUANTITIES)}")
    q = QUANTITIES[spec.quantity]
    if q.element == "site":
        if spec.element not in ("", "site", "outdoor"):
            raise SourceError(f"{where}: {spec.quantity} belongs to the site; leave element empty (got "
                              f"{spec.element!r})")
    elif not _fits(kinds.get(spec.element), q.element):
        have = kinds.get(spec.element)
        what = {"rack": "a rack", "cooling_unit": "a cooling unit", "power_node": "a power node",
                "ups": "a UPS"}[q.element]
        raise SourceError(f"{where}: {spec.quantity} needs {what}, but " + (
            f"{spec.element!r} is a {have.replace('_', ' ')}" if have else
            f"the layout has no element {spec.element!r}"))
    if conversion(spec.quantity, spec.unit) is None:
        raise SourceError(f"{where}: unit {spec.unit!r} does not fit {spec.quantity} "
                          f"(use {', '.join(units_for(spec.quantity))})")


def read_point_map(path: str | Path, site: Site) -> PointMap:
    """Read a point map CSV (``point,element,quantity,unit``; unit optional) and check it against ``site``.

    Raises :class:`~dctwin.twin.io.report.SourceError` naming the file and line of the first problem:
    an unknown quantity or element, an element of the wrong kind, a unit that does not fit, a point
    mapped twice.
    """
    p = Path(path)
    text = read_source_text(p, "a point map: point,element,quantity,unit")
    reader = csv.reader(io.StringIO(text))
    header = None
    out = PointMap(source=str(p))
    kinds = element_kinds(site)
    for row in reader:
        line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        cells = [c.strip() for c in row]
        if header is None:
            header = [c.lower() for c in cells]
            missing = [c for c in ("point", "element", "quantity") if c not in header]
            if missing:
                raise SourceError(f"{p}, line {line}: the header must name point, element, quantity[, unit]; "
                                  f"missing {', '.join(missing)}")
            continue
        get = lambda name: cells[header.index(name)] if name in header and header.index(name) < len(cells) else ""  # noqa: E731
        spec = PointSpec(get("point"), get("element"), get("quantity"), get("unit"), line)
        where = f"{p}, line {line}, point {spec.point!r}"
        if not spec.point:
            raise SourceError(f"{p}, line {line}: empty point name")
        if spec.point in out.points:
            raise SourceError(f"{where}: mapped twice (first on line {out.points[spec.point].line})")
        check_point(spec, kinds, where)
        out.points[spec.point] = spec
    if header is None:
        raise SourceError(f"{p}: is empty (a point map: point,element,quantity,unit)")
    return out


#: words in a point name that tell its quantity (tried in order; the first that matches wins)
_QUANTITY_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("inlet_c", ("inlet", "intake", "front", "tin", "rat_in", "cold")),
    ("exhaust_c", ("exhaust", "outlet", "rear", "tout", "hot")),
    ("supply_c", ("supply", "sat", "discharge", "leaving", "lat", "sup")),
    ("return_c", ("return", "rat", "entering", "ret")),
    ("airflow_m3s", ("airflow", "cfm", "flow", "fan_speed")),
    ("running", ("running", "status", "run", "state", "onoff", "on_off")),
    ("soc", ("soc", "charge", "battery")),
    ("load_w", ("load", "kw", "power", "demand")),
    ("power_w", ("power", "kw", "load", "demand", "watts")),
    ("outdoor_c", ("outdoor", "outside", "oat", "ambient", "weather")),
)
_UNIT_WORDS = (("degf", "F"), ("_f", "F"), ("kw", "kW"), ("cfm", "CFM"), ("pct", "%"), ("percent", "%"))


def _tokens(text: str) -> str:
    return "_" + re.sub(r"[^a-z0-9]+", "_", text.lower()) + "_"


def propose_map(points: Iterable[str], site: Site) -> tuple[PointMap, list[str]]:
    """A point map guessed from point names: the longest element id found inside a name (case and
    punctuation ignored) and a quantity word fitting that element ("inlet", "supply", "kw", ...).

    Returns ``(map, unmatched point names)``. A guess, for a person to check: every line it writes
    is one :func:`read_point_map` accepts.
    """
    kinds = element_kinds(site)
    norm = sorted(((_tokens(e).strip("_"), e) for e in kinds), key=lambda p: -len(p[0]))
    out = PointMap(source="proposed")
    unmatched: list[str] = []
    for name in points:
        tok = _tokens(name)
        flat = tok.replace("_", "")
        element = next((e for n, e in norm if n and n.replace("_", "") in flat), None)
        kind = kinds.get(element) if element else "site"
        quantity = None
        for q, words in _QUANTITY_WORDS:
            want = QUANTITIES[q].element
            fits = _fits(kind, want) if want != "site" else element is None
            if fits and any(f"_{w}_" in tok or (len(w) > 3 and w in tok) for w in words):
                quantity = q
                break
        if quantity is None:
            unmatched.append(name)
            continue
        unit = next((u for w, u in _UNIT_WORDS if w in tok and conversion(quantity, u) is not None), "")
        spec = PointSpec(name, element or "", quantity, unit, len(out.points) + 2)
        out.points[name] = spec
    return out, unmatched
