"""Numba kernels for IT equipment (racks). See :mod:`dctwin.twin.physics.it` for the model.

All kernels are pure functions over float64 / int8 arrays of length R
(racks), returning new arrays. SI units: W, m3/s, s, J/K, W/K; temperatures °C.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from dctwin.twin.physics.codes import (
    CAUSE_COLDPLATE, CAUSE_INLET, CAUSE_NONE, CAUSE_POWER, MODE_ON, MODE_SHUTDOWN, MODE_UNPOWERED, RACK_P_FLOOR,
    RACK_P_FMAX, RACK_P_FMIN, RACK_P_HYST, RACK_P_RHOCP, RACK_P_TMAX, RACK_P_TMIN, RACK_P_UMAX, TR_POWER_LOST,
    TR_RESTART, TR_SHUTDOWN, TR_THROTTLE, TR_UNTHROTTLE,
)


@njit(cache=True, nogil=True)
def _clip(x, lo, hi):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


@njit(cache=True, nogil=True)
def power_airflow_kernel(u, inlet_c, p_des_w, v_des_m3s, fan_frac, liquid_frac, throttle, on, prm):
    """Rack power and airflow from utilization and inlet temperature (OpenStudio ITE model).

    fCPU  = max(0, c1 + c2 u + c3 u² + c4 T + c5 T² + c6 u T)      (CPU_CURVE)
    fFlow = clip(f1 + f2 u + f3 u² + f4 T + f5 T² + f6 u T, FLOW_FRAC_MIN, FLOW_FRAC_MAX)
    with u clipped to [0, 1.5] and T = inlet clipped to the curve range, then

    V      = V_des·fFlow                                    (m3/s)
    P_fan  = P_des·f_fan·fFlow³                             (W, affinity law)
    P_cpu  = P_des·(1 − f_fan)·fCPU·throttle                (W)
    P      = P_cpu + P_fan;  P_liq = f_liq·P;  P_air = P − P_liq

    ``on`` (int8, 0/1) zeroes everything; ``prm`` = :func:`~dctwin.twin.physics.codes.rack_params`.
    Returns (P, V, P_fan, P_air, P_liq).
    """
    c1, c2, c3, c4, c5, c6 = prm[0], prm[1], prm[2], prm[3], prm[4], prm[5]
    f1, f2, f3, f4, f5, f6 = prm[6], prm[7], prm[8], prm[9], prm[10], prm[11]
    n = u.shape[0]
    p = np.zeros(n)
    v = np.zeros(n)
    pf = np.zeros(n)
    pa = np.zeros(n)
    pl = np.zeros(n)
    for i in range(n):
        if on[i] == 0:
            continue
        x = _clip(u[i], 0.0, prm[RACK_P_UMAX])
        t = _clip(inlet_c[i], prm[RACK_P_TMIN], prm[RACK_P_TMAX])
        fcpu = c1 + c2 * x + c3 * x * x + c4 * t + c5 * t * t + c6 * x * t
        if fcpu < 0.0:
            fcpu = 0.0
        ff = _clip(f1 + f2 * x + f3 * x * x + f4 * t + f5 * t * t + f6 * x * t, prm[RACK_P_FMIN], prm[RACK_P_FMAX])
        v[i] = v_des_m3s[i] * ff
        pf[i] = p_des_w[i] * fan_frac[i] * ff * ff * ff
        pc = p_des_w[i] * (1.0 - fan_frac[i]) * fcpu * throttle[i]
        p[i] = pc + pf[i]
        pl[i] = liquid_frac[i] * p[i]
        pa[i] = p[i] - pl[i]
    return p, v, pf, pa, pl


@njit(cache=True, nogil=True)
def _throttle(x, warn, crit, floor):
    """1 at or below ``warn``, linear to ``floor`` at ``crit``, floor above."""
    if not x > warn:
        return 1.0
    if crit <= warn:
        return floor
    f = 1.0 - (1.0 - floor) * (x - warn) / (crit - warn)
    return f if f > floor else floor


@njit(cache=True, nogil=True)
def throttle_kernel(inlet_c, coldplate_c, warn_c, crit_c, cp_warn_c, cp_crit_c, has_liquid, prm):
    """Throttle factor (0.5..1) per rack: min of the inlet rule and, for liquid racks, the cold-plate rule.

    factor(x) = 1 for x ≤ warn; 1 − 0.5·(x − warn)/(crit − warn) up to crit; 0.5 above.
    """
    floor = prm[RACK_P_FLOOR]
    n = inlet_c.shape[0]
    out = np.empty(n)
    for i in range(n):
        f = _throttle(inlet_c[i], warn_c[i], crit_c[i], floor)
        if has_liquid[i] != 0:
            g = _throttle(coldplate_c[i], cp_warn_c[i], cp_crit_c[i], floor)
            if g < f:
                f = g
        out[i] = f
    return out


@njit(cache=True, nogil=True)
def _restart_clocks(i, throttled, over_s, cp_over_s, good_s):
    """Rack ``i`` changes mode: its throttle flag and every timer start again from zero."""
    throttled[i] = 0
    over_s[i] = 0.0
    cp_over_s[i] = 0.0
    good_s[i] = 0.0


@njit(cache=True, nogil=True)
def protection_kernel(inlet_c, coldplate_c, powered, mode, throttled, over_s, cp_over_s, good_s, cause,
                      warn_c, crit_c, dwell_s, restart_s, cp_warn_c, cp_crit_c, cp_dwell_s, has_liquid, dt_s, prm):
    """Protection state machine of every rack for one step of ``dt_s`` seconds.

    Decisions use the inlet and cold-plate temperatures at the start of the step.

    * not powered → mode UNPOWERED (transition TR_POWER_LOST once), factor 0.
    * down (SHUTDOWN or UNPOWERED with power back): ``good_s`` accumulates while
      inlet ≤ warn (and cold plate < its warning for liquid racks); when it
      reaches ``restart_s`` the rack restarts (TR_RESTART).
    * on: ``over_s`` accumulates while inlet > crit (reset otherwise), ``cp_over_s``
      while cold plate > cp_crit; reaching ``dwell_s`` / ``cp_dwell_s`` shuts the
      rack down (TR_SHUTDOWN, cause INLET / COLDPLATE). Otherwise the throttle
      factor applies; factor < 1 sets the throttled flag (TR_THROTTLE), which clears
      (TR_UNTHROTTLE) only once the inlet (and cold plate) are THROTTLE_HYSTERESIS_K
      below their warnings, so a temperature hovering at the threshold does not
      flood the event log. The power factor itself is continuous (1 at warning).

    Returns (mode, throttled, over_s, cp_over_s, good_s, cause, factor, code);
    factor is the CPU power multiplier (0 when down).
    """
    floor = prm[RACK_P_FLOOR]
    hyst = prm[RACK_P_HYST]
    n = inlet_c.shape[0]
    m2 = mode.copy()
    th2 = throttled.copy()
    ov2 = over_s.copy()
    cov2 = cp_over_s.copy()
    g2 = good_s.copy()
    c2 = cause.copy()
    fac = np.zeros(n)
    code = np.zeros(n, np.int8)
    for i in range(n):
        liquid = has_liquid[i] != 0
        if powered[i] == 0:
            if m2[i] != MODE_UNPOWERED:
                m2[i] = MODE_UNPOWERED
                c2[i] = CAUSE_POWER
                code[i] = TR_POWER_LOST
            _restart_clocks(i, th2, ov2, cov2, g2)
            continue
        if m2[i] != MODE_ON:
            good = not (inlet_c[i] > warn_c[i])
            if liquid and not (coldplate_c[i] < cp_warn_c[i]):
                good = False
            g2[i] = g2[i] + dt_s if good else 0.0
            if g2[i] >= restart_s[i]:
                m2[i] = MODE_ON
                code[i] = TR_RESTART
                _restart_clocks(i, th2, ov2, cov2, g2)
                fac[i] = _throttle(inlet_c[i], warn_c[i], crit_c[i], floor)
            continue
        ov2[i] = ov2[i] + dt_s if inlet_c[i] > crit_c[i] else 0.0
        if liquid:
            cov2[i] = cov2[i] + dt_s if coldplate_c[i] > cp_crit_c[i] else 0.0
        else:
            cov2[i] = 0.0
        down = CAUSE_NONE
        if liquid and coldplate_c[i] > cp_crit_c[i] and cov2[i] >= cp_dwell_s[i]:
            down = CAUSE_COLDPLATE
        elif inlet_c[i] > crit_c[i] and ov2[i] >= dwell_s[i]:
            down = CAUSE_INLET
        if down != CAUSE_NONE:
            m2[i] = MODE_SHUTDOWN
            c2[i] = down
            code[i] = TR_SHUTDOWN
            th2[i] = 0
            g2[i] = 0.0
            continue
        f = _throttle(inlet_c[i], warn_c[i], crit_c[i], floor)
        if liquid:
            g = _throttle(coldplate_c[i], cp_warn_c[i], cp_crit_c[i], floor)
            if g < f:
                f = g
        fac[i] = f
        if f < 1.0 and th2[i] == 0:
            th2[i] = 1
            code[i] = TR_THROTTLE
        elif th2[i] != 0 and not (inlet_c[i] > warn_c[i] - hyst) and not (
                liquid and coldplate_c[i] > cp_warn_c[i] - hyst):
            th2[i] = 0
            code[i] = TR_UNTHROTTLE
    return m2, th2, ov2, cov2, g2, c2, fac, code


@njit(cache=True, nogil=True)
def _mass_update(p_w, g_w_per_k, t_ref_c, t_c, c_j_per_k, dt_s):
    """Exact step of C dT/dt = P − G (T − T_ref) over dt; returns (T_new, step-mean of G (T − T_ref)).

    T(t) = T∞ + (T0 − T∞) e^{−t/τ}, T∞ = T_ref + P/G, τ = C/G; the mean heat
    carried away makes P·dt = C·ΔT + q·dt exact. G = 0: T rises by P dt / C.
    """
    if g_w_per_k > 0.0:
        t_inf = t_ref_c + p_w / g_w_per_k
        if c_j_per_k > 0.0:
            k = g_w_per_k * dt_s / c_j_per_k
            e = math.exp(-k)
            frac = -math.expm1(-k) / k if k > 1e-12 else 1.0
            t_new = t_inf + (t_c - t_inf) * e
            t_mean = t_inf + (t_c - t_inf) * frac
        else:
            t_new = t_inf
            t_mean = t_inf
        return t_new, g_w_per_k * (t_mean - t_ref_c)
    if c_j_per_k > 0.0:
        return t_c + p_w * dt_s / c_j_per_k, 0.0
    return t_c, 0.0


@njit(cache=True, nogil=True)
def server_mass_kernel(p_air_w, airflow_m3s, inlet_c, server_c, c_s_j_per_k, eps, dt_s, prm):
    """Server thermal mass over one step (exact exponential, stable for any dt).

    C_s dT_s/dt = P_air − ε ṁ cp (T_s − T_in),  ṁ cp = ρ cp V
    q_air = step-mean of ε ṁ cp (T_s − T_in) (W): the heat given to the air, so
    ∫P_air dt = C_s ΔT_s + q_air dt exactly.
    T_out = T_in + q_air/(ρ cp V) (step-mean of T_in + ε (T_s − T_in)); with no
    airflow T_out = T_in + ε (T_s − T_in) (no heat leaves, shown for display).

    Returns (T_s new °C, T_out °C, q_air W).
    """
    n = p_air_w.shape[0]
    ts = np.empty(n)
    tout = np.empty(n)
    q = np.empty(n)
    for i in range(n):
        mcp = prm[RACK_P_RHOCP] * airflow_m3s[i]
        g = eps[i] * mcp
        t_new, qi = _mass_update(p_air_w[i], g, inlet_c[i], server_c[i], c_s_j_per_k[i], dt_s)
        ts[i] = t_new
        q[i] = qi
        if mcp > 0.0:
            tout[i] = inlet_c[i] + qi / mcp
        else:
            tout[i] = inlet_c[i] + eps[i] * (t_new - inlet_c[i])
    return ts, tout, q


@njit(cache=True, nogil=True)
def coldplate_kernel(p_liq_w, coldplate_c, c_cp_j_per_k, g_cp_w_per_k, coolant_c, cdu_ok, q_max_w, dt_s):
    """Cold-plate thermal mass of liquid-cooled racks over one step (exact exponential).

    C_cp dT_cp/dt = P_liq − q,  q = G_cp (T_cp − T_coolant), G_cp = 0 when the CDU
    is not cooling (``cdu_ok`` = 0): the liquid heat then only warms the plates.
    ``q_max_w`` caps q (the rack's share of its CDU's capacity): when the exact
    step would carry more, q = q_max and T_cp rises by (P_liq − q_max)·dt/C_cp
    (energy conserved either way).
    Returns (T_cp new °C, q_liq W = step-mean heat delivered to the coolant).
    """
    n = p_liq_w.shape[0]
    tc = np.empty(n)
    q = np.empty(n)
    for i in range(n):
        g = g_cp_w_per_k[i] if cdu_ok[i] != 0 else 0.0
        t_new, qi = _mass_update(p_liq_w[i], g, coolant_c[i], coldplate_c[i], c_cp_j_per_k[i], dt_s)
        if qi > q_max_w[i] and c_cp_j_per_k[i] > 0.0:
            qi = q_max_w[i]
            t_new = coldplate_c[i] + (p_liq_w[i] - qi) * dt_s / c_cp_j_per_k[i]
        tc[i] = t_new
        q[i] = qi
    return tc, q


@njit(cache=True, nogil=True)
def server_steady_kernel(p_air_w, airflow_m3s, inlet_c, eps, prm):
    """Steady server: T_out = T_in + P_air/(ρ cp V); T_s = T_in + P_air/(ε ρ cp V); q_air = P_air.

    With no airflow: T_out = T_s = T_in and q_air = 0. Returns (T_s, T_out, q_air).
    """
    n = p_air_w.shape[0]
    ts, tout, q = np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        mcp = prm[RACK_P_RHOCP] * airflow_m3s[i]
        if mcp > 0.0:
            tout[i] = inlet_c[i] + p_air_w[i] / mcp
            ts[i] = inlet_c[i] + p_air_w[i] / (eps[i] * mcp) if eps[i] > 0.0 else tout[i]
            q[i] = p_air_w[i]
        else:
            tout[i] = inlet_c[i]
            ts[i] = inlet_c[i]
            q[i] = 0.0
    return ts, tout, q
