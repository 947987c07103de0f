"""The series part of reading a recording back (:class:`~dctwin.twin.store.recording.RecordingReader`
inherits it): the decimated streams ("hall", "rack_inlet_c", "rack_power_w") in chunks, each chunk's
checksum checked (format 2) before its samples are decoded; format 1 chunks read as they always were."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from sqlalchemy import and_, select

from dctwin.twin.errors import ProjectFileError
from dctwin.twin.store.arrays import unpack_blob
from dctwin.twin.store.schema import SeriesChunk, checked_columns, row_crc

#: the series streams a recording has
STREAMS = ("hall", "rack_inlet_c", "rack_power_w")


class SeriesReader:
    """Series queries of a recording. The reader provides ``engine``, ``checked``, ``id``, ``rack_ids``,
    ``metric_names``, ``_where`` and ``_count``."""

    engine: Any
    checked: bool
    id: int
    rack_ids: list[str]
    metric_names: list[str]
    _where: str

    def _chunk_rows(self, name: str, t0_s: Optional[float], t1_s: Optional[float]) -> list[dict[str, Any]]:
        """The chunks of stream ``name`` that reach into ``[t0_s, t1_s]``, in time order, checked."""
        t = SeriesChunk.__table__
        if not self.checked:
            with self.engine.connect() as conn:
                rows = conn.execute(select(t.c.id, t.c.n, t.c.width, t.c.t_data, t.c.data, t.c.t0_s, t.c.t1_s)
                                    .where(self._chunks(name, t0_s, t1_s)).order_by(t.c.t0_s)).mappings().all()
            return [dict(r) | {"codec": "raw"} for r in rows]
        cols = ("id",) + checked_columns(t) + ("crc",)
        with self.engine.connect() as conn:
            # every chunk must belong to a known stream: one whose name a flipped bit changed is noticed
            total = conn.exec_driver_sql(
                "SELECT count(*) FROM series NOT INDEXED WHERE recording_id = ? AND name IN (?, ?, ?)",
                (self.id, *STREAMS)).scalar()
            rows = [dict(zip(cols, r)) for r in conn.exec_driver_sql(
                f"SELECT {', '.join(cols)} FROM series NOT INDEXED WHERE recording_id = ? AND name = ?",
                (self.id, name)).all()]
        self._count("n_chunks", total, "series chunks")
        out = []
        for r in rows:
            if not _crc_ok(t, r):
                raise ProjectFileError(f"{self._where}: series {name!r} has a damaged chunk (row {r['id']}: its "
                                       f"checksum does not match)")
            if (t0_s is None or r["t1_s"] >= t0_s) and (t1_s is None or r["t0_s"] <= t1_s):
                out.append(r)
        out.sort(key=lambda r: r["t0_s"])
        return out

    def _decode_chunk(self, name: str, r: dict[str, Any], width: int) -> tuple[np.ndarray, np.ndarray]:
        """``(t float64[n], values float32[n, width])`` of one chunk row."""
        n, w = r["n"], r["width"]
        ok = isinstance(n, int) and isinstance(w, int) and 0 <= n <= 10 ** 8 and w == width
        if ok and r["codec"] == "shuffle":
            try:
                tb = unpack_blob(r["t_data"], 8, 8 * n)
                db = unpack_blob(r["data"], 4, 4 * n * w)
            except ProjectFileError:
                ok = False
        elif ok and r["codec"] == "raw":
            tb, db = r["t_data"], r["data"]
            ok = isinstance(tb, bytes) and isinstance(db, bytes) and len(tb) == 8 * n and len(db) == 4 * n * w
        else:
            ok = False
        if not ok:
            raise ProjectFileError(f"{self._where}: series {name!r} has a damaged chunk")
        return np.frombuffer(tb, dtype="<f8"), np.frombuffer(db, dtype="<f4").reshape(w, n).T

    def series(self, name: str, t0_s: Optional[float] = None,
               t1_s: Optional[float] = None) -> tuple[np.ndarray, np.ndarray]:
        """Samples of stream ``name`` ("hall", "rack_inlet_c", "rack_power_w") in ``[t0_s, t1_s]``.

        Returns ``(t_s float64[n], values float32[n, width])``.
        """
        width = self._width(name)
        rows = self._chunk_rows(name, t0_s, t1_s)
        if rows and not self.checked:
            width = rows[0]["width"]
        ts, vals = [], []
        for r in rows:
            t, v = self._decode_chunk(name, r, width)
            ts.append(t)
            vals.append(v)
        t = np.concatenate(ts) if ts else np.zeros(0)
        v = np.concatenate(vals) if vals else np.zeros((0, width), np.float32)
        if t0_s is not None or t1_s is not None:
            keep = _within(t, t0_s, t1_s)
            t, v = t[keep], v[keep]
        return t.astype(np.float64), v.astype(np.float32)

    def _chunks(self, name: str, t0_s: Optional[float], t1_s: Optional[float]):
        """The condition on the chunks of stream ``name`` that reach into ``[t0_s, t1_s]`` (format 1)."""
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
        """Column ``i`` of a stream (format 1: only its slice of each chunk is read, by incremental blob I/O)."""
        if self.checked:
            width = self._width(name)
            ts, vals = [], []
            for r in self._chunk_rows(name, t0_s, t1_s):
                t, v = self._decode_chunk(name, r, width)
                if not 0 <= i < width:
                    raise ProjectFileError(f"{self._where}: series {name!r} has a damaged chunk")
                ts.append(t)
                vals.append(v[:, i])
        else:
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
        rows = [r for r in self._chunk_rows(name, None, t_s) if r["t0_s"] <= float(t_s)]
        if not rows:
            raise ProjectFileError(f"{self._where}: no {name} sample at or before t = {t_s:g} s")
        t, v = self._decode_chunk(name, rows[-1], rows[-1]["width"] if not self.checked else self._width(name))
        k = int(np.searchsorted(t, t_s, side="right")) - 1
        return float(t[k]), v[k].copy()


def _crc_ok(table: Any, row: dict[str, Any]) -> bool:
    """Whether ``row`` matches its checksum (a value no checksum can be taken of never does)."""
    got = row_crc(table, row)
    return got is not None and got == row.get("crc")


def _within(t: np.ndarray, t0_s: Optional[float], t1_s: Optional[float]) -> np.ndarray:
    """Which times lie in ``[t0_s, t1_s]`` (an open end where None)."""
    keep = np.ones(len(t), bool)
    if t0_s is not None:
        keep &= t >= t0_s
    if t1_s is not None:
        keep &= t <= t1_s
    return keep
