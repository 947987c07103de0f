"""Plain-numpy reference of :func:`dctwin.twin.physics._power_numba.power_step`.

Same signature and semantics (see that module for the equations); written for
clarity: the graph passes are Python loops over the topological order, the
consumer logic, the load split, the battery and breaker updates are array
expressions. tests/twin/physics/test_power_kernels.py checks that both agree.
"""

from __future__ import annotations

import numpy as np

from dctwin.twin.physics.codes import K_ATS, K_GENERATOR, K_UPS, K_UTILITY
from dctwin.twin.physics.codes import GEN_CRANKING, GEN_FAILED, GEN_OFF, GEN_ON_LOAD
from dctwin.twin.physics.codes import ATS_EMERGENCY, ATS_NORMAL
from dctwin.twin.physics.codes import UPS_BATTERY, UPS_BYPASS, UPS_OFF, UPS_ONLINE
from dctwin.twin.physics.codes import T_ATS_RETRANSFER, T_ATS_TRANSFER, T_BREAKER_TRIP_AUTO, T_CAPACITY_EXCEEDED
from dctwin.twin.physics.codes import T_GENERATOR_FAILED, T_GENERATOR_ON_LOAD, T_GENERATOR_START, T_GENERATOR_STOP
from dctwin.twin.physics.codes import T_NODE_DARK
from dctwin.twin.physics.codes import T_NODE_ENERGIZED, T_RACK_DOWN, T_RACK_UP, T_UNIT_START, T_UNIT_STOP
from dctwin.twin.physics.codes import T_UPS_BATTERY_EXHAUSTED, T_UPS_ON_BATTERY, T_UPS_ON_BYPASS, T_UPS_ONLINE
from dctwin.twin.physics.codes import POWER_P_BREAKER_TAU_S, POWER_P_BREAKER_TRIP_RATIO, POWER_P_CHARGE_FRACTION
from dctwin.twin.physics.codes import POWER_P_TIMER_EPS_S, POWER_P_UPS_A0, POWER_P_UPS_A1, POWER_P_UPS_A2


def newest_cause(a: int, b: int) -> int:
    """The more recent of two cause references (see the numba module)."""
    if a == 0:
        return int(b)
    if b == 0:
        return int(a)
    if a < 0 and b < 0:
        return int(min(a, b))
    if a < 0 or b < 0:
        return int(min(a, b))
    return int(max(a, b))


class _Out:
    """Transition buffers with an append that mirrors the kernel's counting."""

    def __init__(self, tr_code, tr_idx, tr_cause, tr_val, tr_t):
        self.bufs = (tr_code, tr_idx, tr_cause, tr_val, tr_t)
        self.n = 0

    def emit(self, code, idx, cause, val, t) -> int:
        if self.n < self.bufs[0].shape[0]:
            for buf, v in zip(self.bufs, (code, idx, cause, val, t)):
                buf[self.n] = v
        self.n += 1
        return -self.n  # reference to the transition just emitted


def _generator(state, timer, ok, requested, start_delay_s, armed, eps_s, dt_s):
    """A generator's next (state, start timer, transition codes in order): off -> cranking when asked,
    on load (or failed, when armed to fail) after the start delay, off when no longer asked or down."""
    if not ok:
        return (GEN_OFF if state in (GEN_CRANKING, GEN_ON_LOAD) else state), timer, []
    codes = []
    if state == GEN_OFF and requested:
        state, timer = GEN_CRANKING, 0.0
        codes.append(T_GENERATOR_START)
    if state in (GEN_CRANKING, GEN_ON_LOAD) and not requested:
        return GEN_OFF, timer, codes + [T_GENERATOR_STOP]
    if state == GEN_CRANKING:
        if timer >= start_delay_s - eps_s:
            return (GEN_FAILED, timer, codes + [T_GENERATOR_FAILED]) if armed else \
                (GEN_ON_LOAD, timer, codes + [T_GENERATOR_ON_LOAD])
        timer += dt_s
    return state, timer, codes


def _ats(pos, timer, normal_live, emergency_live, transfer_s, retransfer_s, eps_s, dt_s):
    """An ATS's next (position, timer): it moves to the other source once that one has been wanted for
    its delay (emergency: normal dead and emergency live; back to normal: normal live), at once back to
    a live normal source when the emergency one dies; the timer runs only while the move is wanted."""
    if pos == ATS_NORMAL:
        wanted, delay = emergency_live and not normal_live, transfer_s
    elif normal_live and not emergency_live:
        return ATS_NORMAL, 0.0
    else:
        wanted, delay = normal_live, retransfer_s
    if not wanted:
        return pos, 0.0
    if timer >= delay - eps_s:
        return (ATS_EMERGENCY if pos == ATS_NORMAL else ATS_NORMAL), 0.0
    return pos, timer + dt_s


