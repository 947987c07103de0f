"""Read a recording back: keyframes (seek), events, alarms and series.

Writing one is :mod:`dctwin.twin.store.recorder`'s (``record_run``); this module only reads.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from sqlalchemy import and_, func, select

from dctwin.twin.errors import ProjectFileError
from dctwin.twin.model.events import Event
from dctwin.twin.store.arrays import check_stored_array, decode_array
from dctwin.twin.store.schema import AlarmRow, EventRow, Keyframe, KeyframeArray, Recording, SeriesChunk


@dataclass(frozen=True)
class KeyframeInfo:
    id: int
    t_s: float
    last_event_seq: int


class RecordingReader:
    """One recording of an open :class:`~dctwin.twin.store.project.Project` (default: its latest)."""

    def __init__(self, project: Any, recording_id: Optional[int] = None) -> None:
        self.project = project
        self.engine = project.engine
        with self.engine.connect() as conn:
            if recording_id is None:
                recording_id = conn.execute(select(func.max(Recording.id))).scalar()
                if recording_id is None:
                    raise ProjectFileError(f"{project.path}: holds no recording")
            row = conn.execute(select(Recording.__table__).where(Recording.__table__.c.id == int(recording_id))
                               ).mappings().first()
        if row is None:
            ids = [r.id for r in project.recordings()]
            raise ProjectFileError(f"{project.path}: has no recording {recording_id} "
                                   f"(recordings: {', '.join(map(str, ids)) or 'none'})")
        where = f"{project.path} recording {row['id']}"
        try:
            self.id = int(row["id"])
            self.layout_id = int(row["layout_id"])
            self.incident_id = None if row["incident_id"] is None else int(row["incident_id"])
            self.dt_s = _seconds(row, "dt_s", 0.0, 10.0, where)
            self.duration_s = _seconds(row, "duration_s", 0.0, 1e9, where, low_ok=True)
            self.keyframe_every_s = _seconds(row, "keyframe_every_s", 0.0, 1e9, where)
            self.metrics_every_s = _seconds(row, "metrics_every_s", 0.0, 1e9, where)
            self.rack_series_every_s = _seconds(row, "rack_series_every_s", 0.0, 1e9, where)
        except (TypeError, ValueError):
            raise ProjectFileError(f"{where}: damaged recording settings (ids or times are not numbers)") from None
        self.hall_id = row["hall_id"]
        self.engine_version = row["engine_version"]
        self.started_at = row["started_at"]
        self.finished = bool(row["finished"])
        try:
            self.rack_ids: list[str] = json.loads(row["rack_ids_json"])
            self.unit_ids: list[str] = json.loads(row["unit_ids_json"])
            self.metric_names: list[str] = json.loads(row["metric_names_json"])
            self.params: dict[str, Any] = json.loads(row["params_json"])
        except (TypeError, ValueError):
            raise ProjectFileError(f"{where}: damaged id lists or parameters") from None
        if not (_str_list(self.rack_ids) and _str_list(self.unit_ids) and _str_list(self.metric_names)
                and isinstance(self.params, dict) and _grid_ok(self.params.get("grid_m"))):
            raise ProjectFileError(f"{where}: damaged id lists or parameters")
        self._where = where

    def covers(self, t_s: float) -> bool:
        """Whether ``t_s`` lies within the recording: 0 to its end, give or take only the rounding
        its end accumulated over its steps (the engine adds dt step by step: 1,200 steps of 0.1 s end
        at 119.99999999999746 s, and 120 is still in). 120.0000001 s on a 120 s recording is not."""
        steps = self.duration_s / self.dt_s if self.dt_s > 0 else 1.0
        slack = (steps + 1.0) * math.ulp(max(self.duration_s, 1.0))
        return 0.0 <= t_s <= self.duration_s + slack

    def check_layout(self, site: Any) -> None:
        """The layout replay runs on must have the racks and cooling units the recording was made with
        (same ids, same order): otherwise its keyframes cannot fit. Raises :class:`ProjectFileError`."""
        halls = [h for h in site.halls if self.hall_id in (None, h.id)][:1]
        racks = [r.id for h in halls for r in h.racks]
        units = [u.id for h in halls for u in h.cooling_units]
        if (self.rack_ids and racks != self.rack_ids) or (self.unit_ids and units != self.unit_ids):
            raise ProjectFileError(f"{self._where}: its layout (version {self.layout_id}) does not match the "
                                   f"recording ({len(racks)} racks and {len(units)} cooling units in the layout, "
                                   f"{len(self.rack_ids)} and {len(self.unit_ids)} recorded)")

    def check_arrays(self, keyframe_ids: Optional[list[int]] = None) -> None:
        """Check every stored keyframe array of this recording (or of ``keyframe_ids``) without loading it.

        dtype, shape and the byte length (read from SQLite's record, not the blob) must agree, and shared
        rows must exist. Raises :class:`ProjectFileError` naming the keyframe and array otherwise.
        """
        t = KeyframeArray.__table__
        kf = Keyframe.__table__
        ids = select(kf.c.id).where(kf.c.recording_id == self.id) if keyframe_ids is None else list(keyframe_ids)
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.id, t.c.keyframe_id, t.c.name, t.c.dtype, t.c.shape,
                                       func.length(t.c.data), t.c.ref_id).where(t.c.keyframe_id.in_(ids))).all()
            refs = {r[6] for r in rows if r[6] is not None}
            found = {int(r[0]): r for r in conn.execute(
                select(t.c.id, t.c.dtype, t.c.shape, func.length(t.c.data))
                .where(t.c.id.in_(refs)).where(t.c.ref_id.is_(None)))} if refs else {}
        for rid, kf_id, name, dtype, shape, nbytes, ref in rows:
            where = f"{self._where}, keyframe {kf_id}, array {name}"
            if ref is not None:
                if ref not in found:
                    raise ProjectFileError(f"{where}: refers to missing data (row {ref})")
                _, dtype, shape, nbytes = found[ref]
            check_stored_array(dtype, shape, nbytes if isinstance(nbytes, int) else -1, where)

    def check_data(self, keyframe_ids: Optional[list[int]] = None) -> None:
        """Check what an export copies: keyframe arrays (:meth:`check_arrays`), every event, every series
        chunk's sizes. Raises :class:`ProjectFileError` naming the first damaged row."""
        self.check_arrays(keyframe_ids)
        self.events()
        s = SeriesChunk.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(select(s.c.id, s.c.name, s.c.n, s.c.width, func.length(s.c.t_data),
                                       func.length(s.c.data), func.typeof(s.c.t_data), func.typeof(s.c.data))
                                .where(s.c.recording_id == self.id)).all()
        for cid, name, n, w, lt, ld, tt, td in rows:
            expected = {"hall": len(self.metric_names)}.get(name, len(self.rack_ids))
            ok = (isinstance(n, int) and isinstance(w, int) and n >= 0 and w == expected
                  and tt == "blob" and td == "blob" and lt == 8 * n and ld == 4 * n * w)
            if not ok:
                raise ProjectFileError(f"{self._where}: series {name!r} has a damaged chunk (row {cid})")

    def layout(self) -> Any:
        """The layout (:class:`dctwin.twin.model.layout.Site`) this recording ran on."""
        return self.project.load_layout(self.layout_id)

    # ---- keyframes
    def keyframes(self) -> list[KeyframeInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(Keyframe.id, Keyframe.t_s, Keyframe.last_event_seq)
                                .where(Keyframe.recording_id == self.id).order_by(Keyframe.t_s))
            return [KeyframeInfo(int(r[0]), float(r[1]), int(r[2])) for r in rows]

    def keyframe_before(self, t_s: float) -> KeyframeInfo:
        """The last keyframe at or before ``t_s``."""
        with self.engine.connect() as conn:
            r = conn.execute(select(Keyframe.id, Keyframe.t_s, Keyframe.last_event_seq)
                             .where(and_(Keyframe.recording_id == self.id, Keyframe.t_s <= float(t_s)))
                             .order_by(Keyframe.t_s.desc()).limit(1)).first()
        if r is None:
            raise ProjectFileError(f"{self._where}: no keyframe at or before t = {t_s:g} s "
                                   f"(the recording starts at its first keyframe)")
        return KeyframeInfo(int(r[0]), float(r[1]), int(r[2]))

    def replay_keyframe(self, t_s: float) -> KeyframeInfo:
        """The keyframe replay starts from to reach ``t_s``: the last one strictly before it when there is
        one (so at least one step is re-simulated and what the engine derives from its last step is as it
        was live), else the one at ``t_s``."""
        try:
            return self.keyframe_before(float(t_s) - 0.5 * self.dt_s)
        except ProjectFileError:
            return self.keyframe_before(t_s)

    def load_keyframe(self, keyframe: KeyframeInfo | int) -> dict[str, np.ndarray]:
        """The state arrays of a keyframe, bit-exact as they were stored."""
        kf_id = keyframe.id if isinstance(keyframe, KeyframeInfo) else int(keyframe)
        t = KeyframeArray.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.name, t.c.dtype, t.c.shape, t.c.data, t.c.ref_id)
                                .where(t.c.keyframe_id == kf_id).order_by(t.c.id)).all()
            refs = sorted({r[4] for r in rows if r[4] is not None})
            shared = dict(conn.execute(select(t.c.id, t.c.data).where(t.c.id.in_(refs))
                                       .where(t.c.ref_id.is_(None))).all()) if refs else {}
        if not rows:
            raise ProjectFileError(f"{self._where}: keyframe {kf_id} holds no arrays")
        out = {}
        for name, dtype, shape, data, ref in rows:
            where = f"{self._where}, keyframe {kf_id}, array {name}"
            if ref is not None:
                if ref not in shared:
                    raise ProjectFileError(f"{where}: refers to missing data (row {ref})")
                data = shared[ref]
            out[name] = decode_array(dtype, shape, data, where)
        return out

    def seek(self, t_s: float) -> tuple[KeyframeInfo, dict[str, np.ndarray]]:
        """The keyframe at or before ``t_s`` and its arrays (re-simulate from there to ``t_s``)."""
        kf = self.keyframe_before(t_s)
        return kf, self.load_keyframe(kf)

    # ---- events and alarms
    def events(self, t0_s: Optional[float] = None, t1_s: Optional[float] = None,
               after_seq: Optional[int] = None) -> list[Event]:
        """Events with ``t0_s <= t_s <= t1_s`` (and ``seq > after_seq``), in ``seq`` order."""
        cond = [EventRow.recording_id == self.id]
        if t0_s is not None:
            cond.append(EventRow.t_s >= float(t0_s))
        if t1_s is not None:
            cond.append(EventRow.t_s <= float(t1_s))
        if after_seq is not None:
            cond.append(EventRow.seq > int(after_seq))
        with self.engine.connect() as conn:
            rows = conn.execute(select(EventRow.seq, EventRow.t_s, EventRow.kind, EventRow.target, EventRow.cause,
                                       EventRow.condition, EventRow.details_json)
                                .where(and_(*cond)).order_by(EventRow.seq)).all()
        out = []
        for seq, t, kind, target, cause, condition, details in rows:
            try:
                d = json.loads(details)
            except (TypeError, ValueError):
                raise ProjectFileError(f"{self._where}: event {seq} has damaged details") from None
            try:
                out.append(Event(int(seq), float(t), str(kind), str(target), None if cause is None else int(cause),
                                 str(condition or ""), d if isinstance(d, dict) else {"value": d}))
            except (TypeError, ValueError):
                raise ProjectFileError(f"{self._where}: event {seq!r} is damaged (time or ids are not numbers)"
                                       ) from None
        return out

    def alarms(self, t0_s: Optional[float] = None, t1_s: Optional[float] = None) -> list[dict[str, Any]]:
        cond = [AlarmRow.recording_id == self.id]
        if t0_s is not None:
            cond.append(AlarmRow.t_s >= float(t0_s))
        if t1_s is not None:
            cond.append(AlarmRow.t_s <= float(t1_s))
        t = AlarmRow.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.t_s, t.c.target, t.c.kind, t.c.severity, t.c.active, t.c.message,
                                       t.c.cause).where(and_(*cond)).order_by(t.c.t_s, t.c.id)).mappings().all()
        return [dict(r) for r in rows]

    # ---- series
    def series(self, name: str, t0_s: Optional[float] = None,
               t1_s: Optional[float] = None) -> tuple[np.ndarray, np.ndarray]:
        """Samples of stream ``name`` ("hall", "rack_inlet_c", "rack_power_w") in ``[t0_s, t1_s]``.

        Returns ``(t_s float64[n], values float32[n, width])``.
        """
        with self.engine.connect() as conn:
            rows = conn.execute(select(SeriesChunk.n, SeriesChunk.width, SeriesChunk.t_data, SeriesChunk.data)
                                .where(self._chunks(name, t0_s, t1_s)).order_by(SeriesChunk.t0_s)).all()
        width = rows[0][1] if rows else self._width(name)
        ts, vals = [], []
        for n, w, tb, db in rows:
            if not _chunk_ok(n, w, tb, db, width):
                raise ProjectFileError(f"{self._where}: series {name!r} has a damaged chunk")
            ts.append(np.frombuffer(tb, dtype="<f8"))
            vals.append(np.frombuffer(db, dtype="<f4").reshape(w, n).T)
        t = np.concatenate(ts) if ts else np.zeros(0)
        v = np.concatenate(vals) if vals else np.zeros((0, width), np.float32)
        if t0_s is not None or t1_s is not None:
            keep = _within(t, t0_s, t1_s)
            t, v = t[keep], v[keep]
        return t.astype(np.float64), v.astype(np.float32)

    def _chunks(self, name: str, t0_s: Optional[float], t1_s: Optional[float]):
        """The condition on the chunks of stream ``name`` that reach into ``[t0_s, t1_s]``."""
        cond = [SeriesChunk.recording_id == self.id, SeriesChunk.name == name]
        if t0_s is not None:
            cond.append(SeriesChunk.t1_s >= float(t0_s))
        if t1_s is not None:
            cond.append(SeriesChunk.t0_s <= float(t1_s))
        return and_(*cond)

    def _width(self, name: str) -> int:
        return len(self.metric_names) if name == "hall" else len(self.rack_ids)

    def hall_metrics(self, t0_s: Optional[float] = None,
                     t1_s: Optional[float] = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``(t_s, {metric: values})`` of the hall metrics."""
        t, v = self.series("hall", t0_s, t1_s)
        return t, {name: v[:, i].copy() for i, name in enumerate(self.metric_names)}

    def rack_trend(self, name: str, rack_id: str, t0_s: Optional[float] = None,
                   t1_s: Optional[float] = None) -> tuple[np.ndarray, np.ndarray]:
        """``(t_s, values)`` of one rack in stream ``name``."""
        try:
            i = self.rack_ids.index(rack_id)
        except ValueError:
            raise ProjectFileError(f"{self._where}: no rack {rack_id!r} in this recording") from None
        return self._column(name, i, t0_s, t1_s)

    def metric_trend(self, metric: str, t0_s: Optional[float] = None,
                     t1_s: Optional[float] = None) -> tuple[np.ndarray, np.ndarray]:
        """``(t_s, values)`` of one hall metric."""
        try:
            i = self.metric_names.index(metric)
        except ValueError:
            raise ProjectFileError(f"{self._where}: no hall metric {metric!r} "
                                   f"(metrics: {', '.join(self.metric_names)})") from None
        return self._column("hall", i, t0_s, t1_s)

    def _column(self, name: str, i: int, t0_s: Optional[float],
                t1_s: Optional[float]) -> tuple[np.ndarray, np.ndarray]:
        """Column ``i`` of a stream, reading only its slice of each chunk (incremental blob I/O)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(SeriesChunk.id, SeriesChunk.n, SeriesChunk.width, SeriesChunk.t_data)
                                .where(self._chunks(name, t0_s, t1_s)).order_by(SeriesChunk.t0_s)).all()
            raw = conn.connection.driver_connection
            ts, vals = [], []
            for cid, n, w, tb in rows:
                if not 0 <= i < w or len(tb) != 8 * n:
                    raise ProjectFileError(f"{self._where}: series {name!r} has a damaged chunk")
                with raw.blobopen("series", "data", cid, readonly=True) as blob:
                    if len(blob) != 4 * n * w:
                        raise ProjectFileError(f"{self._where}: series {name!r} has a damaged chunk")
                    blob.seek(4 * n * i)
                    vals.append(np.frombuffer(blob.read(4 * n), dtype="<f4"))
                ts.append(np.frombuffer(tb, dtype="<f8"))
        t = np.concatenate(ts) if ts else np.zeros(0)
        v = np.concatenate(vals) if vals else np.zeros(0, np.float32)
        keep = _within(t, t0_s, t1_s)
        return t[keep].astype(np.float64), v[keep].astype(np.float32)

    def rack_values_at(self, name: str, t_s: float) -> tuple[float, np.ndarray]:
        """The last sample of stream ``name`` at or before ``t_s``: ``(sample time, values per rack)``."""
        with self.engine.connect() as conn:
            r = conn.execute(select(SeriesChunk.n, SeriesChunk.width, SeriesChunk.t_data, SeriesChunk.data)
                             .where(and_(SeriesChunk.recording_id == self.id, SeriesChunk.name == name,
                                         SeriesChunk.t0_s <= float(t_s)))
                             .order_by(SeriesChunk.t0_s.desc()).limit(1)).first()
        if r is None:
            raise ProjectFileError(f"{self._where}: no {name} sample at or before t = {t_s:g} s")
        n, w, tb, db = r
        t = np.frombuffer(tb, dtype="<f8")
        k = int(np.searchsorted(t, t_s, side="right")) - 1
        return float(t[k]), np.frombuffer(db, dtype="<f4").reshape(w, n)[:, k].copy()


