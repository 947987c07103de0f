"""Integer codes shared by the numba kernels, their numpy references and the modules that call them.

Modes, kinds, transitions and the layout of each kernel family's ``prm`` parameter array, in one
module that does not import numba (so the numpy references run without it). Model numbers are not
here: they live in :mod:`dctwin.twin.physics.constants` and reach the kernels through the ``prm``
arrays built below (numba's cache does not notice when a global of another module changes).

The codes themselves are compiled into the kernels as constants: they are part of the kernels'
structure. Changing one means touching the kernel modules too (which invalidates numba's cache).
"""

from __future__ import annotations

import numpy as np

from dctwin.twin.physics import constants as K

# =========================================================================== racks (it.py)

#: rack modes (state)
MODE_ON, MODE_SHUTDOWN, MODE_UNPOWERED = 0, 1, 2
#: why a rack is down
CAUSE_NONE, CAUSE_INLET, CAUSE_COLDPLATE, CAUSE_POWER = 0, 1, 2, 3
#: transition codes (one per rack per step)
TR_NONE, TR_THROTTLE, TR_UNTHROTTLE, TR_SHUTDOWN, TR_RESTART, TR_POWER_LOST = 0, 1, 2, 3, 4, 5
#: event kind of each rack transition code
RACK_TRANSITION_KINDS = {TR_THROTTLE: "throttle", TR_UNTHROTTLE: "unthrottle", TR_SHUTDOWN: "shutdown",
                         TR_RESTART: "restart", TR_POWER_LOST: "rack_down"}

#: layout of the rack kernels' ``prm``: 6 coefficients of fCPU, 6 of fFlow, then one value each
RACK_P_CPU = 0
RACK_P_FLOW = 6
(RACK_P_UMAX, RACK_P_TMIN, RACK_P_TMAX, RACK_P_FMIN, RACK_P_FMAX, RACK_P_RHOCP, RACK_P_FLOOR,
 RACK_P_HYST) = range(12, 20)
RACK_N_PARAMS = 20


def rack_params() -> np.ndarray:
    """The ``prm`` array of the rack kernels, from :mod:`dctwin.twin.physics.constants`."""
    prm = np.full(RACK_N_PARAMS, np.nan)  # a slot left unset shows as NaN
    prm[RACK_P_CPU:RACK_P_CPU + 6] = K.CPU_CURVE
    prm[RACK_P_FLOW:RACK_P_FLOW + 6] = K.FLOW_CURVE
    prm[RACK_P_UMAX] = K.UTIL_MAX
    prm[RACK_P_TMIN] = K.CURVE_T_MIN_C
    prm[RACK_P_TMAX] = K.CURVE_T_MAX_C
    prm[RACK_P_FMIN] = K.FLOW_FRAC_MIN
    prm[RACK_P_FMAX] = K.FLOW_FRAC_MAX
    prm[RACK_P_RHOCP] = K.RHO_CP_AIR
    prm[RACK_P_FLOOR] = K.THROTTLE_FLOOR
    prm[RACK_P_HYST] = K.THROTTLE_HYSTERESIS_K
    return prm


# =========================================================================== cooling units (cooling_air.py)

KIND_CRAH, KIND_CRAC, KIND_INROW, KIND_RDHX, KIND_CDU = 0, 1, 2, 3, 4
UNIT_KIND_CODES = {"crah": KIND_CRAH, "crac": KIND_CRAC, "inrow": KIND_INROW, "rdhx": KIND_RDHX, "cdu": KIND_CDU}
#: airflow control of a unit's fans
CONTROL_FIXED, CONTROL_PLENUM, CONTROL_INLET, CONTROL_RETURN, CONTROL_DP = 0, 1, 2, 3, 4
CONTROL_CODES = {"fixed": CONTROL_FIXED, "plenum_pressure": CONTROL_PLENUM, "inlet_target": CONTROL_INLET,
                 "return_temperature": CONTROL_RETURN, "containment_dp": CONTROL_DP}

#: layout of the unit kernels' ``prm``: ρ cp of air, 4 coefficients of the EC-fan part-load curve,
#: its minimum flow fraction, the fan speed limits
UNIT_P_RHOCP = 0
UNIT_P_PLF = 1
UNIT_P_FFR_MIN, UNIT_P_SMIN, UNIT_P_SMAX = 5, 6, 7
UNIT_N_PARAMS = 8


