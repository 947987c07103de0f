"""Workload profiles: utilization u(t) of every rack, compiled to arrays.

Public functions (u is a fraction of design load, 0..1.5; times in s):

``compile_workloads(workloads, rack_workloads, base_dir=None) -> WorkloadArrays``
    Compile the site's :class:`dctwin.twin.model.layout.Workload` elements and the
    workload id of each rack (None: the rack runs at 1.0). CSV trace files
    are read here (``path`` relative to ``base_dir``, the layout file's
    folder). Raises :class:`dctwin.twin.model.layout.LayoutError` naming the workload
    (and file line) on a bad trace.
``compile_hall_workloads(site, hall, base_dir=None) -> WorkloadArrays``
    The same for the racks of one hall, in ``hall.racks`` order.
``WorkloadArrays.utilization(t_s, override=None, backend="numba") -> ndarray[R]``
    u of every rack at time ``t_s``. ``override[r]`` (NaN = none) replaces
    the profile, e.g. after a ``set_utilization`` event.
``read_trace_csv(path, workload_id) -> (t_s, u)``
    Read and check one trace file.

Profiles (defaults in :mod:`dctwin.twin.physics.constants`):

* constant:    u = utilization
* diurnal:     u = utilization + amplitude·sin(2π (t − phase_s)/period_s)
  (period 86400 s, amplitude 0.2, phase 0: u crosses its mean rising at t = phase_s)
* ai_training: u = utilization, except a checkpoint dip to dip_utilization
  during the last dip_s of every period_s (counted from phase_s)
* csv:         piecewise-linear through (t_s, utilization) points, inline
  ``points`` or a CSV file with columns ``t_s,utilization`` (header optional,
  ``#`` comments and blank lines skipped), held constant before the first and
  after the last point.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from dctwin.twin.errors import LayoutError, LayoutIssue
from dctwin.twin.model.layout import Hall, Site, Workload
from dctwin.twin.physics import _workloads_numba as _nb
from dctwin.twin.physics import _workloads_numpy as _np
from dctwin.twin.physics import constants as K
from dctwin.twin.physics.codes import (  # noqa: F401  (importable from here)
    KIND_AI_TRAINING, KIND_CONSTANT, KIND_CSV, KIND_DIURNAL, WORKLOAD_KIND_CODES,
)

KIND_CODES = WORKLOAD_KIND_CODES


@dataclass
class WorkloadArrays:
    """Workload parameters as arrays (W workloads, R racks) and the rack → workload map."""

    workload_ids: list[str]
    kind: np.ndarray          # int32[W]
    utilization0: np.ndarray  # float64[W] base utilization
    amplitude: np.ndarray     # float64[W]
    period_s: np.ndarray      # float64[W]
    phase_s: np.ndarray       # float64[W]
    dip_utilization: np.ndarray  # float64[W]
    dip_s: np.ndarray         # float64[W]
    trace_start: np.ndarray   # int64[W] offset into trace_t / trace_u
    trace_len: np.ndarray     # int64[W]
    trace_t: np.ndarray       # float64[T] all traces, concatenated
    trace_u: np.ndarray       # float64[T]
    rack_w: np.ndarray        # int32[R] workload index per rack, -1 = none

    @property
    def n_racks(self) -> int:
        return int(self.rack_w.shape[0])

    def utilization(self, t_s: float, override: Optional[np.ndarray] = None,
                    backend: str = "numba") -> np.ndarray:
        """u(t) of every rack (float64[R]); ``override`` (float64[R], NaN = none) wins."""
        if override is None:
            override = np.full(self.n_racks, np.nan)
        # no workload: every rack at 1 or its override; the reference, so numba need not compile the kernel
        fn = _nb.utilization_kernel if backend == "numba" and self.kind.shape[0] else _np.utilization_kernel
        return fn(float(t_s), self.kind, self.utilization0, self.amplitude, self.period_s,
                  self.phase_s, self.dip_utilization, self.dip_s, self.trace_start, self.trace_len,
                  self.trace_t, self.trace_u, self.rack_w, np.asarray(override, dtype=np.float64),
                  K.UTIL_MAX)


def _err(wid: str, field: str, message: str, source: str = "") -> LayoutError:
    return LayoutError([LayoutIssue(wid, field, message)], source)


def _parse_float(text: str) -> Optional[float]:
    try:
        v = float(text.strip())
    except ValueError:
        return None
    return v


def read_trace_csv(path: str | os.PathLike, workload_id: str) -> tuple[np.ndarray, np.ndarray]:
    """Read a utilization trace (columns ``t_s,utilization``) and check every row.

    Parameters
    ----------
    path : file to read (already resolved).
    workload_id : named in every error.

    Returns
    -------
    (t_s, u) : float64 arrays, times strictly increasing, u in 0..1.5.

    Raises
    ------
    LayoutError
        Missing or unreadable file, not UTF-8, too large, no data, or a bad
        row (with its line number): not two numbers, not finite, time not
        increasing, utilization out of range.
    """
    p = Path(path)
    src = str(p)
    name = p.name
    try:
        if not p.exists():
            raise _err(workload_id, "path", f"trace file {src!r} not found", src)
        if not p.is_file():
            raise _err(workload_id, "path", f"trace {src!r} is not a file", src)
        size = p.stat().st_size
        if size > K.CSV_MAX_BYTES:
            raise _err(workload_id, "path", f"trace file {name} is {size / 1e6:.0f} MB, more than the "
                                             f"{K.CSV_MAX_BYTES / 1e6:.0f} MB allowed", src)
        raw = p.read_bytes()
    except OSError as exc:
        raise _err(workload_id, "path", f"cannot read trace file {src!r}: {exc.strerror}", src) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _err(workload_id, "path", f"trace file {name} is not UTF-8 text (byte {exc.start})",
                   src) from None
    ts: list[float] = []
    us: list[float] = []
    col_t, col_u = 0, 1
    seen_header = False
    for lineno, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not cells or all(c == "" for c in cells) or cells[0].startswith("#"):
            continue
        where = f"{name} line {lineno}"
        if not ts and not seen_header and _parse_float(cells[0]) is None:
            names = [c.lower() for c in cells]
            if "t_s" in names and "utilization" in names:
                col_t, col_u = names.index("t_s"), names.index("utilization")
                seen_header = True
                continue
            raise _err(workload_id, "path", f"{where}: header must name the columns t_s and utilization, "
                                             f"got {','.join(cells)!r}", src)
        if len(cells) <= max(col_t, col_u):
            raise _err(workload_id, "path", f"{where}: expected t_s,utilization, got {','.join(cells)!r}", src)
        t = _parse_float(cells[col_t])
        u = _parse_float(cells[col_u])
        if t is None or u is None:
            raise _err(workload_id, "path", f"{where}: expected two numbers t_s,utilization, "
                                             f"got {','.join(cells)!r}", src)
        if not (math.isfinite(t) and math.isfinite(u)):
            raise _err(workload_id, "path", f"{where}: values must be finite, got {','.join(cells)!r}", src)
        if ts and t <= ts[-1]:
            raise _err(workload_id, "path", f"{where}: time {t:g} s does not come after {ts[-1]:g} s", src)
        if not 0.0 <= u <= K.UTIL_MAX:
            raise _err(workload_id, "path", f"{where}: utilization {u:g} is out of range (0..{K.UTIL_MAX:g})",
                       src)
        ts.append(t)
        us.append(u)
        if len(ts) > K.CSV_MAX_ROWS:
            raise _err(workload_id, "path", f"{name}: more than {K.CSV_MAX_ROWS} rows", src)
    if not ts:
        raise _err(workload_id, "path", f"trace file {name} holds no data rows", src)
    return np.asarray(ts, dtype=np.float64), np.asarray(us, dtype=np.float64)


def _opt(v: Optional[float], default: float) -> float:
    return float(default if v is None else v)


def compile_workloads(workloads: Sequence[Workload], rack_workloads: Sequence[Optional[str]],
                      base_dir: str | os.PathLike | None = None,
                      rack_ids: Optional[Sequence[str]] = None) -> WorkloadArrays:
    """Compile workload elements and each rack's workload id into :class:`WorkloadArrays`.

    Parameters
    ----------
    workloads : the site's workloads.
    rack_workloads : workload id per rack (None: no workload, u = 1.0).
    base_dir : folder that relative CSV paths are resolved against (the layout
        file's folder); None: the current directory.
    rack_ids : rack ids, only to name a rack in an error.

    Raises
    ------
    LayoutError
        A rack names an unknown workload, a kind is unknown, or a trace is bad.
    """
    n = len(workloads)
    ids = [w.id for w in workloads]
    index = {wid: i for i, wid in enumerate(ids)}
    kind = np.zeros(n, np.int32)
    util = np.ones(n)
    amp = np.zeros(n)
    period = np.ones(n)
    phase = np.zeros(n)
    dip_u = np.zeros(n)
    dip_s = np.zeros(n)
    tr_start = np.zeros(n, np.int64)
    tr_len = np.zeros(n, np.int64)
    t_parts: list[np.ndarray] = []
    u_parts: list[np.ndarray] = []
    offset = 0
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    for i, w in enumerate(workloads):
        if w.kind not in KIND_CODES:
            raise _err(w.id, "kind", f"unknown workload kind {w.kind!r} ({', '.join(KIND_CODES)})")
        kind[i] = KIND_CODES[w.kind]
        util[i] = w.utilization
        phase[i] = _opt(w.phase_s, 0.0)
        if w.kind == "diurnal":
            amp[i] = _opt(w.amplitude, K.DIURNAL_AMPLITUDE)
            period[i] = _opt(w.period_s, K.DIURNAL_PERIOD_S)
        elif w.kind == "ai_training":
            period[i] = _opt(w.period_s, K.AI_PERIOD_S)
            dip_s[i] = _opt(w.dip_s, min(K.AI_DIP_S, 0.5 * period[i]))
            dip_u[i] = _opt(w.dip_utilization, K.AI_DIP_UTILIZATION)
        if kind[i] in (KIND_DIURNAL, KIND_AI_TRAINING) and not period[i] > 0:
            raise _err(w.id, "period_s", f"must be positive, got {period[i]:g} s")
        if w.kind == "csv":
            if w.points:
                pts = np.asarray(w.points, dtype=np.float64).reshape(-1, 2)
                t, u = pts[:, 0].copy(), pts[:, 1].copy()
                if np.any(np.diff(t) <= 0):
                    raise _err(w.id, "points", "times must increase")
                if not (np.all(np.isfinite(pts)) and np.all((u >= 0) & (u <= K.UTIL_MAX))):
                    raise _err(w.id, "points", f"utilization must be finite and within 0..{K.UTIL_MAX:g}")
            elif w.path:
                p = Path(w.path)
                t, u = read_trace_csv(p if p.is_absolute() else base / p, w.id)
            else:
                raise _err(w.id, "path", "a csv workload needs a path (or inline points)")
            tr_start[i] = offset
            tr_len[i] = t.shape[0]
            offset += t.shape[0]
            t_parts.append(t)
            u_parts.append(u)
    rack_w = np.full(len(rack_workloads), -1, np.int32)
    for r, wid in enumerate(rack_workloads):
        if wid is None:
            continue
        if wid not in index:
            rid = rack_ids[r] if rack_ids is not None else f"rack #{r}"
            raise _err(rid, "workload", f"names workload {wid!r}, which does not exist")
        rack_w[r] = index[wid]
    return WorkloadArrays(
        ids, kind, util, amp, period, phase, dip_u, dip_s, tr_start, tr_len,
        np.concatenate(t_parts) if t_parts else np.zeros(0),
        np.concatenate(u_parts) if u_parts else np.zeros(0), rack_w)


def compile_hall_workloads(site: Site, hall: Hall,
                           base_dir: str | os.PathLike | None = None) -> WorkloadArrays:
    """:func:`compile_workloads` for the racks of ``hall`` (in ``hall.racks`` order)."""
    return compile_workloads(site.workloads, [r.workload for r in hall.racks], base_dir,
                             [r.id for r in hall.racks])
