"""Measured series from the site: CSV or Parquet files in, cleaned SI series per point out.

Files (the contract; :func:`read_measurements`):

- **long**: columns ``timestamp,point,value[,unit]``, one sample a row;
- **wide**: a ``timestamp`` column and one column per point;
- the same two shapes as **Parquet** (``.parquet``/``.pq``).

Timestamps are ISO 8601 with a zone offset (``2024-05-14T04:00:00+02:00``, ``...Z``) or epoch
seconds; a timestamp without an offset is refused (its zone is unknown). Parsing is vectorised
(pyarrow's multi-threaded CSV reader and casts, numpy per point), never a Python loop per row.

Cleaning (:func:`clean_point`), counted per point and in total in the
:class:`TelemetryReport`:

==================  =========================================================================
defect              how it is found and what happens to it
==================  =========================================================================
``out_of_order``    a row earlier in time than the row before it of the same point (file
                    order): the rows are sorted
``duplicate``       a second row of a point at the same time: the last one in the file is kept
``empty``           an empty value (also ``NULL``, ``N/A``): dropped
``nan``             ``NaN``: dropped
``sentinel``        a sentinel value (``-999``, ``-9999``, or ``--sentinel``): dropped
``out_of_range``    outside the quantity's plausible range (a temperature of 150 C): dropped
``spike``           one sample off both of its neighbours by more than the quantity's threshold
                    (5 K; 30 % of the level for powers and flows) in the same direction, while
                    the neighbours agree within it: dropped; unless at least 3 points jump so
                    at the same time (a load dip the site really had: kept, ``shared_jump``)
``gap``             an interval between samples with a value longer than 3.5x the point's median
                    interval (``gap_s`` adds their lengths): kept as a gap (the shadow holds the
                    last value for at most one gap length, then lets the model run)
``irregular``       an interval off the median by more than 10 % (``jitter_s``: RMS deviation)
==================  =========================================================================

Units are converted to SI (:mod:`dctwin.twin.io.points`); a long file's ``unit`` column, where
given, wins over the map's unit for that row. Points in the data that the map does not name are
listed (``unmapped``) with their sample counts, never dropped silently.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from dctwin.twin.io.points import QUANTITIES, PointMap, conversion, units_for
from dctwin.twin.io.report import SourceError

#: values that mean "no reading" in BMS exports
DEFAULT_SENTINELS = (-999.0, -9999.0)
#: an interval this many times the point's median interval is a gap
GAP_FACTOR = 3.5
#: an interval off the median by more than this share is irregular
IRREGULAR_SHARE = 0.10
#: text cells read as empty values
NULL_TEXTS = ["", "NULL", "null", "None", "N/A", "n/a", "NA", "#N/A"]
#: defect counters, in report order
DEFECTS = ("out_of_order", "duplicate", "empty", "nan", "sentinel", "out_of_range", "spike", "gap", "irregular")


@dataclass
class Series:
    """One point's cleaned samples: epoch seconds (increasing) and SI values."""

    t_s: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return len(self.t_s)


@dataclass
class RawPoint:
    """One point's rows as read, in file order: epoch seconds, raw values (NaN where empty or NaN),
    the empty cells, and the unit conversion of each row (scale, offset: scalars or arrays)."""

    t_s: np.ndarray
    value: np.ndarray
    empty: np.ndarray
    scale: Any = 1.0
    offset: Any = 0.0
    units: tuple[str, ...] = ()


