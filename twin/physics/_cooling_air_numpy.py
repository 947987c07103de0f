"""Plain numpy references of the kernels in :mod:`dctwin.twin.physics._cooling_air_numba` (same equations, same arguments)."""

from __future__ import annotations

import math

import numpy as np

from dctwin.twin.physics.codes import (
    CONTROL_FIXED, CONTROL_INLET, CONTROL_PLENUM, UNIT_P_FFR_MIN, UNIT_P_PLF, UNIT_P_RHOCP, UNIT_P_SMAX, UNIT_P_SMIN,
)


def coil_kernel(return_c, airflow_m3s, setpoint_c, capacity_w, chw_supply_c, approach_k, uses_chw, running,
                duty_prev_w, tau_s, dt_s, prm):
    mcp = prm[UNIT_P_RHOCP] * airflow_m3s
    act = (running != 0) & (mcp > 0)
    chw = uses_chw != 0
    t_floor = np.where(chw, chw_supply_c + approach_k, -1e9)
    t_low = np.maximum(setpoint_c, t_floor)
    lim = chw & (t_floor > setpoint_c) & (return_c > setpoint_c)
    need = np.maximum(mcp * (return_c - t_low), 0.0)
    cap = np.maximum(capacity_w, 0.0)
    lim = lim | (need > cap)
    d = np.minimum(need, cap)
    decay = math.exp(-dt_s / tau_s) if tau_s > 0.0 else 0.0
    if decay > 0.0:
        d = d + (duty_prev_w - d) * decay
        hi = np.minimum(cap, mcp * (return_c - t_floor))
        d = np.maximum(np.minimum(d, hi), 0.0)
    d = np.where(act, d, 0.0)
    safe = np.where(act, mcp, 1.0)
    sup = np.where(act, return_c - d / safe, return_c)
    return sup, d, (lim & act).astype(np.int8)


def fan_power_kernel(airflow_m3s, v_des_m3s, fan_w_des, prm):
    p0, p1, p2, p3 = prm[UNIT_P_PLF:UNIT_P_PLF + 4]
    act = (airflow_m3s > 0) & (v_des_m3s > 0)
    f = np.maximum(airflow_m3s / np.where(v_des_m3s > 0, v_des_m3s, 1.0), prm[UNIT_P_FFR_MIN])
    plf = (p0 + p1 * f + p2 * f * f + p3 * f * f * f) / (p0 + p1 + p2 + p3)
    return np.where(act, fan_w_des * plf, 0.0)


def fan_speed_kernel(control, speed_prev, running, max_inlet_c, inlet_target_c, plenum_pa, plenum_target_pa,
                     inlet_gain_per_k, plenum_gain, dt_s, tau_s, prm):
    s = np.ones(control.shape[0])
    inl = control == CONTROL_INLET
    s[inl] = 1.0 + inlet_gain_per_k * (max_inlet_c[inl] - inlet_target_c[inl])
    ple = (control == CONTROL_PLENUM) & (plenum_target_pa > 0)
    s[ple] = 1.0 + plenum_gain * (plenum_target_pa[ple] - plenum_pa[ple]) / plenum_target_pa[ple]
    s = np.where(control != CONTROL_FIXED, np.clip(s, prm[UNIT_P_SMIN], prm[UNIT_P_SMAX]), s)
    decay = math.exp(-dt_s / tau_s) if tau_s > 0.0 else 0.0
    return np.where(running != 0, s + (speed_prev - s) * decay, 0.0)


def rdhx_kernel(exhaust_c, airflow_m3s, capacity_w, chw_supply_c, setpoint_c, eps, running, prm):
    mcp = prm[UNIT_P_RHOCP] * airflow_m3s
    act = (running != 0) & (mcp > 0)
    d = np.minimum(eps * mcp * (exhaust_c - chw_supply_c), mcp * (exhaust_c - setpoint_c))
    d = np.maximum(np.minimum(d, capacity_w), 0.0)
    d = np.where(act, d, 0.0)
    return np.where(act, exhaust_c - d / np.where(act, mcp, 1.0), exhaust_c), d


def cdu_kernel(liquid_heat_w, rack_cdu, capacity_w, running):
    nu = capacity_w.shape[0]
    has = rack_cdu >= 0
    load = np.bincount(rack_cdu[has], weights=liquid_heat_w[has], minlength=nu).astype(float)
    removed = np.where(running != 0, np.minimum(load, capacity_w), 0.0)
    ok = np.ones(rack_cdu.shape[0], np.int8)
    ok[has] = (running[rack_cdu[has]] != 0).astype(np.int8)
    count = np.bincount(rack_cdu[has], minlength=nu).astype(float)
    limit = np.full(rack_cdu.shape[0], np.inf)
    c = rack_cdu[has]
    with np.errstate(divide="ignore", invalid="ignore"):
        limit[has] = np.where(load[c] > 0, capacity_w[c] * liquid_heat_w[has] / np.where(load[c] > 0, load[c], 1.0),
                              capacity_w[c] / np.maximum(count[c], 1.0))
    return load, removed, load - removed, ok, limit
