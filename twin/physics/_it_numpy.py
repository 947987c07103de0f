"""Plain numpy references of the kernels in :mod:`dctwin.twin.physics._it_numba` (same equations, same arguments)."""

from __future__ import annotations

import numpy as np

from dctwin.twin.physics.codes import (
    CAUSE_COLDPLATE, CAUSE_INLET, CAUSE_POWER, MODE_ON, MODE_SHUTDOWN, MODE_UNPOWERED, RACK_P_FLOOR, RACK_P_FMAX,
    RACK_P_FMIN, RACK_P_HYST, RACK_P_RHOCP, RACK_P_TMAX, RACK_P_TMIN, RACK_P_UMAX, TR_POWER_LOST, TR_RESTART,
    TR_SHUTDOWN, TR_THROTTLE, TR_UNTHROTTLE,
)


def _curve(c, x, t):
    return c[0] + c[1] * x + c[2] * x * x + c[3] * t + c[4] * t * t + c[5] * x * t


def power_airflow_kernel(u, inlet_c, p_des_w, v_des_m3s, fan_frac, liquid_frac, throttle, on, prm):
    x = np.clip(u, 0.0, prm[RACK_P_UMAX])
    t = np.clip(inlet_c, prm[RACK_P_TMIN], prm[RACK_P_TMAX])
    fcpu = np.maximum(_curve(prm[0:6], x, t), 0.0)
    ff = np.clip(_curve(prm[6:12], x, t), prm[RACK_P_FMIN], prm[RACK_P_FMAX])
    onf = (on != 0).astype(float)
    v = v_des_m3s * ff * onf
    pf = p_des_w * fan_frac * ff * ff * ff * onf
    p = p_des_w * (1.0 - fan_frac) * fcpu * throttle * onf + pf
    pl = liquid_frac * p
    return p, v, pf, p - pl, pl


def _throttle(x, warn, crit, floor):
    span = crit - warn
    with np.errstate(divide="ignore", invalid="ignore"):
        f = 1.0 - (1.0 - floor) * (x - warn) / np.where(span > 0, span, 1.0)
    f = np.where(span > 0, f, floor)
    return np.where(x > warn, np.maximum(f, floor), 1.0)


def throttle_kernel(inlet_c, coldplate_c, warn_c, crit_c, cp_warn_c, cp_crit_c, has_liquid, prm):
    f = _throttle(inlet_c, warn_c, crit_c, prm[RACK_P_FLOOR])
    g = _throttle(coldplate_c, cp_warn_c, cp_crit_c, prm[RACK_P_FLOOR])
    return np.where(has_liquid != 0, np.minimum(f, g), f)


def _restart_clocks(mask, throttled, over_s, cp_over_s, good_s):
    throttled[mask] = 0
    for timer in (over_s, cp_over_s, good_s):
        timer[mask] = 0.0