@dataclass
class TelemetryReport:
    """What an import read, kept, dropped and why. Its JSON keys are a contract (add, never rename)."""

    sources: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    rows: int = 0
    values: int = 0
    points_in_data: int = 0
    points_mapped: int = 0
    #: points in the data the map does not name: [{"point", "values"}]
    unmapped: list[dict[str, Any]] = field(default_factory=list)
    #: points the map names that have no data
    missing: list[str] = field(default_factory=list)
    defects: dict[str, float] = field(default_factory=lambda: {k: 0 for k in DEFECTS})
    per_point: dict[str, dict[str, Any]] = field(default_factory=dict)
    t_first: str = ""
    t_last: str = ""
    kept: int = 0
    #: site event log: rows, kinds mapped, unmapped kinds
    events: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)

    def add(self, point: str, counts: dict[str, Any]) -> None:
        self.per_point[point] = counts
        for k in DEFECTS:
            self.defects[k] = self.defects.get(k, 0) + counts.get(k, 0)
        self.defects["gap_s"] = self.defects.get("gap_s", 0.0) + counts.get("gap_s", 0.0)
        self.kept += counts.get("kept", 0)

    def to_dict(self) -> dict[str, Any]:
        return {"sources": list(self.sources), "formats": list(self.formats), "rows": self.rows,
                "values": self.values, "points_in_data": self.points_in_data, "points_mapped": self.points_mapped,
                "unmapped": list(self.unmapped), "missing": list(self.missing), "defects": dict(self.defects),
                "kept": self.kept, "t_first": self.t_first, "t_last": self.t_last, "per_point": self.per_point,
                "events": dict(self.events), "timings_s": dict(self.timings_s)}

    def summary(self, max_items: int = 8) -> str:
        lines = [f"Read {self.values:,} values of {self.points_in_data} points from "
                 f"{', '.join(self.sources)} ({', '.join(self.formats)})",
                 f"  {self.t_first} to {self.t_last}; {self.points_mapped} points mapped, {self.kept:,} values kept"]
        d = self.defects
        lines.append("  defects: " + ", ".join(f"{k.replace('_', ' ')} {int(d.get(k, 0)):,}" for k in DEFECTS)
                     + f"; gaps total {d.get('gap_s', 0.0) / 60:.0f} min")
        if self.unmapped:
            names = ", ".join(f"{u['point']} ({u['values']})" for u in self.unmapped[:max_items])
            more = f" and {len(self.unmapped) - max_items} more" if len(self.unmapped) > max_items else ""
            lines.append(f"  unmapped points ({len(self.unmapped)}), not imported: {names}{more}")
        if self.missing:
            lines.append(f"  mapped points without data ({len(self.missing)}): {', '.join(self.missing[:max_items])}")
        if self.events:
            e = self.events
            lines.append(f"  event log: {e.get('rows', 0)} rows; " + ", ".join(
                f"{k} {n}" for k, n in sorted(e.get("kinds", {}).items())))
        return "\n".join(lines)


# --------------------------------------------------------------------------- timestamps

def iso(t_s: float) -> str:
    """Epoch seconds as ISO 8601 UTC (``2024-05-14T02:00:00Z``)."""
    if not math.isfinite(t_s):
        return ""
    return _dt.datetime.fromtimestamp(float(t_s), _dt.timezone.utc).isoformat().replace("+00:00", "Z")


#: the epoch seconds a timestamp may take: the years 1 to 9999 (what a date can be written as)
T_MIN_S, T_MAX_S = -62135596800.0, 253402300799.0


def parse_time(text: str, what: str = "time") -> float:
    """ISO 8601 with an offset, or epoch seconds -> epoch seconds. SourceError otherwise."""
    s = str(text).strip()
    try:
        t = float(s)
    except ValueError:
        pass
    else:
        if not T_MIN_S <= t <= T_MAX_S:  # NaN too
            raise SourceError(f"{what} {s!r} is not a time in the years 1 to 9999")
        return t
    try:
        d = _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise SourceError(f"{what} {s!r} is neither ISO 8601 (2024-05-14T02:00:00+00:00) nor epoch seconds") from None
    if d.tzinfo is None:
        raise SourceError(f"{what} {s!r} has no zone offset (add +00:00 or Z)")
    return d.timestamp()


