"""A recording, reviewed: key figures, the cause chain of every alarm and event, in words (no Qt).

The review's layer (``twin.review``, above the store): :func:`collect` reads one
recording of a project file and replays the moment to show (the hottest inlet
of the run, or ``at_s``); :func:`key_figures` turns the recorded series and
events into the figures a reviewer asks for first (hottest inlet, time to the
first allowable breach, ride-through, racks down, energy and PUE);
:func:`alarm_explanation`, :func:`chain_steps` and :func:`event_headline` read an
alarm or an event back through its causes to the injected root. The report
(``app/report.py``) and the replay view (``app/replay.py``) only show these.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from dctwin.twin.assimilate.review import measured_view
from dctwin.twin.errors import InputError
from dctwin.twin.model.events import AUTOMATIC_KINDS, INJECTED_KINDS, Event
from dctwin.twin.model.words import DEG_C, hms
from dctwin.twin.physics.constants import ASHRAE_A1_MAX_C
from dctwin.twin.sim.alarm_board import AlarmBoard, OperatorAction, alarm_target, build_board
from dctwin.twin.sim.results import HallSummary
from dctwin.twin.store import Project, Replayer
from dctwin.twin.store.operator import read_actions

#: height of the air-temperature slice read at the picture moment (m)
HEAT_Z_M = 1.0
#: kinds that count as a rack going down
DOWN_KINDS = ("rack_down", "shutdown")


@dataclass
class ReviewData:
    """Everything the report shows, read from one recording (plain data, no Qt)."""

    file: str
    title: str
    recording_id: int
    site: Any
    hall_id: Optional[str]
    duration_s: float
    dt_s: float
    incident_name: str
    incident_description: str
    engine_version: str
    is_review: bool
    picture_t_s: float  # the moment the floor plan shows
    picture_reason: str
    summary: HallSummary  # sim.summary() at picture_t_s
    heat: Optional[tuple]  # (temps [nx, ny] °C, extent) at HEAT_Z_M
    events: list[Event]
    alarms: list[dict]
    hall_t_s: np.ndarray
    hall: dict[str, np.ndarray]
    rack_t_s: np.ndarray
    rack_inlet_c: np.ndarray  # [n, racks]
    rack_ids: list[str]
    figures: dict[str, Any] = field(default_factory=dict)
    #: the file's latest contingency sweep (``SweepResult.to_json()``, ranked) and the layout it ran on
    sweep: Optional[dict[str, Any]] = None
    sweep_site: Any = None
    #: a shadow replay of measured data: what was measured, predicted and estimated
    #: (:class:`dctwin.twin.assimilate.review.MeasuredView`); None for a simulated run
    measured: Any = None
    #: what operators did with the alarms (acknowledge, shelve), who and when
    actions: list[OperatorAction] = field(default_factory=list)

    def event_by_seq(self) -> dict[int, Event]:
        return {e.seq: e for e in self.events}

    def board(self) -> AlarmBoard:
        """The alarms grouped by cause, a flood held back, with the operators' actions."""
        return build_board(self.alarms, self.event_by_seq(), self.actions)


# ---------------------------------------------------------------------- causes in words
def cause_chain(seq: Optional[int], by_seq: dict[int, Event], limit: int = 50) -> list[Event]:
    """The event ``seq`` and its causes, nearest first, back to the root (cycles and gaps end it)."""
    out: list[Event] = []
    seen: set[int] = set()
    while seq is not None and seq in by_seq and seq not in seen and len(out) < limit:
        seen.add(seq)
        ev = by_seq[seq]
        out.append(ev)
        seq = ev.cause
    return out


def origin(kind: str) -> str:
    """How an event of ``kind`` came about: "automatic" (the twin did it: a transfer, a trip, a throttle)
    or "injected" (from outside: a failure, an operator action)."""
    return "automatic" if kind in AUTOMATIC_KINDS else "injected"


def _t(t_s: float) -> str:
    return hms(t_s)


def event_text(ev: Event) -> str:
    """One event in words: ``fail CRAH-1 at 10 s``."""
    what = ev.kind.replace("_", " ")
    return f"{what} {ev.target} at {_t(ev.t_s)}".replace("  ", " ")


def alarm_explanation(alarm: dict, by_seq: dict[int, Event]) -> str:
    """The alarm's explanation as one sentence: its own message, else built from its cause chain."""
    msg = str(alarm.get("message") or "").strip()
    chain = cause_chain(alarm.get("cause"), by_seq)
    if msg:
        return msg if msg.endswith(".") else msg + "."
    head = f"{str(alarm.get('kind', 'alarm')).replace('_', ' ')} on {alarm.get('target', '')} at {_t(alarm['t_s'])}"
    if chain:
        return head + ", caused by " + " <- ".join(event_text(e) for e in chain) + "."
    return head + "."