def protection_kernel(inlet_c, coldplate_c, powered, mode, throttled, over_s, cp_over_s, good_s, cause,
                      warn_c, crit_c, dwell_s, restart_s, cp_warn_c, cp_crit_c, cp_dwell_s, has_liquid, dt_s, prm):
    n = inlet_c.shape[0]
    m2, th2, ov2, cov2, g2, c2 = (a.copy() for a in (mode, throttled, over_s, cp_over_s, good_s, cause))
    fac = np.zeros(n)
    code = np.zeros(n, np.int8)
    liquid = has_liquid != 0
    unp = powered == 0
    # losing power
    lost = unp & (mode != MODE_UNPOWERED)
    m2[unp] = MODE_UNPOWERED
    c2[lost] = CAUSE_POWER
    code[lost] = TR_POWER_LOST
    _restart_clocks(unp, th2, ov2, cov2, g2)
    # down, waiting to restart
    down = ~unp & (mode != MODE_ON)
    good = ~(inlet_c > warn_c) & ~(liquid & ~(coldplate_c < cp_warn_c))
    g2[down] = np.where(good[down], good_s[down] + dt_s, 0.0)
    rs = down & (g2 >= restart_s)
    m2[rs] = MODE_ON
    code[rs] = TR_RESTART
    _restart_clocks(rs, th2, ov2, cov2, g2)
    thr_in = _throttle(inlet_c, warn_c, crit_c, prm[RACK_P_FLOOR])
    fac[rs] = thr_in[rs]
    # running
    on = ~unp & (mode == MODE_ON)
    over = inlet_c > crit_c
    cp_over = liquid & (coldplate_c > cp_crit_c)
    ov2[on] = np.where(over[on], over_s[on] + dt_s, 0.0)
    cov2[on] = np.where(cp_over[on], cp_over_s[on] + dt_s, 0.0)
    by_cp = on & cp_over & (cov2 >= cp_dwell_s)
    by_in = on & ~by_cp & over & (ov2 >= dwell_s)
    sd = by_cp | by_in
    m2[sd] = MODE_SHUTDOWN
    c2[by_cp] = CAUSE_COLDPLATE
    c2[by_in] = CAUSE_INLET
    code[sd] = TR_SHUTDOWN
    th2[sd] = 0
    g2[sd] = 0.0
    run = on & ~sd
    f = throttle_kernel(inlet_c, coldplate_c, warn_c, crit_c, cp_warn_c, cp_crit_c, has_liquid, prm)
    fac[run] = f[run]
    start = run & (f < 1.0) & (throttled == 0)
    hy = prm[RACK_P_HYST]
    clear = ~(inlet_c > warn_c - hy) & ~(liquid & (coldplate_c > cp_warn_c - hy))
    stop = run & ~start & (throttled != 0) & clear
    th2[start] = 1
    th2[stop] = 0
    code[start] = TR_THROTTLE
    code[stop] = TR_UNTHROTTLE
    return m2, th2, ov2, cov2, g2, c2, fac, code


def _mass_update(p_w, g, t_ref, t_c, c, dt_s):
    gpos = g > 0.0
    cpos = c > 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        t_inf = np.where(gpos, t_ref + p_w / np.where(gpos, g, 1.0), 0.0)
        k = np.where(gpos & cpos, g * dt_s / np.where(cpos, c, 1.0), 0.0)
        e = np.exp(-k)
        frac = np.where(k > 1e-12, -np.expm1(-k) / np.where(k > 0, k, 1.0), 1.0)
        dyn_new = t_inf + (t_c - t_inf) * e
        dyn_mean = t_inf + (t_c - t_inf) * frac
        t_new = np.where(gpos, np.where(cpos, dyn_new, t_inf),
                         np.where(cpos, t_c + p_w * dt_s / np.where(cpos, c, 1.0), t_c))
        q = np.where(gpos, g * (np.where(cpos, dyn_mean, t_inf) - t_ref), 0.0)
    return t_new, q


def server_mass_kernel(p_air_w, airflow_m3s, inlet_c, server_c, c_s_j_per_k, eps, dt_s, prm):
    mcp = prm[RACK_P_RHOCP] * airflow_m3s
    ts, q = _mass_update(p_air_w, eps * mcp, inlet_c, server_c, c_s_j_per_k, dt_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        tout = np.where(mcp > 0, inlet_c + q / np.where(mcp > 0, mcp, 1.0), inlet_c + eps * (ts - inlet_c))
    return ts, tout, q


def coldplate_kernel(p_liq_w, coldplate_c, c_cp_j_per_k, g_cp_w_per_k, coolant_c, cdu_ok, q_max_w, dt_s):
    g = np.where(cdu_ok != 0, g_cp_w_per_k, 0.0)
    t_new, q = _mass_update(p_liq_w, g, coolant_c, coldplate_c, c_cp_j_per_k, dt_s)
    cap = (q > q_max_w) & (c_cp_j_per_k > 0)
    safe = np.where(c_cp_j_per_k > 0, c_cp_j_per_k, 1.0)
    qm = np.where(cap, q_max_w, 0.0)
    t_new = np.where(cap, coldplate_c + (p_liq_w - qm) * dt_s / safe, t_new)
    return t_new, np.where(cap, qm, q)


def server_steady_kernel(p_air_w, airflow_m3s, inlet_c, eps, prm):
    mcp = prm[RACK_P_RHOCP] * airflow_m3s
    pos = mcp > 0
    safe = np.where(pos, mcp, 1.0)
    tout = np.where(pos, inlet_c + p_air_w / safe, inlet_c)
    ts = np.where(pos & (eps > 0), inlet_c + p_air_w / (np.where(eps > 0, eps, 1.0) * safe), tout)
    q = np.where(pos, p_air_w, 0.0)
    return ts, tout, q
