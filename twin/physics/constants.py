"""Physical constants and model defaults, in one place (SI units; temperatures in °C).

Every other physics module imports its numbers from here so a default is
changed once. Each value names its source: ``PHYSICS.md`` / ``physics-reference.md``
section, tagged [V] (read in a source), [L] (literature value) or [D]
(derived here, with the derivation).
"""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------- fluids

#: air density (kg/m3), PHYSICS.md: 1.19 (≈ 24 °C at sea level)
RHO_AIR = 1.19
#: air specific heat (J/(kg K)), reference §0 [V]
CP_AIR = 1006.0
#: volumetric heat capacity of air (J/(m3 K))
RHO_CP_AIR = RHO_AIR * CP_AIR
#: water density (kg/m3) and specific heat (J/(kg K)), reference §0
RHO_WATER = 998.0
CP_WATER = 4180.0
#: 25 % propylene glycol, typical direct-to-chip secondary loop, reference §0 [L]
RHO_PG25 = 1020.0
CP_PG25 = 3900.0

# --------------------------------------------------------------------------- ASHRAE classes

#: recommended inlet dry-bulb range for A1-A4 (°C), reference §6.6 [V]
ASHRAE_RECOMMENDED_C = (18.0, 27.0)
#: allowable inlet dry-bulb range per class (°C), reference §6.6 [V] (H1: 2021 high-density class [L])
ASHRAE_ALLOWABLE_C: dict[str, tuple[float, float]] = {
    "A1": (15.0, 32.0),
    "A2": (10.0, 35.0),
    "A3": (5.0, 40.0),
    "A4": (5.0, 45.0),
    "H1": (5.0, 25.0),
}
#: the lines every view draws (trends, colour bar, report) and the review's breach figure uses (°C):
#: the recommended envelope and class A1's allowable maximum
ASHRAE_RECOMMENDED_MIN_C, ASHRAE_RECOMMENDED_MAX_C = ASHRAE_RECOMMENDED_C
ASHRAE_A1_MAX_C = ASHRAE_ALLOWABLE_C["A1"][1]
#: critical inlet = allowable max + this margin (K). Vendors put the critical
#: (shutdown) threshold about 5 K above the warning one: Dell PowerEdge fresh
#: air warns at 42 °C, critical 47 °C; Dell C8000 38 °C event, 43 °C
#: non-recoverable (reference §3.4 [V]). With warning = allowable max, A2
#: racks throttle from 35 °C and reach 50 % / may shut down at 40 °C.
CRITICAL_MARGIN_K = 5.0
#: time above the critical inlet before a rack shuts down (s); HPE iLO waits 60 s (reference §3.4 [V])
SHUTDOWN_DWELL_S = 60.0
#: throttled power at the critical inlet, as a fraction of unthrottled CPU power (PHYSICS.md §2)
THROTTLE_FLOOR = 0.5
#: a throttled rack's flag (and event) clears only this far below the warning (K),
#: so an inlet hovering at the threshold does not flood the event log
THROTTLE_HYSTERESIS_K = 0.5
#: time conditions must stay good (inlet at or below warning, power on, cold plate
#: below its warning) before a shut-down or unpowered rack restarts (s). A server
#: boot plus a BMC power-on delay takes a few minutes; 300 s [L].
RESTART_DELAY_S = 300.0

# --------------------------------------------------------------------------- IT equipment curves

#: design inlet temperature of the OpenStudio curves (°C), reference §3.1 [V]
DESIGN_INLET_C = 22.5
#: OpenStudio default CPU power curve fCPU(u, T) = c1 + c2 u + c3 u² + c4 T + c5 T² + c6 u T, reference §3.1 [V]
CPU_CURVE = (-0.035289, 1.0, 0.0, 0.0015684, 0.0, 0.0)
#: OpenStudio default airflow curve fFlow(u, T), same form, reference §3.1 [V]
FLOW_CURVE = (-1.025, 0.9, 0.0, 0.05, 0.0, 0.0)
#: range of the curves' inputs: utilization 0..1.5 (E+ x range) and inlet °C
UTIL_MAX = 1.5
CURVE_T_MIN_C = -10.0
CURVE_T_MAX_C = 99.0
#: server fans never stop while the server runs: BMCs hold a floor speed; the
#: flow fraction is clamped to [FLOW_FRAC_MIN, FLOW_FRAC_MAX] (fans at full
#: speed give about twice the design flow, the design point being mid-range) [L]
FLOW_FRAC_MIN = 0.2
FLOW_FRAC_MAX = 2.0
#: fan share of design power. Reference §3.3: 5-15 % at normal inlet is typical;
#: the E+/OpenStudio prototypes' 28.6 % is called conservative there and, with
#: the cube law and the airflow curve (1.63 × flow at 35 °C), would nearly double
#: rack power at 35 °C. 0.10 is the middle of the typical range.
FAN_FRACTION = 0.10

# --------------------------------------------------------------------------- server thermal mass

#: server thermal mass per kW of design power (J/K per kW). Reference §2.1 [L]:
#: a 1U server ≈ 10 kJ/K at ≈ 0.5 kW ⇒ 20 kJ/K per kW. With the default
#: 1e-4 m3/s per W and ε = 0.7, ε ṁ cp ≈ 84 W/K per kW, so τ = C/(ε ṁ cp) ≈ 240 s,
#: inside the "several minutes" (2-10 min) the sources report [D].
SERVER_MASS_J_PER_K_PER_KW = 20e3
#: effectiveness of the air / server-mass exchange, reference §2.1 [L] (0.5-0.9)
SERVER_EFFECTIVENESS = 0.7