def event_headline(seq: int, by_seq: dict[int, Event]) -> str:
    """One sentence: the event and why it happened (its chain of causes)."""
    chain = cause_chain(seq, by_seq)
    if not chain:
        return ""
    head = event_text(chain[0])
    if len(chain) == 1:
        return head + (f": {chain[0].condition}." if chain[0].condition else " (injected).")
    return head + ", caused by " + " <- ".join(event_text(e) for e in chain[1:]) + "."


def event_chain_steps(seq: Optional[int], by_seq: dict[int, Event]) -> list[dict]:
    """The event ``seq``, then each of its causes back to the root, as ``{t_s, kind, target, text}`` steps."""
    out = []
    for ev in cause_chain(seq, by_seq):
        why = f" ({ev.condition})" if ev.condition else ""
        out.append({"t_s": ev.t_s, "kind": ev.kind, "target": ev.target,
                    "text": f"{ev.kind.replace('_', ' ')} {ev.target} [{origin(ev.kind)}]{why}".replace("  ", " ")})
    return out


def chain_steps(alarm: dict, by_seq: dict[int, Event], alarms: Optional[list[dict]] = None) -> list[dict]:
    """The alarm, then each cause back to the root, as steps (the same shape as :func:`event_chain_steps`).

    With the run's ``alarms``, a rack that went down on its inlet also names the critical-inlet alarm it
    passed through on the way (an alarm is not an event, so no event chain holds it)."""
    target = alarm_target(alarm)
    head = {"t_s": float(alarm["t_s"]), "kind": str(alarm.get("kind", "")), "target": target,
            "text": f"{alarm.get('severity', 'alarm')}: {str(alarm.get('kind', '')).replace('_', ' ')} "
                    f"on {target}"}
    steps = event_chain_steps(alarm.get("cause"), by_seq)
    chain = cause_chain(alarm.get("cause"), by_seq)
    if alarms and chain and not (chain[-1].kind in INJECTED_KINDS and chain[-1].cause is None):
        # a recorded row holds its nearest event only; a shutdown's ends at the throttle before it (caused by
        # a temperature, not an event): read on through the element's earlier alarm to what heated it
        earlier = [a for a in alarms if alarm_target(a) == target and a.get("active", True)
                   and float(a["t_s"]) <= float(alarm["t_s"]) and a is not alarm and a.get("cause") is not None]
        for a in reversed(earlier):
            more = cause_chain(a.get("cause"), by_seq)
            if more and more[-1].kind in INJECTED_KINDS and more[-1].cause is None:
                steps += event_chain_steps(a.get("cause"), by_seq)
                break
    if alarm.get("kind") in DOWN_KINDS and alarms:
        crit = [a for a in alarms if a.get("kind") == "inlet_critical" and a.get("active", True)
                and alarm_target(a) == target and float(a["t_s"]) <= float(alarm["t_s"]) + 1e-9]
        if crit:
            a = crit[-1]
            steps.insert(0, {"t_s": float(a["t_s"]), "kind": "inlet_critical", "target": target,
                             "text": f"critical: inlet critical on {target} [alarm]"})
    return [head] + steps


