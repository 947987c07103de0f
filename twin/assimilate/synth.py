"""A synthetic site to try the measured-data workflow on (and to test it): a hidden truth, noisy sensors,
the defects of real exports.

:func:`synthesize` runs the twin on a *perturbed* copy of a layout (the hidden truth): one air unit's
airflow down 30 %, the plenum leakage up by 7 points, every rack's power off its nameplate by up
to 30 %, one perforated tile blocked. The scenario: steady; at 40 % of the run the racks of the
second row drop to 60 % load (the DCIM logs it); at 60 % the unit with the weak airflow trips (the
BMS logs the trip, then the high-inlet alarms the truth raises) and is reset at 85 %.

It samples a subset of the sensors a site has (60 % of rack inlets, 25 % of exhausts, half of the
rack powers, every air unit's supply, return and running state, PDU and UPS loads, UPS charge,
the outdoor temperature when there is a plant) every ``sample_s`` with jittered timestamps, noise
(0.3 K; 1 % of power), a slow drift on two inlet sensors, units of a real export (F, kW, %), and
the defects the importer must count: sentinels (-999), empty values, NaN, spikes, duplicated rows,
rows out of order, and two gaps.

Files written to ``out_dir``: ``measurements.csv`` (long: timestamp,point,value,unit; with
``parquet`` also ``measurements.parquet``, wide), ``points.csv`` (the point map),
``events.csv`` (the event log), ``event-map.json`` (a rule for the DCIM's load message),
``layout.json`` (the nominal layout: what the operator has), ``truth.json`` (the hidden parameters
and the scenario) and ``defects.json`` (how many of each defect went in).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from dctwin.twin._files import atomic_write
from dctwin.twin.assimilate.observe import Outputs, model_outputs
from dctwin.twin.assimilate.params import AIR_UNIT_KINDS, apply, open_fraction_for, param_space, tile_weight
from dctwin.twin.errors import InputError
from dctwin.twin.io.telemetry import parse_time
from dctwin.twin.model.layout import Site
from dctwin.twin.model.layoutfile import dumps_layout
from dctwin.twin.model.validate import MIN_TILE_OPEN_FRACTION
from dctwin.twin.sim.engine import Simulation

DEFECT_KINDS = ("sentinel", "empty", "nan", "spike", "duplicate", "out_of_order")
SPIKE_K = 12.0


@dataclass
class SynthOptions:
    hours: float = 6.0
    sample_s: float = 60.0
    dt_s: float = 10.0
    seed: int = 13
    start: str = "2024-05-14T00:00:00+00:00"
    grid_m: Any = None
    noise_k: float = 0.3
    defects: int = 3
    jitter_s: float = 4.0
    parquet: bool = False


def _truth(site: Site, rng: np.random.Generator) -> tuple[list, np.ndarray, dict[str, Any]]:
    """The hidden parameters (module docstring) and what was changed, in words."""
    hall = site.halls[0]
    ps = param_space(site, ("leakage", "unit_airflow", "tile_flow", "rack_power"), racks="rack", units="unit")
    values = np.array([p.nominal for p in ps])
    air = [u for u in hall.cooling_units if u.kind in AIR_UNIT_KINDS and u.airflow_m3s > 0]
    changed: dict[str, Any] = {}
    for k, p in enumerate(ps):
        if p.group == "leakage":
            values[k] = min(p.nominal + 0.07, 0.45)
            changed[p.name] = values[k]
        elif p.group == "unit_airflow" and air and p.target == air[0].id:
            values[k] = 0.7
            changed[p.name] = 0.7
        elif p.group == "rack_power":
            values[k] = round(float(rng.uniform(0.7, 1.3)), 3)
            changed[p.name] = values[k]
    tiles = [p for p in ps if p.group == "tile_flow"]
    if tiles:
        # block the tile nearest to the middle rack of the first row
        racks = hall.racks
        mid = racks[len(racks) // 4] if racks else None
        by_id = {t.id: t for t in hall.tiles}

        def dist(p: Any) -> float:
            t = by_id[p.target]
            if mid is None:
                return 0.0
            x0, y0, x1, y1 = mid.footprint()
            return math.hypot(t.x_m + 0.3 - (x0 + x1) / 2, t.y_m + 0.3 - (y0 + y1) / 2)

        blocked = min(tiles, key=dist)
        k = ps.index(blocked)
        f0 = by_id[blocked.target].open_fraction
        values[k] = float(tile_weight(MIN_TILE_OPEN_FRACTION) / tile_weight(f0))
        changed[blocked.name] = values[k]
        changed[f"open_fraction:{blocked.target}"] = round(open_fraction_for(values[k], f0), 4)
    return ps, values, changed


def _iso(t: float, offset_h: int = 0) -> str:
    tz = _dt.timezone(_dt.timedelta(hours=offset_h))
    return _dt.datetime.fromtimestamp(t, tz).isoformat(timespec="seconds")


def synthesize(site: Site, out_dir: str | Path, opts: Optional[SynthOptions] = None,
               progress: Optional[Callable[[str], None]] = None) -> dict[str, Any]:
    """Write a synthetic site's telemetry to ``out_dir`` (module docstring); returns what went in."""
    o = opts or SynthOptions()
    say = progress or (lambda _m: None)
    if not site.halls or not site.halls[0].racks:
        raise InputError("the layout has no hall with racks to synthesize data for")
    if not (0.5 <= o.hours <= 24 * 31):
        raise InputError(f"--hours must be 0.5 to 744, got {o.hours:g}")
    if not (isinstance(o.seed, int) and o.seed >= 0):  # numpy's ValueError, exit 1
        raise InputError(f"--seed must be a whole number >= 0, got {o.seed}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: is not a folder")
    above = next((p for p in out.absolute().parents if p.exists()), out)  # a file there: found after the whole run
    if not above.is_dir():
        raise InputError(f"{out}: cannot write: {above} is not a folder")
    rng = np.random.default_rng(o.seed)
    t_start = parse_time(o.start, "--start")  # before any folder is made: a refused --start left it behind
    hall = site.halls[0]
    ps, values, changed = _truth(site, rng)
    truth_site = apply(site, ps, values)
    duration = o.hours * 3600.0
    air = [u.id for u in hall.cooling_units if u.kind in AIR_UNIT_KINDS and u.airflow_m3s > 0]
    rows = list(dict.fromkeys(r.row for r in hall.racks if r.row))
    # ---- the scenario and the site's log of it
    truth_events: list[tuple[float, str, str, dict]] = []
    log: list[tuple[float, str, str, str]] = [(0.2 * duration, "EPMS", "INFO", "Generator weekly test started (no load)")]
    if len(rows) > 1:
        t = round(0.4 * duration / o.dt_s) * o.dt_s
        truth_events.append((t, "set_utilization", rows[1], {"utilization": 0.6}))
        log.append((t, "DCIM", "LOAD", f"Row {rows[1]} jobs drained, load set to 60 %"))
    if len(air) > 1:  # the unit whose airflow is down trips (a failing fan); the others carry the hall
        trip, back = round(0.6 * duration / o.dt_s) * o.dt_s, round(0.85 * duration / o.dt_s) * o.dt_s
        truth_events += [(trip, "fail", air[0], {}), (back, "repair", air[0], {})]
        log += [(trip + 3.0, "BMS", "TRIP", f"{air[0]} fan motor overload trip - unit stopped"),
                (back + 5.0, "BMS", "RESET", f"{air[0]} restarted after reset")]
    # ---- the truth, every step
    say("running the hidden truth")
    sim = Simulation(truth_site, hall.id, grid_m=o.grid_m, dt_s=o.dt_s)
    sim.solve_steady()
    for t, kind, target, d in truth_events:
        sim.schedule(t, kind, target, **d)
    outs = Outputs.of(sim)
    n_steps = int(round(duration / o.dt_s))
    t_grid = np.arange(n_steps + 1) * o.dt_s
    Y = np.zeros((n_steps + 1, outs.size))
    Y[0] = model_outputs(sim, outs)
    for k in range(1, n_steps + 1):
        sim.step()
        Y[k] = model_outputs(sim, outs)
        if k % max(1, n_steps // 10) == 0:
            say(f"truth {100 * k / n_steps:.0f} %")
    for a in sim.alarms:
        if a["active"] and a["kind"] in ("inlet_recommended", "inlet_allowable", "inlet_critical"):
            level = a["kind"].split("_")[1]
            log.append((float(a["t_s"]) + 2.0, "BMS", "ALARM", f"High inlet temperature ({level}) {a['id']}"))
    log.sort(key=lambda e: e[0])
    # ---- which points a site like this measures
    pts = _choose_points(site, rng, outs, sim)
    # ---- samples with noise, drift, jitter, units
    n = int(math.floor(duration / o.sample_s)) + 1
    rows_out: list[list[Any]] = []  # [t (epoch), point, text value, unit, k]
    per_point_times: dict[str, np.ndarray] = {}
    drift = {p["point"] for p in pts if p["quantity"] == "inlet_c"}
    drift = set(sorted(drift)[:2])
    for p in pts:
        row = outs.row(p["quantity"], p["element"])
        t_rel = np.arange(n) * o.sample_s + rng.uniform(-o.jitter_s, o.jitter_s, n)
        t_rel = np.clip(np.round(t_rel), 0.0, duration)  # whole seconds, as the file writes them
        truth = np.interp(t_rel, t_grid, Y[:, row]) if p["quantity"] != "running" else \
            Y[np.minimum(np.searchsorted(t_grid, t_rel, side="right") - 1, n_steps), row]
        v = truth + _noise(p["quantity"], truth, o.noise_k, rng)
        if p["quantity"] == "soc":
            v = np.clip(v, 0.0, 1.0)
        if p["point"] in drift:
            v = v + 0.6 * t_rel / duration
        p["_truth"] = truth
        p["_t"] = t_rel
        p["_v"] = v
    defects = _defects(pts, rng, o, n)
    for p in pts:
        times = p["_t"]
        keep = np.ones(len(times), bool)
        for a, b in p.get("_gaps", []):
            keep[a:b] = False
        present = []
        for k in np.flatnonzero(keep):
            text = _fmt(p, p["_v"][k], p["_defect"].get(int(k)))
            rows_out.append([t_start + times[k], p["point"], text, p["unit"], int(k)])
            if p["_defect"].get(int(k)) != "empty":
                present.append(times[k])
        per_point_times[p["point"]] = np.asarray(present)
    rows_out.sort(key=lambda r: (r[4], r[0]))
    rows_out = _shuffle_defects(rows_out, pts)
    irregular = 0
    for tt in per_point_times.values():
        d = np.diff(np.unique(tt))
        med = float(np.median(d))
        regular = d[d <= 3.5 * med]
        irregular += int(np.count_nonzero(np.abs(regular - med) > 0.1 * med))
    defects["irregular"] = irregular
    # ---- files
    say(f"writing {out}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot write: {exc.strerror or exc}") from None
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["timestamp", "point", "value", "unit"])
    for k, (t, point, text, unit, _) in enumerate(rows_out):
        w.writerow([_iso(t, 2 if k % 7 == 3 else 0), point, text, unit])
    atomic_write(out / "measurements.csv", buf.getvalue())
    pbuf = io.StringIO()
    pw = csv.writer(pbuf, lineterminator="\n")
    pw.writerow(["point", "element", "quantity", "unit"])
    for p in pts:
        pw.writerow([p["point"], p["element"], p["quantity"], p["unit"]])
    atomic_write(out / "points.csv", pbuf.getvalue())
    ebuf = io.StringIO()
    ew = csv.writer(ebuf, lineterminator="\n")
    ew.writerow(["timestamp", "source", "kind", "message"])
    for t, source, kind, message in log:
        ew.writerow([_iso(t_start + t, 2), source, kind, message])
    atomic_write(out / "events.csv", ebuf.getvalue())
    atomic_write(out / "event-map.json", json.dumps({"rules": [
        {"source": "DCIM", "message": r"row (\S+) .*load set to ([0-9.]+) ?%", "event": "set_utilization",
         "target": "{1}", "value": r"([0-9.]+) ?%", "scale": 0.01}]}, indent=1) + "\n")
    atomic_write(out / "layout.json", dumps_layout(site))
    if o.parquet:
        _write_parquet(out / "measurements.parquet", pts, t_start, o.sample_s)
    truth = {"params": {p.name: float(v) for p, v in zip(ps, values)}, "changed": changed,
             "scenario": [{"t_s": t, "kind": k, "target": g, **d} for t, k, g, d in truth_events],
             "start": o.start, "hours": o.hours, "sample_s": o.sample_s, "grid_m": o.grid_m, "seed": o.seed,
             "hall": hall.id, "measured_power": sorted(p["element"] for p in pts if p["quantity"] == "power_w"),
             "points": len(pts)}
    atomic_write(out / "truth.json", json.dumps(truth, indent=1) + "\n")
    atomic_write(out / "defects.json", json.dumps(defects, indent=1) + "\n")
    return {"out": str(out), "points": len(pts), "rows": len(rows_out), "events": len(log), "defects": defects,
            "truth": truth}