# --------------------------------------------------------------------------- direct-to-chip cold plates

#: cold-plate (package + copper plate + coolant held in it) thermal mass per kW of
#: design liquid heat (J/K per kW) [D]: a ~0.7 kW GPU carries ≈ 0.25 kg copper
#: base (0.385 kJ/(kg K) ⇒ 0.1 kJ/K) and ≈ 0.06 L of coolant in its plate
#: (0.24 kJ/K) ⇒ ≈ 0.5 kJ/K per kW. At full heat with no coolant flow the plates
#: warm by P/C = 2 K/s: throttling within about 10 s of a CDU loss.
COLDPLATE_J_PER_K_PER_KW = 0.5e3
#: cold-plate temperature rise over the coolant at design heat (K): die ~60 °C on
#: 30 °C coolant, giving the plate-to-coolant conductance G = P_liq,des / 30 K [L].
COLDPLATE_RISE_K = 30.0
#: coolant (TCS) supply temperature when nothing drives it (°C), reference §5.5: 25-45 °C [V]
COOLANT_SUPPLY_C = 30.0
#: cold-plate warning (throttle start) and critical (shutdown) temperatures (°C):
#: GPU slowdown ≈ 85-90 °C, HBM throttle 95 °C, reference §3.4 [L/V]
COLDPLATE_WARN_C = 85.0
COLDPLATE_CRIT_C = 95.0
#: chips trip at once (THERMTRIP) when the package reaches critical: no dwell (s)
COLDPLATE_DWELL_S = 0.0

# --------------------------------------------------------------------------- cooling units

#: EC plug fan of the EnergyPlus data-centre example, reference §5.1 [V]:
#: 8.5 m3/s at 486 Pa, total efficiency 0.7 ⇒ 5.9 kW, i.e. Δp/η = 694 W per m3/s [D]
FAN_W_PER_M3S = 486.0 / 0.7
#: EC fan part-load power fraction PLF(FFR) = c0 + c1 F + c2 F² + c3 F³, reference §5.1 [V]
EC_FAN_PLF = (0.06990146, 1.39500612, -3.35487336, 2.89232315)
#: minimum flow fraction of that fan curve, reference §5.1 [V]
EC_FAN_MIN_FLOW_FRAC = 0.05
#: chilled-water supply temperature when the plant does not drive it (°C), twin.layout.Plant default
CHW_SUPPLY_C = 12.0
#: CRAH coil: leaving air cannot be colder than entering chilled water + this approach (K).
#: Modern chilled-water coils at design run 2-4 K leaving-air approach [L].
COIL_APPROACH_K = 3.0
#: closed-loop time constant of the supply-temperature loop (s): a λ-tuned PI on a
#: coil with ~1 min valve/coil lag gives a first-order response of this λ [L].
SUPPLY_LOOP_TAU_S = 60.0
#: rear-door heat exchanger air-side effectiveness against entering water [L] (0.6-0.8 passive doors)
RDHX_EFFECTIVENESS = 0.7
#: CDU pump electrical power per W of CDU capacity [D]: coolant flow for ΔT 10 K is
#: 1e6/(1020·3900·10) = 0.025 m3/s per MW; at 200 kPa head and η 0.6 the pump
#: draws 0.025·2e5/0.6 ≈ 8.4 kW per MW ≈ 0.01 W/W
CDU_PUMP_W_PER_W = 0.01
#: fan-speed control: proportional gains and limits (documented in cooling_air.py)
FAN_SPEED_MIN = 0.3
FAN_SPEED_MAX = 1.0
#: rack-inlet target (°C) for units with airflow_control "inlet_target": 2 K under the recommended max
INLET_TARGET_C = 25.0
#: fan speed change per K of inlet error (fraction of design airflow per K)
INLET_GAIN_PER_K = 0.1
#: raised-floor plenum pressure target (Pa) for "plenum_pressure": 0.05 in. w.c. ≈ 12.5 Pa [L]
PLENUM_TARGET_PA = 12.5
#: fan speed change per unit relative pressure error
PLENUM_GAIN = 1.0
#: return-air target (°C) for "return_temperature" (an in-row unit's own return): a hot aisle of
#: 18 °C supply and a 12 K rack rise, less 2 K so the unit draws a little cold air in rather than
#: let hot air out
RETURN_TARGET_C = 28.0
#: fan speed change per K of return error (fraction of design airflow per K)
RETURN_GAIN_PER_K = 0.1
#: pressure a "containment_dp" unit holds its zone at over the room (Pa): slightly below the room
#: for the hot aisle it breathes from (room air leaks in, hot air never out), 0.004 in. w.c.
DP_TARGET_PA = -1.0
#: fan speed response time constant (s); EC fans ramp in seconds, the loop is detuned to ~10 s [L]
FAN_SPEED_TAU_S = 10.0

# --------------------------------------------------------------------------- workloads

#: defaults of the workload profiles (PHYSICS.md §2)
DIURNAL_PERIOD_S = 86400.0
DIURNAL_AMPLITUDE = 0.2
#: AI training: checkpoint every 30 min for 2 min at 30 % utilization [L]
AI_PERIOD_S = 1800.0
AI_DIP_S = 120.0
AI_DIP_UTILIZATION = 0.3
#: safety limits on a CSV trace file
CSV_MAX_BYTES = 64 * 1024 * 1024
CSV_MAX_ROWS = 2_000_000

# --------------------------------------------------------------------------- power chain

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

# --------------------------------------------------------------------------- chillers

# The plant kernel compiles these curves in as constants: after changing one, clear numba's cache
# (or touch twin/physics/_plant_numba.py) so the kernel is compiled again.
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
