"""Layout model: what a person edits.

A :class:`Site` holds one or more :class:`Hall` (racks, cooling units,
perforated tiles, return grilles, containment zones, obstructions such as
columns and walls), a power graph of :class:`PowerNode` (each in the power
room, or standing on a hall's floor), a cooling :class:`Plant` and workload
profiles.

Coordinates: x grows east, y grows north, z up, in metres from the hall's
south-west floor corner. ``x_m, y_m`` is the footprint corner with the
smallest coordinates. ``facing`` is the direction the front (air intake) of
a rack or unit looks toward: ``N`` = +y, ``E`` = +x, ``S`` = -y, ``W`` = -x.
``width_m`` runs along the front face, ``depth_m`` from front to back, so a
rack facing N or S covers ``width_m`` in x and ``depth_m`` in y, one facing E
or W covers ``depth_m`` in x and ``width_m`` in y.

Elements are frozen dataclasses; halls and the site hold them in lists and
are changed only through :mod:`dctwin.twin.model.commands` (or by loading a file).
Element ids are unique across the whole site.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator, Optional

from dctwin.twin.errors import LayoutError, LayoutIssue  # noqa: F401  (also importable from here)

FORMAT = "dctwin-layout"
VERSION = 1

FACINGS = ("N", "E", "S", "W")
COOLING_KINDS = ("crah", "crac", "inrow", "rdhx", "cdu")
POWER_KINDS = ("utility", "generator", "ats", "ups", "switchboard", "pdu", "rpp")
CONTAINMENT_KINDS = ("hot", "cold")
OBSTRUCTION_KINDS = ("column", "wall")
PLENUM_KINDS = ("raised_floor", "none")
WORKLOAD_KINDS = ("constant", "diurnal", "ai_training", "csv")
ASHRAE_CLASSES = ("A1", "A2", "A3", "A4", "H1")

#: Design airflow per watt of IT power when a rack gives none (m3/s per W).
DEFAULT_AIRFLOW_PER_W = 1e-4
#: Largest IT power a rack may declare (W); above is treated as a typo.
MAX_RACK_POWER_W = 250e3
#: Marker in ``assumed`` for an element the source does not have at all.
ASSUMED_EXISTS = "exists"
#: Largest hall side (m).
MAX_HALL_SIDE_M = 2000.0
#: Side of the square a power node standing on a hall's floor is drawn as (m): a cabinet's footprint.
POWER_MARK_M = 0.6
#: One rack unit (EIA-310): 44.45 mm tall, a 19-inch rack's opening between its rails 0.483 m wide; an
#: empty unit without a blanking panel opens U_OPENING_M2 = 0.0215 m2 from the rack's rear to its front.
U_HEIGHT_M = 0.04445
U_WIDTH_M = 0.483
U_OPENING_M2 = U_WIDTH_M * U_HEIGHT_M
#: A rack's frame above and below its mounting space (m): a 2.0 m rack holds 42 U.
RACK_FRAME_M = 0.13
_EPS = 1e-9


def rack_units(height_m: float) -> int:
    """Rack units a rack of ``height_m`` holds: (height − frame) / 44.45 mm (42 U in a 2.0 m rack)."""
    return max(int((height_m - RACK_FRAME_M) / U_HEIGHT_M + 1e-6), 0)


# --------------------------------------------------------------------------- elements


@dataclass(frozen=True)
class Element:
    """Base of every element with a stable string id.

    ``external_id`` says where an imported element came from (``"netbox:dcim.rack:14"``), so a later
    import of the same source updates it instead of adding a copy. ``assumed`` names the fields whose
    values an importer assumed rather than read (``"it_kw"``, ``"x_m"``); ``"exists"`` marks an element
    the source does not have at all (a UPS or CRAH added so the site can run).
    """

    id: str
    external_id: Optional[str] = field(default=None, kw_only=True)
    assumed: tuple[str, ...] = field(default=(), kw_only=True)

    #: name of the collection that holds this kind of element
    COLLECTION: ClassVar[str] = ""


@dataclass(frozen=True)
class _Box(Element):
    """An element with a footprint on the floor."""

    x_m: float = 0.0
    y_m: float = 0.0

    def footprint(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the floor footprint, in hall coordinates (m)."""
        sx, sy = self.size_xy()
        return (self.x_m, self.y_m, self.x_m + sx, self.y_m + sy)

    def size_xy(self) -> tuple[float, float]:
        """(x, y) extent (m): width along the front, turned with ``facing`` (none: width along x)."""
        w = getattr(self, "width_m")
        d = getattr(self, "depth_m")
        if getattr(self, "facing", "N") in ("E", "W"):
            return (d, w)
        return (w, d)