# ---------------------------------------------------------------------- key figures
def key_figures(duration_s: float, events: list[Event], alarms: list[dict], hall_t: np.ndarray,
                hall: dict[str, np.ndarray], rack_t: np.ndarray, rack_inlet: np.ndarray,
                rack_ids: list[str]) -> dict[str, Any]:
    """Key figures of a run from its recorded series and events.

    hottest inlet (°C, rack, time); first allowable breach (s from the start, and from the first
    injected event); ride-through (s from the first UPS on battery to the battery exhausted, or the
    run's end when it held); racks down (ids); IT and facility energy (kWh, trapezoid over the hall
    metrics) and their ratio, the run's PUE.
    """
    f: dict[str, Any] = {}
    mx = hall.get("max_inlet_c")
    if mx is not None and len(mx) and np.isfinite(mx).any():
        i = int(np.nanargmax(mx))
        f["hottest_inlet_c"] = float(mx[i])
        f["hottest_inlet_t_s"] = float(hall_t[i])
    if rack_inlet.size:
        j = np.unravel_index(int(np.nanargmax(rack_inlet)), rack_inlet.shape)
        f["hottest_rack"] = rack_ids[int(j[1])]
        if "hottest_inlet_c" not in f or rack_inlet[j] > f["hottest_inlet_c"]:
            f["hottest_inlet_c"] = float(rack_inlet[j])
            f["hottest_inlet_t_s"] = float(rack_t[int(j[0])])
    breach = None
    if mx is not None and len(mx):
        over = np.nonzero(mx > ASHRAE_A1_MAX_C)[0]
        if over.size:
            breach = float(hall_t[over[0]])
    f["first_allowable_breach_s"] = breach
    # a shadow replay's set-point and load events that only follow measured values are no incident
    injected = [e for e in events if e.kind in INJECTED_KINDS
                and not (e.details.get("origin") == "measured" and e.kind.startswith("set_"))]
    # the incident starts with its first disruptive event (a generator armed to fail starts nothing by itself)
    ref = next((e for e in injected if e.kind != "generator_fail_to_start"), injected[0] if injected else None)
    f["reference_event"] = event_text(ref) if ref is not None else None
    f["first_injected_s"] = ref.t_s if ref is not None else None
    f["breach_after_incident_s"] = (breach - ref.t_s) if (breach is not None and ref is not None) else None
    on_batt = [e for e in events if e.kind == "ups_on_battery"]
    exhausted = [e for e in events if e.kind == "ups_battery_exhausted"]
    if on_batt:
        end = exhausted[0].t_s if exhausted else duration_s
        f["ride_through_s"] = float(end - on_batt[0].t_s)
        f["ride_through_held"] = not exhausted
    else:
        f["ride_through_s"] = None
        f["ride_through_held"] = None
    soc = hall.get("ups_min_soc")
    if soc is not None and len(soc) and np.isfinite(soc).any():
        f["ups_min_soc"] = float(np.nanmin(soc))
    f["racks_down"] = sorted({e.target for e in events if e.kind in DOWN_KINDS})
    down = [e for e in events if e.kind in DOWN_KINDS]
    f["first_rack_down_s"] = down[0].t_s if down else None
    f["first_rack_down"] = f"{down[0].target} ({down[0].kind.replace('_', ' ')})" if down else None
    f["racks_throttled"] = sorted({e.target for e in events if e.kind == "throttle"})
    it, fac = hall.get("it_power_w"), hall.get("facility_power_w")
    if it is not None and len(hall_t) > 1:
        f["it_energy_kwh"] = float(_trapz(it, hall_t) / 3.6e6)
        if fac is not None and np.isfinite(fac).all():
            f["facility_energy_kwh"] = float(_trapz(fac, hall_t) / 3.6e6)
            f["pue"] = f["facility_energy_kwh"] / f["it_energy_kwh"] if f["it_energy_kwh"] > 0 else None
    f["alarms"] = len(alarms)
    f["events"] = len(events)
    f["automatic_actions"] = sum(1 for e in events if e.kind in AUTOMATIC_KINDS)
    return f


def _trapz(y: np.ndarray, x: np.ndarray) -> float:
    y = np.asarray(y, float)
    x = np.asarray(x, float)
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x)))


def _fmt(v: Any, unit: str = "", digits: int = 1) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}{(' ' + unit) if unit else ''}"
    return f"{v}{(' ' + unit) if unit else ''}"


def figures_rows(data: ReviewData) -> list[tuple[str, str]]:
    """Key figures as (name, value) text rows."""
    f = data.figures
    hot = "—"
    if f.get("hottest_inlet_c") is not None:
        hot = f"{f['hottest_inlet_c']:.1f} {DEG_C}" + (f" ({f['hottest_rack']}, " if f.get("hottest_rack") else " (") + \
              f"at {hms(f['hottest_inlet_t_s'])})"
    breach = f.get("first_allowable_breach_s")
    breach_txt = "never" if breach is None else f"at {hms(breach)}" + (
        f", {hms(f['breach_after_incident_s'])} after {f['reference_event']}"
        if f.get("breach_after_incident_s") is not None else "")
    rt = f.get("ride_through_s")
    if rt is None:
        rt_txt = "no UPS ran on battery"
    else:
        rt_txt = f"{hms(rt)} on battery" + (" (held to the end of the run)" if f.get("ride_through_held")
                                            else " until the battery was exhausted")
    if f.get("ups_min_soc") is not None:
        rt_txt += f"; lowest UPS charge {100 * f['ups_min_soc']:.0f} %"
    down = f.get("racks_down") or []
    board = data.board()
    groups = "; ".join(f"{g.title} ({g.summary()})" for g in board.groups) or "none"
    acts = data.actions
    rows = [("Hottest inlet", hot),
            (f"First inlet over the allowable {ASHRAE_A1_MAX_C:g} {DEG_C}", breach_txt),
            ("Ride-through", rt_txt),
            ("Racks down", f"{len(down)}" + (f", the first at {hms(f['first_rack_down_s'])}: "
                                             f"{f['first_rack_down']}; all: {', '.join(down)}" if down else "")),
            ("Racks throttled", f"{len(f.get('racks_throttled') or [])}"),
            ("IT energy", _fmt(f.get("it_energy_kwh"), "kWh", 2)),
            ("Facility energy", _fmt(f.get("facility_energy_kwh"), "kWh", 2)),
            ("PUE (energy-weighted)", _fmt(f.get("pue"), "", 3)),
            ("Events / automatic actions / alarms",
             f"{f.get('events', 0)} / {f.get('automatic_actions', 0)} / {f.get('alarms', 0)}"),
            ("Alarms by cause", groups + (f"; {len(board.shelved)} shelved" if board.shelved else "")),
            ("Operator actions", f"{len(acts)}" + (": " + "; ".join(a.text() for a in acts) if acts else "")),
            ("Engine warnings", "; ".join(data.summary.warnings) or "none")]
    return rows


