"""Re-import: a newer import laid over the layout a person has been editing.

Elements are matched by ``external_id``. A matched element takes the new import's values (IT power,
feeds, capacities) but keeps the position and facing it has in the edited layout; new elements come in
(moved to free floor if the place the import chose is taken), elements gone from the source go, and
elements the person added by hand (no ``external_id``) stay. The report lists added, removed and
updated ids.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any, Optional

from dctwin.twin.errors import LayoutError
from dctwin.twin.io import arrange
from dctwin.twin.io.report import ImportReport
from dctwin.twin.model.layout import Element, Hall, Rack, Site, Tile
from dctwin.twin.model.validate import floor_kind, validate

_POSITION = ("x_m", "y_m", "facing")


def merge_into(new: Site, base: Site, report: ImportReport) -> Site:
    """``new`` with the positions of ``base`` kept (see the module). Raises LayoutError if the result
    does not validate (nothing is written then)."""
    old: dict[str, Element] = {el.external_id: el for _, _, _, el in base.iter_elements() if el.external_id}
    old_halls = {h.external_id: h for h in base.halls if h.external_id}
    seen: set[str] = set()
    added: list[str] = []
    updated: list[str] = []
    halls: list[Hall] = []
    fresh: dict[str, list[Element]] = defaultdict(list)  # hall id -> new elements (may need moving)
    for h in new.halls:
        bh = old_halls.get(h.external_id)
        lists: dict[str, list] = {}
        for coll in Hall.ELEMENT_COLLECTIONS:
            out = []
            for el in getattr(h, coll):
                ext = el.external_id
                seen.add(ext)
                prev = old.get(ext)
                if prev is None or type(prev) is not type(el):
                    added.append(el.id)
                    fresh[h.id].append(el)
                    out.append(el)
                    continue
                kept = _keep_position(el, prev)
                if _differs(kept, prev):
                    updated.append(el.id)
                if isinstance(el, Rack):
                    report.placed("kept", el.id)
                out.append(kept)
            lists[coll] = out
        mine = [el for el in (bh.elements() if bh else ()) if el.external_id is None]
        hall = h if bh is None else dataclasses.replace(h, width_m=max(h.width_m, bh.width_m),
                                                       depth_m=max(h.depth_m, bh.depth_m))
        for el in mine:
            lists[el.COLLECTION].append(el)
        halls.append(dataclasses.replace(hall, **lists))
    site_lists: dict[str, list] = {}
    for coll in Site.SITE_COLLECTIONS:
        out = []
        for el in getattr(new, coll):
            seen.add(el.external_id)
            prev = old.get(el.external_id)
            if prev is None:
                added.append(el.id)
            elif _differs(el, prev):
                updated.append(el.id)
            out.append(el)
        out += [el for el in getattr(base, coll) if el.external_id is None]
        site_lists[coll] = out
    removed = [el.id for ext, el in old.items() if ext not in seen]
    site = Site(name=new.name, halls=halls, plant=base.plant, description=new.description, **site_lists)
    site = _settle(site, {h: {id(e) for e in els} for h, els in fresh.items()}, report)
    _drop_dangling(site, report)
    report.changes = {"added": added, "removed": removed, "updated": updated}
    issues = validate(site)
    if issues:
        raise LayoutError(issues, "re-imported layout")
    return site


def _keep_position(el: Element, prev: Element) -> Element:
    if not hasattr(el, "x_m") or getattr(prev, "x_m", None) is None:
        return el
    changes: dict[str, Any] = {f: getattr(prev, f) for f in _POSITION if hasattr(el, f) and hasattr(prev, f)}
    # a place the person chose (or kept) is theirs; a place still marked assumed stays assumed
    kept_assumed = tuple(a for a in el.assumed if a not in _POSITION) + \
        tuple(a for a in prev.assumed if a in _POSITION and hasattr(el, a))
    return dataclasses.replace(el, assumed=kept_assumed, **changes)


def _differs(el: Element, prev: Element) -> bool:
    """Whether anything but id, position and markers changed."""
    same_place = {f: getattr(prev, f) for f in _POSITION if hasattr(el, f)}
    return dataclasses.replace(el, id=prev.id, assumed=prev.assumed, **same_place) != prev


def _settle(site: Site, fresh: dict[str, set[int]], report: ImportReport) -> Site:
    """Move new elements that land on kept ones: tiles go, racks move to new rows north of everything,
    cooling units to free wall slots; the hall grows to hold them."""
    halls = []
    for hall in site.halls:
        new_ids = fresh.get(hall.id, set())
        floor = arrange.Floor()
        for el in hall.elements():
            if id(el) not in new_ids and floor_kind(el):
                floor.add(hall.footprint(el))
        racks, tiles, units = [], [], []
        homeless: list[Rack] = []
        moved_units: list[dict] = []
        for coll, keep in (("racks", racks), ("tiles", tiles), ("cooling_units", units)):
            for el in getattr(hall, coll):
                if id(el) in new_ids and not _fits(hall, floor, el):
                    if isinstance(el, Tile):
                        report.skip(el.id, "a new assumed tile where the re-imported layout has something; left out")
                    elif isinstance(el, Rack):
                        homeless.append(el)
                    else:
                        moved_units.append({f.name: getattr(el, f.name) for f in dataclasses.fields(el)
                                            if f.name not in ("x_m", "y_m", "facing", "width_m", "depth_m")})
                    continue
                if id(el) in new_ids:
                    floor.add(hall.footprint(el))
                keep.append(el)
        if homeless:
            y0 = arrange.snap_up(max(hall.footprint(e)[3] for e in hall.elements()) + 2 * arrange.AISLE_M)
            rows: dict[str, list[Rack]] = defaultdict(list)
            for r in homeless:
                rows[r.row or ""].append(r)
            placed, aisle, (fx, fy) = arrange.arrange_rows(sorted(rows.items()), arrange.WALL_GAP_M, y0, hall.id)
            ids = arrange.Ids()
            ids.taken = site.ids()
            racks += placed
            tiles += [dataclasses.replace(t, id=ids.make(f"TILE-N{k + 1:03d}", k)) for k, t in enumerate(aisle)]
            hall = dataclasses.replace(hall, width_m=max(hall.width_m, arrange.snap_up(fx + arrange.WALL_GAP_M)),
                                       depth_m=max(hall.depth_m, arrange.snap_up(fy + arrange.WALL_GAP_M)))
            report.assume("new racks placed in rows north of the re-imported layout (their place was taken)",
                          *[r.id for r in placed])
            for el in placed + aisle:
                floor.add(hall.footprint(el))
        if moved_units:
            more, hall = arrange.perimeter_units(hall, floor, moved_units)
            units += more
        halls.append(dataclasses.replace(hall, racks=racks, tiles=tiles, cooling_units=units))
    site.halls = halls
    return site


def _fits(hall: Hall, floor: arrange.Floor, el: Element) -> bool:
    fp = hall.footprint(el)
    if fp[0] < -1e-6 or fp[1] < -1e-6 or fp[2] > hall.width_m + 1e-6 or fp[3] > hall.depth_m + 1e-6:
        return False
    return floor.free(fp)


def _drop_dangling(site: Site, report: ImportReport) -> None:
    """Hand-added elements that feed from a node the new import no longer has lose that feed."""
    nodes = {n.id for n in site.power_nodes}
    for hall in site.halls:
        for coll in ("racks", "cooling_units"):
            items = getattr(hall, coll)
            for k, el in enumerate(items):
                if el.external_id is None and any(f not in nodes for f in el.feeds):
                    gone = [f for f in el.feeds if f not in nodes]
                    items[k] = dataclasses.replace(el, feeds=tuple(f for f in el.feeds if f in nodes))
                    report.skip(f"{el.id}.feeds", f"fed from {', '.join(gone)}, no longer in the source")
    keep = []
    for n in site.power_nodes:
        if n.external_id is None and any(i not in nodes for i in n.inputs):
            report.skip(n.id, "a hand-added power node whose input is no longer in the source")
            continue
        keep.append(n)
    site.power_nodes = keep


def base_layout(path: Optional[str]) -> Optional[Site]:
    """The layout at ``path`` to re-import into, or None when there is no file there."""
    import os

    from dctwin.twin.model.layoutfile import load_layout

    if not path or not os.path.exists(path):
        return None
    return load_layout(path)