def _ups(prev, ok, input_live, overloaded, has_bypass, charged, has_battery):
    """A UPS's next (mode, whether it is itself why it goes dark): off when down; on bypass when
    overloaded and it has one, else online while an input is live; on battery while charge is left;
    off, the battery being the reason, when it ran empty."""
    if not ok:
        return UPS_OFF, True
    if input_live:
        return (UPS_BYPASS if overloaded and has_bypass else UPS_ONLINE), False
    if charged and has_battery:
        return UPS_BATTERY, False
    return UPS_OFF, prev == UPS_BATTERY and has_battery


def power_step(t_s, dt_s, kind, in_ptr, in_idx, cap_w, batt_j, peukert_k, has_bypass, start_delay_s, transfer_delay_s,
               retransfer_delay_s, loss_fraction, feed_a, feed_b, cons_rack, restart_delay_s, load_w, energized, avail,
               failed, tripped, over, ups_mode, gen_state, gen_armed, ats_pos, soc, gen_timer, ats_dead_s, ats_timer,
               theta, out_w, loss_w, in_w, batt_w, node_cause, ovl_cause, cons_up, cons_timer, cons_on, cons_cause,
               cons_w, last_cause, tr_code, tr_idx, tr_cause, tr_val, tr_t, prm):
    """Reference implementation (the kernel's arguments); returns the number of transitions."""
    n_nodes = len(kind)
    eps_s = prm[POWER_P_TIMER_EPS_S]
    a0, a1, a2 = prm[POWER_P_UPS_A0], prm[POWER_P_UPS_A1], prm[POWER_P_UPS_A2]
    out = _Out(tr_code, tr_idx, tr_cause, tr_val, tr_t)
    last_ref = int(last_cause[0])
    inputs = [in_idx[in_ptr[n]:in_ptr[n + 1]] for n in range(n_nodes)]
    ok = (failed == 0) & (tripped == 0)

    # pass A
    en_a = np.zeros(n_nodes, bool)
    for n in range(n_nodes):
        k = kind[n]
        if k == K_UTILITY:
            en_a[n] = ok[n] and avail[n] != 0
        elif k == K_GENERATOR:
            en_a[n] = ok[n] and gen_state[n] == GEN_ON_LOAD
        elif k == K_ATS:
            en_a[n] = ok[n] and en_a[inputs[n][ats_pos[n]]]
        elif k == K_UPS:
            en_a[n] = ok[n] and (en_a[inputs[n]].any() or (soc[n] > 0 and batt_j[n] > 0))
        else:
            en_a[n] = ok[n] and en_a[inputs[n]].any()

    gen_used = np.zeros(n_nodes, bool)
    gen_req = np.zeros(n_nodes, bool)
    start_cause = np.zeros(n_nodes, np.int64)
    stop_cause = np.zeros(n_nodes, np.int64)
    for a in np.nonzero(kind == K_ATS)[0]:
        nrm, emg = inputs[a][0], inputs[a][1]
        if kind[emg] != K_GENERATOR:
            continue
        gen_used[emg] = True
        if ats_pos[a] == ATS_EMERGENCY or (not en_a[nrm] and ats_dead_s[a] >= start_delay_s[a] - eps_s):
            if not gen_req[emg]:
                start_cause[emg] = node_cause[nrm]
            gen_req[emg] = True
        elif stop_cause[emg] == 0:
            stop_cause[emg] = node_cause[a]
    gen_req |= (kind == K_GENERATOR) & ~gen_used

    # pass B: each node's switching rule (the helpers below), transitions in topological order
    hold = np.zeros(n_nodes, np.int64)
    for n in range(n_nodes):
        k = kind[n]
        was = bool(energized[n])
        okn = bool(ok[n])
        ins = inputs[n]
        src_cause = 0
        if k == K_UTILITY:
            e, own = okn and avail[n] != 0, True
        elif k == K_GENERATOR:
            gen_state[n], gen_timer[n], codes = _generator(gen_state[n], gen_timer[n], okn, gen_req[n],
                                                           start_delay_s[n], gen_armed[n] != 0, eps_s, dt_s)
            for code in codes:
                cause = {T_GENERATOR_START: start_cause[n], T_GENERATOR_STOP: stop_cause[n]}.get(code, node_cause[n])
                node_cause[n] = out.emit(code, n, cause, 0.0, t_s)
            e, own = okn and gen_state[n] == GEN_ON_LOAD, True
        elif k == K_ATS:
            nrm, emg = ins[0], ins[1]
            en_n, en_e = bool(energized[nrm]), bool(energized[emg])
            was_pos = ats_pos[n]
            ats_pos[n], ats_timer[n] = _ats(was_pos, ats_timer[n], en_n, en_e, transfer_delay_s[n],
                                            retransfer_delay_s[n], eps_s, dt_s)
            if ats_pos[n] != was_pos:
                if ats_pos[n] == ATS_EMERGENCY:
                    code, cause = T_ATS_TRANSFER, newest_cause(node_cause[nrm], node_cause[emg])
                else:  # back at once when the emergency source died, else after the delay on a good normal one
                    code, cause = T_ATS_RETRANSFER, node_cause[nrm] if en_e else node_cause[emg]
                node_cause[n] = out.emit(code, n, cause, 0.0, t_s)
            ats_dead_s[n] = 0.0 if en_n else ats_dead_s[n] + dt_s
            sel = ins[ats_pos[n]]
            e, own = okn and bool(energized[sel]), not okn
            src_cause = int(node_cause[sel])
            if not e:
                hold[n] = (node_cause[emg] if kind[emg] == K_GENERATOR and gen_state[emg] == GEN_FAILED
                           else hold[nrm])
        else:
            for i in ins:
                src_cause = newest_cause(src_cause, node_cause[i])
            live = ins[energized[ins] != 0]
            if len(live) == 0:
                hold[n] = hold[ins[0]]
            if k == K_UPS:
                prev = ups_mode[n]
                ups_mode[n], own = _ups(prev, okn, len(live) > 0, bool(over[n]), bool(has_bypass[n]), soc[n] > 0,
                                        batt_j[n] > 0)
                e = ups_mode[n] != UPS_OFF
                if ups_mode[n] == UPS_BYPASS and prev != UPS_BYPASS:
                    out.emit(T_UPS_ON_BYPASS, n, ovl_cause[n], out_w[n] / cap_w[n] if cap_w[n] > 0 else 0.0, t_s)
                elif ups_mode[n] == UPS_ONLINE and prev in (UPS_BATTERY, UPS_BYPASS):
                    out.emit(T_UPS_ONLINE, n, node_cause[live[0]] if prev == UPS_BATTERY else ovl_cause[n], soc[n],
                             t_s)
                elif ups_mode[n] == UPS_BATTERY and prev != UPS_BATTERY:
                    out.emit(T_UPS_ON_BATTERY, n, src_cause, soc[n], t_s)
            else:
                e, own = okn and len(live) > 0, not okn
        energized[n] = 1 if e else 0
        if was != e:
            if e:
                c = node_cause[n] if k in (K_UTILITY, K_GENERATOR) else newest_cause(node_cause[n], src_cause)
            else:
                c = node_cause[n] if own else src_cause
            node_cause[n] = out.emit(T_NODE_ENERGIZED if e else T_NODE_DARK, n, c, 0.0, t_s)

    # consumers (vectorised state, transitions emitted in consumer order)
    has_a, has_b = feed_a >= 0, feed_b >= 0
    en = energized.astype(bool)
    live_a = has_a & en[np.where(has_a, feed_a, 0)]
    live_b = has_b & en[np.where(has_b, feed_b, 0)]
    powered = (~has_a & ~has_b) | live_a | live_b
    rack = cons_rack == 1
    unit = cons_rack == 0
    up = cons_up != 0
    goes_down = rack & up & ~powered
    ready = rack & ~up & powered & (cons_timer >= restart_delay_s - eps_s)
    waiting = rack & ~up & powered & ~ready
    on = cons_on != 0
    stops = unit & on & ~powered
    starts = unit & ~on & powered
    for c in np.nonzero(goes_down | ready | stops | starts)[0]:
        fa, fb = feed_a[c], feed_b[c]
        dark_cause = live_cause = 0
        if fa >= 0:
            dark_cause = int(node_cause[fa])
            if en[fa]:
                live_cause = int(node_cause[fa])
        if fb >= 0:
            dark_cause = newest_cause(dark_cause, node_cause[fb])
            if en[fb]:
                live_cause = newest_cause(live_cause, node_cause[fb])
        code = (T_RACK_DOWN if goes_down[c] else T_RACK_UP if ready[c] else
                T_UNIT_STOP if stops[c] else T_UNIT_START)
        cause = dark_cause if code in (T_RACK_DOWN, T_UNIT_STOP) else live_cause
        cons_cause[c] = out.emit(code, c, cause, 0.0, t_s)
    cons_timer[goes_down | (rack & ~up & ~powered)] = 0.0
    cons_timer[waiting] += dt_s
    cons_up[goes_down] = 0
    cons_up[ready] = 1
    cons_on[:] = np.where(rack, cons_up, powered.astype(cons_on.dtype))

    # load roll-up
    w = np.where(cons_on != 0, load_w, 0.0)
    cons_w[:] = w
    out_w[:] = 0.0
    both = live_a & live_b
    np.add.at(out_w, feed_a[both], 0.5 * w[both])
    np.add.at(out_w, feed_b[both], 0.5 * w[both])
    only_a = live_a & ~live_b
    only_b = live_b & ~live_a
    np.add.at(out_w, feed_a[only_a], w[only_a])
    np.add.at(out_w, feed_b[only_b], w[only_b])
    for n in range(n_nodes - 1, -1, -1):
        if not energized[n]:
            loss_w[n] = in_w[n] = batt_w[n] = 0.0
            continue
        k = kind[n]
        po = out_w[n]
        loss, pin, batt = 0.0, po, 0.0
        if k == K_UPS:
            if ups_mode[n] != UPS_BYPASS:
                if np.isnan(loss_fraction[n]):
                    x = po / cap_w[n] if cap_w[n] > 0 else 0.0
                    loss = cap_w[n] * (a0 + a1 * x + a2 * x * x)
                else:
                    loss = loss_fraction[n] * po
                if ups_mode[n] == UPS_BATTERY:
                    pin, batt = 0.0, po + loss
                else:
                    charge = 0.0
                    if batt_j[n] > 0 and soc[n] < 1.0:
                        charge = prm[POWER_P_CHARGE_FRACTION] * cap_w[n]
                        if dt_s > 0:
                            charge = min(charge, (1.0 - soc[n]) * batt_j[n] / dt_s)
                    pin, batt = po + loss + charge, -charge
        elif k not in (K_UTILITY, K_GENERATOR, K_ATS):
            loss = loss_fraction[n] * po
            pin = po + loss
        loss_w[n], in_w[n], batt_w[n] = loss, pin, batt
        if k == K_ATS:
            out_w[inputs[n][ats_pos[n]]] += pin
        elif pin != 0.0:
            live = inputs[n][energized[inputs[n]] != 0]
            if len(live):
                out_w[live] += pin / len(live)

    # batteries (Peukert) and breakers (I²t) as arrays; their transitions in node order below
    has_battery = (kind == K_UPS) & (batt_j > 0) & (energized != 0)
    discharging = has_battery & (ups_mode == UPS_BATTERY)
    charging = has_battery & ~discharging & (batt_w < 0)
    batt = np.where(batt_j > 0, batt_j, 1.0)
    rated = cap_w > 0
    cap = np.where(rated, cap_w, 1.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rate = np.where(discharging & (batt_w > 0), (cap / batt) * (batt_w / cap) ** peukert_k, 0.0)
        t_empty = t_s + np.where(rate > 0, soc / np.where(rate > 0, rate, 1.0), 0.0)
    empty = discharging & (soc - rate * dt_s <= 0.0)
    soc[:] = np.where(empty, 0.0, np.where(discharging, soc - rate * dt_s,
                                           np.where(charging, np.minimum(1.0, soc - batt_w * dt_s / batt), soc)))
    ratio = np.where(rated, out_w / cap, 0.0)
    overloaded = rated & (energized != 0) & (ratio > 1.0)
    newly_over = overloaded & (over == 0)
    over[:] = np.where(rated, overloaded, over)
    heating = np.where((kind == K_UPS) & (ups_mode == UPS_BYPASS), 0.0, ratio)  # a bypass carries no breaker load
    decay = np.exp(-dt_s / prm[POWER_P_BREAKER_TAU_S])
    theta[:] = np.where(rated, heating * heating + (theta - heating * heating) * decay, theta)
    trip_ratio = prm[POWER_P_BREAKER_TRIP_RATIO]
    trips = rated & (energized != 0) & (tripped == 0) & (theta >= trip_ratio * trip_ratio)
    tripped[trips] = 1
    for n in np.flatnonzero(empty | newly_over | trips):
        if empty[n]:
            first = inputs[n][0]
            c = hold[first] if hold[first] != 0 else node_cause[first]
            node_cause[n] = out.emit(T_UPS_BATTERY_EXHAUSTED, n, c, 0.0, t_empty[n])
        if newly_over[n]:
            ovl_cause[n] = out.emit(T_CAPACITY_EXCEEDED, n, -out.n if out.n > 0 else last_ref, ratio[n], t_s)
        if trips[n]:
            c = ovl_cause[n] if ovl_cause[n] != 0 else last_ref
            node_cause[n] = out.emit(T_BREAKER_TRIP_AUTO, n, c, heating[n], t_s + dt_s)
    return out.n
