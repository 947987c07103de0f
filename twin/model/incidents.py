"""Incident files: a named timeline of injected events.

JSON ``{"format": "dctwin-incident", "version": 1, "name", "description",
"events": [{"t_s", "kind", "target", ...}]}`` and optionally ``"layout"`` (the
built-in demo it is written for, e.g. "small") and ``"duration_s"`` (how long to
run it). Extra keys of an event are
its details (``utilization`` for set_utilization, ``setpoint_c`` for
set_setpoint, ``c`` for set_outdoor_c). Reading checks the format, every
event's time, kind and fields, and (given a site) that every target exists;
all problems are reported together, each naming the event and field.

The incident library (``assets/incidents/<name>.json``, read with
:mod:`importlib.resources`): :func:`list_incidents`, :func:`load_library_incident`.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from dctwin.twin.errors import LayoutError, LayoutIssue
from dctwin.twin.model.events import EVENT_KINDS, INJECTED_KINDS
from dctwin.twin.model.layout import Site
from dctwin.twin.model.layoutfile import (
    decode_text_file, finite_number, json_object, parse_json_strict, read_json_bytes,
)
from dctwin.twin.model.text import (
    MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, brief_json, id_problem, issue, show, text_problem,
)

FORMAT = "dctwin-incident"
VERSION = 1

#: most events in one incident (the editor's load swing makes at most 2,000; every event may re-march
#: the air)
MAX_EVENTS = 10_000
#: latest event time and longest suggested run (s): a year and a day, as ``dctwin simulate --duration``
MAX_TIME_S = 366 * 86400.0

#: details each kind needs (name -> (low, high)), from the event schema
_REQUIRED_DETAILS = {k: {e.value.name: (e.value.low, e.value.high)} if e.value else {} for k, e in EVENT_KINDS.items()}


@dataclass(frozen=True)
class IncidentEvent:
    t_s: float
    kind: str
    target: str = ""
    details: dict = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {"t_s": self.t_s, "kind": self.kind, "target": self.target, **self.details}


@dataclass
class Incident:
    name: str
    description: str
    events: list[IncidentEvent]
    layout: str = ""  # the built-in demo it is written for ("" = any)
    duration_s: Optional[float] = None  # suggested run length

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"format": FORMAT, "version": VERSION, "name": self.name,
                             "description": self.description}
        if self.layout:
            d["layout"] = self.layout
        if self.duration_s is not None:
            d["duration_s"] = self.duration_s
        d["events"] = [e.to_dict() for e in self.events]
        return d

    def schedule_on(self, sim) -> None:
        """Schedule every event on an engine :class:`~dctwin.twin.sim.engine.Simulation`."""
        for ev in self.events:
            sim.schedule(ev.t_s, ev.kind, ev.target, **ev.details)


def _targets(site: Site) -> dict[str, str]:
    """Every id an event may name -> what it is."""
    out: dict[str, str] = {}
    for hall in site.halls:
        for r in hall.racks:
            out[r.id] = "rack"
        for u in hall.cooling_units:
            out[u.id] = "cdu" if u.kind == "cdu" else "cooling unit"
    for n in site.power_nodes:
        out[n.id] = n.kind
    for c in site.chillers:
        out[c.id] = "chiller"
    for p in site.pumps:
        out[p.id] = "pump"
    return out


def _check_target(kind: str, target: str, where: str, targets: dict[str, str], rows: set[str],
                  issues: list[LayoutIssue]) -> None:
    """``target`` fits a ``kind`` event: ``targets`` is :func:`_targets` of the site, ``rows`` its racks' rows."""
    spec = EVENT_KINDS[kind]
    what = targets.get(target)
    if not target:
        if not spec.target_optional:
            issues.append(issue(where, "target", f"a {kind} event needs a target"))
        return
    ok = (not spec.targets or what in spec.targets or ("*" in spec.targets and what is not None)
          or ("row" in spec.targets and target in rows) or ("all" in spec.targets and target == "all"))
    need = spec.need
    if not ok:
        found = f"a {what}" if what else "not in the layout"
        issues.append(issue(where, "target", f"{show(target)} is {found}; a {kind} event needs {need}"))


