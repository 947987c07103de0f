"""Edit commands: every change a person makes to a layout.

Each command is a frozen value. ``apply(site)`` validates the result, changes
the site in place and returns the inverse command; an invalid edit raises
:class:`~dctwin.twin.model.layout.LayoutError` naming element and reason and changes
nothing. ``app/undo.py`` wraps them in one ``QUndoCommand``; incidents and
scripts use the same path, so replay and undo cannot diverge.

Inverses restore exact values (old positions, old elements), never
``x + dx - dx``, so apply-then-inverse gives back an equal site bit for bit.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Optional

from dctwin.twin.errors import LayoutError, LayoutIssue
from dctwin.twin.model.layout import ELEMENT_TYPES, FACINGS, Element, Hall, Site
from dctwin.twin.model.layoutfile import read_value
from dctwin.twin.model.validate import validate
from dctwin.twin.model.words import set_property_text


class Command:
    """Base of all edits."""

    #: short text for the undo stack ("Move 3 racks")
    @property
    def text(self) -> str:
        return type(self).__name__

    def apply(self, site: Site) -> "Command":
        trial = site.copy()
        inverse = self._change(trial)
        issues = validate(trial)
        if issues:
            raise LayoutError(issues)
        site.restore_from(trial)
        return inverse

    def _change(self, site: Site) -> "Command":  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must define _change")


def _find(site: Site, element_id: str,
          index: Optional[dict[str, tuple[Optional[Hall], str, int, Element]]] = None
          ) -> tuple[Optional[Hall], str, int, Element]:
    """(hall, collection, index, element) of an id; LayoutError naming it if there is none."""
    if index is not None:
        hit = index.get(element_id) if isinstance(element_id, str) else None
        if hit is not None:
            return hit
    else:
        try:
            return site.locate(element_id)
        except (KeyError, TypeError):
            pass
    raise LayoutError(LayoutIssue(str(element_id), "id", "no element with this id"))


def _index(site: Site) -> dict[str, tuple[Optional[Hall], str, int, Element]]:
    """id -> (hall, collection, index, element) for a command that looks up many ids (first wins)."""
    out: dict[str, tuple[Optional[Hall], str, int, Element]] = {}
    for hit in site.iter_elements():
        out.setdefault(hit[3].id, hit)
    return out


class _OnIds:
    """A command on elements given by id (``ids``: a tuple, a list, or one bare id); its undo text
    is ``VERB`` and the id, or ``VERB`` and how many."""

    VERB: ClassVar[str]

    def __post_init__(self) -> None:
        ids = self.ids  # type: ignore[attr-defined]
        ids = (ids,) if isinstance(ids, str) else ids if isinstance(ids, tuple) else tuple(ids)
        object.__setattr__(self, "ids", ids)

    @property
    def text(self) -> str:
        ids = self.ids  # type: ignore[attr-defined]
        return f"{self.VERB} {ids[0]}" if len(ids) == 1 else f"{self.VERB} {len(ids)} elements"


def _number(ident: str, field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LayoutError(LayoutIssue(ident, field, f"must be a finite number, got {value!r}"))
    return float(value)


def _coerce(el: Element, field: str, value: Any) -> Any:
    """Check and convert a property value the way the file reader does."""
    names = {f.name for f in dataclasses.fields(el)}
    if field not in names:
        raise LayoutError(LayoutIssue(el.id, field, f"{type(el).__name__.lower()} has no such property"))
    raw = list(value) if isinstance(value, tuple) else value
    if isinstance(raw, list):
        raw = [list(v) if isinstance(v, tuple) else v for v in raw]
    return read_value(type(el), field, raw, el.id)


@dataclass(frozen=True)
class AddElement(Command):
    """Add one element (rack, unit, tile, grille, aisle, power node, ...) to a hall or the site."""

    element: Element
    hall_id: Optional[str] = None
    index: Optional[int] = None

    @property
    def text(self) -> str:
        return f"Add {self.element.id}"

    def _change(self, site: Site) -> Command:
        el = self.element
        if not isinstance(el, Element) or ELEMENT_TYPES.get(el.COLLECTION) is not type(el):
            raise LayoutError(LayoutIssue(str(getattr(el, "id", el)), "", f"cannot add a {type(el).__name__}: "
                                          f"not a layout element ({', '.join(t.__name__ for t in ELEMENT_TYPES.values())})"))
        if not isinstance(el.id, str) or not el.id.strip():
            raise LayoutError(LayoutIssue(str(el.id), "id", "an id must be a non-empty string"))
        if self.element.id in site.ids():
            raise LayoutError(LayoutIssue(self.element.id, "id", "duplicate id: an element with this id exists"))
        name = self.element.COLLECTION
        hall = None
        if name in Hall.ELEMENT_COLLECTIONS:
            if not site.halls:
                raise LayoutError(LayoutIssue(self.element.id, "", "the site has no hall to add it to"))
            try:
                hall = site.get_hall(self.hall_id) if self.hall_id else site.halls[0]
            except KeyError:
                raise LayoutError(LayoutIssue(self.element.id, "hall", f"no hall {self.hall_id!r}")) from None
        coll = site.collection(hall, name)
        idx = len(coll) if self.index is None else max(0, min(self.index, len(coll)))
        coll.insert(idx, self.element)
        return RemoveElements((self.element.id,))


@dataclass(frozen=True)
class RemoveElements(_OnIds, Command):
    """Remove elements by id. Fails (changes nothing) if something still refers to them."""

    VERB: ClassVar[str] = "Delete"

    ids: tuple[str, ...]

    def _change(self, site: Site) -> Command:
        index = _index(site)
        found = [_find(site, i, index) for i in dict.fromkeys(self.ids)]
        entries = tuple(sorted(((h.id if h else None, coll, idx, el) for h, coll, idx, el in found),
                               key=lambda e: (e[0] or "", e[1], e[2])))
        for hall_id, coll, idx, el in reversed(entries):
            hall = site.get_hall(hall_id) if hall_id else None
            del site.collection(hall, coll)[idx]
        return RestoreElements(entries)


@dataclass(frozen=True)
class RestoreElements(Command):
    """Put removed elements back at their exact places (the inverse of RemoveElements)."""

    entries: tuple[tuple[Optional[str], str, int, Element], ...]

    @property
    def text(self) -> str:
        return f"Restore {len(self.entries)} elements"

    def _change(self, site: Site) -> Command:
        taken = site.ids()
        for hall_id, coll, idx, el in self.entries:  # ascending index per collection
            if el.id in taken:
                raise LayoutError(LayoutIssue(el.id, "id", "duplicate id: an element with this id exists"))
            taken.add(el.id)
            try:
                hall = site.get_hall(hall_id) if hall_id else None
            except KeyError:
                raise LayoutError(LayoutIssue(el.id, "hall", f"no hall {hall_id!r} to put it back into")) from None
            site.collection(hall, coll).insert(idx, el)
        return RemoveElements(tuple(e[3].id for e in self.entries))


@dataclass(frozen=True)
class PlaceElements(Command):
    """Put elements at absolute positions: ((id, x_m, y_m), ...)."""

    placements: tuple[tuple[str, float, float], ...]

    @property
    def text(self) -> str:
        return f"Move {self.placements[0][0]}" if len(self.placements) == 1 else \
            f"Move {len(self.placements)} elements"

    def _change(self, site: Site) -> Command:
        old = []
        originals: dict[str, Element] = {}
        index = _index(site)
        for ident, x, y in self.placements:
            hall, coll, idx, _ = _find(site, ident, index)
            el = site.collection(hall, coll)[idx]  # current value: an id may be placed twice
            if getattr(el, "x_m", None) is None:
                raise LayoutError(LayoutIssue(ident, "x_m", "this element has no position on the floor"))
            old.append((ident, el.x_m, el.y_m))
            originals.setdefault(ident, el)
            # a place a person chose is no longer an importer's assumption
            assumed = tuple(a for a in el.assumed if a not in ("x_m", "y_m"))
            site.collection(hall, coll)[idx] = dataclasses.replace(
                el, x_m=_coerce(el, "x_m", x), y_m=_coerce(el, "y_m", y), assumed=assumed)
        if any(a in ("x_m", "y_m") for el in originals.values() for a in el.assumed):
            return Macro(tuple(ReplaceElement(el) for el in originals.values()), self.text)  # markers back too
        # undone in reverse order, so an id placed twice ends where it started
        return PlaceElements(tuple(reversed(old)))


@dataclass(frozen=True)
class MoveElements(_OnIds, Command):
    """Move elements by (dx_m, dy_m). The inverse puts them back at their exact old positions."""

    VERB: ClassVar[str] = "Move"

    ids: tuple[str, ...]
    dx_m: float
    dy_m: float

    def _change(self, site: Site) -> Command:
        places = []
        dx = _number(",".join(map(str, self.ids[:1])), "x_m", self.dx_m)
        dy = _number(",".join(map(str, self.ids[:1])), "y_m", self.dy_m)
        index = _index(site)
        for ident in dict.fromkeys(self.ids):
            el = _find(site, ident, index)[3]
            if getattr(el, "x_m", None) is None:
                raise LayoutError(LayoutIssue(ident, "x_m", "this element has no position on the floor"))
            places.append((ident, el.x_m + dx, el.y_m + dy))
        return PlaceElements(tuple(places))._change(site)


_CLOCKWISE = {"N": "E", "E": "S", "S": "W", "W": "N"}


@dataclass(frozen=True)
class RotateElement(Command):
    """Turn an element to ``facing`` (default: a quarter turn clockwise) about its footprint centre."""

    element_id: str
    facing: Optional[str] = None

    @property
    def text(self) -> str:
        return f"Rotate {self.element_id}"

    def _change(self, site: Site) -> Command:
        hall, coll, idx, el = _find(site, self.element_id)
        if not hasattr(el, "facing"):
            raise LayoutError(LayoutIssue(self.element_id, "facing", "this element has no facing"))
        new = self.facing if self.facing is not None else _CLOCKWISE.get(el.facing, "N")
        if new not in FACINGS:
            raise LayoutError(LayoutIssue(self.element_id, "facing", f"must be one of N, E, S, W, got {new!r}"))
        x0, y0, x1, y1 = el.footprint()
        turned = dataclasses.replace(el, facing=new)
        sx, sy = turned.size_xy()
        turned = dataclasses.replace(turned, x_m=(x0 + x1) / 2 - sx / 2, y_m=(y0 + y1) / 2 - sy / 2)
        site.collection(hall, coll)[idx] = turned
        return ReplaceElement(el)


@dataclass(frozen=True)
class ReplaceElement(Command):
    """Replace the element with the same id by ``element`` (used as an exact inverse)."""

    element: Element

    @property
    def text(self) -> str:
        return f"Edit {self.element.id}"

    def _change(self, site: Site) -> Command:
        hall, coll, idx, el = _find(site, self.element.id)
        if type(el) is not type(self.element):
            raise LayoutError(LayoutIssue(el.id, "id", f"is a {type(el).__name__}, not a {type(self.element).__name__}"))
        site.collection(hall, coll)[idx] = self.element
        return ReplaceElement(el)


#: where other elements refer to ids: collection -> fields holding one id or a tuple of ids
_REFERENCES = {
    "racks": ("feeds", "workload", "cdu"),
    "cooling_units": ("feeds", "rack"),
    "power_nodes": ("inputs",),
    "chillers": ("feeds",),
    "pumps": ("feeds",),
}


@dataclass(frozen=True)
class SetProperty(Command):
    """Set one property of one element. Setting ``id`` renames it and every reference to it."""

    element_id: str
    field: str
    value: Any

    @property
    def text(self) -> str:
        return set_property_text(self.element_id, self.field, self.value)

    def _change(self, site: Site) -> Command:
        hall, coll, idx, el = _find(site, self.element_id)
        value = _coerce(el, self.field, self.value)
        old = getattr(el, self.field)
        if self.field == "id":
            if value != el.id and value in site.ids():
                raise LayoutError(LayoutIssue(el.id, "id", f"cannot rename to {value!r}: that id is taken"))
            _rename_references(site, el.id, value)
            hall, coll, idx, el = _find(site, self.element_id)
            site.collection(hall, coll)[idx] = dataclasses.replace(el, id=value)
            return SetProperty(value, "id", old)
        changes = {self.field: value}
        if self.field in el.assumed:  # a person set it: no longer an importer's assumption
            changes["assumed"] = tuple(a for a in el.assumed if a != self.field)
        site.collection(hall, coll)[idx] = dataclasses.replace(el, **changes)
        if "assumed" in changes:
            return ReplaceElement(el)  # exact inverse: the old value and the old marker
        return SetProperty(self.element_id, self.field, old)


def _rename_references(site: Site, old: str, new: str) -> None:
    for hall, coll, idx, el in list(site.iter_elements()):
        changes = {}
        for f in _REFERENCES.get(coll, ()):
            v = getattr(el, f)
            if isinstance(v, tuple) and old in v:
                changes[f] = tuple(new if x == old else x for x in v)
            elif v == old:
                changes[f] = new
        if changes:
            site.collection(hall, coll)[idx] = dataclasses.replace(el, **changes)


@dataclass(frozen=True)
class SetHallProperty(Command):
    """Set one property of a hall (size, supply temperature, plenum, ...)."""

    hall_id: str
    field: str
    value: Any

    @property
    def text(self) -> str:
        return set_property_text(f"hall {self.hall_id}", self.field, self.value)

    def _change(self, site: Site) -> Command:
        try:
            idx = [h.id for h in site.halls].index(self.hall_id)
        except ValueError:
            raise LayoutError(LayoutIssue(self.hall_id, "id", "no hall with this id")) from None
        hall = site.halls[idx]
        if self.field in Hall.ELEMENT_COLLECTIONS or self.field == "id" or \
                self.field not in {f.name for f in dataclasses.fields(Hall)}:
            raise LayoutError(LayoutIssue(self.hall_id, self.field, "not a settable hall property"))
        value = read_value(Hall, self.field, self.value, hall.id)
        old = getattr(hall, self.field)
        site.halls[idx] = dataclasses.replace(hall, **{self.field: value})
        return SetHallProperty(self.hall_id, self.field, old)


@dataclass(frozen=True)
class Macro(Command):
    """Several commands as one step (a drag of a selection, a pasted row). All or nothing."""

    commands: tuple[Command, ...]
    label: str = ""

    @property
    def text(self) -> str:
        return self.label or (self.commands[0].text if len(self.commands) == 1 else f"{len(self.commands)} edits")

    def _change(self, site: Site) -> Command:
        inverses = [cmd._change(site) for cmd in self.commands]
        return Macro(tuple(reversed(inverses)), self.label)


# --------------------------------------------------------------------------- new elements

#: id prefixes of new elements by collection (others get "E-")
ID_PREFIXES = {"racks": "R-", "cooling_units": "CU-", "tiles": "T-", "grilles": "G-", "containments": "AISLE-",
               "obstructions": "OBS-", "power_nodes": "PWR-"}
#: id prefixes by kind where the kind reads better than the collection (a "UPS-01", a "WALL-02")
KIND_PREFIXES = {"power_nodes": {"utility": "UTIL-", "generator": "GEN-", "ats": "ATS-", "ups": "UPS-",
                                 "switchboard": "SWB-", "pdu": "PDU-", "rpp": "RPP-"},
                 "obstructions": {"column": "COL-", "wall": "WALL-"}}


class IdAllocator:
    """Hands out ids for new elements: a prefix and the lowest free number, two digits at least
    (``R-01``, ``R-02``, ..., ``R-100``), never one in ``taken`` or handed out before."""

    def __init__(self, taken: Iterable[str]):
        self.taken = set(taken)
        self._next: dict[str, int] = {}  # per prefix: every lower number is taken

    def new(self, prefix: str) -> str:
        n = self._next.get(prefix, 1)
        while f"{prefix}{n:02d}" in self.taken:
            n += 1
        ident = f"{prefix}{n:02d}"
        self.taken.add(ident)
        self._next[prefix] = n + 1
        return ident

    def for_element(self, el: Element) -> str:
        """A new id with the prefix of ``el``'s kind (``R-`` for a rack, ``CU-`` for a cooling unit, ``UPS-``
        for a UPS, ...)."""
        by_kind = KIND_PREFIXES.get(el.COLLECTION, {}).get(getattr(el, "kind", ""))
        return self.new(by_kind or ID_PREFIXES.get(el.COLLECTION, "E-"))


def plan_row(prototype: Element, x_m: float, y_m: float, count: int,
             ids: Optional[IdAllocator] = None) -> list[Element]:
    """``count`` copies of ``prototype`` side by side from (x_m, y_m): a row runs along the front (east
    for elements facing N or S, north for E or W), each one footprint further. Positions stay on the
    grid (rounded to 1e-9 m: k times a pitch is not always exact in binary). With ``ids``, each copy
    gets a new id. LayoutError when ``count`` is below 1."""
    if count < 1:
        raise LayoutError(LayoutIssue(prototype.id, "count", f"a row needs at least one element, got {count}"))
    sx, sy = prototype.size_xy()  # type: ignore[attr-defined]
    along_x = getattr(prototype, "facing", "N") in ("N", "S")
    out = []
    for k in range(count):
        dx, dy = (k * sx, 0.0) if along_x else (0.0, k * sy)
        el = dataclasses.replace(prototype, x_m=round(x_m + dx, 9), y_m=round(y_m + dy, 9))
        out.append(el if ids is None else dataclasses.replace(el, id=ids.for_element(el)))
    return out


def add_row(prototype: Element, x_m: float, y_m: float, count: int, taken: Iterable[str],
            hall_id: Optional[str] = None) -> Command:
    """The edit that places a row of ``count`` copies of ``prototype`` (:func:`plan_row`) with new ids
    not in ``taken``: one AddElement for one element, else one step "Add row of N"."""
    adds = tuple(AddElement(el, hall_id) for el in plan_row(prototype, x_m, y_m, count, IdAllocator(taken)))
    return adds[0] if len(adds) == 1 else Macro(adds, f"Add row of {count}")
