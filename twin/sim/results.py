"""What the engine reports, as typed values: the state of a hall now and the summary of a run.

:class:`HallSummary` is what ``dctwin solve --json`` prints (``replay --json`` adds nothing: its
``t_s`` is the replayed second) and what the views draw; :class:`RunSummary` is what ``dctwin
simulate --json`` prints. Both are dataclasses of plain values; ``to_json()`` gives the CLI's JSON
object, key for key and in the same order as the engine has always printed it. A field whose
metadata says ``omit_none`` is left out of the JSON while it is None (a hall without racks has no
ASHRAE counts, a site without a chilled-water plant no plant headroom); ``json=False`` fields are
for the views only (a quick answer while the flow settles, a preview from recorded series).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Optional


def _omit_none() -> Any:
    return field(default=None, metadata={"omit_none": True})


def _view_only(default: Any) -> Any:
    return field(default=default, metadata={"json": False})


def _json_value(v: Any) -> Any:
    if is_dataclass(v) and not isinstance(v, type):
        return v.to_json()
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    return v


class _Json:
    """``to_json()`` of a result dataclass: its fields in order, nested results as objects."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            if not f.metadata.get("json", True):
                continue
            v = getattr(self, f.name)
            if v is None and f.metadata.get("omit_none"):
                continue
            out[f.name] = _json_value(v)
        return out


@dataclass
class RackResult(_Json):
    """One rack now: intake and exhaust air (°C), electrical power (W), airflow (m3/s) and its
    protection state ("ok", "throttled", "shutdown", "unpowered", "critical"). A preview from
    recorded series knows the inlet (and maybe the power) only.

    ``inlet_c`` is the room air at the rack's front and ``airflow_m3s`` what the rack draws from the room;
    ``recirculated_share`` is the share of its servers' air that is its own exhaust, back through the
    rack units without blanking panels (``Rack.open_u``; 0 fully blanked), and ``server_intake_c`` what
    the servers breathe (the protection and the alarms follow it)."""

    inlet_c: float
    exhaust_c: Optional[float] = _omit_none()
    power_w: Optional[float] = _omit_none()
    airflow_m3s: Optional[float] = _omit_none()
    state: Optional[str] = _omit_none()
    recirculated_share: Optional[float] = _omit_none()
    server_intake_c: Optional[float] = _omit_none()

    @property
    def intake_c(self) -> float:
        """What the rack's servers breathe (°C): ``server_intake_c`` where known, else the room air at its
        front (the two are one for a fully blanked rack)."""
        return self.inlet_c if self.server_intake_c is None else self.server_intake_c


@dataclass
class UnitResult(_Json):
    """One cooling unit now: return and supply air (°C), heat removed (W), airflow (m3/s) and
    "running" or "failed" (None before its first evaluation: a state restored from a keyframe)."""

    return_c: float
    supply_c: float
    duty_w: float
    airflow_m3s: float
    state: Optional[str] = _omit_none()


@dataclass
class Headroom(_Json):
    """Load and capacity of a power node, cooling unit, chiller or plant (W), with the headroom
    now and after losing its redundant partner (N-1). None: unlimited (no capacity given)."""

    load_w: Optional[float]
    capacity_w: Optional[float]
    headroom_w: Optional[float]
    headroom_n1_w: Optional[float]


@dataclass
class AshraeCounts(_Json):
    """Racks per ASHRAE state of their inlet, and the racks outside their allowable range."""

    recommended: int
    allowable: int
    out_of_allowable: int
    racks_out: list[str]


@dataclass
class GridInfo(_Json):
    """The air grid: cells per axis and cell sizes (m)."""

    nx: int
    ny: int
    nz: int
    dx_m: float
    dy_m: float
    dz_m: float


@dataclass
class FlowInfo(_Json):
    """The air flow: whether its march settled, the tile airflow (m3/s) and plenum pressure (Pa)."""

    converged: bool
    tile_airflow_m3s: float
    plenum_dp_pa: float


@dataclass
class UpsState(_Json):
    """A UPS with a battery now: state of charge (0..1) and mode ("online", "battery", "bypass", ...)."""

    soc: float
    mode: Optional[str] = None


@dataclass
class HallSummary(_Json):
    """The state of one hall now (``dctwin solve --json``). See the module docstring."""

    hall: str = ""
    t_s: float = 0.0
    racks: dict[str, RackResult] = field(default_factory=dict)
    cooling_units: dict[str, UnitResult] = field(default_factory=dict)
    max_inlet_c: Optional[float] = None
    it_power_w: Optional[float] = None
    energy_error: float = 0.0
    air_energy_error: float = 0.0
    solve_s: float = 0.0
    grid: Optional[GridInfo] = None
    flow: Optional[FlowInfo] = None
    warnings: list[str] = field(default_factory=list)
    engine_version: str = ""
    power_nodes: dict[str, Headroom] = field(default_factory=dict)
    pue: Optional[float] = None
    rci_hi: Optional[float] = _omit_none()
    rci_lo: Optional[float] = _omit_none()
    ashrae: Optional[AshraeCounts] = _omit_none()
    cooling_headroom: Optional[dict[str, Headroom]] = _omit_none()
    plant_headroom: Optional[dict[str, Headroom]] = _omit_none()
    chw_supply_c: Optional[float] = _omit_none()
    #: a quick first answer while the flow after an edit still settles (the full solve follows)
    settling: bool = _view_only(False)
    #: read from a recording's series while the exact state is replayed (racks' inlets and powers only)
    preview: bool = _view_only(False)


@dataclass
class RunSummary(_Json):
    """A transient run (``dctwin simulate --json``): the state at its end (``final``, whose keys the
    JSON carries at the top level) and what happened during it."""

    final: HallSummary = field(metadata={"json": False})
    duration_s: float = 0.0
    dt_s: float = 0.0
    #: hottest rack inlet over the run (°C; None without racks)
    max_inlet_c: Optional[float] = None
    final_max_inlet_c: Optional[float] = None
    racks_over_allowable: list[str] = field(default_factory=list)
    first_over_allowable_s: Optional[float] = None
    #: energy balance of the run: |in - removed - stored change| / max(in, removed, 1 J)
    energy_error: float = 0.0
    heat_in_j: float = 0.0  # what the servers gave the air (J)
    heat_removed_j: float = 0.0  # what coils and doors took (J), and the heat of racks without an air path
    stored_change_j: float = 0.0  # change of the heat held by the air and the servers (J)
    #: flow marches, and small airflow changes followed without one (flow_adjust)
    flow_solves: int = 0
    flow_adjusts: int = 0
    #: events recorded, by kind
    events: dict[str, int] = field(default_factory=dict)
    racks_down: dict[str, float] = field(default_factory=dict)
    alarms: list[dict[str, Any]] = field(default_factory=list)
    pue_avg: Optional[float] = None
    it_energy_kwh: float = 0.0
    facility_energy_kwh: float = 0.0
    ups_min_soc: Optional[float] = None
    #: adaptive steps (``simulate`` without ``--fixed-step``), the steps taken, the long steps undone and
    #: redone shorter, and the longest step (s)
    adaptive: bool = False
    steps_taken: int = 0
    steps_rejected: int = 0
    largest_dt_s: float = 0.0
    #: where the run was recorded (``simulate --out``)
    recording: Optional[dict[str, Any]] = _omit_none()

    def to_json(self) -> dict[str, Any]:
        out = self.final.to_json()
        out.update(super().to_json())
        return out
