"""Codes and defaults of the power-chain model, shared by the numba kernel, its
numpy reference and :mod:`dctwin.twin.physics.power`.

numba's cache does not notice when globals of another module change, so the
numeric model constants reach the kernels as one float64 array ``prm``
(:func:`power_params`); the integer codes below are part of the kernels'
structure and are frozen at compile time (changing one means touching
``_power_numba.py`` too, which invalidates the cache).
"""

from __future__ import annotations

# --------------------------------------------------------------------------- node kinds
K_UTILITY, K_GENERATOR, K_ATS, K_UPS, K_SWITCHBOARD, K_PDU, K_RPP = 0, 1, 2, 3, 4, 5, 6
KIND_CODES = {"utility": K_UTILITY, "generator": K_GENERATOR, "ats": K_ATS, "ups": K_UPS,
              "switchboard": K_SWITCHBOARD, "pdu": K_PDU, "rpp": K_RPP}

# --------------------------------------------------------------------------- modes
UPS_ONLINE, UPS_BATTERY, UPS_BYPASS, UPS_OFF = 0, 1, 2, 3
UPS_MODE_NAMES = ("online", "battery", "bypass", "off")
GEN_OFF, GEN_CRANKING, GEN_ON_LOAD, GEN_FAILED = 0, 1, 2, 3
GEN_STATE_NAMES = ("off", "cranking", "on_load", "failed")
ATS_NORMAL, ATS_EMERGENCY = 0, 1

# --------------------------------------------------------------------------- transition codes
T_NODE_DARK = 0
T_NODE_ENERGIZED = 1
T_ATS_TRANSFER = 2
T_ATS_RETRANSFER = 3
T_GENERATOR_START = 4
T_GENERATOR_ON_LOAD = 5
T_GENERATOR_STOP = 6
T_UPS_ON_BATTERY = 7
T_UPS_ON_BYPASS = 8
T_UPS_ONLINE = 9
T_UPS_BATTERY_EXHAUSTED = 10
T_BREAKER_TRIP_AUTO = 11
T_CAPACITY_EXCEEDED = 12
T_RACK_DOWN = 13
T_RACK_UP = 14
T_UNIT_STOP = 15
T_UNIT_START = 16
T_GENERATOR_FAILED = 17
#: code -> (event kind of twin.events, condition text); T_GENERATOR_FAILED is
#: recorded as ``generator_stop`` with the condition "failed to start"
TRANSITION_KINDS = (
    ("node_dark", "lost power"),
    ("node_energized", "power back"),
    ("ats_transfer", "normal source lost, emergency source available"),
    ("ats_retransfer", "normal source back"),
    ("generator_start", "start requested by the ATS"),
    ("generator_on_load", "start delay elapsed"),
    ("generator_stop", "no longer needed"),
    ("ups_on_battery", "input lost"),
    ("ups_on_bypass", "load above rating"),
    ("ups_online", "input back / load within rating"),
    ("ups_battery_exhausted", "battery empty"),
    ("breaker_trip_auto", "overload (I2t)"),
    ("capacity_exceeded", "load above capacity"),
    ("rack_down", "all feeds lost"),
    ("rack_up", "power back, restart delay elapsed"),
    ("unit_stop", "all feeds lost"),
    ("unit_start", "power back"),
    ("generator_stop", "failed to start"),
)
#: transitions whose target is a consumer (rack, unit, chiller, pump), not a power node
CONSUMER_TRANSITIONS = (T_RACK_DOWN, T_RACK_UP, T_UNIT_STOP, T_UNIT_START)

# --------------------------------------------------------------------------- consumer kinds
C_RACK, C_UNIT, C_CHILLER, C_PUMP = 0, 1, 2, 3

# --------------------------------------------------------------------------- defaults
#: UPS loss P_loss = P_rated (a0 + a1 x + a2 x²), x = P_out / P_rated: double-conversion fit
#: to 93.5 / 95.5 / 96.0 % at 25 / 50 / 100 % load (physics-reference §4.2 [D])
UPS_A0, UPS_A1, UPS_A2 = 0.0131, 0.0132, 0.0153
#: Peukert exponent when a UPS gives none (VRLA upper end, reference §4.3 [V])
PEUKERT_K = 1.15
#: battery recharge power after an outage as a fraction of the UPS rating (reference §4.2: 10-20 % [L])
CHARGE_FRACTION = 0.10
#: generator start delay (s): NFPA 110 type 10 (reference §4.4 [V])
GEN_START_DELAY_S = 10.0
#: ATS defaults (s): transfer as soon as the emergency source is good (brief); retransfer
#: after 5 min of stable normal source (ASCO TDEN, reference §4.4 [V]); engine-start delay 0
ATS_TRANSFER_DELAY_S = 0.0
ATS_RETRANSFER_DELAY_S = 300.0
ATS_START_DELAY_S = 0.0
#: distribution loss as a fraction of the power through the node, per kind when the
#: layout gives none (reference §4.7 [L]: PDU transformer 1-1.5 % no-load + 1-1.5 %
#: square law at full load ≈ 2 %; switchgear and RPP wiring 0.5-1 %)
LOSS_FRACTION_DEFAULT = {"switchboard": 0.005, "pdu": 0.02, "rpp": 0.005}

#: breaker thermal model: dθ/dt = ((I/In)² − θ)/τ, trip when θ >= R_TRIP².
#: θ is the normalised I²t state (θ → (I/In)² at constant current). R_TRIP = 1.13
#: is the IEC 60898 conventional non-tripping current (never trips at or below
#: 1.13 In). From cold, t_trip = −τ ln(1 − R_TRIP²/r²): with τ = 120 s,
#: 2 In → 46 s ("seconds") and 1.35 In → 145 s ("minutes", UL 489 asks < 1 h);
#: 1.2 In → 261 s. tests/twin/physics/test_power.py checks these times.
BREAKER_TAU_S = 120.0
BREAKER_TRIP_RATIO = 1.13
#: tolerance on timer comparisons (s) so 10 × 1.0 s reaches a 10 s delay exactly
TIMER_EPS_S = 1e-9


# --------------------------------------------------------------------------- kernel parameters
P_UPS_A0, P_UPS_A1, P_UPS_A2, P_CHARGE_FRACTION, P_BREAKER_TAU_S, P_BREAKER_TRIP_RATIO, P_TIMER_EPS_S = range(7)
N_PARAMS = 7


def power_params():
    """The ``prm`` array of the power kernels, from the constants above."""
    import numpy as np

    prm = np.empty(N_PARAMS)
    prm[P_UPS_A0], prm[P_UPS_A1], prm[P_UPS_A2] = UPS_A0, UPS_A1, UPS_A2
    prm[P_CHARGE_FRACTION] = CHARGE_FRACTION
    prm[P_BREAKER_TAU_S] = BREAKER_TAU_S
    prm[P_BREAKER_TRIP_RATIO] = BREAKER_TRIP_RATIO
    prm[P_TIMER_EPS_S] = TIMER_EPS_S
    return prm
