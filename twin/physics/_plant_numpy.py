"""Plain-numpy reference of :mod:`dctwin.twin.physics._plant_numba` (same signatures, array expressions)."""

from __future__ import annotations

import numpy as np

from dctwin.twin.physics.codes import CHILLER_AIR, LOOP_CHW, LOOP_CW
from dctwin.twin.physics.constants import (
    AIR_CAP, AIR_FLPR, AIR_FRAC, AIR_PLR_MIN, AIR_TCOND_DES_C, AIR_TCOND_RANGE_C, AIR_TEMP_RISE_COEF, AIR_TEVAP_DES_C,
    COND_OFFSET_K, YORK_CAPFT, YORK_EIRFPLR, YORK_EIRFT, YORK_PLR_MIN, YORK_TCHW_RANGE_C, YORK_TCOND_RANGE_C,
)


def _biquad(c, x, y):
    return c[0] + c[1] * x + c[2] * x * x + c[3] * y + c[4] * y * y + c[5] * x * y


def chiller_performance(kind, cap_ref_w, cop_ref, t_chw_c, t_out_c, q_w, avail_w, power_w):
    """Reference of the numba kernel (vectorised over chillers)."""
    air = kind == CHILLER_AIR
    tc = np.clip(t_chw_c, *YORK_TCHW_RANGE_C)
    tk = np.clip(t_out_c + COND_OFFSET_K, *YORK_TCOND_RANGE_C)
    # water-cooled
    qa_w = cap_ref_w * max(_biquad(YORK_CAPFT, tc, tk), 0.0)
    plr_w = np.minimum(np.divide(q_w, qa_w, out=np.zeros_like(qa_w), where=qa_w > 0), 1.0)
    pe = np.maximum(plr_w, YORK_PLR_MIN)
    eirfplr = YORK_EIRFPLR[0] + YORK_EIRFPLR[1] * pe + YORK_EIRFPLR[2] * pe * pe
    p_w = np.where(qa_w > 0, (qa_w / cop_ref) * _biquad(YORK_EIRFT, tc, tk) * eirfplr
                   * np.minimum(1.0, plr_w / YORK_PLR_MIN), 0.0)
    # air-cooled
    ta = np.clip(t_out_c, *AIR_TCOND_RANGE_C)
    d = (ta - AIR_TCOND_DES_C) / AIR_TEMP_RISE_COEF - (tc - AIR_TEVAP_DES_C)
    caprat = max(AIR_CAP[0] + AIR_CAP[1] * d + AIR_CAP[2] * d * d, 0.05)
    flpr = AIR_FLPR[0] + AIR_FLPR[1] * caprat + AIR_FLPR[2] * caprat * caprat
    qa_a = cap_ref_w * caprat
    plr_a = np.minimum(np.divide(q_w, qa_a, out=np.zeros_like(qa_a), where=qa_a > 0), 1.0)
    pa = np.maximum(plr_a, AIR_PLR_MIN)
    frac = AIR_FRAC[0] + AIR_FRAC[1] * pa + AIR_FRAC[2] * pa * pa
    p_a = frac * flpr * qa_a / cop_ref * np.minimum(1.0, plr_a / AIR_PLR_MIN)
    avail_w[:] = np.where(air, qa_a, qa_w)
    power_w[:] = np.where(air, p_a, p_w)


def plant_step(dt_s, t_out_c, t_set_c, c_loop_j_per_k, q_in_w, ch_kind, ch_cap_w, ch_cop, ch_restart_s,
               ch_powered, pump_loop, pump_flow, pump_w, pump_powered, econ_enabled, econ_approach_k, econ_margin_k,
               t_loop_c, econ_on, ch_run, ch_timer, ch_failed, ch_q_w, ch_p_w, ch_avail_w, pump_failed, pump_p_w,
               flows):
    """Reference of the numba kernel (same arguments)."""
    run = (pump_powered != 0) & (pump_failed == 0)
    pump_p_w[:] = np.where(run, pump_w, 0.0)
    chw = pump_loop == LOOP_CHW
    f = np.where(pump_flow > 0, pump_flow, 1.0)
    chw_tot = f[chw].sum()
    chw_frac = f[chw & run].sum() / chw_tot if chw_tot > 0 else 1.0
    cw = pump_loop == LOOP_CW
    cw_ok = (not cw.any()) or bool((cw & run).any())

    off = (ch_powered == 0) | (ch_failed != 0)
    ready = ~off & (ch_run == 0) & (ch_timer >= ch_restart_s - 1e-9)
    waiting = ~off & (ch_run == 0) & ~ready
    ch_timer[waiting] += dt_s
    ch_timer[off] = 0.0
    ch_run[off] = 0
    ch_run[ready] = 1
    design = float(ch_cap_w.sum())

    # economizer: on below the set point less the margin, off above the set point, never without water
    t_wse = t_out_c + econ_approach_k
    can_run = econ_enabled != 0 and chw_frac > 0 and cw_ok
    econ_on[0] = int(can_run and (t_wse <= t_set_c if econ_on[0] != 0 else t_wse <= t_set_c - econ_margin_k))

    t = t_loop_c[0]
    q_req = max(0.0, q_in_w + (c_loop_j_per_k * (t - t_set_c) / dt_s if dt_s > 0 else 0.0))
    q_econ = min(q_req, design * chw_frac) if econ_on[0] else 0.0
    rem = q_req - q_econ
    n = len(ch_kind)
    chiller_performance(ch_kind, ch_cap_w, ch_cop, t_set_c, t_out_c, np.zeros(n), ch_avail_w, ch_p_w)
    can = (ch_run != 0) & (chw_frac > 0) & ((ch_kind == CHILLER_AIR) | cw_ok)
    ch_avail_w[:] = np.where(can, ch_avail_w, 0.0) * chw_frac
    a_tot = float(ch_avail_w.sum())
    q_ch = min(rem, a_tot)
    ch_q_w[:] = q_ch * ch_avail_w / a_tot if a_tot > 0 else 0.0
    chiller_performance(ch_kind, ch_cap_w, ch_cop, t_set_c, t_out_c, ch_q_w, np.zeros(n), ch_p_w)
    ch_p_w[ch_avail_w <= 0] = 0.0
    removed = q_econ + q_ch
    if dt_s > 0 and c_loop_j_per_k > 0:
        t_loop_c[0] = t + dt_s * (q_in_w - removed) / c_loop_j_per_k
    flows[:] = (chw_frac, 1.0 if cw_ok else 0.0, q_econ, max(0.0, q_in_w - removed))
