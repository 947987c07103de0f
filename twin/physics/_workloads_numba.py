"""Numba kernels for workload utilization u(t) (see :mod:`dctwin.twin.physics.workloads`)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from dctwin.twin.physics.codes import KIND_AI_TRAINING, KIND_CSV, KIND_DIURNAL


@njit(cache=True, nogil=True)
def _interp_held(t, xs, ys, start, n):
    """Linear interpolation of (xs, ys)[start:start+n] at t, held constant past both ends."""
    if n <= 0:
        return 1.0
    if t <= xs[start]:
        return ys[start]
    last = start + n - 1
    if t >= xs[last]:
        return ys[last]
    lo = start
    hi = last
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if xs[mid] <= t:
            lo = mid
        else:
            hi = mid
    x0 = xs[lo]
    x1 = xs[hi]
    w = (t - x0) / (x1 - x0)
    return ys[lo] + w * (ys[hi] - ys[lo])


@njit(cache=True, nogil=True)
def utilization_kernel(t_s, kind, util, amp, period_s, phase_s, dip_util, dip_s,
                       trace_start, trace_len, trace_t, trace_u, rack_w, override, u_max):
    """Utilization of every rack at time ``t_s`` (fraction of design, 0..u_max).

    Per workload w (arrays of length W):

    * constant:    u = util
    * diurnal:     u = util + amp·sin(2π (t − phase)/period)
    * ai_training: u = dip_util while ((t − phase) mod period) ≥ period − dip_s, else util
    * csv:         linear interpolation of the trace, held past its ends

    ``rack_w[r]`` is the workload index of rack r (-1: none → 1.0);
    ``override[r]`` replaces it when not NaN. Result clipped to [0, u_max].
    """
    nw = kind.shape[0]
    wu = np.empty(nw)
    for w in range(nw):
        k = kind[w]
        if k == KIND_DIURNAL:
            v = util[w] + amp[w] * math.sin(2.0 * math.pi * (t_s - phase_s[w]) / period_s[w])
        elif k == KIND_AI_TRAINING:
            x = t_s - phase_s[w]
            p = period_s[w]
            m = x - p * math.floor(x / p)
            v = dip_util[w] if m >= p - dip_s[w] else util[w]
        elif k == KIND_CSV:
            v = _interp_held(t_s, trace_t, trace_u, trace_start[w], trace_len[w])
        else:
            v = util[w]
        wu[w] = v
    nr = rack_w.shape[0]
    out = np.empty(nr)
    for r in range(nr):
        o = override[r]
        if not math.isnan(o):
            v = o
        elif rack_w[r] >= 0:
            v = wu[rack_w[r]]
        else:
            v = 1.0
        if v < 0.0:
            v = 0.0
        elif v > u_max:
            v = u_max
        out[r] = v
    return out
