"""Numba kernels for cooling units, air side. See :mod:`dctwin.twin.physics.cooling_air` for the model.

Pure functions over float64 / int8 / int32 arrays of length U (units) or R
(racks). SI units: W, m3/s, Pa, s; temperatures °C.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from dctwin.twin.physics.codes import (
    CONTROL_FIXED, CONTROL_INLET, CONTROL_PLENUM, UNIT_P_FFR_MIN, UNIT_P_PLF, UNIT_P_RHOCP, UNIT_P_SMAX, UNIT_P_SMIN,
)


@njit(cache=True, nogil=True)
def coil_kernel(return_c, airflow_m3s, setpoint_c, capacity_w, chw_supply_c, approach_k, uses_chw, running,
                duty_prev_w, tau_s, dt_s, prm):
    """Supply temperature and duty of air units (CRAH, CRAC, in-row) for one step.

    T_low = setpoint, raised to chw_supply + approach for chilled-water coils;
    need  = ρ cp V (T_return − T_low), ≥ 0;  duty_ss = min(need, capacity).
    The supply-temperature loop (a λ-tuned PI, closed loop first order) moves
    the duty toward duty_ss with time constant ``tau_s``:
    duty = duty_ss + (duty_prev − duty_ss)·e^{−dt/τ}  (τ ≤ 0: duty = duty_ss,
    the exact steady form), kept within [0, min(capacity, ρ cp V (T_return − T_floor)⁺)],
    T_floor = chw_supply + approach (chilled water) — a coil cannot cool below it.
    T_supply = T_return − duty/(ρ cp V). Not running or no airflow: duty 0,
    T_supply = T_return.

    Returns (T_supply °C, duty W, limited int8: 1 when need > capacity or the
    coil cannot reach the setpoint).
    """
    n = return_c.shape[0]
    sup = np.empty(n)
    duty = np.zeros(n)
    lim = np.zeros(n, np.int8)
    decay = math.exp(-dt_s / tau_s) if tau_s > 0.0 else 0.0
    for i in range(n):
        mcp = prm[UNIT_P_RHOCP] * airflow_m3s[i]
        if running[i] == 0 or not mcp > 0.0:
            sup[i] = return_c[i]
            continue
        t_low = setpoint_c[i]
        t_floor = -1e9
        if uses_chw[i] != 0:
            t_floor = chw_supply_c[i] + approach_k[i]
            if t_floor > t_low:
                t_low = t_floor
                if return_c[i] > setpoint_c[i]:
                    lim[i] = 1
        need = mcp * (return_c[i] - t_low)
        if need < 0.0:
            need = 0.0
        cap = capacity_w[i] if capacity_w[i] > 0.0 else 0.0
        d = need
        if need > cap:
            d = cap
            lim[i] = 1
        if decay > 0.0:
            d = d + (duty_prev_w[i] - d) * decay
            hi = cap
            phys = mcp * (return_c[i] - t_floor)
            if phys < hi:
                hi = phys
            if d > hi:
                d = hi
            if d < 0.0:
                d = 0.0
        duty[i] = d
        sup[i] = return_c[i] - d / mcp
    return sup, duty, lim


@njit(cache=True, nogil=True)
def fan_power_kernel(airflow_m3s, v_des_m3s, fan_w_des, prm):
    """EC-fan power: P = P_des·PLF(max(V/V_des, 0.05))/PLF(1), 0 when V = 0.

    PLF(F) = 0.06990146 + 1.39500612 F − 3.35487336 F² + 2.89232315 F³
    (EnergyPlus data-centre EC plug fan); dividing by PLF(1) = 1.0024 makes P = P_des at design.
    """
    p0, p1, p2, p3 = prm[UNIT_P_PLF], prm[UNIT_P_PLF + 1], prm[UNIT_P_PLF + 2], prm[UNIT_P_PLF + 3]
    plf1 = p0 + p1 + p2 + p3
    n = airflow_m3s.shape[0]
    out = np.zeros(n)
    for i in range(n):
        if not airflow_m3s[i] > 0.0 or not v_des_m3s[i] > 0.0:
            continue
        f = airflow_m3s[i] / v_des_m3s[i]
        if f < prm[UNIT_P_FFR_MIN]:
            f = prm[UNIT_P_FFR_MIN]
        out[i] = fan_w_des[i] * (p0 + p1 * f + p2 * f * f + p3 * f * f * f) / plf1
    return out


@njit(cache=True, nogil=True)
def fan_speed_kernel(control, speed_prev, running, max_inlet_c, inlet_target_c, plenum_pa, plenum_target_pa,
                     inlet_gain_per_k, plenum_gain, dt_s, tau_s, prm):
    """Fan speed (fraction of design airflow) of air units.

    * fixed:           s* = 1
    * inlet_target:    s* = clip(1 + k_T (T_inlet,max − T_target), s_min, s_max)
    * plenum_pressure: s* = clip(1 + k_p (p_target − p)/p_target, s_min, s_max)
    (proportional rules; s_min = 0.3, s_max = 1). The speed follows s* with
    time constant τ: s = s* + (s_prev − s*) e^{−dt/τ} (τ ≤ 0: s = s*).
    Not running: s = 0 (the fan restarts from standstill).
    """
    n = control.shape[0]
    out = np.zeros(n)
    decay = math.exp(-dt_s / tau_s) if tau_s > 0.0 else 0.0
    for i in range(n):
        if running[i] == 0:
            continue
        c = control[i]
        if c == CONTROL_INLET:
            s = 1.0 + inlet_gain_per_k * (max_inlet_c[i] - inlet_target_c[i])
        elif c == CONTROL_PLENUM and plenum_target_pa[i] > 0.0:
            s = 1.0 + plenum_gain * (plenum_target_pa[i] - plenum_pa[i]) / plenum_target_pa[i]
        else:
            s = 1.0
        if c != CONTROL_FIXED:
            if s < prm[UNIT_P_SMIN]:
                s = prm[UNIT_P_SMIN]
            elif s > prm[UNIT_P_SMAX]:
                s = prm[UNIT_P_SMAX]
        out[i] = s + (speed_prev[i] - s) * decay
    return out


@njit(cache=True, nogil=True)
def rdhx_kernel(exhaust_c, airflow_m3s, capacity_w, chw_supply_c, setpoint_c, eps, running, prm):
    """Rear-door heat exchanger on a rack's exhaust.

    Q = clip(min(capacity, ε ρ cp V (T_exh − T_chw), ρ cp V (T_exh − T_set)), 0, ·)
    T_after = T_exh − Q/(ρ cp V). Not running (no water) or no air: Q = 0.
    Returns (T_after °C, Q W).
    """
    n = exhaust_c.shape[0]
    after = np.empty(n)
    q = np.zeros(n)
    for i in range(n):
        mcp = prm[UNIT_P_RHOCP] * airflow_m3s[i]
        if running[i] == 0 or not mcp > 0.0:
            after[i] = exhaust_c[i]
            continue
        d = eps[i] * mcp * (exhaust_c[i] - chw_supply_c[i])
        d2 = mcp * (exhaust_c[i] - setpoint_c[i])
        if d2 < d:
            d = d2
        if capacity_w[i] < d:
            d = capacity_w[i]
        if d < 0.0:
            d = 0.0
        q[i] = d
        after[i] = exhaust_c[i] - d / mcp
    return after, q


@njit(cache=True, nogil=True)
def cdu_kernel(liquid_heat_w, rack_cdu, capacity_w, running):
    """CDUs as liquid heat sinks.

    load_u = Σ liquid heat of the racks on CDU u; removed_u = min(load_u, capacity_u)
    when running, else 0; excess_u = load_u − removed_u. ``rack_ok[r]`` = 1 when
    rack r's CDU runs (or the rack has none: rack_cdu = -1). ``rack_limit[r]``
    = capacity_u · P_r/load_u (equal shares when load_u = 0; +inf without a CDU):
    the most heat rack r may hand over, so the CDU never removes more than its capacity.
    Returns (load W[U], removed W[U], excess W[U], rack_ok int8[R], rack_limit W[R]).
    """
    nu = capacity_w.shape[0]
    nr = liquid_heat_w.shape[0]
    load = np.zeros(nu)
    count = np.zeros(nu)
    ok = np.ones(nr, np.int8)
    for r in range(nr):
        c = rack_cdu[r]
        if c >= 0:
            load[c] += liquid_heat_w[r]
            count[c] += 1.0
            if running[c] == 0:
                ok[r] = 0
    removed = np.zeros(nu)
    excess = np.zeros(nu)
    for u in range(nu):
        if running[u] != 0:
            removed[u] = load[u] if load[u] < capacity_w[u] else capacity_w[u]
        excess[u] = load[u] - removed[u]
    limit = np.full(nr, np.inf)
    for r in range(nr):
        c = rack_cdu[r]
        if c >= 0:
            if load[c] > 0.0:
                limit[r] = capacity_w[c] * liquid_heat_w[r] / load[c]
            else:
                limit[r] = capacity_w[c] / count[c]
    return load, removed, excess, ok, limit