def _choose_points(site: Site, rng: np.random.Generator, outs: Outputs, sim: Simulation) -> list[dict[str, Any]]:
    hall = site.halls[0]
    racks = [r.id for r in hall.racks]
    n = len(racks)

    def pick(share: float, offset: int) -> list[str]:
        """About ``share`` of the racks, spread evenly (``offset`` shifts the pattern)."""
        return [racks[i] for i in range(n) if math.floor((i + 1 + offset) * share) > math.floor((i + offset) * share)]

    pts: list[dict[str, Any]] = []
    site_tag = "DC1"
    for i, r in enumerate(pick(0.6, 0)):
        pts.append({"point": f"{site_tag}/{hall.id}/{r}/INLET_T", "element": r, "quantity": "inlet_c",
                    "unit": "F" if i % 4 == 3 else "C"})
    for r in pick(0.25, 1):
        pts.append({"point": f"{site_tag}/{hall.id}/{r}/EXHAUST_T", "element": r, "quantity": "exhaust_c", "unit": "C"})
    for i, r in enumerate(pick(0.5, 1)):
        pts.append({"point": f"{site_tag}/{hall.id}/{r}/POWER", "element": r, "quantity": "power_w",
                    "unit": "kW" if i % 2 else "W"})
    for u in hall.cooling_units:
        if u.kind not in AIR_UNIT_KINDS or u.airflow_m3s <= 0:
            continue
        pts += [{"point": f"{site_tag}/{hall.id}/{u.id}/SAT", "element": u.id, "quantity": "supply_c", "unit": "C"},
                {"point": f"{site_tag}/{hall.id}/{u.id}/RAT", "element": u.id, "quantity": "return_c", "unit": "C"},
                {"point": f"{site_tag}/{hall.id}/{u.id}/RUN", "element": u.id, "quantity": "running", "unit": ""}]
    for node in site.power_nodes:
        if node.kind in ("pdu", "ups"):
            pts.append({"point": f"{site_tag}/EPMS/{node.id}/LOAD_KW", "element": node.id, "quantity": "load_w",
                        "unit": "kW"})
        if node.kind == "ups" and (node.battery_kwh or 0) > 0:
            pts.append({"point": f"{site_tag}/EPMS/{node.id}/SOC", "element": node.id, "quantity": "soc", "unit": "%"})
    if sim.cplant is not None:
        pts.append({"point": f"{site_tag}/WEATHER/OAT", "element": "", "quantity": "outdoor_c", "unit": "C"})
    for p in pts:
        p["_defect"] = {}
    return [p for p in pts if outs.row(p["quantity"], p["element"]) is not None]