def _epoch_seconds(col: Any, where: str, locate: Any) -> np.ndarray:
    """A pyarrow column of timestamps (strings, numbers or timestamp type) -> float64 epoch seconds.

    ``locate(index)`` names the place of a bad value (line) for the error.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if col.null_count:
        raise SourceError(f"{where}, {locate(int(np.flatnonzero(_null_mask(col))[0]))}: empty timestamp")
    typ = col.type
    if pa.types.is_timestamp(typ):
        if typ.tz is None:
            raise SourceError(f"{where}: timestamps carry no zone (store them as UTC timestamps)")
        ns = pc.cast(col, pa.timestamp("ns", tz="UTC")).cast(pa.int64())
        out = ns.to_numpy(zero_copy_only=False).astype(np.float64) / 1e9
    elif pa.types.is_integer(typ) or pa.types.is_floating(typ):
        out = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
    else:
        s = col.cast(pa.string()) if not pa.types.is_string(typ) else col
        out = None
        try:
            out = pc.cast(s, pa.float64()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:
            try:
                ns = pc.cast(s, pa.timestamp("ns", tz="UTC")).cast(pa.int64())
                out = ns.to_numpy(zero_copy_only=False).astype(np.float64) / 1e9
            except pa.ArrowInvalid:
                _raise_bad_time(s, where, locate)
    bad = ~np.isfinite(out)
    if bad.any():
        raise SourceError(f"{where}, {locate(int(np.flatnonzero(bad)[0]))}: timestamp is not a finite number")
    bad = (out < T_MIN_S) | (out > T_MAX_S)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SourceError(f"{where}, {locate(i)}: timestamp {out[i]:g} s is outside the years 1 to 9999")
    return out


def _raise_bad_time(s: Any, where: str, locate: Any) -> None:
    """Find the first timestamp that is neither epoch seconds nor ISO 8601 with an offset, and say where."""
    i = 0
    for chunk in s.chunks:
        for v in chunk.to_pylist():
            try:
                parse_time(v, "timestamp")
            except SourceError as exc:
                raise SourceError(f"{where}, {locate(i)}, column 'timestamp': {exc}") from None
            i += 1
    raise SourceError(f"{where}: timestamps mix epoch seconds and ISO 8601; use one")


# --------------------------------------------------------------------------- files

def _fmt_of(path: Path) -> str:
    return "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"


def _csv_header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for row in csv.reader(fh):
            if any(c.strip() for c in row):
                return [c.strip() for c in row]
    raise SourceError(f"{path}: is empty")


def _epoch_numbers(path: Path, column: int) -> bool:
    """Whether the first data row's ``column`` (the timestamp) is a number (epoch seconds): then the
    column is read as numbers, which is faster than reading it as text and converting after."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = (r for r in csv.reader(fh) if any(c.strip() for c in r))
        next(rows, None)
        row = next(rows, None)
    try:
        return row is not None and math.isfinite(float(row[column]))
    except (IndexError, ValueError):
        return False


def _shape(columns: Sequence[str], path: Path) -> str:
    low = [c.lower() for c in columns]
    if "timestamp" not in low:
        raise SourceError(f"{path}: no 'timestamp' column (long: timestamp,point,value[,unit]; wide: timestamp "
                          f"and one column per point)")
    if {"point", "value"} <= set(low) and len(low) <= 4 and set(low) <= {"timestamp", "point", "value", "unit"}:
        return "long"
    return "wide"


def _line_locator(path: Path) -> Any:
    """index of a data row -> "line N" (blank lines skipped as the reader skips them). Reads the file
    again, so only used when something is wrong."""
    def locate(i: int) -> str:
        k = -1
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            for row in reader:
                if not any(c.strip() for c in row):
                    continue
                if k == i:
                    return f"line {reader.line_num}"
                k += 1
        return f"data row {i + 1}"
    return locate


def _bad_value(path: Path, columns: list[str], numeric: list[str]) -> SourceError:
    """The first cell of a ``numeric`` column that is not a number (nor empty, NULL, NaN), as an error
    naming file, line and column."""
    idx = [columns.index(c) for c in numeric]
    nulls = set(NULL_TEXTS)
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = True
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            if header:
                header = False
                continue
            if len(row) != len(columns):
                return SourceError(f"{path}, line {reader.line_num}: {len(row)} cells where the header has "
                                   f"{len(columns)}")
            for k in idx:
                cell = row[k].strip()
                if cell in nulls:
                    continue
                try:
                    float(cell)
                except ValueError:
                    return SourceError(f"{path}, line {reader.line_num}, column {columns[k]!r}: "
                                       f"{cell[:40]!r} is not a number")
    return SourceError(f"{path}: cannot be read as CSV")


