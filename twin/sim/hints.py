"""Design hints of a contingency sweep: a change that would have prevented a severe scenario,
checked by running the scenario again on the changed layout.

What the twin can check by itself is a second power feed. When a scenario leaves cooling units,
chillers, pumps or racks without power (every feed they have went dark), :func:`feed_change`
proposes feeding them also from a node that stayed live through the whole scenario (a
distribution node: switchboard, PDU, RPP or UPS; the same kind as their present feed first, then
the one with the most headroom before the failure that can carry their load), and
:func:`verify_change` runs the scenario again on the changed layout from its own steady state.
The hint reports the outcome before and after ("CRAH-1 and CRAH-2 are fed from SWB-M only: a
second feed from PDU-B takes the racks down from 20 to 0"). Scenarios whose harm is not a lost
feed (a cooling unit that fails, racks too hot with every unit running) get no hint: the fixes
there (another unit, a larger coil) are design choices the twin cannot make on its own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional

from dctwin.twin.model.layout import Site
from dctwin.twin.sim.contingency import (
    FAIL_AT_S, Scenario, SweepSettings, prepare_base, run_scenario,
)

#: node kinds a second feed may come from, in order of preference after the present feed's kind
FEED_KINDS = ("switchboard", "rpp", "pdu", "ups")


@dataclass(frozen=True)
class FeedChange:
    """Give ``consumers`` (ids) the second feed ``source``; ``old`` is what fed them."""

    consumers: tuple[str, ...]
    old: tuple[str, ...]
    source: str

    def describe(self) -> str:
        who = " and ".join([", ".join(self.consumers[:-1]), self.consumers[-1]] if len(self.consumers) > 1
                           else list(self.consumers))
        verb = "are" if len(self.consumers) > 1 else "is"
        return f"{who} {verb} fed from {' and '.join(self.old)} only"

    def to_json(self) -> dict[str, Any]:
        return {"consumers": list(self.consumers), "old_feeds": list(self.old), "new_feed": self.source}


def _feeds(site: Site, ident: str) -> tuple[str, ...]:
    try:
        return tuple(getattr(site.get(ident), "feeds", ()) or ())
    except KeyError:
        return ()


def feed_change(site: Site, outcome: dict[str, Any], node_load_w: dict[str, float],
                consumer_load_w: dict[str, float]) -> list[FeedChange]:
    """Second feeds for what lost every feed in the scenario of ``outcome`` (one change per group
    of consumers with the same feeds), from nodes that stayed live; [] when nothing lost power or
    no live node can carry the load. ``node_load_w``: each node's load before the failure (W);
    ``consumer_load_w``: each consumer's draw before the failure (W)."""
    dark = set(outcome.get("dark_nodes") or ())
    failed = set(outcome.get("failed") or ())
    lost = [c for c in (outcome.get("unpowered") or []) if c not in failed]
    racks_off = set(outcome.get("static", {}).get("racks_unpowered_ids") or ())
    lost += [r for r in outcome.get("racks_down_ids") or [] if r in racks_off and r not in failed]
    groups: dict[tuple[str, ...], list[str]] = {}
    for c in lost:
        feeds = _feeds(site, c)
        if feeds and all(f in dark or f in failed for f in feeds):
            groups.setdefault(feeds, []).append(c)
    nodes = {n.id: n for n in site.power_nodes}
    taken: dict[str, float] = {}
    out = []
    for feeds, members in sorted(groups.items()):
        need = sum(consumer_load_w.get(c, 0.0) for c in members)
        kinds = [nodes[feeds[0]].kind] if feeds[0] in nodes else []
        kinds += [k for k in FEED_KINDS if k not in kinds]
        best: Optional[tuple] = None
        for n in site.power_nodes:
            if n.id in dark or n.id in failed or n.id in feeds or n.kind not in kinds:
                continue
            head = n.capacity_kw * 1e3 - node_load_w.get(n.id, 0.0) - taken.get(n.id, 0.0) \
                if n.capacity_kw > 0 else float("inf")
            if head < need:
                continue
            key = (kinds.index(n.kind), -head, n.id)
            if best is None or key < best[0]:
                best = (key, n.id)
        if best is not None:
            taken[best[1]] = taken.get(best[1], 0.0) + need
            out.append(FeedChange(tuple(members), feeds, best[1]))
    return out


def apply_changes(site: Site, changes: list[FeedChange]) -> Site:
    """A copy of ``site`` with each change's consumers fed also (or, with two dark feeds already,
    instead of the second) from its source."""
    new = site.copy()
    for ch in changes:
        for c in ch.consumers:
            hall, coll, i, el = new.locate(c)
            feeds = tuple(el.feeds)
            feeds = (feeds[0], ch.source) if feeds else (ch.source,)
            new.collection(hall, coll)[i] = dataclasses.replace(el, feeds=feeds)
    return new


def loads_before(sim) -> tuple[dict[str, float], dict[str, float]]:
    """(each power node's load, each consumer's draw) of ``sim`` now (W)."""
    p = sim.power
    if p is None:
        return {}, {}
    s, pp = p.state, p.plant
    return ({nid: float(s.out_w[i]) for i, nid in enumerate(pp.node_ids)},
            {cid: float(s.cons_w[i]) for i, cid in enumerate(pp.consumer_ids)})


def verify_change(layout_text: str, base_dir: Optional[str], settings: SweepSettings,
                  scenarios: list[Scenario], changes: list[FeedChange]) -> list[dict[str, Any]]:
    """Run ``scenarios`` on the layout with ``changes`` (from its own steady state, solved once);
    returns their outcomes (a dask task: plain values in and out)."""
    from dctwin.twin.model.layoutfile import loads_layout

    site = apply_changes(loads_layout(layout_text, "the sweep's layout"), changes)
    base, sim, _ = prepare_base(site, settings, base_dir)
    return [run_scenario(sim, base, sc) for sc in scenarios]


def hint_text(changes: list[FeedChange], before: dict[str, Any], after: dict[str, Any]) -> str:
    """The hint in words, with the verified outcome."""
    what = "; ".join(f"{c.describe()}: a second feed from {c.source}" for c in changes)

    def state(o: dict[str, Any]) -> str:
        over = len(o.get("racks_over_allowable") or [])
        return f"{o['racks_down']} racks down ({o['kw_down']:.0f} kW), {over} over allowable"

    if after["racks_down"] < before["racks_down"]:
        gain = f"removes {before['racks_down'] - after['racks_down']} of {before['racks_down']} racks down"
    elif len(after.get("racks_over_allowable") or []) < len(before.get("racks_over_allowable") or []):
        gain = "keeps racks within their allowable inlet"
    else:
        gain = "does not help"
    return (f"{what} — {gain} ({state(before)} -> {state(after)}; verified by re-running "
            f"'{before['label']}' on the changed layout, failure at {FAIL_AT_S:g} s)")


def hint(changes: list[FeedChange], before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The hint as stored with the scenario's outcome."""
    return {"text": hint_text(changes, before, after), "changes": [c.to_json() for c in changes],
            "racks_down_after": after["racks_down"], "kw_down_after": after["kw_down"],
            "racks_over_allowable_after": len(after.get("racks_over_allowable") or []),
            "max_inlet_c_after": after.get("max_inlet_c"),
            "helps": after["racks_down"] < before["racks_down"] or
            len(after.get("racks_over_allowable") or []) < len(before.get("racks_over_allowable") or []),
            "verified": True}