def _noise(quantity: str, truth: np.ndarray, noise_k: float, rng: np.random.Generator) -> np.ndarray:
    if quantity.endswith("_c"):
        return rng.normal(0.0, noise_k, len(truth))
    if quantity in ("power_w", "load_w"):
        return rng.normal(0.0, 0.01, len(truth)) * np.abs(truth)
    if quantity == "soc":
        return rng.normal(0.0, 0.002, len(truth))
    return np.zeros(len(truth))


def _to_unit(p: dict[str, Any], si: float) -> float:
    u = p["unit"]
    if u == "F":
        return si * 9.0 / 5.0 + 32.0
    if u == "kW":
        return si / 1e3
    if u == "%":
        return si * 100.0
    return si


def _fmt(p: dict[str, Any], si: float, defect: Optional[str]) -> str:
    if defect == "sentinel":
        return "-999"
    if defect == "empty":
        return ""
    if defect == "nan":
        return "NaN"
    if defect == "spike":
        si = si + SPIKE_K
    v = _to_unit(p, si)
    q = p["quantity"]
    if q == "running":
        return str(int(round(v)))
    if q in ("power_w", "load_w") and p["unit"] == "W":
        return f"{v:.0f}"
    return f"{v:.3f}" if p["unit"] == "kW" else f"{v:.2f}"