def _within(t: np.ndarray, t0_s: Optional[float], t1_s: Optional[float]) -> np.ndarray:
    """Which times lie in ``[t0_s, t1_s]`` (an open end where None)."""
    keep = np.ones(len(t), bool)
    if t0_s is not None:
        keep &= t >= t0_s
    if t1_s is not None:
        keep &= t <= t1_s
    return keep


def _seconds(row: Any, name: str, low: float, high: float, where: str, low_ok: bool = False) -> float:
    """A stored time setting, checked: a hand-edited file must not reach the engine with dt = 0 or NaN."""
    v = float(row[name])
    if not (math.isfinite(v) and (low <= v if low_ok else low < v) and v <= high):
        raise ProjectFileError(f"{where}: damaged recording settings ({name} = {v:g} is not a usable time)")
    return v


def _chunk_ok(n: Any, w: Any, tb: Any, db: Any, width: int) -> bool:
    """A series chunk's counts are ints and its blobs hold n times (1 float64) and n x w float32."""
    return (isinstance(n, int) and isinstance(w, int) and n >= 0 and w == width
            and isinstance(tb, bytes) and isinstance(db, bytes) and len(tb) == 8 * n and len(db) == 4 * n * w)


def _str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _grid_ok(v: Any) -> bool:
    """A stored ``grid_m``: None, a number, or (horizontal, vertical) numbers (the engine checks ranges)."""
    def num(x: Any) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

    return v is None or num(v) or (isinstance(v, list) and len(v) == 2 and all(num(x) for x in v))
