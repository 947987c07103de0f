"""Measured data in a project file: telemetry sets (series, point map, site events) and shadow replays.

New tables, created the first time a file receives telemetry (:func:`ensure_tables`); a file
without them opens as before, and readers treat their absence as "no telemetry".

- ``telemetry_sets``: one import (the layout version its map refers to, its time span in epoch
  seconds, the sources and the import report as JSON).
- ``telemetry_points``: the point map of a set (``point, element, quantity, unit`` as imported,
  the SI unit the stored values are in, the number of samples).
- ``telemetry_series``: cleaned samples in chunks of at most :data:`CHUNK_SAMPLES` per point:
  ``t0_s`` (epoch seconds of the chunk's first sample), ``t_data`` (int32 milliseconds after
  ``t0_s``, little-endian: times to the millisecond) and ``v_data`` (float32 SI values).
  One month of 1-minute data for 2,000 points is 86.4 M samples, 8 bytes each.
- ``site_events``: the site's event log, mapped (epoch seconds, source, raw kind, message, the
  dctwin kind and target, details JSON, line in the file).
- ``shadow_runs``: a recording made by a shadow replay (``dctwin shadow``): the set it replayed,
  the epoch second of its t = 0, its sensor points (column order of its series), the hidden
  (hold-out) points, the estimator settings and the summary (residuals) as JSON.
- ``shadow_series``: per shadow recording, streams ``measured``, ``predicted`` and
  ``estimated`` (one column per sensor point) and ``estimated_inlet_c`` (one column per rack),
  in the chunk format of the ``series`` table (float64 times, float32 ``[width, n]``).

A review export carries all of them, hashed like every table; it keeps only the exported
recording's shadow rows (:func:`prune_for_export`).

Damage is noticed (format 4): every row carries ``crc`` (the tables are defined in
:mod:`dctwin.twin.store.schema`), written with it and checked on every read (:func:`read_checked`:
a row that fails raises naming the table and the row); reading a point's whole series also checks
that its chunks hold the samples its map row counts. :func:`check_measured` checks every row before a
review export copies them; ``dctwin verify`` checks every row's ``crc``. Files of format 3 have no
``crc`` in these tables: they read unchecked, and are migrated (``compact.v3_to_v4``) into a copy
when opened for writing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Iterable, Optional

import numpy as np
from sqlalchemy import and_, func, insert, select

from dctwin.twin.errors import ProjectFileError
from dctwin.twin.store.project import Project, now_iso
from dctwin.twin.store.series_read import _within
from dctwin.twin.store.schema import (  # noqa: F401  (the tables are this module's; schema defines them)
    MEASURED_TABLE_NAMES, MEASURED_TABLES, ShadowChunk, ShadowRun, SiteEventRow, TelemetryChunk, TelemetryPoint,
    TelemetrySet, checked_columns, with_crc,
)

#: samples per stored chunk of a point (a week of 1-minute data); a chunk also spans < 24 days
CHUNK_SAMPLES = 10080
_MAX_SPAN_MS = 2**31 - 1


#: shadow streams and what their columns are
SHADOW_STREAMS = ("measured", "predicted", "estimated")
RACK_STREAM = "estimated_inlet_c"


def has_tables(project: Project) -> bool:
    """The file holds the measured-data tables (it received telemetry once)."""
    with project.engine.connect() as conn:
        names = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_schema WHERE type='table'")}
    return set(MEASURED_TABLE_NAMES) <= names


def ensure_tables(project: Project) -> None:
    """Create the measured-data tables in a writable project (nothing changes when they exist)."""
    for table in MEASURED_TABLES:
        project.ensure_table(table)


def _chunks(t: np.ndarray, v: np.ndarray) -> Iterable[tuple[float, float, bytes, bytes]]:
    """(t0, t1, int32 ms offsets, float32 values) per chunk of a sorted series."""
    i, n = 0, len(t)
    while i < n:
        j = min(i + CHUNK_SAMPLES, n)
        span = t[i:j] - t[i]
        over = np.flatnonzero(span * 1e3 > _MAX_SPAN_MS - 1)
        if len(over):
            j = i + int(over[0])
        ms = np.rint((t[i:j] - t[i]) * 1e3).astype("<i4")
        yield float(t[i]), float(t[j - 1]), ms.tobytes(), np.asarray(v[i:j], "<f4").tobytes()
        i = j


def _insert(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` into a measured-data table, each with its checksum."""
    if rows:
        conn.execute(insert(table), [with_crc(table, r) for r in rows])