@dataclass(frozen=True)
class Rack(_Box):
    """An IT rack. Its front (intake) looks toward ``facing``."""

    COLLECTION: ClassVar[str] = "racks"

    facing: str = "N"
    width_m: float = 0.6
    depth_m: float = 1.2
    height_m: float = 2.0
    it_kw: float = 0.0
    airflow_m3s: Optional[float] = None
    liquid_fraction: float = 0.0
    feeds: tuple[str, ...] = ()
    workload: Optional[str] = None
    cdu: Optional[str] = None
    row: Optional[str] = None
    fan_fraction: Optional[float] = None
    thermal_mass_kj_per_k: Optional[float] = None
    ashrae_class: str = "A1"
    #: the loaded rack's weight (kg); with the hall's ``floor_kg_m2`` the placement search checks the floor
    weight_kg: Optional[float] = None
    #: True: the rack moves ``airflow_m3s`` and draws ``it_kw`` (at full utilization) whatever its inlet
    #: temperature (no fan curve, no inlet throttling), as a CFD room's fixed boundary conditions do
    airflow_fixed: bool = False
    #: empty rack units without a blanking panel (0 = fully blanked; fractions for part-open units): through
    #: each (U_OPENING_M2) the rack's own exhaust flows back to its servers' intakes
    open_u: float = 0.0

    @property
    def design_airflow_m3s(self) -> float:
        """Design airflow (m3/s) at the design inlet (22.5 °C) and full utilization: explicit, else
        1e-4 m3/s per W of air-side heat. The fan curve scales it with the inlet (0.78 of it at 18 °C)
        unless ``airflow_fixed``."""
        if self.airflow_m3s is not None:
            return self.airflow_m3s
        return DEFAULT_AIRFLOW_PER_W * self.it_kw * 1e3 * (1.0 - self.liquid_fraction)

    @property
    def it_w(self) -> float:
        return self.it_kw * 1e3


@dataclass(frozen=True)
class CoolingUnit(_Box):
    """CRAH, CRAC, in-row cooler, rear-door heat exchanger or CDU."""

    COLLECTION: ClassVar[str] = "cooling_units"

    kind: str = "crah"
    facing: str = "N"
    width_m: float = 1.8
    depth_m: float = 0.9
    height_m: float = 1.9
    airflow_m3s: float = 0.0
    capacity_kw: float = 0.0
    supply_setpoint_c: float = 18.0
    feeds: tuple[str, ...] = ()
    fan_power_kw: Optional[float] = None
    rack: Optional[str] = None
    airflow_control: str = "fixed"
    #: "return_temperature" control: the unit's return-air target (°C); None = RETURN_TARGET_C
    return_target_c: Optional[float] = None
    #: "containment_dp" control: the pressure (Pa) its contained zone holds over the room; None = DP_TARGET_PA
    dp_target_pa: Optional[float] = None


@dataclass(frozen=True)
class Tile(_Box):
    """A perforated floor tile (raised floor). ``size_m`` defaults to the hall's tile."""

    COLLECTION: ClassVar[str] = "tiles"

    open_fraction: float = 0.25
    size_m: Optional[float] = None

    def size_xy(self) -> tuple[float, float]:  # square; hall tile size filled in by Hall
        s = self.size_m if self.size_m is not None else 0.6
        return (s, s)


@dataclass(frozen=True)
class Grille(_Box):
    """A ceiling return grille (used when the hall has a ceiling return)."""

    COLLECTION: ClassVar[str] = "grilles"

    width_m: float = 0.6
    depth_m: float = 0.6


@dataclass(frozen=True)
class Containment(_Box):
    """A contained aisle: walls around the rectangle (and a roof at ``height_m``)."""

    COLLECTION: ClassVar[str] = "containments"

    kind: str = "cold"
    width_m: float = 0.0
    depth_m: float = 0.0
    height_m: Optional[float] = None
    #: gap area of each end door (m2): under, over and beside the door; None = DOOR_GAP_M2
    door_gap_m2: Optional[float] = None
    #: gap area along the roof's edges over the racks (m2, the zone's total); None = ROOF_GAP_M2_PER_M
    #: per metre of rack-lined roof edge. A full-height zone (no roof) has none
    roof_gap_m2: Optional[float] = None


@dataclass(frozen=True)
class Obstruction(_Box):
    """Something solid on the floor that air cannot pass: a building column or a wall segment.

    ``height_m`` None reaches the ceiling. It takes floor (nothing else stands on it) and its cells
    are solid in the air model.
    """

    COLLECTION: ClassVar[str] = "obstructions"

    kind: str = "column"
    width_m: float = 0.6
    depth_m: float = 0.6
    height_m: Optional[float] = None


