"""The air models a hall can be solved with (:data:`AIR_MODELS`); docs/validation.md compares them
with the CFD rooms."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Optional, Union

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
    #: Rodi) made all 22 CFD room/cases better (docs/validation.md, "Sessions 25 and 26"): on in "fast"
    front_jet_edge: float = 0.0
    # A field added here must default to what the solve did before it (off): a recording stores the model's
    # fields (:func:`to_params`), and one made before the field existed rebuilds it from this default.


#: "fast": the live model (semi-Lagrangian advection, warm starts, upwind temperature, the rack-front jets'
#: free edge at 0.3: session 26), used by the editor and every run. "validated": steady design checks,
#: closest to the CFD rooms of docs/validation.md: the limited MacCormack advection started from rest at
#: every march (so the flow depends on the layout only, never on the flow before: the less damped
#: advection can settle in two states after a warm start), TVD temperature transport and a 0.01 m2/s
#: diffusivity floor; two to five times the flow time of "fast".
AIR_MODELS = {"fast": AirModel(front_jet_edge=0.3),
              "validated": AirModel(scheme="mcl", cold_start=True, tvd=True, alpha_floor=0.01, runs=False),
              # "fast" with the one-equation eddy viscosity (k carried with the flow, mixing length up to
              # 0.4 m) and the temperature diffusivity its nu_t / Pr_t gives, floored at 0.005 m2/s:
              # docs/validation.md, "Session 21". Not the default: better on the tuned rooms (1.58 ->
              # 1.40 K mean RMS), worse on the held-out ones (2.41 -> 2.51 K). With the free edge (session
              # 26, every room/case 0.02-0.23 K better) 1.33 and 2.39 K, against "fast"'s 1.49 and 2.40 K.
              "one_equation": AirModel(alpha_floor=0.005, turbulence=OneEquation(l_max=0.4), front_jet_edge=0.3)}

#: the model of a recording that stores none (every one made before session 26): "fast" as it was then,
#: the rack-front jets' free edge off
BEFORE_STORED = AirModel()


def model_name(model: AirModel) -> str:
    """The name of ``model`` in :data:`AIR_MODELS`, "custom" if it is none of them (a recording's model that
    a default has since moved away from)."""
    return next((name for name, m in AIR_MODELS.items() if m == model), "custom")


def to_params(name: str, model: AirModel) -> dict[str, Any]:
    """What a recording stores of the air model it was made with (JSON): its name and every field, so
    that a replay rebuilds it whatever the defaults are by then."""
    return {"name": name, **asdict(model)}


def from_params(stored: Optional[dict[str, Any]]) -> AirModel:
    """The air model a recording stored (:func:`to_params`); :data:`BEFORE_STORED` when it stored none.

    A field the recording lacks (added after it was made) takes the plain default, which is what the
    solve did before the field existed. Raises ``ValueError`` for a stored model that is not one."""
    if stored is None:
        return BEFORE_STORED
    if not isinstance(stored, dict) or not isinstance(stored.get("name", ""), str):
        raise ValueError(f"not an air model: {stored!r}")
    known = {f.name for f in fields(AirModel)}
    kw = {k: v for k, v in stored.items() if k in known}
    unknown = sorted(set(stored) - known - {"name"})
    if unknown:  # a newer dctwin's field: this one cannot solve as it did
        raise ValueError(f"the air model has fields this dctwin does not know ({', '.join(unknown)})")
    turb = kw.get("turbulence")
    if turb is not None:
        if not isinstance(turb, dict):
            raise ValueError(f"not a turbulence model: {turb!r}")
        kw["turbulence"] = OneEquation(**turb)
    for k in ("alpha_floor", "front_jet_edge"):
        v = kw.get(k, 0.0)
        if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0):
            raise ValueError(f"{k} {v!r} is not a number >= 0")
    for k in ("cold_start", "tvd", "runs"):
        if not isinstance(kw.get(k, False), bool):
            raise ValueError(f"{k} {kw[k]!r} is not true or false")
    if not isinstance(kw.get("scheme", ""), str):
        raise ValueError(f"scheme {kw['scheme']!r} is not a name")
    return AirModel(**kw)


def resolve(air_model: Union[str, AirModel]) -> tuple[str, AirModel]:
    """``(name, model)`` of a name in :data:`AIR_MODELS` or a model itself (a recording's)."""
    if isinstance(air_model, AirModel):
        return model_name(air_model), air_model
    if air_model not in AIR_MODELS:
        raise KeyError(air_model)
    return air_model, AIR_MODELS[air_model]