# ---------------------------------------------------------------------- reading a recording
def incident_title(project: Any, incident_id: Optional[int]) -> tuple[str, str]:
    """(name, description) of the incident a recording ran ("", "" without one; a damaged one is
    called ``incident <id>``)."""
    if incident_id is None:
        return "", ""
    try:
        inc = json.loads(project.incident_text(int(incident_id)))
        return str(inc.get("name", "")), str(inc.get("description", ""))
    except (ValueError, AttributeError):
        return f"incident {incident_id}", ""


def collect(path: str | os.PathLike, recording_id: Optional[int] = None, at_s: Optional[float] = None,
            progress: Optional[Callable[[str], None]] = None) -> ReviewData:
    """Read one recording of ``path`` and rebuild the state at the picture moment (``at_s`` or the
    hottest second of the run)."""
    say = progress or (lambda _msg: None)
    with Project.open(path, read_only=True) as project:
        reader = project.recording(recording_id)
        site = reader.layout()
        events = reader.events()
        alarms = reader.alarms()
        hall_t, hall = reader.hall_metrics()
        rack_t, rack_v = reader.series("rack_inlet_c")
        inc_name, inc_desc = incident_title(project, reader.incident_id)
        sweep, sweep_site = collect_sweep(project)
        is_review = bool(project.is_review)
        actions = read_actions(project, reader.id, reader.duration_s)
        kfs = reader.keyframes()
        t0 = kfs[0].t_s if kfs else 0.0  # a moment export replays only from its keyframe
        if at_s is not None:
            if not t0 <= at_s <= reader.duration_s + 1e-9:
                raise InputError(f"--at {at_s:g} s is outside recording {reader.id} ({t0:g} to "
                                 f"{reader.duration_s:g} s can be replayed)")
            t_pic, reason = float(at_s), "the requested moment"
        else:
            mx = hall.get("max_inlet_c")
            ok = (hall_t >= t0) & np.isfinite(mx) if mx is not None and len(mx) else np.zeros(0, bool)
            if ok.any():
                i = int(np.nanargmax(np.where(ok, mx, -np.inf)))
                t_pic, reason = float(hall_t[i]), "the hottest inlet of the run"
            else:
                t_pic, reason = float(reader.duration_s), "the end of the run"
        t_pic = min(max(t_pic, 0.0), reader.duration_s)
        say(f"replaying to t = {hms(t_pic)}")
        sim = Replayer(reader).seek(t_pic)
        summary = sim.summary()
        try:
            heat = sim.air_temperature_slice(HEAT_Z_M)
        except (AttributeError, ValueError):
            heat = None
        data = ReviewData(
            file=os.path.abspath(path), title=f"Review: {site.name or Path(path).stem}" + (f", {inc_name}" if inc_name else ""),
            recording_id=reader.id, site=site, hall_id=reader.hall_id, duration_s=reader.duration_s,
            dt_s=reader.dt_s, incident_name=inc_name, incident_description=inc_desc,
            engine_version=str(reader.engine_version or ""), is_review=is_review, picture_t_s=t_pic,
            picture_reason=reason, summary=summary, heat=heat, events=events, alarms=alarms, hall_t_s=hall_t,
            hall=hall, rack_t_s=rack_t, rack_inlet_c=rack_v, rack_ids=list(reader.rack_ids), sweep=sweep,
            sweep_site=sweep_site, measured=measured_view(project, reader.id),
            actions=actions)
        if data.measured is not None:  # the set-points and loads that only follow measured values: counted in
            # the measured section, not listed as events
            data.events = events = [e for e in events
                                    if not (e.details.get("origin") == "measured" and e.kind.startswith("set_"))]
    data.figures = key_figures(data.duration_s, events, alarms, hall_t, hall, rack_t, rack_v, data.rack_ids)
    return data


def collect_sweep(project: Any) -> tuple[Optional[dict[str, Any]], Any]:
    """The latest contingency sweep of an open project (ranked, as JSON values) and its layout;
    (None, None) when the file holds none."""
    from dctwin.twin.store.sweeps import load_sweep, sweeps

    if not sweeps(project):
        return None, None
    result = load_sweep(project)
    return result.to_json(), project.load_layout(result.layout_id)