def _read_table(path: Path, shape: str, columns: list[str]) -> Any:
    """The file as a pyarrow Table (timestamps as read; values float64; a long file's point and unit
    dictionary-encoded)."""
    import pyarrow as pa

    if _fmt_of(path) == "parquet":
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise SourceError(f"{path}: cannot be read as Parquet: {exc}") from None
    import pyarrow.csv as pacsv

    names = {c.lower(): c for c in columns}
    stamp = names["timestamp"]
    types: dict[str, Any] = {stamp: pa.float64() if _epoch_numbers(path, columns.index(stamp)) else pa.string()}
    if shape == "long":
        types[names["point"]] = pa.dictionary(pa.int32(), pa.string())
        types[names["value"]] = pa.float64()
        if "unit" in names:
            types[names["unit"]] = pa.dictionary(pa.int32(), pa.string())
        numeric = [names["value"]]
    else:
        numeric = [c for c in columns if c != names["timestamp"]]
        types.update({c: pa.float64() for c in numeric})
    def read() -> Any:
        return pacsv.read_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 24),
                              convert_options=pacsv.ConvertOptions(column_types=types, null_values=NULL_TEXTS,
                                                                   strings_can_be_null=True))

    try:
        try:
            return read()
        except pa.ArrowInvalid:
            if types[stamp] == pa.string():
                raise
            types[stamp] = pa.string()  # epoch seconds first, something else later: read the times as text
            return read()
    except pa.ArrowInvalid as exc:
        msg = str(exc)
        if "conversion error" in msg:
            raise _bad_value(path, columns, numeric) from None
        if "Expected" in msg and "columns" in msg:
            raise _bad_value(path, columns, []) from None
        raise SourceError(f"{path}: cannot be read as CSV: {msg}") from None
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot be read as CSV: {exc}") from None


def read_measurements(path: str | Path, point_map: Optional[PointMap] = None) -> tuple[str, dict[str, RawPoint]]:
    """Read one measurement file (long or wide, CSV or Parquet; see the module docstring).

    Returns ``(format, {point: RawPoint})`` with every point of the file, mapped or not. Unit
    conversions come from a long file's ``unit`` column, else from ``point_map``. Raises
    :class:`~dctwin.twin.io.report.SourceError` naming the file, line and column of what cannot be read.
    """
    p = Path(path)
    if not p.is_file():
        raise SourceError(f"{p}: not found (measurements: CSV or Parquet)")
    try:
        return _read_measurements(p, point_map)
    except UnicodeDecodeError:  # a CSV read as text by Python's csv module (header, line locator)
        raise SourceError(f"{p}: {_not_utf8(p)}") from None


def _not_utf8(p: Path) -> str:
    """Where a file stops being UTF-8 text: "line N, byte B is not UTF-8 ..." (reads it whole: only when
    something is wrong)."""
    raw = p.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        return f"line {line}, byte {exc.start}: is not UTF-8 text (save the file as UTF-8)"
    return "is not UTF-8 text (save the file as UTF-8)"


def _read_measurements(p: Path, point_map: Optional[PointMap]) -> tuple[str, dict[str, RawPoint]]:
    import pyarrow as pa

    fmt = _fmt_of(p)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            columns = list(pq.read_schema(p).names)
        except (pa.ArrowException, OSError) as exc:
            raise SourceError(f"{p}: cannot be read as Parquet: {exc}") from None
        locate = lambda i: f"row {i + 1}"  # noqa: E731
    else:
        columns = _csv_header(p)
        locate = _line_locator(p)
    shape = _shape(columns, p)
    table = _read_table(p, shape, columns)
    names = {c.lower(): c for c in table.column_names}
    t = _epoch_seconds(table.column(names["timestamp"]), str(p), locate)
    out: dict[str, RawPoint] = {}
    if shape == "long":
        out = _split_long(table, names, t, p, point_map, locate)
    else:
        for c in table.column_names:
            if c == names["timestamp"]:
                continue
            v, empty = _numbers(table.column(c), f"{p}, column {c!r}")
            out[str(c)] = RawPoint(t, v, empty, *_map_units(point_map, str(c)))
    return f"{shape}-{fmt}", out