def unit_params() -> np.ndarray:
    """The ``prm`` array of the cooling-unit kernels, from :mod:`dctwin.twin.physics.constants`."""
    prm = np.full(UNIT_N_PARAMS, np.nan)
    prm[UNIT_P_RHOCP] = K.RHO_CP_AIR
    prm[UNIT_P_PLF:UNIT_P_PLF + 4] = K.EC_FAN_PLF
    prm[UNIT_P_FFR_MIN] = K.EC_FAN_MIN_FLOW_FRAC
    prm[UNIT_P_SMIN] = K.FAN_SPEED_MIN
    prm[UNIT_P_SMAX] = K.FAN_SPEED_MAX
    return prm


# =========================================================================== power chain (power.py)

#: power-node kinds
K_UTILITY, K_GENERATOR, K_ATS, K_UPS, K_SWITCHBOARD, K_PDU, K_RPP = 0, 1, 2, 3, 4, 5, 6
POWER_KIND_CODES = {"utility": K_UTILITY, "generator": K_GENERATOR, "ats": K_ATS, "ups": K_UPS,
                    "switchboard": K_SWITCHBOARD, "pdu": K_PDU, "rpp": K_RPP}
#: UPS, generator and ATS modes
UPS_ONLINE, UPS_BATTERY, UPS_BYPASS, UPS_OFF = 0, 1, 2, 3
UPS_MODE_NAMES = ("online", "battery", "bypass", "off")
GEN_OFF, GEN_CRANKING, GEN_ON_LOAD, GEN_FAILED = 0, 1, 2, 3
GEN_STATE_NAMES = ("off", "cranking", "on_load", "failed")
ATS_NORMAL, ATS_EMERGENCY = 0, 1
#: consumer kinds
C_RACK, C_UNIT, C_CHILLER, C_PUMP = 0, 1, 2, 3

#: transition codes of the power kernel
(T_NODE_DARK, T_NODE_ENERGIZED, T_ATS_TRANSFER, T_ATS_RETRANSFER, T_GENERATOR_START, T_GENERATOR_ON_LOAD,
 T_GENERATOR_STOP, T_UPS_ON_BATTERY, T_UPS_ON_BYPASS, T_UPS_ONLINE, T_UPS_BATTERY_EXHAUSTED, T_BREAKER_TRIP_AUTO,
 T_CAPACITY_EXCEEDED, T_RACK_DOWN, T_RACK_UP, T_UNIT_STOP, T_UNIT_START, T_GENERATOR_FAILED) = range(18)
#: code -> (event kind of twin.events, condition text); T_GENERATOR_FAILED is
#: recorded as ``generator_stop`` with the condition "failed to start"
POWER_TRANSITION_KINDS = (
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

#: layout of the power kernel's ``prm``
(POWER_P_UPS_A0, POWER_P_UPS_A1, POWER_P_UPS_A2, POWER_P_CHARGE_FRACTION, POWER_P_BREAKER_TAU_S,
 POWER_P_BREAKER_TRIP_RATIO, POWER_P_TIMER_EPS_S) = range(7)
POWER_N_PARAMS = 7


def power_params() -> np.ndarray:
    """The ``prm`` array of the power kernel, from :mod:`dctwin.twin.physics.constants`."""
    prm = np.full(POWER_N_PARAMS, np.nan)
    prm[POWER_P_UPS_A0], prm[POWER_P_UPS_A1], prm[POWER_P_UPS_A2] = K.UPS_A0, K.UPS_A1, K.UPS_A2
    prm[POWER_P_CHARGE_FRACTION] = K.CHARGE_FRACTION
    prm[POWER_P_BREAKER_TAU_S] = K.BREAKER_TAU_S
    prm[POWER_P_BREAKER_TRIP_RATIO] = K.BREAKER_TRIP_RATIO
    prm[POWER_P_TIMER_EPS_S] = K.TIMER_EPS_S
    return prm


# =========================================================================== chilled-water plant (plant.py)

CHILLER_WATER, CHILLER_AIR = 0, 1
LOOP_CHW, LOOP_CW, LOOP_TCS = 0, 1, 2
LOOP_CODES = {"chw": LOOP_CHW, "cw": LOOP_CW, "tcs": LOOP_TCS}

# =========================================================================== workloads (workloads.py)

KIND_CONSTANT, KIND_DIURNAL, KIND_AI_TRAINING, KIND_CSV = 0, 1, 2, 3
WORKLOAD_KIND_CODES = {"constant": KIND_CONSTANT, "diurnal": KIND_DIURNAL, "ai_training": KIND_AI_TRAINING,
                       "csv": KIND_CSV}
