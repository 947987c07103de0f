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

#: York YT 1055 kW / COP 5.96 water-cooled centrifugal (Modelica Buildings / EnergyPlus dataset) [V]
YORK_CAPFT = np.array([1.785912e-1, -5.900023e-2, -5.946963e-4, 9.297889e-2, -2.841024e-3, 4.974221e-3])
YORK_EIRFT = np.array([5.245110e-1, -2.850126e-2, 8.034720e-4, 1.893133e-2, 1.151629e-4, -9.340642e-5])
YORK_EIRFPLR = np.array([2.619878e-1, 2.393605e-1, 4.988306e-1])
YORK_PLR_MIN = 0.10
YORK_TCHW_RANGE_C = (4.44, 8.89)
YORK_TCOND_RANGE_C = (12.78, 35.0)
#: air-cooled Chiller:Electric curves (EnergyPlus, as in dc-rl) [V]
AIR_CAP = np.array([0.944836, -0.0570088, 0.00185486])
AIR_FLPR = np.array([2.333, -1.975, 0.6121])
AIR_FRAC = np.array([0.03303, 0.6852, 0.2818])
AIR_PLR_MIN = 0.05
AIR_TCOND_DES_C = 35.0
AIR_TEVAP_DES_C = 6.67
AIR_TEMP_RISE_COEF = 2.778
#: condenser entering air range used in the air-cooled curves (°C): below ~15 °C ambient the
#: chiller's head-pressure control holds the condensing pressure up, so it gains no more
#: (the quadratic capacity curve also leaves its fitted range there) [L]
AIR_TCOND_RANGE_C = (15.0, 50.0)
#: entering condenser water of a water-cooled chiller = outdoor dry bulb + this (K):
#: wet bulb ≈ dry bulb − 7 K at moderate humidity, tower approach +4 K (reference §5.3 [L])
COND_OFFSET_K = -3.0

CHILLER_WATER, CHILLER_AIR = 0, 1
LOOP_CHW, LOOP_CW, LOOP_TCS = 0, 1, 2


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
            plr = q_w[i] / qa if qa > 0.0 else 0.0
            plr = min(plr, 1.0)
            pe = max(plr, YORK_PLR_MIN)
            eirfplr = YORK_EIRFPLR[0] + YORK_EIRFPLR[1] * pe + YORK_EIRFPLR[2] * pe * pe
            cyc = min(1.0, plr / YORK_PLR_MIN)
            avail_w[i] = qa
            power_w[i] = (qa / cop_ref[i]) * eirft * eirfplr * cyc if qa > 0.0 else 0.0
        else:
            tc = min(max(t_chw_c, YORK_TCHW_RANGE_C[0]), YORK_TCHW_RANGE_C[1])
            ta = min(max(t_out_c, AIR_TCOND_RANGE_C[0]), AIR_TCOND_RANGE_C[1])
            dt = (ta - AIR_TCOND_DES_C) / AIR_TEMP_RISE_COEF - (tc - AIR_TEVAP_DES_C)
            caprat = max(AIR_CAP[0] + AIR_CAP[1] * dt + AIR_CAP[2] * dt * dt, 0.05)
            flpr = AIR_FLPR[0] + AIR_FLPR[1] * caprat + AIR_FLPR[2] * caprat * caprat
            qa = cap_ref_w[i] * caprat
            plr = q_w[i] / qa if qa > 0.0 else 0.0
            plr = min(plr, 1.0)
            pe = max(plr, AIR_PLR_MIN)
            frac = AIR_FRAC[0] + AIR_FRAC[1] * pe + AIR_FRAC[2] * pe * pe
            cyc = min(1.0, plr / AIR_PLR_MIN)
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