def _numbers(col: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """A column as float64 values (NaN where empty) and its empty cells."""
    import pyarrow as pa

    if not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type) or pa.types.is_null(col.type)):
        try:
            col = col.cast(pa.float64())
        except pa.ArrowInvalid:
            raise SourceError(f"{where}: values are not numbers") from None
    return col.cast(pa.float64()).to_numpy(zero_copy_only=False), _null_mask(col)


def _null_mask(col: Any) -> np.ndarray:
    if col.null_count == 0:
        return np.zeros(len(col), bool)
    return np.concatenate([np.asarray(ch.is_null().to_numpy(zero_copy_only=False), bool) for ch in col.chunks]) \
        if col.num_chunks else np.zeros(0, bool)


def _map_units(point_map: Optional[PointMap], point: str) -> tuple[float, float, tuple[str, ...]]:
    spec = point_map.get(point) if point_map is not None else None
    if spec is None:
        return 1.0, 0.0, ()
    scale, offset = conversion(spec.quantity, spec.unit) or (1.0, 0.0)
    return scale, offset, (spec.unit,)


def _dict_codes(col: Any) -> tuple[np.ndarray, list[str]]:
    """Codes (int64 per row, -1 for null) and names of a dictionary-encoded column."""
    import pyarrow as pa

    if not pa.types.is_dictionary(col.type):
        col = col.cast(pa.string()).dictionary_encode()
    col = col.unify_dictionaries() if isinstance(col, pa.ChunkedArray) else pa.chunked_array([col])
    if col.num_chunks == 0:
        return np.zeros(0, np.int64), []
    names = [str(x) for x in col.chunk(0).dictionary.to_pylist()]
    codes = np.concatenate([ch.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
                            for ch in col.chunks])
    return codes, names


def _split_long(table: Any, names: dict[str, str], t: np.ndarray, p: Path, point_map: Optional[PointMap],
                locate: Any) -> dict[str, RawPoint]:
    """A long table's rows grouped by point (file order kept within each point)."""
    codes, points = _dict_codes(table.column(names["point"]))
    if (codes < 0).any():
        raise SourceError(f"{p}, {locate(int(np.flatnonzero(codes < 0)[0]))}: empty point name")
    v, empty = _numbers(table.column(names["value"]), f"{p}, column 'value'")
    ucodes, units = (_dict_codes(table.column(names["unit"])) if "unit" in names else (None, []))
    # group rows by point keeping file order: a stable sort on small integer codes (radix)
    n_p, n = len(points), len(codes)
    if n_p and n % n_p == 0 and np.array_equal(np.sort(codes[:n_p]), np.arange(n_p)) \
            and (codes.reshape(-1, n_p) == codes[:n_p]).all():
        # the usual export: every point once per time step, in the same order each time: a transpose
        m = n // n_p
        col = np.empty(n_p, np.int64)
        col[codes[:n_p]] = np.arange(n_p)
        starts, counts = col * m, np.full(n_p, m)
        v_by = _transpose(v, m, n_p)
        empty_by = _transpose(empty, m, n_p) if empty.any() else np.zeros(n, bool)
        steps = t.reshape(m, n_p)
        if (steps == steps[:, :1]).all():  # one time per step, shared by every point: no copy per point
            t_by, shared_t = None, np.ascontiguousarray(steps[:, 0])
        else:
            t_by, shared_t = _transpose(t, m, n_p), None

        def rows_of(k: int) -> np.ndarray:
            return col[k] + n_p * np.arange(m)
    else:
        shared_t = None
        key = codes.astype(np.uint16) if n_p < 65536 else codes
        order = np.argsort(key, kind="stable")
        counts = np.bincount(codes, minlength=n_p)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        # one gather per column; each point's rows are then a slice (a view)
        t_by, v_by, empty_by = t[order], v[order], empty[order]

        def rows_of(k: int) -> np.ndarray:
            return order[starts[k]:starts[k] + counts[k]]
    out: dict[str, RawPoint] = {}
    for k, name in enumerate(points):
        lo, hi = int(starts[k]), int(starts[k] + counts[k])
        if hi == lo:
            continue
        scale, offset, seen = _map_units(point_map, name)
        spec = point_map.get(name) if point_map is not None else None
        if ucodes is not None and spec is not None:
            rows = rows_of(k)
            uc = ucodes[rows]
            if (uc >= 0).any():
                scale_a = np.full(len(rows), scale)
                offset_a = np.full(len(rows), offset)
                seen_l = list(seen)
                for u in np.unique(uc[uc >= 0]):
                    conv = conversion(spec.quantity, units[u])
                    at = uc == u
                    if conv is None:
                        i = int(rows[np.flatnonzero(at)[0]])
                        raise SourceError(f"{p}, {locate(i)}, point {name!r}: unit {units[u]!r} does not fit "
                                          f"{spec.quantity} (use {', '.join(units_for(spec.quantity))})")
                    scale_a[at], offset_a[at] = conv
                    seen_l.append(units[u])
                scale, offset, seen = scale_a, offset_a, tuple(dict.fromkeys(seen_l))
        out[name] = RawPoint(t_by[lo:hi] if shared_t is None else shared_t, v_by[lo:hi], empty_by[lo:hi], scale,
                             offset, seen)
    return out