def _defects(pts: list[dict[str, Any]], rng: np.random.Generator, o: SynthOptions, n: int) -> dict[str, Any]:
    """Choose where each defect goes: temperature points, the calm first third of the run, every
    defect at least 4 samples from any other of the same point."""
    temps = [p for p in pts if p["quantity"] in ("inlet_c", "exhaust_c", "return_c")]
    calm = max(int(0.35 * n), 12)
    counts = {k: 0 for k in DEFECT_KINDS}
    for kind in DEFECT_KINDS:
        for _ in range(o.defects):
            for _try in range(200):
                p = temps[int(rng.integers(len(temps)))]
                k = int(rng.integers(3, calm - 3))
                if all(abs(k - j) >= 4 for j in p["_defect"]):
                    p["_defect"][k] = kind
                    counts[kind] += 1
                    break
    # two gaps of 20 samples in the middle of the run on two points
    gaps = 0
    for p in temps[:2]:
        a = int(0.5 * n) + 10 * gaps
        p["_gaps"] = [(a, a + 20)]
        gaps += 1
    counts["gap"] = gaps
    return counts


def _shuffle_defects(rows: list[list[Any]], pts: list[dict[str, Any]]) -> list[list[Any]]:
    """Duplicate rows marked "duplicate" (a second row right after) and move rows marked "out_of_order"
    before their point's previous row."""
    marks = {p["point"]: p["_defect"] for p in pts}
    out: list[list[Any]] = []
    last_of: dict[str, int] = {}
    for r in rows:
        d = marks[r[1]].get(r[4])
        if d == "out_of_order" and r[1] in last_of:
            out.insert(last_of[r[1]], r)  # before the previous row of the same point
            last_of = {k: (v + 1 if v >= last_of[r[1]] else v) for k, v in last_of.items()}
            continue
        last_of[r[1]] = len(out)
        out.append(r)
        if d == "duplicate":
            out.append(list(r))
    return out


def _write_parquet(path: Path, pts: list[dict[str, Any]], t_start: float, sample_s: float) -> None:
    """The samples without defects as a wide Parquet file on the nominal sample grid (each point in its
    map unit)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = len(pts[0]["_t"])
    t_rel = np.arange(n) * sample_s
    stamps = ((t_start + t_rel) * 1e9).astype("int64")
    cols = {"timestamp": pa.array(stamps, pa.timestamp("ns", tz="UTC"))}
    for p in pts:
        cols[p["point"]] = pa.array([_to_unit(p, v) for v in np.interp(t_rel, p["_t"], p["_v"])])
    pq.write_table(pa.table(cols), path)