def save_telemetry(project: Project, layout_id: int, series: dict[str, tuple[np.ndarray, np.ndarray]],
                   points: list[dict[str, Any]], events: list[dict[str, Any]], report: dict[str, Any],
                   sources: list[str], note: str = "") -> int:
    """Store one telemetry set in one transaction; returns its id.

    ``series``: point -> (epoch seconds, SI values), sorted; ``points``: the map rows
    (``point, element, quantity, unit, si_unit``); ``events``: mapped site events
    (``t_s, source, raw_kind, message, kind, target, details, line``). Every row carries its checksum.
    """
    ensure_tables(project)
    lo = min((float(t[0]) for t, _ in series.values() if len(t)), default=math.nan)
    hi = max((float(t[-1]) for t, _ in series.values() if len(t)), default=math.nan)
    if events:
        ev_t = [float(e["t_s"]) for e in events]
        lo = min(lo, min(ev_t)) if math.isfinite(lo) else min(ev_t)
        hi = max(hi, max(ev_t)) if math.isfinite(hi) else max(ev_t)
    with project.engine.begin() as conn:
        st = TelemetrySet.__table__
        sid = int(conn.execute(insert(st).values(**with_crc(st, dict(
            layout_id=int(layout_id), imported_at=now_iso(), t0_s=lo if math.isfinite(lo) else 0.0,
            t1_s=hi if math.isfinite(hi) else 0.0, sources_json=json.dumps(list(sources)),
            report_json=json.dumps(report, default=_plain), note=note)))).inserted_primary_key[0])
        _insert(conn, TelemetryPoint.__table__, [
            {"set_id": sid, "point": p["point"], "element": p.get("element", ""), "quantity": p["quantity"],
             "unit": p.get("unit", ""), "si_unit": p.get("si_unit", ""),
             "n": int(len(series[p["point"]][0])) if p["point"] in series else 0} for p in points])
        ids = dict(conn.execute(select(TelemetryPoint.point, TelemetryPoint.id).where(TelemetryPoint.set_id == sid)
                                ).all())
        batch: list[dict[str, Any]] = []
        for name, (t, v) in series.items():
            if name not in ids:
                continue
            for t0, t1, tb, vb in _chunks(np.asarray(t, float), np.asarray(v, float)):
                batch.append({"point_id": ids[name], "t0_s": t0, "t1_s": t1, "n": len(tb) // 4, "t_data": tb,
                              "v_data": vb})
                if len(batch) >= 2000:
                    _insert(conn, TelemetryChunk.__table__, batch)
                    batch = []
        _insert(conn, TelemetryChunk.__table__, batch)
        _insert(conn, SiteEventRow.__table__, [
            {"set_id": sid, "t_s": float(e["t_s"]), "source": str(e.get("source", "")),
             "raw_kind": str(e.get("raw_kind", "")), "message": str(e.get("message", "")), "kind": str(e["kind"]),
             "target": str(e.get("target", "")), "details_json": json.dumps(e.get("details") or {}, default=_plain),
             "line": int(e.get("line", 0))} for e in events])
    return sid