def _transpose(a: np.ndarray, m: int, n_p: int, block: int = 512) -> np.ndarray:
    """``a`` (``m`` rows of ``n_p``) point-major, flat: each point's ``m`` values contiguous. Copied in
    blocks of rows, so that reads and writes both stay within the cache (a plain transposed copy of a
    large array misses it on every element)."""
    src = a.reshape(m, n_p)
    out = np.empty((n_p, m), a.dtype)
    for i in range(0, m, block):
        out[:, i:i + block] = src[i:i + block].T
    return out.ravel()


# --------------------------------------------------------------------------- cleaning

def clean_point(raw: RawPoint, quantity: str, sentinels: Sequence[float] = DEFAULT_SENTINELS,
                shared_jumps: Optional[np.ndarray] = None) -> tuple[Series, dict[str, Any]]:
    """Sort, de-duplicate and clean one point's rows (see the module docstring); SI values.

    ``shared_jumps``: sorted epoch seconds at which several points jump at once (:func:`clean_all`); a
    spike within half a sampling interval of one is kept as a real event (counted ``shared_jump``).
    Returns the cleaned series and the counts of each defect (and ``values``, ``kept``,
    ``gap_s``, ``median_interval_s``, ``jitter_s``, ``spike_t``: the times of the spikes dropped).
    """
    q = QUANTITIES[quantity]
    t, v, empty = raw.t_s, raw.value, raw.empty
    n = len(t)
    # a conversion per row (a long file's unit column) or one for all rows
    per_row = np.ndim(raw.scale) > 0 or np.ndim(raw.offset) > 0
    scale = np.broadcast_to(np.asarray(raw.scale, float), t.shape) if per_row else float(raw.scale)
    offset = np.broadcast_to(np.asarray(raw.offset, float), t.shape) if per_row else float(raw.offset)
    c: dict[str, Any] = {"values": n}
    c["out_of_order"] = int(np.count_nonzero(t[1:] < t[:-1])) if n > 1 else 0
    if c["out_of_order"]:
        order = np.argsort(t, kind="stable")
        t, v, empty = t[order], v[order], empty[order]
        if per_row:
            scale, offset = scale[order], offset[order]
    # the last row of each run of equal times is kept
    last = np.ones(n, bool)
    if n > 1:
        last[:-1] = t[1:] != t[:-1]
    c["duplicate"] = int(n - np.count_nonzero(last))
    if c["duplicate"]:
        t, v, empty = t[last], v[last], empty[last]
        if per_row:
            scale, offset = scale[last], offset[last]
    # sampling: intervals between samples that carry something (a number, NaN or a sentinel)
    tp = t[~empty] if empty.any() else t
    d = np.diff(tp)
    med = float(np.median(d)) if len(d) else math.nan
    if len(d) and med > 0:
        gaps = d > GAP_FACTOR * med
        regular = d[~gaps]
        c["gap"] = int(np.count_nonzero(gaps))
        c["gap_s"] = float(d[gaps].sum())
        c["irregular"] = int(np.count_nonzero(np.abs(regular - med) > IRREGULAR_SHARE * med))
        c["jitter_s"] = float(np.sqrt(np.mean((regular - med) ** 2))) if len(regular) else 0.0
    else:
        c.update(gap=0, gap_s=0.0, irregular=0, jitter_s=0.0)
    c["median_interval_s"] = med if math.isfinite(med) else None
    c["empty"] = int(np.count_nonzero(empty))
    nan = ~empty & np.isnan(v)
    c["nan"] = int(np.count_nonzero(nan))
    sent = np.zeros(len(v), bool)
    for s in sentinels:
        sent |= v == float(s)  # NaN (empty cells too) equals nothing
    c["sentinel"] = int(np.count_nonzero(sent))
    si = v * scale + offset if per_row or scale != 1.0 or offset != 0.0 else v
    ok = ~(empty | nan | sent)
    rng = ok & ~((si >= q.low) & (si <= q.high))
    c["out_of_range"] = int(np.count_nonzero(rng))
    ok &= ~rng
    t, si = t[ok], si[ok]
    spike = spikes(si, q.spike)
    if shared_jumps is not None and len(shared_jumps) and spike.any():
        tol = 0.5 * (med if math.isfinite(med) and med > 0 else 60.0)
        at = np.flatnonzero(spike)
        near = np.searchsorted(shared_jumps, t[at] - tol, side="left") < \
            np.searchsorted(shared_jumps, t[at] + tol, side="right")
        spike[at[near]] = False
        c["shared_jump"] = int(np.count_nonzero(near))
    c["spike"] = int(np.count_nonzero(spike))
    c["spike_t"] = t[spike]
    if c["spike"]:
        t, si = t[~spike], si[~spike]
    if q.kind == "state":
        si = (si > 0.5).astype(np.float64)
    c["kept"] = int(len(t))
    return Series(np.ascontiguousarray(t), np.ascontiguousarray(si)), c


