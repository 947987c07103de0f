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
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Iterable, Optional

import numpy as np
from sqlalchemy import Index, LargeBinary, UniqueConstraint, and_, func, insert, select
from sqlmodel import Column, Field, SQLModel

from dctwin.twin.errors import ProjectFileError
from dctwin.twin.store.project import Project, now_iso
from dctwin.twin.store.series_read import _within
from dctwin.twin.store.schema import optional_table

#: samples per stored chunk of a point (a week of 1-minute data); a chunk also spans < 24 days
CHUNK_SAMPLES = 10080
_MAX_SPAN_MS = 2**31 - 1


@optional_table
class TelemetrySet(SQLModel, table=True):
    __tablename__ = "telemetry_sets"
    id: Optional[int] = Field(default=None, primary_key=True)
    layout_id: int = Field(foreign_key="layouts.id")
    imported_at: str
    t0_s: float  # epoch seconds of the first sample
    t1_s: float
    sources_json: str = "[]"
    report_json: str = "{}"
    note: str = ""


@optional_table
class TelemetryPoint(SQLModel, table=True):
    __tablename__ = "telemetry_points"
    __table_args__ = (UniqueConstraint("set_id", "point"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    set_id: int = Field(foreign_key="telemetry_sets.id")
    point: str
    element: str = ""
    quantity: str
    unit: str = ""  # as imported
    si_unit: str = ""  # of the stored values
    n: int = 0


@optional_table
class TelemetryChunk(SQLModel, table=True):
    __tablename__ = "telemetry_series"
    __table_args__ = (Index("ix_telemetry_series_point_t", "point_id", "t0_s"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    point_id: int = Field(foreign_key="telemetry_points.id")
    t0_s: float
    t1_s: float
    n: int
    t_data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # int32[n] ms after t0_s
    v_data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float32[n]


@optional_table
class SiteEventRow(SQLModel, table=True):
    __tablename__ = "site_events"
    __table_args__ = (Index("ix_site_events_set_t", "set_id", "t_s"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    set_id: int = Field(foreign_key="telemetry_sets.id")
    t_s: float  # epoch seconds
    source: str = ""
    raw_kind: str = ""
    message: str = ""
    kind: str
    target: str = ""
    details_json: str = "{}"
    line: int = 0


@optional_table
class ShadowRun(SQLModel, table=True):
    __tablename__ = "shadow_runs"
    id: Optional[int] = Field(default=None, primary_key=True)
    recording_id: int = Field(foreign_key="recordings.id", unique=True)
    set_id: int = Field(foreign_key="telemetry_sets.id")
    t0_epoch_s: float
    points_json: str = "[]"
    holdout_json: str = "[]"
    estimator_json: str = "{}"
    summary_json: str = "{}"


@optional_table
class ShadowChunk(SQLModel, table=True):
    __tablename__ = "shadow_series"
    __table_args__ = (Index("ix_shadow_series_rec_name_t", "recording_id", "name", "t0_s"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    recording_id: int = Field(foreign_key="recordings.id")
    name: str
    t0_s: float
    t1_s: float
    n: int
    width: int
    t_data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float64[n]
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float32[width, n]


MEASURED_TABLES = [t.__table__ for t in (TelemetrySet, TelemetryPoint, TelemetryChunk, SiteEventRow, ShadowRun,
                                          ShadowChunk)]
MEASURED_TABLE_NAMES = tuple(t.name for t in MEASURED_TABLES)
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


def save_telemetry(project: Project, layout_id: int, series: dict[str, tuple[np.ndarray, np.ndarray]],
                   points: list[dict[str, Any]], events: list[dict[str, Any]], report: dict[str, Any],
                   sources: list[str], note: str = "") -> int:
    """Store one telemetry set in one transaction; returns its id.

    ``series``: point -> (epoch seconds, SI values), sorted; ``points``: the map rows
    (``point, element, quantity, unit, si_unit``); ``events``: mapped site events
    (``t_s, source, raw_kind, message, kind, target, details, line``).
    """
    ensure_tables(project)
    lo = min((float(t[0]) for t, _ in series.values() if len(t)), default=math.nan)
    hi = max((float(t[-1]) for t, _ in series.values() if len(t)), default=math.nan)
    if events:
        ev_t = [float(e["t_s"]) for e in events]
        lo = min(lo, min(ev_t)) if math.isfinite(lo) else min(ev_t)
        hi = max(hi, max(ev_t)) if math.isfinite(hi) else max(ev_t)
    with project.engine.begin() as conn:
        sid = int(conn.execute(insert(TelemetrySet.__table__).values(
            layout_id=int(layout_id), imported_at=now_iso(), t0_s=lo if math.isfinite(lo) else 0.0,
            t1_s=hi if math.isfinite(hi) else 0.0, sources_json=json.dumps(list(sources)),
            report_json=json.dumps(report, default=_plain), note=note)).inserted_primary_key[0])
        rows = [{"set_id": sid, "point": p["point"], "element": p.get("element", ""), "quantity": p["quantity"],
                 "unit": p.get("unit", ""), "si_unit": p.get("si_unit", ""),
                 "n": int(len(series[p["point"]][0])) if p["point"] in series else 0} for p in points]
        if rows:
            conn.execute(insert(TelemetryPoint.__table__), rows)
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
                    conn.execute(insert(TelemetryChunk.__table__), batch)
                    batch = []
        if batch:
            conn.execute(insert(TelemetryChunk.__table__), batch)
        if events:
            conn.execute(insert(SiteEventRow.__table__), [
                {"set_id": sid, "t_s": float(e["t_s"]), "source": str(e.get("source", "")),
                 "raw_kind": str(e.get("raw_kind", "")), "message": str(e.get("message", "")), "kind": str(e["kind"]),
                 "target": str(e.get("target", "")), "details_json": json.dumps(e.get("details") or {}, default=_plain),
                 "line": int(e.get("line", 0))} for e in events])
    return sid


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
        with self.engine.connect() as conn:
            if set_id is None:
                set_id = conn.execute(select(func.max(t.c.id))).scalar()
                if set_id is None:
                    raise ProjectFileError(f"{project.path}: holds no telemetry set")
            row = conn.execute(select(t).where(t.c.id == int(set_id))).mappings().first()
        if row is None:
            raise ProjectFileError(f"{project.path}: has no telemetry set {set_id}")
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
            with self.engine.connect() as conn:
                rows = conn.execute(select(p.c.id, p.c.point, p.c.element, p.c.quantity, p.c.unit, p.c.si_unit, p.c.n)
                                    .where(p.c.set_id == self.id).order_by(p.c.id)).all()
            try:
                self._points = [PointRecord(int(r[0]), str(r[1]), str(r[2] or ""), str(r[3]), str(r[4] or ""),
                                            str(r[5] or ""), int(r[6])) for r in rows]
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
        pid = self.point(point).id
        c = TelemetryChunk.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.c.t0_s, c.c.n, c.c.t_data, c.c.v_data)
                                .where(_span(c, [c.c.point_id == pid], t0_s, t1_s)).order_by(c.c.t0_s)).all()
        ts, vs = [], []
        for t0, n, tb, vb in rows:
            if not (isinstance(n, int) and isinstance(tb, bytes) and isinstance(vb, bytes)
                    and len(tb) == 4 * n and len(vb) == 4 * n):
                raise ProjectFileError(f"{self._where}: point {point!r} has a damaged chunk")
            ts.append(float(t0) + np.frombuffer(tb, "<i4").astype(np.float64) / 1e3)
            vs.append(np.frombuffer(vb, "<f4").astype(np.float64))
        t = np.concatenate(ts) if ts else np.zeros(0)
        v = np.concatenate(vs) if vs else np.zeros(0)
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
        with self.engine.connect() as conn:
            rows = conn.execute(select(e.c.t_s, e.c.source, e.c.raw_kind, e.c.message, e.c.kind, e.c.target,
                                       e.c.details_json, e.c.line).where(and_(*cond)).order_by(e.c.t_s, e.c.id)).all()
        out = []
        for t, src, raw, msg, kind, target, details, line in rows:
            try:
                d = json.loads(details or "{}")
                out.append({"t_s": float(t), "source": str(src), "raw_kind": str(raw), "message": str(msg),
                            "kind": str(kind), "target": str(target or ""), "details": d if isinstance(d, dict) else {},
                            "line": int(line or 0)})
            except (TypeError, ValueError):
                raise ProjectFileError(f"{self._where}: a site event is damaged") from None
        return out


def telemetry_sets(project: Project) -> list[dict[str, Any]]:
    """``[{id, layout_id, imported_at, t0_s, t1_s, points, sources}]`` of a project (empty without telemetry)."""
    if not has_tables(project):
        return []
    t, p = TelemetrySet.__table__, TelemetryPoint.__table__
    n = select(func.count()).where(p.c.set_id == t.c.id).scalar_subquery()
    with project.engine.connect() as conn:
        rows = conn.execute(select(t.c.id, t.c.layout_id, t.c.imported_at, t.c.t0_s, t.c.t1_s, n, t.c.sources_json)
                            .order_by(t.c.id)).all()
    return [{"id": int(r[0]), "layout_id": int(r[1]), "imported_at": str(r[2]), "t0_s": float(r[3]),
             "t1_s": float(r[4]), "points": int(r[5]), "sources": json.loads(r[6] or "[]")} for r in rows]


# --------------------------------------------------------------------------- shadow replays

def save_shadow(project: Project, recording_id: int, set_id: int, t0_epoch_s: float, points: list[str],
                holdout: list[str], estimator: dict[str, Any], summary: dict[str, Any],
                streams: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Store what a shadow replay adds to its recording: the sensor streams (name -> (t_s float64[n],
    values [n, width])), its points, hold-out points, estimator settings and summary."""
    ensure_tables(project)
    with project.engine.begin() as conn:
        conn.execute(insert(ShadowRun.__table__).values(
            recording_id=int(recording_id), set_id=int(set_id), t0_epoch_s=float(t0_epoch_s),
            points_json=json.dumps(list(points)), holdout_json=json.dumps(list(holdout)),
            estimator_json=json.dumps(estimator, default=_plain), summary_json=json.dumps(summary, default=_plain)))
        rows = []
        for name, (t, data) in streams.items():
            t = np.asarray(t, "<f8")
            data = np.asarray(data, "<f4").reshape(len(t), -1)
            for i in range(0, len(t), 2000):
                tt, dd = t[i:i + 2000], data[i:i + 2000]
                rows.append({"recording_id": int(recording_id), "name": name, "t0_s": float(tt[0]),
                             "t1_s": float(tt[-1]), "n": int(len(tt)), "width": int(dd.shape[1]),
                             "t_data": tt.tobytes(), "data": np.ascontiguousarray(dd.T).tobytes()})
        if rows:
            conn.execute(insert(ShadowChunk.__table__), rows)


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
        with project.engine.connect() as conn:
            row = conn.execute(select(s).where(s.c.recording_id == int(recording_id))).mappings().first()
        return None if row is None else cls(project, row)

    def telemetry(self) -> TelemetryReader:
        return TelemetryReader(self.project, self.set_id)

    def stream(self, name: str, t0_s: Optional[float] = None,
               t1_s: Optional[float] = None) -> tuple[np.ndarray, np.ndarray]:
        """``(t_s float64[n], values float32[n, width])`` of stream ``name`` (recording seconds)."""
        c = ShadowChunk.__table__
        cond = [c.c.recording_id == self.recording_id, c.c.name == name]
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.c.n, c.c.width, c.c.t_data, c.c.data).where(_span(c, cond, t0_s, t1_s))
                                .order_by(c.c.t0_s)).all()
        ts, vs = [], []
        width = rows[0][1] if rows else 0
        for n, w, tb, db in rows:
            if not (isinstance(n, int) and w == width and isinstance(tb, bytes) and isinstance(db, bytes)
                    and len(tb) == 8 * n and len(db) == 4 * n * w):
                raise ProjectFileError(f"{self._where}: stream {name!r} has a damaged chunk")
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
    rows = con.execute("SELECT id, n, width, t_data, data FROM shadow_series WHERE t1_s > ?", (float(at_s),)).fetchall()
    for cid, n, w, tb, db in rows:  # cut the chunk that runs past at_s
        t = np.frombuffer(tb, dtype="<f8")
        k = int(np.searchsorted(t, at_s, side="right"))
        v = np.frombuffer(db, dtype="<f4").reshape(w, n)[:, :k]
        con.execute("UPDATE shadow_series SET n = ?, t1_s = ?, t_data = ?, data = ? WHERE id = ?",
                    (k, float(t[k - 1]), t[:k].tobytes(), np.ascontiguousarray(v).tobytes(), cid))