def read_checked(project: Project, table: Any, where: Any = None, order: Any = None) -> list[dict[str, Any]]:
    """The rows of measured-data ``table`` that ``where`` holds for (in ``order``, default id), as dicts,
    each row's checksum checked where the file has them (format 4 on): a row that fails raises
    :class:`ProjectFileError` naming the table and the row."""
    checked = project.checks(table)
    cols = ("id",) + checked_columns(table) + (("crc",) if checked else ())
    q = select(*[table.c[c] for c in cols])
    if where is not None:
        q = q.where(where)
    with project.engine.connect() as conn:
        rows = [dict(zip(cols, r)) for r in conn.execute(q.order_by(*(order if order is not None else
                                                                      [table.c.id])))]
    if checked:
        for row in rows:
            project.check_row(table, row, f"{table.name} row {row['id']}")
    return rows


def _span(c: Any, cond: list, t0_s: Optional[float], t1_s: Optional[float]) -> Any:
    """``cond`` and the chunks (columns ``t0_s``, ``t1_s`` of table ``c``) that reach into ``[t0_s, t1_s]``."""
    if t0_s is not None:
        cond.append(c.c.t1_s >= float(t0_s))
    if t1_s is not None:
        cond.append(c.c.t0_s <= float(t1_s))
    return and_(*cond)


