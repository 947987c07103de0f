"""The air models a hall can be solved with (:data:`AIR_MODELS`); docs/validation.md compares them
with the CFD rooms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from dctwin.twin.physics import airflow, thermal
from dctwin.twin.physics.turbulence import OneEquation


@dataclass(frozen=True)
class AirModel:
    """How a hall's air is solved: the flow's momentum advection, whether every march starts from
    rest, the eddy viscosity (None: Chen's zero-equation model; a
    :class:`~dctwin.twin.physics.turbulence.OneEquation`: a turbulent kinetic energy carried with the
    flow) and the temperature transport (TVD correction, diffusivity floor)."""

    scheme: str = airflow.SCHEME
    cold_start: bool = False
    tvd: bool = False
    alpha_floor: float = thermal.ALPHA_FLOOR
    turbulence: Optional[OneEquation] = None
    #: False: steady solves only (a run's temperature step has no TVD correction)
    runs: bool = True
    #: the rack-front jets in the temperature solve (session 25, ``thermal.jet_tubes``): 0 off, else the rate
    #: (x the tile's velocity) at which a jet's free edge draws room air at a row's end or a gap, which the
    #: intakes along the tile take at the stream's temperature (steady solves and runs alike). 0.3 (Launder &
    #: Rodi) made all 22 CFD room/cases better (docs/validation.md, "Session 25"); off: a recording stores no
    #: air model, so switching it on in "fast" would replay every earlier recording differently
    front_jet_edge: float = 0.0


#: "fast": the live model (semi-Lagrangian advection, warm starts, upwind temperature), used by the
#: editor and every run. "validated": steady design checks, closest to the CFD rooms of
#: docs/validation.md: the limited MacCormack advection started from rest at every march (so the
#: flow depends on the layout only, never on the flow before: the less damped advection can settle
#: in two states after a warm start), TVD temperature transport and a 0.01 m2/s diffusivity floor;
#: two to five times the flow time of "fast".
AIR_MODELS = {"fast": AirModel(),
              "validated": AirModel(scheme="mcl", cold_start=True, tvd=True, alpha_floor=0.01, runs=False),
              # "fast" with the one-equation eddy viscosity (k carried with the flow, mixing length up to
              # 0.4 m) and the temperature diffusivity its nu_t / Pr_t gives, floored at 0.005 m2/s:
              # docs/validation.md, "Session 21". Not the default: better on the tuned rooms (1.58 ->
              # 1.40 K mean RMS), worse on the held-out ones (2.41 -> 2.51 K).
              "one_equation": AirModel(alpha_floor=0.005, turbulence=OneEquation(l_max=0.4))}
