"""numba kernel of the power chain: one time step of the whole graph.

Pure function over arrays (state arrays are updated in place); the plain
reference is :mod:`dctwin.twin.physics._power_numpy`. Callers use
:mod:`dctwin.twin.physics.power`. Units: W, J, s; state of charge 0..1.

Step from ``t`` to ``t + dt`` (the discrete states at ``t`` decide what flows
during the interval):

1. pass A: which nodes are live with the present discrete states; an ATS whose
   normal input has been dead for its start delay asks its generator to start;
2. pass B, in topological order: generator state machine (off -> cranking ->
   on load after ``start_delay_s``, or failed if a fail-to-start is armed), ATS
   (transfer when the normal input is dead and the emergency one live for
   ``transfer_delay_s``; retransfer after ``retransfer_delay_s`` of live normal
   input), UPS mode (online / battery when the input is dead and charge is left /
   bypass when over its rating and it has one / off), energized flags top-down;
3. consumers: a consumer is powered when any feed is live; a rack that loses
   every feed goes down and comes back ``restart_delay_s`` after power returns;
4. load roll-up bottom-up: a dual-corded consumer splits its load equally over
   its live feeds; node losses: UPS P_rated (a0 + a1 x + a2 x²) (or
   ``loss_fraction`` x P_out if given), other nodes loss_fraction x P_out;
   input power = P_out + loss (+ battery recharge) shared over live inputs;
5. integration: battery by Peukert, dSOC/dt = −(P_ref/E)(P_b/P_ref)^k with
   P_ref = the UPS rating and E the battery energy (runtime at rating = E/P_ref,
   runtime ratio T2/T1 = (P1/P2)^k); breaker θ exactly over dt:
   θ ← r² + (θ − r²) exp(−dt/τ), r = P_out/P_rated, trip at θ >= R_TRIP².

Every automatic change appends a transition (code, index, cause, value, time).
Causes are event seqs (> 0), 0 for none, or −(j+1) for transition j of this
step; the caller resolves them into seqs after recording.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from dctwin.twin.physics.codes import (
    ATS_EMERGENCY, ATS_NORMAL, GEN_CRANKING, GEN_FAILED, GEN_OFF, GEN_ON_LOAD, K_ATS, K_GENERATOR, K_UPS, K_UTILITY,
    POWER_P_BREAKER_TAU_S, POWER_P_BREAKER_TRIP_RATIO, POWER_P_CHARGE_FRACTION, POWER_P_TIMER_EPS_S, POWER_P_UPS_A0,
    POWER_P_UPS_A1, POWER_P_UPS_A2, T_ATS_RETRANSFER, T_ATS_TRANSFER, T_BREAKER_TRIP_AUTO, T_CAPACITY_EXCEEDED,
    T_GENERATOR_FAILED, T_GENERATOR_ON_LOAD, T_GENERATOR_START, T_GENERATOR_STOP, T_NODE_DARK, T_NODE_ENERGIZED,
    T_RACK_DOWN, T_RACK_UP, T_UNIT_START, T_UNIT_STOP, T_UPS_BATTERY_EXHAUSTED, T_UPS_ON_BATTERY, T_UPS_ON_BYPASS,
    T_UPS_ONLINE, UPS_BATTERY, UPS_BYPASS, UPS_OFF, UPS_ONLINE,
)


# Explicit signatures: called with literal constants (0, the T_* codes), these two would otherwise compile once
# per constant (30 specialisations, ~4 s on the first run); the signature makes every call share one.
@njit("int64(int64, int64)", cache=True, nogil=True)
def newest_cause(a, b):
    """The more recent of two cause references (0 = none).

    This-step references (negative, −(j+1)) are newer than any recorded seq
    (positive); among them the larger j is newer; among seqs the larger one.
    """
    if a == 0:
        return b
    if b == 0:
        return a
    if a < 0 and b < 0:
        return a if a < b else b
    if a < 0:
        return a
    if b < 0:
        return b
    return a if a > b else b


@njit("int64(int64[::1], int64[::1], int64[::1], float64[::1], float64[::1], int64, int64, int64, int64, float64, "
      "float64)", cache=True, nogil=True)
def _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, code, idx, cause, val, t):
    if nt < tr_code.shape[0]:
        tr_code[nt] = code
        tr_idx[nt] = idx
        tr_cause[nt] = cause
        tr_val[nt] = val
        tr_t[nt] = t
    return nt + 1


@njit(cache=True, nogil=True)
def power_step(t_s, dt_s,
               kind, in_ptr, in_idx, cap_w, batt_j, peukert_k, has_bypass, start_delay_s,
               transfer_delay_s, retransfer_delay_s, loss_fraction,
               feed_a, feed_b, cons_rack, restart_delay_s, load_w,
               energized, avail, failed, tripped, over, ups_mode, gen_state, gen_armed, ats_pos,
               soc, gen_timer, ats_dead_s, ats_timer, theta, out_w, loss_w, in_w, batt_w,
               node_cause, ovl_cause,
               cons_up, cons_timer, cons_on, cons_cause, cons_w, last_cause,
               tr_code, tr_idx, tr_cause, tr_val, tr_t, prm):
    """Advance the power graph by ``dt_s`` seconds from ``t_s``; returns the number of transitions.

    Static inputs (per node, topological order): ``kind`` (codes of
    ``codes``), inputs in CSR form ``in_ptr``/``in_idx`` (an ATS's first
    input is normal, second emergency), ``cap_w`` rating (W, 0 = unlimited),
    ``batt_j`` battery energy at rated power (J), ``peukert_k``, ``has_bypass``,
    delays (s), ``loss_fraction`` (NaN = UPS curve). Per consumer: ``feed_a``,
    ``feed_b`` (node index or −1), ``cons_rack`` (1: a rack, down / up with a restart delay and
    events; 0: a unit, stop / start events; 2: powered flag only, no events), ``restart_delay_s``
    and ``load_w`` (W demanded when running). State arrays are updated in place;
    transitions go to the ``tr_*`` buffers (the count may exceed their length:
    the caller checks). ``prm``: model constants (``codes.power_params``).
    """
    n_nodes = kind.shape[0]
    n_cons = feed_a.shape[0]
    nt = 0
    eps_s = prm[POWER_P_TIMER_EPS_S]
    a0 = prm[POWER_P_UPS_A0]
    a1 = prm[POWER_P_UPS_A1]
    a2 = prm[POWER_P_UPS_A2]
    last_ref = last_cause[0]

    # ---------------------------------------------------------------- pass A: live now?
    en_a = np.zeros(n_nodes, np.uint8)
    for n in range(n_nodes):
        ok = failed[n] == 0 and tripped[n] == 0
        k = kind[n]
        live = False
        if k == K_UTILITY:
            live = ok and avail[n] != 0
        elif k == K_GENERATOR:
            live = ok and gen_state[n] == GEN_ON_LOAD
        elif k == K_ATS:
            sel = in_idx[in_ptr[n] + ats_pos[n]]
            live = ok and en_a[sel] != 0
        else:
            any_in = False
            for p in range(in_ptr[n], in_ptr[n + 1]):
                if en_a[in_idx[p]] != 0:
                    any_in = True
            if k == K_UPS:
                live = ok and (any_in or (soc[n] > 0.0 and batt_j[n] > 0.0))
            else:
                live = ok and any_in
        en_a[n] = 1 if live else 0

    # generator requests from the ATSs that use them as emergency source
    gen_used = np.zeros(n_nodes, np.uint8)
    gen_req = np.zeros(n_nodes, np.uint8)
    start_cause = np.zeros(n_nodes, np.int64)
    stop_cause = np.zeros(n_nodes, np.int64)
    for a in range(n_nodes):
        if kind[a] != K_ATS:
            continue
        nrm = in_idx[in_ptr[a]]
        emg = in_idx[in_ptr[a] + 1]
        if kind[emg] != K_GENERATOR:
            continue
        gen_used[emg] = 1
        want = ats_pos[a] == ATS_EMERGENCY or (en_a[nrm] == 0 and ats_dead_s[a] >= start_delay_s[a] - eps_s)
        if want:
            if gen_req[emg] == 0:
                start_cause[emg] = node_cause[nrm]
            gen_req[emg] = 1
        elif stop_cause[emg] == 0:
            stop_cause[emg] = node_cause[a]
    for g in range(n_nodes):
        if kind[g] == K_GENERATOR and gen_used[g] == 0:
            gen_req[g] = 1  # prime source: no ATS asks for it, so it runs

    # ---------------------------------------------------------------- pass B: states, energized
    hold = np.zeros(n_nodes, np.int64)   # why a dark node stays dark (waiting on a failed generator)
    for n in range(n_nodes):
        k = kind[n]
        was = energized[n] != 0
        ok = failed[n] == 0 and tripped[n] == 0
        p0 = in_ptr[n]
        p1 = in_ptr[n + 1]
        own = False          # dark because of its own state, not its inputs
        src_cause = 0        # cause from the inputs
        e = False
        if k == K_UTILITY:
            e = ok and avail[n] != 0
            own = True
        elif k == K_GENERATOR:
            own = True
            st = gen_state[n]
            if not ok:
                if st == GEN_CRANKING or st == GEN_ON_LOAD:
                    gen_state[n] = GEN_OFF
            else:
                if st == GEN_OFF and gen_req[n] != 0:
                    gen_state[n] = GEN_CRANKING
                    gen_timer[n] = 0.0
                    nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_GENERATOR_START, n,
                               start_cause[n], 0.0, t_s)
                    node_cause[n] = -nt
                    st = GEN_CRANKING
                if st == GEN_CRANKING:
                    if gen_req[n] == 0:
                        gen_state[n] = GEN_OFF
                        nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_GENERATOR_STOP, n,
                                   stop_cause[n], 0.0, t_s)
                        node_cause[n] = -nt
                    elif gen_timer[n] >= start_delay_s[n] - eps_s:
                        if gen_armed[n] != 0:
                            gen_state[n] = GEN_FAILED
                            nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_GENERATOR_FAILED, n,
                                       node_cause[n], 0.0, t_s)
                        else:
                            gen_state[n] = GEN_ON_LOAD
                            nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_GENERATOR_ON_LOAD, n,
                                       node_cause[n], 0.0, t_s)
                        node_cause[n] = -nt
                    else:
                        gen_timer[n] += dt_s
                elif st == GEN_ON_LOAD and gen_req[n] == 0:
                    gen_state[n] = GEN_OFF
                    nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_GENERATOR_STOP, n,
                               stop_cause[n], 0.0, t_s)
                    node_cause[n] = -nt
            e = ok and gen_state[n] == GEN_ON_LOAD
        elif k == K_ATS:
            nrm = in_idx[p0]
            emg = in_idx[p0 + 1]
            en_n = energized[nrm] != 0
            en_e = energized[emg] != 0
            if ats_pos[n] == ATS_NORMAL:
                if en_n or not en_e:
                    ats_timer[n] = 0.0
                elif ats_timer[n] >= transfer_delay_s[n] - eps_s:
                    ats_pos[n] = ATS_EMERGENCY
                    ats_timer[n] = 0.0
                    nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_ATS_TRANSFER, n,
                               newest_cause(node_cause[nrm], node_cause[emg]), 0.0, t_s)
                    node_cause[n] = -nt
                else:
                    ats_timer[n] += dt_s
            else:
                if en_n and not en_e:
                    ats_pos[n] = ATS_NORMAL
                    ats_timer[n] = 0.0
                    nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_ATS_RETRANSFER, n,
                               node_cause[emg], 0.0, t_s)
                    node_cause[n] = -nt
                elif en_n:
                    if ats_timer[n] >= retransfer_delay_s[n] - eps_s:
                        ats_pos[n] = ATS_NORMAL
                        ats_timer[n] = 0.0
                        nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_ATS_RETRANSFER, n,
                                   node_cause[nrm], 0.0, t_s)
                        node_cause[n] = -nt
                    else:
                        ats_timer[n] += dt_s
                else:
                    ats_timer[n] = 0.0
            if en_n:
                ats_dead_s[n] = 0.0
            else:
                ats_dead_s[n] += dt_s
            sel = nrm if ats_pos[n] == ATS_NORMAL else emg
            e = ok and energized[sel] != 0
            own = not ok
            src_cause = node_cause[sel]
            if not e:
                if kind[emg] == K_GENERATOR and gen_state[emg] == GEN_FAILED:
                    hold[n] = node_cause[emg]
                else:
                    hold[n] = hold[nrm]
        else:
            any_in = False
            first_live = -1
            for p in range(p0, p1):
                i = in_idx[p]
                src_cause = newest_cause(src_cause, node_cause[i])
                if energized[i] != 0:
                    any_in = True
                    if first_live < 0:
                        first_live = i
            if not any_in:
                hold[n] = hold[in_idx[p0]]
            if k == K_UPS:
                prev = ups_mode[n]
                if not ok:
                    ups_mode[n] = UPS_OFF
                    own = True
                elif any_in:
                    if over[n] != 0 and has_bypass[n] != 0:
                        if prev != UPS_BYPASS:
                            nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_UPS_ON_BYPASS, n,
                                       ovl_cause[n], out_w[n] / cap_w[n] if cap_w[n] > 0 else 0.0, t_s)
                        ups_mode[n] = UPS_BYPASS
                    else:
                        if prev == UPS_BATTERY or prev == UPS_BYPASS:
                            c = node_cause[first_live] if prev == UPS_BATTERY else ovl_cause[n]
                            nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_UPS_ONLINE, n,
                                       c, soc[n], t_s)
                        ups_mode[n] = UPS_ONLINE
                    e = True
                elif soc[n] > 0.0 and batt_j[n] > 0.0:
                    if prev != UPS_BATTERY:
                        nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_UPS_ON_BATTERY, n,
                                   src_cause, soc[n], t_s)
                    ups_mode[n] = UPS_BATTERY
                    e = True
                else:
                    own = prev == UPS_BATTERY and batt_j[n] > 0.0
                    ups_mode[n] = UPS_OFF
            else:
                e = ok and any_in
                own = not ok
        energized[n] = 1 if e else 0
        if was and not e:
            c = node_cause[n] if own else src_cause
            nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_NODE_DARK, n, c, 0.0, t_s)
            node_cause[n] = -nt
        elif e and not was:
            c = node_cause[n] if k == K_UTILITY or k == K_GENERATOR else newest_cause(node_cause[n], src_cause)
            nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_NODE_ENERGIZED, n, c, 0.0, t_s)
            node_cause[n] = -nt

    # ---------------------------------------------------------------- consumers
    for c in range(n_cons):
        fa = feed_a[c]
        fb = feed_b[c]
        if fa < 0 and fb < 0:
            powered = True
            dark_cause = 0
            live_cause = 0
        else:
            powered = False
            dark_cause = 0
            live_cause = 0
            if fa >= 0:
                dark_cause = node_cause[fa]
                if energized[fa] != 0:
                    powered = True
                    live_cause = node_cause[fa]
            if fb >= 0:
                dark_cause = newest_cause(dark_cause, node_cause[fb])
                if energized[fb] != 0:
                    powered = True
                    live_cause = newest_cause(live_cause, node_cause[fb])
        if cons_rack[c] == 1:
            if cons_up[c] != 0:
                if not powered:
                    cons_up[c] = 0
                    cons_timer[c] = 0.0
                    nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_RACK_DOWN, c, dark_cause, 0.0, t_s)
                    cons_cause[c] = -nt
            elif powered:
                if cons_timer[c] >= restart_delay_s[c] - eps_s:
                    cons_up[c] = 1
                    nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_RACK_UP, c, live_cause, 0.0, t_s)
                    cons_cause[c] = -nt
                else:
                    cons_timer[c] += dt_s
            else:
                cons_timer[c] = 0.0
            cons_on[c] = cons_up[c]
        else:
            if cons_rack[c] == 0 and cons_on[c] != 0 and not powered:
                nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_UNIT_STOP, c, dark_cause, 0.0, t_s)
                cons_cause[c] = -nt
            elif cons_rack[c] == 0 and cons_on[c] == 0 and powered:
                nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_UNIT_START, c, live_cause, 0.0, t_s)
                cons_cause[c] = -nt
            cons_on[c] = 1 if powered else 0

    # ---------------------------------------------------------------- load roll-up
    for n in range(n_nodes):
        out_w[n] = 0.0
    for c in range(n_cons):
        w = load_w[c] if cons_on[c] != 0 else 0.0
        cons_w[c] = w
        fa = feed_a[c]
        fb = feed_b[c]
        live_a = fa >= 0 and energized[fa] != 0
        live_b = fb >= 0 and energized[fb] != 0
        if live_a and live_b:
            out_w[fa] += 0.5 * w
            out_w[fb] += 0.5 * w
        elif live_a:
            out_w[fa] += w
        elif live_b:
            out_w[fb] += w
    for n in range(n_nodes - 1, -1, -1):
        if energized[n] == 0:
            loss_w[n] = 0.0
            in_w[n] = 0.0
            batt_w[n] = 0.0
            continue
        k = kind[n]
        out = out_w[n]
        loss = 0.0
        pin = out
        batt = 0.0
        if k == K_UPS:
            mode = ups_mode[n]
            if mode == UPS_BYPASS:
                loss = 0.0
                pin = out
            else:
                if math.isnan(loss_fraction[n]):
                    x = out / cap_w[n] if cap_w[n] > 0 else 0.0
                    loss = cap_w[n] * (a0 + a1 * x + a2 * x * x)
                else:
                    loss = loss_fraction[n] * out
                if mode == UPS_BATTERY:
                    pin = 0.0
                    batt = out + loss
                else:
                    charge = 0.0
                    if batt_j[n] > 0.0 and soc[n] < 1.0:
                        charge = prm[POWER_P_CHARGE_FRACTION] * cap_w[n]
                        if dt_s > 0.0:
                            need = (1.0 - soc[n]) * batt_j[n] / dt_s
                            if need < charge:
                                charge = need
                    pin = out + loss + charge
                    batt = -charge
        elif k == K_UTILITY or k == K_GENERATOR or k == K_ATS:
            loss = 0.0
            pin = out
        else:
            loss = loss_fraction[n] * out
            pin = out + loss
        loss_w[n] = loss
        in_w[n] = pin
        batt_w[n] = batt
        if k == K_ATS:
            out_w[in_idx[in_ptr[n] + ats_pos[n]]] += pin
        elif pin != 0.0:
            m = 0
            for p in range(in_ptr[n], in_ptr[n + 1]):
                if energized[in_idx[p]] != 0:
                    m += 1
            if m > 0:
                share = pin / m
                for p in range(in_ptr[n], in_ptr[n + 1]):
                    if energized[in_idx[p]] != 0:
                        out_w[in_idx[p]] += share

    # ---------------------------------------------------------------- batteries, breakers
    decay = math.exp(-dt_s / prm[POWER_P_BREAKER_TAU_S])
    trip2 = prm[POWER_P_BREAKER_TRIP_RATIO] * prm[POWER_P_BREAKER_TRIP_RATIO]
    for n in range(n_nodes):
        k = kind[n]
        if k == K_UPS and batt_j[n] > 0.0 and energized[n] != 0:
            if ups_mode[n] == UPS_BATTERY:
                pref = cap_w[n]
                pb = batt_w[n]
                rate = (pref / batt_j[n]) * (pb / pref) ** peukert_k[n] if pb > 0.0 else 0.0
                if soc[n] - rate * dt_s <= 0.0:
                    t_empty = t_s + (soc[n] / rate if rate > 0.0 else 0.0)
                    soc[n] = 0.0
                    c = hold[in_idx[in_ptr[n]]]
                    if c == 0:
                        c = node_cause[in_idx[in_ptr[n]]]
                    nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_UPS_BATTERY_EXHAUSTED, n,
                               c, 0.0, t_empty)
                    node_cause[n] = -nt
                else:
                    soc[n] -= rate * dt_s
            elif batt_w[n] < 0.0:
                soc[n] = min(1.0, soc[n] - batt_w[n] * dt_s / batt_j[n])
        if cap_w[n] <= 0.0:
            continue
        r = out_w[n] / cap_w[n]
        if energized[n] != 0 and r > 1.0:
            if over[n] == 0:
                over[n] = 1
                c = -nt if nt > 0 else last_ref
                nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_CAPACITY_EXCEEDED, n, c, r, t_s)
                ovl_cause[n] = -nt
        else:
            over[n] = 0
        if k == K_UPS and ups_mode[n] == UPS_BYPASS:
            r = 0.0
        r2 = r * r
        theta[n] = r2 + (theta[n] - r2) * decay
        if energized[n] != 0 and tripped[n] == 0 and theta[n] >= trip2:
            tripped[n] = 1
            c = ovl_cause[n] if ovl_cause[n] != 0 else last_ref
            nt = _emit(tr_code, tr_idx, tr_cause, tr_val, tr_t, nt, T_BREAKER_TRIP_AUTO, n, c, r, t_s + dt_s)
            node_cause[n] = -nt
    return nt