def _plain(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


@dataclass(frozen=True)
class PointRecord:
    id: int
    point: str
    element: str
    quantity: str
    unit: str
    si_unit: str
    n: int


class TelemetryReader:
    """One telemetry set of an open project (default: the latest)."""

    def __init__(self, project: Project, set_id: Optional[int] = None) -> None:
        if not has_tables(project):
            raise ProjectFileError(f"{project.path}: holds no telemetry (import some with dctwin telemetry import)")
        self.project = project
        self.engine = project.engine
        t = TelemetrySet.__table__
        if set_id is None:
            with self.engine.connect() as conn:
                set_id = conn.execute(select(func.max(t.c.id))).scalar()
            if set_id is None:
                raise ProjectFileError(f"{project.path}: holds no telemetry set")
        found = read_checked(project, t, t.c.id == int(set_id))
        if not found:
            raise ProjectFileError(f"{project.path}: has no telemetry set {set_id}")
        row = found[0]
        self._where = f"{project.path} telemetry set {row['id']}"
        try:
            self.id = int(row["id"])
            self.layout_id = int(row["layout_id"])
            self.t0_s = float(row["t0_s"])
            self.t1_s = float(row["t1_s"])
            self.sources = json.loads(row["sources_json"])
            self.report = json.loads(row["report_json"])
        except (TypeError, ValueError):
            raise ProjectFileError(f"{self._where}: damaged settings") from None
        self.imported_at = str(row["imported_at"])
        self.note = str(row["note"] or "")
        self._points: Optional[list[PointRecord]] = None

    def points(self) -> list[PointRecord]:
        """The point map of the set, in import order."""
        if self._points is None:
            p = TelemetryPoint.__table__
            rows = read_checked(self.project, p, p.c.set_id == self.id)
            try:
                self._points = [PointRecord(int(r["id"]), str(r["point"]), str(r["element"] or ""), str(r["quantity"]),
                                            str(r["unit"] or ""), str(r["si_unit"] or ""), int(r["n"])) for r in rows]
            except (TypeError, ValueError):
                raise ProjectFileError(f"{self._where}: damaged point map") from None
        return self._points

    def point(self, name: str) -> PointRecord:
        for p in self.points():
            if p.point == name:
                return p
        raise ProjectFileError(f"{self._where}: no point {name!r}")

    def series(self, point: str, t0_s: Optional[float] = None,
               t1_s: Optional[float] = None) -> tuple[np.ndarray, np.ndarray]:
        """``(epoch seconds float64, SI values float64)`` of one point within ``[t0_s, t1_s]``."""
        rec = self.point(point)
        c = TelemetryChunk.__table__
        rows = read_checked(self.project, c, _span(c, [c.c.point_id == rec.id], t0_s, t1_s), [c.c.t0_s, c.c.id])
        ts, vs = [], []
        for r in rows:
            n, tb, vb = r["n"], r["t_data"], r["v_data"]
            if not (isinstance(n, int) and isinstance(tb, bytes) and isinstance(vb, bytes)
                    and len(tb) == 4 * n and len(vb) == 4 * n):
                raise ProjectFileError(f"{self._where}: point {point!r} has a damaged chunk "
                                       f"(telemetry_series row {r['id']})")
            ts.append(float(r["t0_s"]) + np.frombuffer(tb, "<i4").astype(np.float64) / 1e3)
            vs.append(np.frombuffer(vb, "<f4").astype(np.float64))
        t = np.concatenate(ts) if ts else np.zeros(0)
        v = np.concatenate(vs) if vs else np.zeros(0)
        if t0_s is None and t1_s is None and self.project.checks(c) and len(t) != rec.n:
            raise ProjectFileError(f"{self._where}: point {point!r} has {len(t)} stored samples where its map "
                                   f"(telemetry_points row {rec.id}) says {rec.n}: chunks are missing or added")
        keep = _within(t, t0_s, t1_s)
        return t[keep], v[keep]

    def events(self, t0_s: Optional[float] = None, t1_s: Optional[float] = None) -> list[dict[str, Any]]:
        """Site events (dicts with ``t_s`` in epoch seconds, ``source, raw_kind, message, kind, target,
        details, line``) within ``[t0_s, t1_s]``, in time order."""
        e = SiteEventRow.__table__
        cond = [e.c.set_id == self.id]
        if t0_s is not None:
            cond.append(e.c.t_s >= float(t0_s))
        if t1_s is not None:
            cond.append(e.c.t_s <= float(t1_s))
        out = []
        for r in read_checked(self.project, e, and_(*cond), [e.c.t_s, e.c.id]):
            try:
                d = json.loads(r["details_json"] or "{}")
                out.append({"t_s": float(r["t_s"]), "source": str(r["source"]), "raw_kind": str(r["raw_kind"]),
                            "message": str(r["message"]), "kind": str(r["kind"]), "target": str(r["target"] or ""),
                            "details": d if isinstance(d, dict) else {}, "line": int(r["line"] or 0)})
            except (TypeError, ValueError):
                raise ProjectFileError(f"{self._where}: a site event is damaged (site_events row {r['id']})") from None
        return out


def telemetry_sets(project: Project) -> list[dict[str, Any]]:
    """``[{id, layout_id, imported_at, t0_s, t1_s, points, sources}]`` of a project (empty without telemetry)."""
    if not has_tables(project):
        return []
    t, p = TelemetrySet.__table__, TelemetryPoint.__table__
    with project.engine.connect() as conn:
        counts = dict(conn.execute(select(p.c.set_id, func.count()).group_by(p.c.set_id)).all())
    try:
        return [{"id": int(r["id"]), "layout_id": int(r["layout_id"]), "imported_at": str(r["imported_at"]),
                 "t0_s": float(r["t0_s"]), "t1_s": float(r["t1_s"]), "points": int(counts.get(r["id"], 0)),
                 "sources": json.loads(r["sources_json"] or "[]")} for r in read_checked(project, t)]
    except (TypeError, ValueError):
        raise ProjectFileError(f"{project.path}: a telemetry set's settings are damaged") from None


# --------------------------------------------------------------------------- shadow replays

def save_shadow(project: Project, recording_id: int, set_id: int, t0_epoch_s: float, points: list[str],
                holdout: list[str], estimator: dict[str, Any], summary: dict[str, Any],
                streams: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Store what a shadow replay adds to its recording: the sensor streams (name -> (t_s float64[n],
    values [n, width])), its points, hold-out points, estimator settings and summary."""
    ensure_tables(project)
    with project.engine.begin() as conn:
        _insert(conn, ShadowRun.__table__, [dict(
            recording_id=int(recording_id), set_id=int(set_id), t0_epoch_s=float(t0_epoch_s),
            points_json=json.dumps(list(points)), holdout_json=json.dumps(list(holdout)),
            estimator_json=json.dumps(estimator, default=_plain), summary_json=json.dumps(summary, default=_plain))])
        rows = []
        for name, (t, data) in streams.items():
            t = np.asarray(t, "<f8")
            data = np.asarray(data, "<f4").reshape(len(t), -1)
            for i in range(0, len(t), 2000):
                tt, dd = t[i:i + 2000], data[i:i + 2000]
                rows.append({"recording_id": int(recording_id), "name": name, "t0_s": float(tt[0]),
                             "t1_s": float(tt[-1]), "n": int(len(tt)), "width": int(dd.shape[1]),
                             "t_data": tt.tobytes(), "data": np.ascontiguousarray(dd.T).tobytes()})
        _insert(conn, ShadowChunk.__table__, rows)


class ShadowReader:
    """The shadow part of a recording (None from :meth:`of` when the recording is not a shadow replay)."""

    def __init__(self, project: Project, row: Any) -> None:
        self.project = project
        self.engine = project.engine
        where = f"{project.path} shadow of recording {row['recording_id']}"
        try:
            self.recording_id = int(row["recording_id"])
            self.set_id = int(row["set_id"])
            self.t0_epoch_s = float(row["t0_epoch_s"])
            self.points: list[str] = json.loads(row["points_json"])
            self.holdout: list[str] = json.loads(row["holdout_json"])
            self.estimator: dict[str, Any] = json.loads(row["estimator_json"])
            self.summary: dict[str, Any] = json.loads(row["summary_json"])
        except (TypeError, ValueError):
            raise ProjectFileError(f"{where}: damaged settings") from None
        self._where = where

    @classmethod
    def of(cls, project: Project, recording_id: int) -> Optional["ShadowReader"]:
        if not has_tables(project):
            return None
        s = ShadowRun.__table__
        rows = read_checked(project, s, s.c.recording_id == int(recording_id))
        return cls(project, rows[0]) if rows else None

    def telemetry(self) -> TelemetryReader:
        return TelemetryReader(self.project, self.set_id)

    def stream(self, name: str, t0_s: Optional[float] = None,
               t1_s: Optional[float] = None) -> tuple[np.ndarray, np.ndarray]:
        """``(t_s float64[n], values float32[n, width])`` of stream ``name`` (recording seconds)."""
        c = ShadowChunk.__table__
        cond = [c.c.recording_id == self.recording_id, c.c.name == name]
        rows = read_checked(self.project, c, _span(c, cond, t0_s, t1_s), [c.c.t0_s, c.c.id])
        ts, vs = [], []
        width = rows[0]["width"] if rows else 0
        for r in rows:
            n, w, tb, db = r["n"], r["width"], r["t_data"], r["data"]
            if not (isinstance(n, int) and w == width and isinstance(tb, bytes) and isinstance(db, bytes)
                    and len(tb) == 8 * n and len(db) == 4 * n * w):
                raise ProjectFileError(f"{self._where}: stream {name!r} has a damaged chunk (shadow_series row "
                                       f"{r['id']})")
            ts.append(np.frombuffer(tb, "<f8"))
            vs.append(np.frombuffer(db, "<f4").reshape(w, n).T)
        t = np.concatenate(ts) if ts else np.zeros(0)
        v = np.concatenate(vs) if vs else np.zeros((0, width), np.float32)
        keep = _within(t, t0_s, t1_s)
        return t[keep].astype(np.float64), v[keep].astype(np.float32)


def prune_for_export(con: Any, recording_id: Optional[int], at_s: Optional[float]) -> None:
    """In a review copy (raw sqlite3, inside the caller's transaction): keep only the exported
    recording's shadow rows (none without a recording), and nothing of them after ``at_s``."""
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
    if not set(MEASURED_TABLE_NAMES) <= names:
        return
    for table in ("shadow_series", "shadow_runs"):
        con.execute(f"DELETE FROM {table} WHERE recording_id IS NOT ?", (recording_id,))
    if at_s is None:
        return
    con.execute("DELETE FROM shadow_series WHERE t0_s > ?", (float(at_s),))
    table = ShadowChunk.__table__
    checked = "crc" in {r[1] for r in con.execute("PRAGMA table_info(shadow_series)")}
    cols = ("id",) + checked_columns(table)
    rows = con.execute(f"SELECT {', '.join(cols)} FROM shadow_series WHERE t1_s > ?", (float(at_s),)).fetchall()
    for r in rows:  # cut the chunk that runs past at_s
        row = dict(zip(cols, r))
        t = np.frombuffer(row["t_data"], dtype="<f8")
        k = int(np.searchsorted(t, at_s, side="right"))
        v = np.frombuffer(row["data"], dtype="<f4").reshape(row["width"], row["n"])[:, :k]
        row.update(n=k, t1_s=float(t[k - 1]), t_data=t[:k].tobytes(), data=np.ascontiguousarray(v).tobytes())
        crc = with_crc(table, dict(row))["crc"] if checked else None
        con.execute("UPDATE shadow_series SET n = ?, t1_s = ?, t_data = ?, data = ?"
                    + (", crc = ?" if checked else "") + " WHERE id = ?",
                    (k, row["t1_s"], row["t_data"], row["data"]) + ((crc,) if checked else ()) + (row["id"],))


def row_damage(table: Any, row: dict[str, Any]) -> str:
    """What is wrong with a measured-data row beyond its checksum ("" when nothing): a chunk whose blobs do
    not hold ``n`` samples, JSON that does not parse."""
    if table.name in ("telemetry_series", "shadow_series"):
        n, tb = row.get("n"), row.get("t_data")
        vb, w = (row.get("v_data"), 1) if table.name == "telemetry_series" else (row.get("data"), row.get("width"))
        size = 4 if table.name == "telemetry_series" else 8
        if not (isinstance(n, int) and isinstance(w, int) and n >= 0 and w >= 0 and isinstance(tb, bytes)
                and isinstance(vb, bytes) and len(tb) == size * n and len(vb) == 4 * n * w):
            return f"its chunk does not hold the {n!r} samples it says"
    for name, v in row.items():
        if name.endswith("_json"):
            try:
                json.loads(v)
            except (TypeError, ValueError):
                return f"its {name} is not JSON"
    return ""


def check_measured(project: Project) -> None:
    """Check every measured-data row a review export would copy (checksums where the file has them, chunk
    sizes, JSON, the sample count of each point): raises :class:`ProjectFileError` naming the first
    damaged table and row (nothing damaged is given fresh hashes)."""
    if not has_tables(project):
        return
    for table in MEASURED_TABLES:
        checked = project.checks(table)
        cols = ("id",) + checked_columns(table) + (("crc",) if checked else ())
        with project.engine.connect() as conn:
            for r in conn.execute(select(*[table.c[c] for c in cols])):
                row = dict(zip(cols, r))
                what = f"{table.name} row {row['id']}"
                if checked:
                    project.check_row(table, row, what)
                damage = row_damage(table, row)
                if damage:
                    raise ProjectFileError(f"{project.path}: {what} is damaged ({damage})")
    p, c = TelemetryPoint.__table__, TelemetryChunk.__table__
    with project.engine.connect() as conn:
        stored = dict(conn.execute(select(c.c.point_id, func.sum(c.c.n)).group_by(c.c.point_id)).all())
        for pid, n in conn.execute(select(p.c.id, p.c.n)):
            have = int(stored.pop(pid, 0) or 0)
            if have != n:
                raise ProjectFileError(f"{project.path}: telemetry_points row {pid} says {n} samples, its chunks "
                                       f"hold {have}: chunks are missing or added")
    if stored:
        raise ProjectFileError(f"{project.path}: telemetry_series rows of no point (point ids "
                               f"{sorted(stored)[:5]})")
