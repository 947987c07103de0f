"""Building a power chain by hand: where a new power node draws from, which feeds a new rack gets, and
the edits that connect a load to a power node.

The editor places power equipment (a utility feed, a generator, an ATS, a UPS, a switchboard, a PDU,
an RPP) on a hall's floor or in the power room, and racks on the floor. These rules pick the
connections a person would make first, so a hall built in the window is powered without editing
JSON; every choice can be changed afterwards (the inspector, a feed cable). Each function returns
plain values or :mod:`~dctwin.twin.model.commands` edits; the model validates them on apply.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Iterable, Optional, Sequence

from dctwin.twin.errors import LayoutError, LayoutIssue
from dctwin.twin.model.commands import AddElement, Command, IdAllocator, Macro, SetProperty
from dctwin.twin.model.layout import Element, PowerNode, Site
from dctwin.twin.model.validate import FEEDABLE_KINDS

#: what each kind of power node draws from, the usual source first (sources draw from nothing)
UPSTREAM_KINDS: dict[str, tuple[str, ...]] = {
    "utility": (), "generator": (),
    "ats": ("utility", "generator"),  # normal, then emergency
    "ups": ("ats", "switchboard", "utility", "generator"),
    "switchboard": ("ats", "ups", "utility", "generator"),
    "pdu": ("ups", "switchboard"),
    "rpp": ("pdu", "ups", "switchboard"),
}
#: which power nodes a new rack plugs into, the usual first
RACK_FEED_KINDS = (("pdu", "rpp"), ("ups", "switchboard"))


def default_inputs(nodes: Sequence[PowerNode], kind: str, parent: Optional[str] = None) -> tuple[str, ...]:
    """The inputs a new ``kind`` node gets among ``nodes``: ``parent`` when given (a drop onto a node of
    the power tree); an ATS the first utility and the first generator; a source none; anything else the
    node of the most usual upstream kind that feeds the fewest nodes of this kind yet (so a second UPS
    or PDU goes to the other side). Empty when there is nothing to draw from."""
    if parent:
        return (parent,)
    wanted = UPSTREAM_KINDS.get(kind, ())
    if kind == "ats":
        firsts = [next((n.id for n in nodes if n.kind == k), None) for k in wanted]
        return tuple(i for i in firsts if i is not None)
    for upstream in wanted:
        candidates = [n for n in nodes if n.kind == upstream]
        if candidates:
            load = {c.id: 0 for c in candidates}
            for n in nodes:
                if n.kind == kind:
                    for i in n.inputs:
                        if i in load:
                            load[i] += 1
            return (min(candidates, key=lambda c: load[c.id]).id,)
    return ()


def missing_upstream(nodes: Sequence[PowerNode], kind: str) -> str:
    """Why a new ``kind`` node cannot be connected ("" when it can): nothing of an upstream kind exists."""
    wanted = UPSTREAM_KINDS.get(kind, ())
    if not wanted:
        return ""
    have = {n.kind for n in nodes}
    if kind == "ats":
        lacking = [k for k in wanted if k not in have]
        return (f"an ATS switches between a utility feed and a generator: add {' and '.join(lacking)} first"
                if lacking else "")
    if have.intersection(wanted):
        return ""
    return (f"a {kind} draws from a {' or '.join(wanted)}: add one first, or drop it onto its source in the "
            f"Power panel")


def add_power_nodes(site: Site, prototype: PowerNode, positions: Sequence[Optional[tuple[float, float]]] = (None,),
                    hall_id: Optional[str] = None, parent: Optional[str] = None) -> Command:
    """The edit that adds one ``prototype`` power node per entry of ``positions`` (a point on the floor of
    ``hall_id``, or None: in the power room), each with a new id and its :func:`default_inputs` (unless the
    prototype names inputs). One step. LayoutError (naming what to add first) when there is nothing to
    connect it to."""
    if not positions:
        raise LayoutError(LayoutIssue(prototype.id or prototype.kind, "", "nothing to add"))
    ids = IdAllocator(site.ids())
    nodes = list(site.power_nodes)
    adds = []
    for pos in positions:
        inputs = prototype.inputs or default_inputs(nodes, prototype.kind, parent)
        why = "" if prototype.inputs or parent else missing_upstream(nodes, prototype.kind)
        if why:
            raise LayoutError(LayoutIssue(prototype.kind, "inputs", why))
        x, y = pos if pos is not None else (None, None)
        node = dataclasses.replace(prototype, id=ids.for_element(prototype), inputs=tuple(inputs), x_m=x, y_m=y,
                                   hall=hall_id if pos is not None else None)
        nodes.append(node)
        adds.append(AddElement(node))
    if len(adds) == 1:
        return adds[0]
    return Macro(tuple(adds), f"Add {len(adds)} {prototype.kind.upper()}s")


def _racks_fed(site: Site) -> dict[str, int]:
    out: dict[str, int] = {}
    for h in site.halls:
        for r in h.racks:
            for f in r.feeds:
                out[f] = out.get(f, 0) + 1
    return out


def default_feeds(site: Site, hall_id: Optional[str], x_m: float, y_m: float) -> tuple[str, ...]:
    """Feeds A and B for a new rack at (x_m, y_m) of hall ``hall_id`` when no rack nearby has feeds to
    join: the nearest PDUs or RPPs standing on that floor (those in the power room after them, the least
    loaded first; UPSs and switchboards when there is no PDU or RPP), B on another upstream than A where
    one exists. Empty when the site has nothing a rack can plug into."""
    fed = _racks_fed(site)
    floor = {n.id for n in site.floor_power_nodes(hall_id)} if hall_id is not None else set()

    def distance(n: PowerNode) -> float:
        if n.id not in floor:
            return math.inf
        x0, y0, x1, y1 = n.footprint()
        return math.hypot(min(max(x_m, x0), x1) - x_m, min(max(y_m, y0), y1) - y_m)

    for kinds in RACK_FEED_KINDS:
        pool = sorted((n for n in site.power_nodes if n.kind in kinds),
                      key=lambda n: (distance(n), fed.get(n.id, 0)))
        if not pool:
            continue
        a = pool[0]
        rest = pool[1:]
        other_side = [n for n in rest if set(n.inputs) != set(a.inputs)]
        b = (other_side or rest or [None])[0]
        return (a.id,) if b is None else (a.id, b.id)
    return ()


def connect_feed(site: Site, load_ids: Iterable[str], node_id: str) -> Command:
    """The edit that plugs each of ``load_ids`` (racks, cooling units) into power node ``node_id``: as
    feed A when it has none, else as feed B. One step. LayoutError naming the load when it cannot: the
    node is not one a load plugs into, it is fed from there already, or it has both feeds."""
    try:
        node = site.get(node_id)
    except KeyError:
        raise LayoutError(LayoutIssue(node_id, "", "no power node with this id")) from None
    if not isinstance(node, PowerNode):
        raise LayoutError(LayoutIssue(node_id, "", f"is a {type(node).__name__.lower()}, not a power node"))
    if node.kind not in FEEDABLE_KINDS:
        raise LayoutError(LayoutIssue(node_id, "kind", f"is a {node.kind}; loads plug into a "
                                                       f"{', '.join(FEEDABLE_KINDS)}"))
    cmds = []
    for ident in dict.fromkeys(load_ids):
        try:
            el: Element = site.get(ident)
        except KeyError:
            raise LayoutError(LayoutIssue(ident, "", "no element with this id")) from None
        feeds = getattr(el, "feeds", None)
        if feeds is None:
            raise LayoutError(LayoutIssue(ident, "feeds", f"a {type(el).__name__.lower()} takes no power feed"))
        if node_id in feeds:
            raise LayoutError(LayoutIssue(ident, "feeds", f"is fed from {node_id} already (feed {'AB'[feeds.index(node_id)]})"))
        if len(feeds) >= 2:
            raise LayoutError(LayoutIssue(ident, "feeds", f"has feeds A ({feeds[0]}) and B ({feeds[1]}) already; "
                                                          f"change one in the inspector"))
        cmds.append(SetProperty(ident, "feeds", tuple(feeds) + (node_id,)))
    if not cmds:
        raise LayoutError(LayoutIssue(node_id, "", "no load to connect"))
    if len(cmds) == 1:
        return Macro((cmds[0],), f"Feed {cmds[0].element_id} from {node_id}")
    return Macro(tuple(cmds), f"Feed {len(cmds)} elements from {node_id}")
