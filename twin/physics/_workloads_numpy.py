"""Plain numpy reference of :func:`dctwin.twin.physics._workloads_numba.utilization_kernel`."""

from __future__ import annotations

import numpy as np

from dctwin.twin.physics.codes import KIND_AI_TRAINING, KIND_CSV, KIND_DIURNAL


def utilization_kernel(t_s, kind, util, amp, period_s, phase_s, dip_util, dip_s,
                       trace_start, trace_len, trace_t, trace_u, rack_w, override, u_max):
    """Same equations and arguments as the numba kernel, vectorised with numpy."""
    wu = np.asarray(util, dtype=float).copy()
    d = kind == KIND_DIURNAL
    wu[d] = util[d] + amp[d] * np.sin(2.0 * np.pi * (t_s - phase_s[d]) / period_s[d])
    a = kind == KIND_AI_TRAINING
    x = t_s - phase_s[a]
    m = x - period_s[a] * np.floor(x / period_s[a])
    wu[a] = np.where(m >= period_s[a] - dip_s[a], dip_util[a], util[a])
    for w in np.flatnonzero(kind == KIND_CSV):
        s, n = int(trace_start[w]), int(trace_len[w])
        wu[w] = np.interp(t_s, trace_t[s:s + n], trace_u[s:s + n]) if n > 0 else 1.0
    out = np.where(rack_w >= 0, wu[np.maximum(rack_w, 0)] if wu.size else 1.0, 1.0)
    out = np.where(np.isnan(override), out, override)
    return np.clip(out, 0.0, u_max)
