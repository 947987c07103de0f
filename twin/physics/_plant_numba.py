"""numba kernels of the chilled-water plant (reference: :mod:`dctwin.twin.physics._plant_numpy`).

Chillers (physics-reference §5.2):

* water-cooled, EnergyPlus ``Chiller:Electric:EIR`` with the York YT 1055 kW set:
  CAPFT, EIRFT = a + b·Tchw + c·Tchw² + d·Tcond + e·Tcond² + f·Tchw·Tcond,
  EIRFPLR = a + b·PLR + c·PLR²; Q_avail = Q_ref·CAPFT;
  P = (Q_avail/COP_ref)·EIRFT·EIRFPLR(max(PLR, 0.1))·min(1, PLR/0.1) (cycling below PLR 0.1).
  Tchw (leaving chilled water) is clamped to the fitted 4.44-8.89 °C, Tcond
  (entering condenser water) to 12.78-35 °C; Tcond = T_outdoor + COND_OFFSET_K.
* air-cooled, EnergyPlus ``Chiller:Electric``: ΔT = (T_out − 35)/2.778 − (Tchw − 6.67)
  (T_out clamped to 15-50 °C: head-pressure control),
  CapRat = 0.944836 − 0.0570088 ΔT + 0.00185486 ΔT²; Q_avail = Q_ref·CapRat;
  FLPR = 2.333 − 1.975 CapRat + 0.6121 CapRat²;
  P = (0.03303 + 0.6852 PLR + 0.2818 PLR²)·FLPR·Q_avail/COP_ref (PLR ≥ 0.05, cycling below).

Loop (§2.3): one well-mixed water node, C = ρ_w c_w (V_loop + V_tank) (J/K):
C dT/dt = Q_in − Q_econ − Q_chillers. The plant removes what holds T at the
setpoint within the step, Q_req = max(0, Q_in + C (T − T_set)/dt), up to its
capacity; with chillers lost the loop warms at Q_in/C.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dctwin.twin.physics.codes import CHILLER_AIR, CHILLER_WATER, LOOP_CHW, LOOP_CW
from dctwin.twin.physics.constants import (
    AIR_CAP, AIR_FLPR, AIR_FRAC, AIR_PLR_MIN, AIR_TCOND_DES_C, AIR_TCOND_RANGE_C, AIR_TEMP_RISE_COEF, AIR_TEVAP_DES_C,
    COND_OFFSET_K, YORK_CAPFT, YORK_EIRFPLR, YORK_EIRFT, YORK_PLR_MIN, YORK_TCHW_RANGE_C, YORK_TCOND_RANGE_C,
)


@njit(cache=True, nogil=True)
def _part_load(q_w, avail_w, plr_min, curve):
    """Part-load terms of a chiller carrying ``q_w`` of ``avail_w`` (W): the quadratic ``curve`` at
    max(PLR, plr_min), PLR = min(q/avail, 1), and the cycling factor min(1, PLR/plr_min)."""
    plr = q_w / avail_w if avail_w > 0.0 else 0.0
    plr = min(plr, 1.0)
    pe = max(plr, plr_min)
    return curve[0] + curve[1] * pe + curve[2] * pe * pe, min(1.0, plr / plr_min)


@njit(cache=True, nogil=True)
def chiller_performance(kind, cap_ref_w, cop_ref, t_chw_c, t_out_c, q_w, avail_w, power_w):
    """Available capacity (W) and electric power (W) of each chiller carrying ``q_w`` (W).

    Equations in the module docstring. Writes ``avail_w`` and ``power_w``;
    ``q_w`` above the available capacity is treated as full load.
    """
    for i in range(kind.shape[0]):
        if kind[i] == CHILLER_WATER:
            tc = min(max(t_chw_c, YORK_TCHW_RANGE_C[0]), YORK_TCHW_RANGE_C[1])
            tk = min(max(t_out_c + COND_OFFSET_K, YORK_TCOND_RANGE_C[0]), YORK_TCOND_RANGE_C[1])
            a = YORK_CAPFT
            capft = a[0] + a[1] * tc + a[2] * tc * tc + a[3] * tk + a[4] * tk * tk + a[5] * tc * tk
            b = YORK_EIRFT
            eirft = b[0] + b[1] * tc + b[2] * tc * tc + b[3] * tk + b[4] * tk * tk + b[5] * tc * tk
            qa = cap_ref_w[i] * max(capft, 0.0)
            eirfplr, cyc = _part_load(q_w[i], qa, YORK_PLR_MIN, YORK_EIRFPLR)
            avail_w[i] = qa
            power_w[i] = (qa / cop_ref[i]) * eirft * eirfplr * cyc if qa > 0.0 else 0.0
        else:
            tc = min(max(t_chw_c, YORK_TCHW_RANGE_C[0]), YORK_TCHW_RANGE_C[1])
            ta = min(max(t_out_c, AIR_TCOND_RANGE_C[0]), AIR_TCOND_RANGE_C[1])
            dt = (ta - AIR_TCOND_DES_C) / AIR_TEMP_RISE_COEF - (tc - AIR_TEVAP_DES_C)
            caprat = max(AIR_CAP[0] + AIR_CAP[1] * dt + AIR_CAP[2] * dt * dt, 0.05)
            flpr = AIR_FLPR[0] + AIR_FLPR[1] * caprat + AIR_FLPR[2] * caprat * caprat
            qa = cap_ref_w[i] * caprat
            frac, cyc = _part_load(q_w[i], qa, AIR_PLR_MIN, AIR_FRAC)
            avail_w[i] = qa
            power_w[i] = frac * flpr * qa / cop_ref[i] * cyc


@njit(cache=True, nogil=True)
def plant_step(dt_s, t_out_c, t_set_c, c_loop_j_per_k, q_in_w,
               ch_kind, ch_cap_w, ch_cop, ch_restart_s, ch_powered,
               pump_loop, pump_flow, pump_w, pump_powered,
               econ_enabled, econ_approach_k, econ_margin_k,
               t_loop_c, econ_on, ch_run, ch_timer, ch_failed, ch_q_w, ch_p_w, ch_avail_w,
               pump_failed, pump_p_w, flows):
    """Advance the plant by ``dt_s``: pumps, chiller availability and restart delay, economizer, loop.

    ``flows`` (out, float64[4]): chw flow fraction, condenser loop ok (0/1),
    economizer heat removed (W), heat the plant could not remove (W).
    Chillers restart ``ch_restart_s`` after power returns (and after a repair);
    the water-side economizer turns on when T_out + approach <= T_set − margin and
    off when T_out + approach > T_set, and then carries the load up to the
    plant's design capacity (the sum of the chillers' ratings).
    """
    # pumps
    chw_tot = 0.0
    chw_run = 0.0
    n_cw = 0
    cw_run = 0
    for i in range(pump_loop.shape[0]):
        run = pump_powered[i] != 0 and pump_failed[i] == 0
        pump_p_w[i] = pump_w[i] if run else 0.0
        if pump_loop[i] == LOOP_CHW:
            f = pump_flow[i] if pump_flow[i] > 0.0 else 1.0
            chw_tot += f
            if run:
                chw_run += f
        elif pump_loop[i] == LOOP_CW:
            n_cw += 1
            if run:
                cw_run += 1
    chw_frac = chw_run / chw_tot if chw_tot > 0.0 else 1.0
    cw_ok = n_cw == 0 or cw_run > 0
    # chillers: availability and restart delay
    design = 0.0
    for i in range(ch_kind.shape[0]):
        design += ch_cap_w[i]
        if ch_powered[i] == 0 or ch_failed[i] != 0:
            ch_run[i] = 0
            ch_timer[i] = 0.0
        elif ch_run[i] == 0:
            if ch_timer[i] >= ch_restart_s[i] - 1e-9:
                ch_run[i] = 1
            else:
                ch_timer[i] += dt_s
    # economizer (hysteresis band = margin)
    t_wse = t_out_c + econ_approach_k
    if econ_enabled == 0 or chw_frac <= 0.0 or not cw_ok:
        econ_on[0] = 0
    elif econ_on[0] == 0 and t_wse <= t_set_c - econ_margin_k:
        econ_on[0] = 1
    elif econ_on[0] != 0 and t_wse > t_set_c:
        econ_on[0] = 0
    # heat to remove this step
    t = t_loop_c[0]
    q_req = q_in_w + (c_loop_j_per_k * (t - t_set_c) / dt_s if dt_s > 0.0 else 0.0)
    if q_req < 0.0:
        q_req = 0.0
    q_econ = min(q_req, design * chw_frac) if econ_on[0] != 0 else 0.0
    rem = q_req - q_econ
    # chillers that can cool share the rest at equal part load
    n = ch_kind.shape[0]
    zero = np.zeros(n)
    chiller_performance(ch_kind, ch_cap_w, ch_cop, t_set_c, t_out_c, zero, ch_avail_w, ch_p_w)
    a_tot = 0.0
    for i in range(n):
        can = ch_run[i] != 0 and chw_frac > 0.0 and (ch_kind[i] == CHILLER_AIR or cw_ok)
        if not can:
            ch_avail_w[i] = 0.0
        ch_avail_w[i] *= chw_frac
        a_tot += ch_avail_w[i]
    q_ch = min(rem, a_tot)
    for i in range(n):
        ch_q_w[i] = q_ch * ch_avail_w[i] / a_tot if a_tot > 0.0 else 0.0
    chiller_performance(ch_kind, ch_cap_w, ch_cop, t_set_c, t_out_c, ch_q_w, zero, ch_p_w)
    for i in range(n):
        if ch_avail_w[i] <= 0.0:
            ch_p_w[i] = 0.0
    removed = q_econ + q_ch
    if dt_s > 0.0 and c_loop_j_per_k > 0.0:
        t_loop_c[0] = t + dt_s * (q_in_w - removed) / c_loop_j_per_k
    flows[0] = chw_frac
    flows[1] = 1.0 if cw_ok else 0.0
    flows[2] = q_econ
    flows[3] = max(0.0, q_in_w - removed)
