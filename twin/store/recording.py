"""Read a recording back: keyframes (seek), events, alarms and series.

Writing one is :mod:`dctwin.twin.store.recorder`'s (``record_run``); this module only reads.

Files of format 2 are checked as they are read: every row's CRC-32
(:func:`dctwin.twin.store.schema.row_crc`), a keyframe's arrays by id range,
each array's encoding and size. A damaged keyframe raises
:class:`KeyframeDamaged` ("recording 1, keyframe at t = 600 s is damaged ...");
a damaged event, alarm or series chunk a :class:`ProjectFileError` naming it.
Nothing read depends on an SQLite index (a damaged index entry could hide or
swap rows): tables are scanned (``NOT INDEXED``) or rows looked up by id.
Files of format 1 are read as they always were (no checksums to check).
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from sqlalchemy import func, select

from dctwin.twin.errors import ProjectFileError
from dctwin.twin.model.events import Event
from dctwin.twin.store.arrays import (
    FULL_CODECS, check_stored_array, decode_array, declared, unpack,
)
from dctwin.twin.store.series_read import SeriesReader, _crc_ok
from dctwin.twin.store.schema import (
    COUNTED, AlarmRow, EventRow, Keyframe, KeyframeArray, Recording, SeriesChunk, checked_columns,
)

#: keyframe arrays that hold finite numbers everywhere in any state (the time and the air state)
FINITE_ARRAYS = ("t_s", "air_T", "air_star", "air_rate1", "air_rate2")
#: decoded array bytes kept per reader (shared flow fields and XOR bases are read again at every seek)
CACHE_BYTES = 256 * 2 ** 20


class KeyframeDamaged(ProjectFileError):
    """A keyframe that cannot be used: replay stops before it. ``t_s`` is where it was taken (or the
    keyframe before it, when its own time is what is damaged)."""

    def __init__(self, message: str, t_s: float) -> None:
        super().__init__(message)
        self.t_s = t_s


@dataclass(frozen=True)
class KeyframeInfo:
    id: int
    t_s: float
    last_event_seq: int
    #: format 2: the keyframe's arrays are the rows first_array_id .. first_array_id + n_arrays - 1
    first_array_id: int = 0
    n_arrays: int = -1  # -1: format 1 (arrays found by keyframe_id)
    #: why the keyframe's own row cannot be used ("" if it can)
    damage: str = ""


class RecordingReader(SeriesReader):
    """One recording of an open :class:`~dctwin.twin.store.project.Project` (default: its latest)."""

    def __init__(self, project: Any, recording_id: Optional[int] = None) -> None:
        self.project = project
        self.engine = project.engine
        self.checked = bool(getattr(project, "checked", False))
        t = Recording.__table__
        cols = [c.name for c in t.columns if self.checked or (c.name != "crc" and c.name not in COUNTED)]
        with self.engine.connect() as conn:
            if recording_id is None:
                recording_id = conn.execute(select(func.max(Recording.id))).scalar()
                if recording_id is None:
                    raise ProjectFileError(f"{project.path}: holds no recording")
            # raw values (no type conversion), so the checksum sees what is stored
            found = conn.exec_driver_sql(f"SELECT {', '.join(cols)} FROM recordings WHERE id = ?",
                                         (int(recording_id),)).first()
            row = None if found is None else dict(zip(cols, found))
        if row is None:
            ids = [r.id for r in project.recordings()]
            raise ProjectFileError(f"{project.path}: has no recording {recording_id} "
                                   f"(recordings: {', '.join(map(str, ids)) or 'none'})")
        where = f"{project.path} recording {row['id']}"
        if self.checked and not _crc_ok(t, row):
            raise ProjectFileError(f"{where} is damaged: its settings do not match their checksum")
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
        self._label = f"{project.path}: recording {self.id}"
        #: rows the recording says it has (format 2): fewer or more found means rows were lost or moved
        self._counts = {k: row[k] for k in COUNTED} if self.checked else {}
        self._cache: OrderedDict[int, bytes] = OrderedDict()  # row id -> raw bytes (format 2)
        self._cache_bytes = 0
        self._verified: set[int] = set()  # keyframe ids whose array rows passed their checksums
        #: the first damaged keyframe found so far (None: none found)
        self.damaged: Optional[KeyframeDamaged] = None

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
        """Check every stored keyframe array of this recording (or of ``keyframe_ids``).

        Format 2: every array decodes and matches its checksum. Format 1: dtype, shape and the byte
        length (read from SQLite's record, not the blob) agree and shared rows exist. Raises
        :class:`ProjectFileError` naming the keyframe and array otherwise.
        """
        if self.checked:
            wanted = None if keyframe_ids is None else set(int(i) for i in keyframe_ids)
            for kf in self.keyframes():
                if wanted is None or kf.id in wanted:
                    self.load_keyframe(kf)
            return
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
        """Check what an export copies: keyframe arrays (:meth:`check_arrays`), every event and alarm,
        every series chunk. Raises :class:`ProjectFileError` naming the first damaged row."""
        self.check_arrays(keyframe_ids)
        self.events()
        self.alarms()
        if self.checked:
            for name in ("hall", "rack_inlet_c", "rack_power_w"):
                self.series(name)
            return
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
        """Every keyframe in time order. A keyframe whose own row is damaged is listed with ``damage``
        set (at the time of the keyframe before it, if its own time is not to be trusted)."""
        if not self.checked:
            return self._keyframes_v1()
        t = Keyframe.__table__
        cols = ("id",) + checked_columns(t) + ("crc",)
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                f"SELECT {', '.join(cols)} FROM keyframes NOT INDEXED WHERE recording_id = ? ORDER BY id",
                (self.id,)).all()
        self._count("n_keyframes", len(rows), "keyframes")
        out: list[KeyframeInfo] = []
        last_t = -math.inf
        for r in rows:
            row = dict(zip(cols, r))
            damage = "" if _crc_ok(t, row) else "its checksum does not match"
            tk = row["t_s"]
            if not damage and not (isinstance(tk, float) and math.isfinite(tk) and tk >= 0 and tk > last_t):
                damage = f"its time {tk!r} is not a time after the keyframe before it"
            if damage:
                est = max(last_t, 0.0)
                out.append(KeyframeInfo(int(row["id"]) if isinstance(row["id"], int) else -1, est, 0, 0, 0, damage))
                continue
            last_t = tk
            out.append(KeyframeInfo(int(row["id"]), float(tk), int(row["last_event_seq"]),
                                    int(row["first_array_id"]), int(row["n_arrays"])))
        return out

    def _keyframes_v1(self) -> list[KeyframeInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(Keyframe.id, Keyframe.t_s, Keyframe.last_event_seq)
                                .where(Keyframe.recording_id == self.id).order_by(Keyframe.id)).all()
        out: list[KeyframeInfo] = []
        last_t = -math.inf
        for kid, tk, seq in rows:
            ok = (isinstance(tk, (int, float)) and not isinstance(tk, bool) and math.isfinite(tk) and tk >= 0
                  and tk > last_t and isinstance(seq, int) and isinstance(kid, int))
            if not ok:
                out.append(KeyframeInfo(kid if isinstance(kid, int) else -1, max(last_t, 0.0), 0, 0, -1,
                                        f"its time {tk!r} or event count {seq!r} is not usable"))
                continue
            last_t = float(tk)
            out.append(KeyframeInfo(int(kid), float(tk), int(seq)))
        return out

    def _count(self, key: str, found: int, what: str) -> None:
        """Raise if the rows found are not as many as the recording says it has (more are fine while a
        dctwin process is still writing it: they were committed after its settings were read)."""
        want = self._counts.get(key)
        if want is not None and (found < want or (found > want and not self._live())):
            raise ProjectFileError(f"{self._where} is damaged: {found} {what} found where it has {want}")

    def _live(self) -> bool:
        from dctwin.twin.store.project import being_written

        return being_written(self.project.path)

    def _damaged(self, kf: KeyframeInfo, why: str) -> KeyframeDamaged:
        exc = KeyframeDamaged(f"{self._label}, keyframe at t = {kf.t_s:g} s is damaged ({why}); replay "
                              f"stops before it", kf.t_s)
        if self.damaged is None or kf.t_s < self.damaged.t_s:
            self.damaged = exc
        return exc

    def keyframe_before(self, t_s: float) -> KeyframeInfo:
        """The last keyframe at or before ``t_s``; :class:`KeyframeDamaged` if a damaged keyframe comes
        at or before ``t_s`` (replay stops before it)."""
        kfs = [k for k in self.keyframes() if k.t_s <= float(t_s)]
        for k in kfs:
            if k.damage:
                raise self._damaged(k, k.damage)
        if not kfs:
            raise ProjectFileError(f"{self._where}: no keyframe at or before t = {t_s:g} s "
                                   f"(the recording starts at its first keyframe)")
        return kfs[-1]

    def replay_keyframe(self, t_s: float) -> KeyframeInfo:
        """The keyframe replay starts from to reach ``t_s``: the last one strictly before it when there is
        one (so at least one step is re-simulated and what the engine derives from its last step is as it
        was live), else the one at ``t_s``."""
        try:
            return self.keyframe_before(float(t_s) - 0.5 * self.dt_s)
        except KeyframeDamaged:
            raise
        except ProjectFileError:
            return self.keyframe_before(t_s)

    def verify_keyframes(self, upto_t_s: float) -> None:
        """Check the checksums of every keyframe's arrays up to ``upto_t_s`` (once; no decoding), so a
        replay to a later time cannot pass over a damaged one. Raises :class:`KeyframeDamaged`."""
        if not self.checked:
            return
        for kf in self.keyframes():
            if kf.t_s > upto_t_s:
                break
            if kf.damage:
                raise self._damaged(kf, kf.damage)
            if kf.id not in self._verified:
                self._rows(kf)
                self._verified.add(kf.id)

    def _rows(self, kf: KeyframeInfo) -> list[dict[str, Any]]:
        """The array rows of a keyframe (format 2), each checked against its checksum."""
        t = KeyframeArray.__table__
        cols = ("id",) + checked_columns(t) + ("crc",)
        lo, n = kf.first_array_id, kf.n_arrays
        with self.engine.connect() as conn:
            rows = [dict(zip(cols, r)) for r in conn.exec_driver_sql(
                f"SELECT {', '.join(cols)} FROM keyframe_arrays WHERE id >= ? AND id < ? ORDER BY id",
                (lo, lo + n)).all()]
        if len(rows) != n or n == 0:
            raise self._damaged(kf, f"{len(rows)} of its {n} arrays are there")
        names = set()
        for r in rows:
            if not _crc_ok(t, r) or r["keyframe_id"] != kf.id:
                raise self._damaged(kf, f"array {_name(r)}: its checksum does not match")
            if r["name"] in names:
                raise self._damaged(kf, f"array {_name(r)} is there twice")
            names.add(r["name"])
        return rows

    def _other_rows(self, kf: KeyframeInfo, ids: set[int]) -> dict[int, dict[str, Any]]:
        if not ids:
            return {}
        t = KeyframeArray.__table__
        cols = ("id",) + checked_columns(t) + ("crc",)
        marks = ", ".join("?" * len(ids))
        with self.engine.connect() as conn:
            found = {int(r[0]): dict(zip(cols, r)) for r in conn.exec_driver_sql(
                f"SELECT {', '.join(cols)} FROM keyframe_arrays WHERE id IN ({marks})", tuple(ids)).all()}
        for rid in ids:
            r = found.get(rid)
            if r is None:
                raise self._damaged(kf, f"it refers to array row {rid}, which is not there")
            if not _crc_ok(t, r):
                raise self._damaged(kf, f"array {_name(r)} of an earlier keyframe it shares: its checksum does "
                                        f"not match")
        return found

    def load_keyframe(self, keyframe: KeyframeInfo | int) -> dict[str, np.ndarray]:
        """The state arrays of a keyframe, bit-exact as they were recorded.

        Raises :class:`KeyframeDamaged` if anything of it is damaged or out of place.
        """
        if not isinstance(keyframe, KeyframeInfo):
            keyframe = next((k for k in self.keyframes() if k.id == int(keyframe)), None) or KeyframeInfo(
                int(keyframe), math.nan, 0)
        kf = keyframe
        if kf.damage:
            raise self._damaged(kf, kf.damage)
        out = self._load_v2(kf) if self.checked else self._load_v1(kf)
        _check_values(self, kf, out)
        self._verified.add(kf.id)
        return out

    def _load_v1(self, kf: KeyframeInfo) -> dict[str, np.ndarray]:
        t = KeyframeArray.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.name, t.c.dtype, t.c.shape, t.c.data, t.c.ref_id)
                                .where(t.c.keyframe_id == kf.id).order_by(t.c.id)).all()
            refs = sorted({r[4] for r in rows if r[4] is not None})
            shared = dict(conn.execute(select(t.c.id, t.c.data).where(t.c.id.in_(refs))
                                       .where(t.c.ref_id.is_(None))).all()) if refs else {}
        if not rows:
            raise self._damaged(kf, "it holds no arrays")
        out = {}
        for name, dtype, shape, data, ref in rows:
            if ref is not None:
                if ref not in shared:
                    raise self._damaged(kf, f"array {name}: refers to missing data (row {ref})")
                data = shared[ref]
            try:
                out[name] = decode_array(dtype, shape, data)
            except ProjectFileError as exc:
                raise self._damaged(kf, f"array {name}: {exc}") from None
        return out

    def _load_v2(self, kf: KeyframeInfo) -> dict[str, np.ndarray]:
        rows = self._rows(kf)
        by_id = {r["id"]: r for r in rows}
        for _ in range(3):  # a reference, its base (scale), that one's base (xor): never deeper
            want = {r[k] for r in by_id.values() for k in ("ref_id", "base_id") if r[k] is not None}
            want -= set(by_id) | set(self._cache)
            if not want:
                break
            by_id.update(self._other_rows(kf, want))
        out = {}
        for r in rows:
            name = _name(r)
            try:
                dt, dims = _declared(r)
                src = r
                if r["ref_id"] is not None:
                    if not r["ref_id"] < r["id"] or r["codec"] != "raw" or r["data"] != b"":
                        raise ProjectFileError("it refers to data in a way dctwin never writes")
                    src = by_id.get(r["ref_id"]) or {"id": r["ref_id"], "dtype": r["dtype"], "shape": r["shape"],
                                                     "ref_id": None}
                    if src.get("ref_id") is not None or (src["dtype"], src["shape"]) != (r["dtype"], r["shape"]):
                        raise ProjectFileError("the row it shares is not the same kind of array")
                raw = self._raw(kf, src, dt, dims, by_id)
            except ProjectFileError as exc:
                raise self._damaged(kf, f"array {name}: {str(exc).split(': ', 1)[-1]}") from None
            out[r["name"]] = np.frombuffer(raw, dtype=dt).reshape(dims).copy()
        return out

    def _raw(self, kf: KeyframeInfo, r: dict[str, Any], dt: np.dtype, dims: list[int],
             by_id: dict[int, dict[str, Any]]) -> bytes:
        """The decoded bytes of row ``r`` (cached by row id)."""
        rid = r["id"]
        if rid in self._cache:
            self._cache.move_to_end(rid)
            return self._cache[rid]
        nbytes = math.prod(dims) * dt.itemsize
        base = None
        if r["codec"] in ("xor", "scale"):
            b = by_id.get(r["base_id"]) if r["base_id"] is not None else None
            if b is None and r["base_id"] in self._cache:
                b = {"id": r["base_id"], "dtype": r["dtype"], "shape": r["shape"], "codec": "raw", "ref_id": None}
            ok_codecs = FULL_CODECS if r["codec"] == "xor" else FULL_CODECS + ("xor",)
            if b is None or not b["id"] < rid or b["codec"] not in ok_codecs or b.get("ref_id") is not None \
                    or (b["dtype"], b["shape"]) != (r["dtype"], r["shape"]):
                raise ProjectFileError("its base array is missing or not what dctwin writes")
            base = self._raw(kf, b, dt, dims, by_id)
        raw = unpack(r["codec"], r["data"], dt.itemsize, nbytes, base, dtype=dt)
        self._cache[rid] = raw
        self._cache_bytes += len(raw)
        while self._cache_bytes > CACHE_BYTES and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cache_bytes -= len(old)
        return raw

    def seek(self, t_s: float) -> tuple[KeyframeInfo, dict[str, np.ndarray]]:
        """The keyframe at or before ``t_s`` and its arrays (re-simulate from there to ``t_s``)."""
        kf = self.keyframe_before(t_s)
        return kf, self.load_keyframe(kf)

    # ---- events and alarms
    def events(self, t0_s: Optional[float] = None, t1_s: Optional[float] = None,
               after_seq: Optional[int] = None) -> list[Event]:
        """Events with ``t0_s <= t_s <= t1_s`` (and ``seq > after_seq``), in ``seq`` order."""
        evs, damage = self._events()
        if damage:
            raise ProjectFileError(damage[1])
        return [e for e in evs if (t0_s is None or e.t_s >= t0_s) and (t1_s is None or e.t_s <= t1_s)
                and (after_seq is None or e.seq > after_seq)]

    def events_until_damage(self) -> tuple[list[Event], Optional[tuple[float, str]]]:
        """Every event before the first damaged one, and ``(time, message)`` of that one (None if none is):
        replay can go up to that time."""
        return self._events()

    def _events(self) -> tuple[list[Event], Optional[tuple[float, str]]]:
        t = EventRow.__table__
        cols = ("id",) + checked_columns(t) + (("crc",) if self.checked else ())
        sql = (f"SELECT {', '.join(cols)} FROM events NOT INDEXED WHERE recording_id = ? ORDER BY id"
               if self.checked else f"SELECT {', '.join(cols)} FROM events WHERE recording_id = ? ORDER BY seq")
        with self.engine.connect() as conn:
            rows = [dict(zip(cols, r)) for r in conn.exec_driver_sql(sql, (self.id,)).all()]
        try:
            self._count("n_events", len(rows), "events")
        except ProjectFileError as exc:
            return [], (0.0, str(exc))
        out: list[Event] = []
        last_t, last_seq = 0.0, 0
        for r in rows:
            seq = r["seq"]
            problem = ""
            if self.checked and not _crc_ok(t, r):
                problem = "its checksum does not match"
            else:
                try:
                    d = json.loads(r["details_json"])
                except (TypeError, ValueError):
                    problem = "damaged details"
                else:
                    try:
                        ev = Event(int(seq), float(r["t_s"]), str(r["kind"]), str(r["target"]),
                                   None if r["cause"] is None else int(r["cause"]), str(r["condition"] or ""),
                                   d if isinstance(d, dict) else {"value": d})
                    except (TypeError, ValueError):
                        problem = "time or ids are not numbers"
                    else:
                        if not (math.isfinite(ev.t_s) and ev.t_s >= 0) or ev.seq <= last_seq:
                            problem = "its time or number is out of place"
            if problem:
                after = f" (after t = {last_t:g} s)" if out else ""
                what = f"event {seq}" if isinstance(seq, int) and not problem.startswith("its checksum") \
                    else f"event row {r['id']}"
                return out, (last_t, f"{self._where}: {what}{after} is damaged: {problem}")
            out.append(ev)
            last_t, last_seq = ev.t_s, ev.seq
        return out, None

    def alarms(self, t0_s: Optional[float] = None, t1_s: Optional[float] = None) -> list[dict[str, Any]]:
        t = AlarmRow.__table__
        cols = ("id",) + checked_columns(t) + (("crc",) if self.checked else ())
        sql = (f"SELECT {', '.join(cols)} FROM alarms NOT INDEXED WHERE recording_id = ?" if self.checked
               else f"SELECT {', '.join(cols)} FROM alarms WHERE recording_id = ?")
        with self.engine.connect() as conn:
            rows = [dict(zip(cols, r)) for r in conn.exec_driver_sql(sql, (self.id,)).all()]
        self._count("n_alarms", len(rows), "alarm changes")
        out = []
        for r in rows:
            if self.checked and not _crc_ok(t, r):
                raise ProjectFileError(f"{self._where}: alarm row {r['id']} is damaged (its checksum does not "
                                       f"match)")
            tk = r["t_s"]
            if not (isinstance(tk, (int, float)) and math.isfinite(tk)):
                raise ProjectFileError(f"{self._where}: alarm row {r['id']} is damaged (its time {tk!r})")
            if (t0_s is None or tk >= t0_s) and (t1_s is None or tk <= t1_s):
                out.append({k: r[k] for k in ("t_s", "target", "kind", "severity", "active", "message", "cause")}
                           | {"_id": r["id"]})
        out.sort(key=lambda a: (a["t_s"], a["_id"]))
        for a in out:
            del a["_id"]
        return out


def _name(r: dict[str, Any]) -> str:
    return str(r.get("name"))[:60]


def _declared(r: dict[str, Any]) -> tuple[np.dtype, list[int]]:
    return declared(r["dtype"], r["shape"])


def _check_values(reader: RecordingReader, kf: KeyframeInfo, arrays: dict[str, np.ndarray]) -> None:
    """Values no state can hold: a time that is not the keyframe's, a non-finite air state."""
    t = arrays.get("t_s")
    if t is not None:
        ok = t.size == 1 and t.dtype.kind == "f" and math.isfinite(float(t.reshape(-1)[0])) \
            and abs(float(t.reshape(-1)[0]) - kf.t_s) <= 1e-6 * max(1.0, abs(kf.t_s))
        if not ok:
            raise reader._damaged(kf, f"array t_s holds {t.reshape(-1)[:1]!r}, not the keyframe's time")
    for name in FINITE_ARRAYS:
        a = arrays.get(name)
        if a is not None and a.dtype.kind in "fc" and not np.isfinite(a).all():
            raise reader._damaged(kf, f"array {name} holds NaN or infinite values")


def _seconds(row: Any, name: str, low: float, high: float, where: str, low_ok: bool = False) -> float:
    """A stored time setting, checked: a hand-edited file must not reach the engine with dt = 0 or NaN."""
    v = float(row[name])
    if not (math.isfinite(v) and (low <= v if low_ok else low < v) and v <= high):
        raise ProjectFileError(f"{where}: damaged recording settings ({name} = {v:g} is not a usable time)")
    return v


def _str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _grid_ok(v: Any) -> bool:
    """A stored ``grid_m``: None, a number, or (horizontal, vertical) numbers (the engine checks ranges)."""
    def num(x: Any) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

    return v is None or num(v) or (isinstance(v, list) and len(v) == 2 and all(num(x) for x in v))