def incident_from_dict(data: Any, site: Optional[Site] = None, source: str = "") -> Incident:
    """Build and check an incident. Raises LayoutError listing every problem (objects read by
    :func:`~dctwin.twin.model.layoutfile.json_object` also say which keys were given twice)."""
    issues: list[LayoutIssue] = []
    if not isinstance(data, dict):
        raise LayoutError([LayoutIssue("incident", "", "the file must hold a JSON object")], source)
    if data.get("format") != FORMAT:
        raise LayoutError([LayoutIssue("incident", "format",
                                       f"unsupported format {brief_json(data.get('format'))}; expected \"{FORMAT}\"")],
                          source)
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version != VERSION:
        raise LayoutError([LayoutIssue("incident", "version",
                                       f"unsupported version {brief_json(version)}; this dctwin reads version {VERSION}")],
                          source)
    for key in data:
        if key not in ("format", "version", "name", "description", "events", "layout", "duration_s"):
            issues.append(issue("incident", key, "unknown field"))
    issues += [issue("incident", key, "given twice") for key in getattr(data, "twice", ())]
    name = data.get("name", "incident")
    desc = data.get("description", "")
    for key, text, limit, multiline in (("name", name, MAX_NAME_CHARS, False),
                                        ("description", desc, MAX_DESCRIPTION_CHARS, True)):
        problem = text_problem(text, limit, multiline)
        if problem:
            issues.append(issue("incident", key, problem))
    name = name if isinstance(name, str) else "incident"
    desc = desc if isinstance(desc, str) else ""
    layout = data.get("layout", "")
    if layout != "" and id_problem(layout):
        issues.append(issue("incident", "layout", f"must be the name of a demo layout, got {brief_json(layout)}"))
        layout = ""
    duration = data.get("duration_s")
    if duration is not None and (not finite_number(duration) or not 0 < duration <= MAX_TIME_S):
        issues.append(issue("incident", "duration_s", f"must be a positive number of seconds up to "
                                                      f"{MAX_TIME_S:g} (366 days), got {brief_json(duration)}"))
        duration = None
    raw_events = data.get("events")
    if not isinstance(raw_events, list):
        issues.append(issue("incident", "events", "must be a list of events"))
        raw_events = []
    elif len(raw_events) > MAX_EVENTS:
        # each event is checked against the layout and may re-march the air: refused before any of that
        raise LayoutError([issue("incident", "events", f"{len(raw_events):,} events; at most {MAX_EVENTS:,} "
                                                       f"in one incident")], source)
    events: list[IncidentEvent] = []
    if site is not None:  # once, not per event: 10,000 events on a 20,000-rack hall
        targets = _targets(site)
        rows = {r.row for h in site.halls for r in h.racks if r.row}
    for k, raw in enumerate(raw_events):
        where = f"events[{k}]"
        if not isinstance(raw, dict):
            issues.append(issue(where, "", "must be an object"))
            continue
        issues += [issue(where, key, "given twice in the same event") for key in getattr(raw, "twice", ())]
        t = raw.get("t_s")
        kind = raw.get("kind")
        target = raw.get("target", "")
        bad = False
        if not finite_number(t):
            issues.append(issue(where, "t_s", f"must be a number of seconds, got {brief_json(t)}"))
            bad = True
        elif t < 0:
            issues.append(issue(where, "t_s", f"must not be negative, got {t:g} s"))
            bad = True
        elif t > MAX_TIME_S:
            issues.append(issue(where, "t_s", f"{t:g} s is after any run (at most {MAX_TIME_S:g} s, 366 days)"))
            bad = True
        if kind not in INJECTED_KINDS:
            issues.append(issue(where, "kind", f"unknown kind {brief_json(kind)} "
                                                      f"(known: {', '.join(INJECTED_KINDS)})"))
            bad = True
        if not isinstance(target, str) or (target and id_problem(target)):
            issues.append(issue(where, "target", f"must be an id, got {show(target)}"))
            bad = True
        details = {key: v for key, v in raw.items() if key not in ("t_s", "kind", "target")}
        if not bad:
            need = _REQUIRED_DETAILS[kind]
            for key, value in details.items():
                if key not in need:
                    issues.append(issue(where, key, f"unknown field for a {kind} event"))
            for key, (lo, hi) in need.items():
                v = details.get(key)
                if not finite_number(v):
                    issues.append(issue(where, key, f"a {kind} event needs a number {key}, got {brief_json(v)}"))
                elif not lo <= v <= hi:
                    issues.append(issue(where, key, f"{v:g} is out of range ({lo:g}..{hi:g})"))
            if site is not None:
                _check_target(kind, target, where, targets, rows, issues)
        if not bad:
            events.append(IncidentEvent(float(t), kind, target, details))
    if issues:
        raise LayoutError(issues, source)
    events.sort(key=lambda e: e.t_s)
    return Incident(name, desc, events, layout, None if duration is None else float(duration))


def load_incident(path: str | os.PathLike, site: Optional[Site] = None) -> Incident:
    """Read an incident file (checked against ``site`` when given)."""
    p = Path(path)
    raw = read_json_bytes(p, "incident")
    data = parse_json_strict(decode_text_file(raw, str(p), "incident"), str(p), "incident",
                             object_pairs_hook=json_object)
    return incident_from_dict(data, site, str(p))


# --------------------------------------------------------------------------- library


def _library() -> Any:
    return resources.files("dctwin.assets").joinpath("incidents")


def library_folder() -> Optional[str]:
    """The incident library's folder on disk (where a file dialog can start), or None when the package
    is not installed as plain files (a zip)."""
    folder = _library()
    return str(folder) if isinstance(folder, Path) and folder.is_dir() else None


def list_incidents() -> dict[str, str]:
    """The built-in incidents: ``{name: "<layout>: <description>"}`` (file assets/incidents/<name>.json)."""
    out: dict[str, str] = {}
    for entry in sorted(_library().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text(encoding="utf-8"))
            out[entry.name[:-5]] = f"{data.get('layout', '')}: {data.get('description', '')}"
    return out


def load_library_incident(name: str, site: Optional[Site] = None) -> Incident:
    """A built-in incident by name (checked against ``site`` when given).
    Unknown name -> LayoutError naming the known ones."""
    names = list_incidents()
    if name not in names:
        raise LayoutError([LayoutIssue("incident", "", f"no built-in incident named {show(name)}; "
                                                       f"available: {', '.join(names)}")], name)
    text = _library().joinpath(f"{name}.json").read_text(encoding="utf-8")
    return incident_from_dict(json.loads(text), site, f"incident {name}")