def spikes(x: np.ndarray, threshold: tuple[float, float]) -> np.ndarray:
    """Single samples off both neighbours by more than ``max(abs, rel * level)`` in the same direction,
    where the neighbours agree within it (level: the neighbours' mean magnitude)."""
    out = np.zeros(len(x), bool)
    a_thr, r_thr = threshold
    if len(x) < 3 or not (math.isfinite(a_thr) or math.isfinite(r_thr)):
        return out
    prev, mid, nxt = x[:-2], x[1:-1], x[2:]
    a_thr = a_thr if math.isfinite(a_thr) else 0.0
    if math.isfinite(r_thr) and r_thr > 0:
        thr: Any = np.maximum(a_thr, (0.5 * r_thr) * np.abs(prev + nxt))
    else:
        thr = a_thr
    d_prev, d_next = mid - prev, mid - nxt
    # off both neighbours the same way: up (both > thr) or down (both < -thr); the neighbours agree
    both = np.minimum(d_prev, d_next) > thr
    both |= np.maximum(d_prev, d_next) < -thr
    both &= np.abs(d_prev - d_next) < thr  # = |nxt - prev|
    out[1:-1] = both
    return out


@dataclass
class MeasuredData:
    """Cleaned series of the mapped points, the map, the report (and the site's events, if read)."""

    series: dict[str, Series]
    points: PointMap
    report: TelemetryReport
    events: list[Any] = field(default_factory=list)

    @property
    def t_range(self) -> tuple[float, float]:
        lo = min((s.t_s[0] for s in self.series.values() if len(s)), default=math.nan)
        hi = max((s.t_s[-1] for s in self.series.values() if len(s)), default=math.nan)
        return float(lo), float(hi)