@dataclass(frozen=True)
class PowerNode(Element):
    """A node of the power graph. ``inputs`` are the ids it draws from.

    Without a position (``x_m``, ``y_m`` None) it stands in the power room; with one it stands on the
    floor of hall ``hall`` (None: the site's first hall), a :data:`POWER_MARK_M` square from there.
    """

    COLLECTION: ClassVar[str] = "power_nodes"

    kind: str = "pdu"
    inputs: tuple[str, ...] = ()
    capacity_kw: float = 0.0
    battery_kwh: Optional[float] = None
    peukert_k: Optional[float] = None
    bypass: Optional[bool] = None
    start_delay_s: Optional[float] = None
    transfer_delay_s: Optional[float] = None
    retransfer_delay_s: Optional[float] = None
    loss_fraction: Optional[float] = None
    x_m: Optional[float] = None
    y_m: Optional[float] = None
    hall: Optional[str] = None

    #: fields that only some kinds take
    KIND_FIELDS: ClassVar[dict[str, tuple[str, ...]]] = {
        "battery_kwh": ("ups",),
        "peukert_k": ("ups",),
        "bypass": ("ups",),
        "start_delay_s": ("generator", "ats"),
        "transfer_delay_s": ("ats",),
        "retransfer_delay_s": ("ats",),
        "loss_fraction": ("ups", "switchboard", "pdu", "rpp"),
    }

    @property
    def on_floor(self) -> bool:
        """Whether it stands on a hall's floor (has a position) rather than in the power room."""
        return self.x_m is not None and self.y_m is not None

    def size_xy(self) -> tuple[float, float]:
        return (POWER_MARK_M, POWER_MARK_M)

    def footprint(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of its mark on the floor (m); only for a node :attr:`on_floor`."""
        if not self.on_floor:
            raise ValueError(f"power node {self.id} stands in the power room, not on a floor")
        return (self.x_m, self.y_m, self.x_m + POWER_MARK_M, self.y_m + POWER_MARK_M)


@dataclass(frozen=True)
class Chiller(Element):
    COLLECTION: ClassVar[str] = "chillers"

    capacity_kw: float = 0.0
    cop: float = 6.0
    kind: str = "water_cooled"
    feeds: tuple[str, ...] = ()
    restart_delay_s: float = 300.0


@dataclass(frozen=True)
class Pump(Element):
    COLLECTION: ClassVar[str] = "pumps"

    power_kw: float = 0.0
    flow_m3s: float = 0.0
    feeds: tuple[str, ...] = ()
    loop: str = "chw"


@dataclass(frozen=True)
class Workload(Element):
    """A utilization profile u(t) (fraction of design, 0..1.5)."""

    COLLECTION: ClassVar[str] = "workloads"

    kind: str = "constant"
    utilization: float = 1.0
    amplitude: Optional[float] = None
    period_s: Optional[float] = None
    phase_s: Optional[float] = None
    dip_utilization: Optional[float] = None
    dip_s: Optional[float] = None
    path: Optional[str] = None
    points: Optional[tuple[tuple[float, float], ...]] = None


# --------------------------------------------------------------------------- containers


@dataclass(frozen=True)
class StorageTank:
    volume_m3: float = 0.0
    usable_dt_k: float = 6.0


@dataclass(frozen=True)
class Economizer:
    enabled: bool = False
    approach_k: float = 5.0
    min_outdoor_margin_k: float = 1.0


@dataclass(frozen=True)
class Outdoor:
    kind: str = "constant"
    c: float = 25.0
    amplitude_k: float = 0.0
    peak_hour: float = 15.0
    path: Optional[str] = None


@dataclass
class Plant:
    """The chilled-water plant shared by the site's halls."""

    chw_supply_c: float = 12.0
    loop_volume_m3: float = 20.0
    storage_tank: Optional[StorageTank] = None
    economizer: Economizer = field(default_factory=Economizer)
    outdoor: Outdoor = field(default_factory=Outdoor)


@dataclass
class Hall:
    """One room of the site with everything that stands in it."""

    id: str
    width_m: float
    depth_m: float
    height_m: float = 3.0
    tile_m: float = 0.6
    plenum: str = "raised_floor"
    plenum_depth_m: float = 0.6
    ceiling_return: bool = False
    supply_c: float = 18.0
    leakage_fraction: float = 0.05
    grid_m: Optional[float] = None
    racks: list[Rack] = field(default_factory=list)
    cooling_units: list[CoolingUnit] = field(default_factory=list)
    tiles: list[Tile] = field(default_factory=list)
    grilles: list[Grille] = field(default_factory=list)
    containments: list[Containment] = field(default_factory=list)
    obstructions: list[Obstruction] = field(default_factory=list)
    #: where an imported hall came from, and which of its fields were assumed (as for elements)
    external_id: Optional[str] = None
    assumed: tuple[str, ...] = ()
    #: the floor's rated distributed load (kg/m2); None: not stated (the placement search then skips it)
    floor_kg_m2: Optional[float] = None

    ELEMENT_COLLECTIONS: ClassVar[tuple[str, ...]] = (
        "racks", "cooling_units", "tiles", "grilles", "containments", "obstructions")

    def elements(self) -> Iterator[Element]:
        for name in self.ELEMENT_COLLECTIONS:
            yield from getattr(self, name)

    def tile_size(self, tile: Tile) -> float:
        return tile.size_m if tile.size_m is not None else self.tile_m

    def footprint(self, el: Element) -> tuple[float, float, float, float]:
        if isinstance(el, Tile):
            s = self.tile_size(el)
            return (el.x_m, el.y_m, el.x_m + s, el.y_m + s)
        return el.footprint()  # type: ignore[attr-defined]


@dataclass
class Site:
    """The whole layout: halls, power graph, plant and workloads."""

    name: str = "site"
    halls: list[Hall] = field(default_factory=list)
    power_nodes: list[PowerNode] = field(default_factory=list)
    chillers: list[Chiller] = field(default_factory=list)
    pumps: list[Pump] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    plant: Plant = field(default_factory=Plant)
    description: str = ""

    SITE_COLLECTIONS: ClassVar[tuple[str, ...]] = ("power_nodes", "chillers", "pumps", "workloads")

    # ---- look-ups
    @property
    def hall(self) -> Hall:
        """The first hall (most sites have one)."""
        return self.halls[0]

    def iter_elements(self) -> Iterator[tuple[Optional[Hall], str, int, Element]]:
        """Every element as (hall or None, collection name, index, element)."""
        for hall in self.halls:
            for name in Hall.ELEMENT_COLLECTIONS:
                for i, el in enumerate(getattr(hall, name)):
                    yield hall, name, i, el
        for name in self.SITE_COLLECTIONS:
            for i, el in enumerate(getattr(self, name)):
                yield None, name, i, el

    def locate(self, element_id: str) -> tuple[Optional[Hall], str, int, Element]:
        """(hall, collection, index, element) of an id; KeyError if absent."""
        for hit in self.iter_elements():
            if hit[3].id == element_id:
                return hit
        raise KeyError(element_id)

    def get(self, element_id: str) -> Element:
        return self.locate(element_id)[3]

    def ids(self) -> set[str]:
        return {el.id for _, _, _, el in self.iter_elements()} | {h.id for h in self.halls}

    def get_hall(self, hall_id: str) -> Hall:
        for h in self.halls:
            if h.id == hall_id:
                return h
        raise KeyError(hall_id)

    def hall_of(self, element_id: str) -> Optional[Hall]:
        return self.locate(element_id)[0]

    def floor_power_nodes(self, hall_id: str) -> list[PowerNode]:
        """The power nodes standing on the floor of hall ``hall_id`` (a node without ``hall`` stands in
        the first hall)."""
        first = self.halls[0].id if self.halls else None
        return [n for n in self.power_nodes if n.on_floor and (n.hall if n.hall is not None else first) == hall_id]

    def collection(self, hall: Optional[Hall], name: str) -> list:
        return getattr(hall if name in Hall.ELEMENT_COLLECTIONS else self, name)

    def copy(self) -> "Site":
        """A copy whose lists can change independently (elements are frozen, so shared)."""
        return Site(
            name=self.name,
            halls=[dataclasses.replace(h, **{n: list(getattr(h, n)) for n in Hall.ELEMENT_COLLECTIONS})
                   for h in self.halls],
            power_nodes=list(self.power_nodes), chillers=list(self.chillers), pumps=list(self.pumps),
            workloads=list(self.workloads), plant=dataclasses.replace(self.plant),
            description=self.description,
        )

    def restore_from(self, other: "Site") -> None:
        """Make this site equal to ``other`` in place (keeps object identity)."""
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(other, f.name))

    def summary(self) -> str:
        racks = sum(len(h.racks) for h in self.halls)
        it_kw = sum(r.it_kw for h in self.halls for r in h.racks)
        units = sum(len(h.cooling_units) for h in self.halls)
        return (f"{self.name}: {len(self.halls)} hall(s), {racks} racks, {it_kw:.0f} kW IT, "
                f"{units} cooling units, {len(self.power_nodes)} power nodes")


ELEMENT_TYPES: dict[str, type[Element]] = {
    "racks": Rack, "cooling_units": CoolingUnit, "tiles": Tile, "grilles": Grille,
    "containments": Containment, "obstructions": Obstruction, "power_nodes": PowerNode, "chillers": Chiller,
    "pumps": Pump, "workloads": Workload,
}


def element_collection(el: Element | type[Element]) -> str:
    return el.COLLECTION