def load_measurements(paths: Iterable[str | Path], point_map: PointMap,
                      sentinels: Sequence[float] = DEFAULT_SENTINELS,
                      report: Optional[TelemetryReport] = None,
                      pulled: Optional[dict[str, RawPoint]] = None, pulled_from: str = "") -> MeasuredData:
    """Read measurement files (and samples ``pulled`` from a live source), keep the mapped points, clean
    them (SI units); report everything.

    Several files are concatenated per point in the order given (later files after earlier ones).
    """
    report = report or TelemetryReport()
    t0 = time.perf_counter()
    raw: dict[str, list[RawPoint]] = {}
    for path in paths:
        fmt, pts = read_measurements(path, point_map)
        report.sources.append(str(path))
        report.formats.append(fmt)
        report.rows += max((len(r.t_s) for r in pts.values()), default=0) if fmt.startswith("wide") else \
            sum(len(r.t_s) for r in pts.values())
        for name, rp in pts.items():
            raw.setdefault(name, []).append(rp)
    if pulled is not None:
        report.sources.append(pulled_from)
        report.formats.append("prometheus")
        report.rows += sum(len(r.t_s) for r in pulled.values())
        for name, rp in pulled.items():
            raw.setdefault(name, []).append(rp)
    report.timings_s["read"] = time.perf_counter() - t0
    return clean_all(raw, point_map, sentinels, report)


def clean_all(raw: dict[str, list[RawPoint]], point_map: PointMap, sentinels: Sequence[float],
              report: TelemetryReport) -> MeasuredData:
    """Clean every mapped point of ``raw`` (:func:`clean_point`), list the unmapped ones, fill ``report``."""
    t1 = time.perf_counter()
    series: dict[str, Series] = {}
    cleaned: dict[str, tuple[RawPoint, Series, dict[str, Any]]] = {}
    report.points_in_data = len(raw)
    for name, parts in raw.items():
        rp = parts[0] if len(parts) == 1 else _concat(parts)
        report.values += len(rp.t_s)
        spec = point_map.get(name)
        if spec is None:
            report.unmapped.append({"point": name, "values": int(len(rp.t_s))})
            continue
        cleaned[name] = (rp, *clean_point(rp, spec.quantity, sentinels))
    # a one-sample jump seen by several points at once is an event of the site (a load dip), not a spike
    shared = shared_jump_times({n: c["spike_t"] for n, (_, _, c) in cleaned.items()},
                               {n: c.get("median_interval_s") for n, (_, _, c) in cleaned.items()})
    for name, (rp, s, counts) in cleaned.items():
        if len(shared) and counts["spike"]:
            s, counts = clean_point(rp, point_map.get(name).quantity, sentinels, shared)
        del counts["spike_t"]
        counts["units"] = list(rp.units) or [point_map.get(name).unit]
        report.add(name, counts)
        series[name] = s
    report.points_mapped = len(series)
    report.missing = [p for p in point_map.points if p not in series]
    lo, hi = MeasuredData(series, point_map, report).t_range
    report.t_first, report.t_last = iso(lo), iso(hi)
    report.timings_s["clean"] = time.perf_counter() - t1
    return MeasuredData(series, point_map, report)


#: a jump is shared (an event, not a spike) when at least this many points make it at the same time
SHARED_JUMP_POINTS = 3


def shared_jump_times(spike_t: dict[str, np.ndarray], interval_s: dict[str, Any]) -> np.ndarray:
    """Sorted times at which at least :data:`SHARED_JUMP_POINTS` points have a spike within half a sampling
    interval of each other (a spike-shaped dip or rise that several sensors saw is a real event)."""
    times = [np.asarray(t, float) for t in spike_t.values() if len(t)]
    if sum(len(t) for t in times) < SHARED_JUMP_POINTS:
        return np.zeros(0)
    every = np.sort(np.concatenate(times))
    ivals = [float(v) for v in interval_s.values() if v is not None and math.isfinite(v) and v > 0]
    tol = 0.5 * (float(np.median(ivals)) if ivals else 60.0)
    lo = np.searchsorted(every, every - tol, side="left")
    hi = np.searchsorted(every, every + tol, side="right")
    return every[hi - lo >= SHARED_JUMP_POINTS]


def _concat(parts: list[RawPoint]) -> RawPoint:
    def arr(x: Any, n: int) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, float), (n,))

    return RawPoint(np.concatenate([p.t_s for p in parts]), np.concatenate([p.value for p in parts]),
                    np.concatenate([p.empty for p in parts]),
                    np.concatenate([arr(p.scale, len(p.t_s)) for p in parts]),
                    np.concatenate([arr(p.offset, len(p.t_s)) for p in parts]),
                    tuple(dict.fromkeys(u for p in parts for u in p.units)))
