"""Heat with nowhere to go: a hall whose racks give the air heat that no cooling unit can take.

A hall with racks but no air cooling unit (no CRAH, CRAC or in-row unit that moves air, and no
rear door on the rack) has no steady state: its air warms for as long as the racks run. That is
said up front, in words, by :func:`stranded_heat` ("H1: no cooling unit: 10 kW with nowhere to
go; the room heats by 0.4 K/min"), before any solver is asked: ``dctwin validate`` prints it as a
warning, the engine refuses a steady solve with it (and runs the transient, which shows the
heat-up), and the editor's status bar and warnings panel show it.

The rate is the room's air alone taking the heat, ``Q / (rho cp V_air)`` over the hall's volume
less what racks and units fill: what the air does at first (the servers' own thermal mass slows
it a little, the walls are adiabatic in the model).
"""

from __future__ import annotations

from dataclasses import dataclass

from dctwin.twin.errors import LayoutIssue
from dctwin.twin.model.layout import Hall, Site

#: volumetric heat capacity of the room's air (J/(m3 K), 1.19 kg/m3 x 1006 J/(kg K), as the engine's)
AIR_RHO_CP_J_PER_M3K = 1.19 * 1006.0
#: cooling unit kinds that take heat from the room's air (a rear door only from its own rack)
ROOM_COOLING_KINDS = ("crah", "crac", "inrow")


@dataclass(frozen=True)
class StrandedHeat:
    """Heat a hall's racks give its air that no cooling unit can take: ``heat_w`` (W), the rate the
    room's air warms at (K/min), and why ("no cooling unit", "no cooling unit that moves air")."""

    hall_id: str
    heat_w: float
    heat_up_k_per_min: float
    reason: str

    def message(self) -> str:
        return (f"{self.hall_id}: {self.reason}: {self.heat_w / 1e3:.3g} kW with nowhere to go; "
                f"the room heats by {self.heat_up_k_per_min:.2g} K/min")


def hall_stranded_heat(hall: Hall) -> StrandedHeat | None:
    """The heat of ``hall`` with no way to a cooling unit (None when every rack's air heat has one)."""
    room = [u for u in hall.cooling_units if u.kind in ROOM_COOLING_KINDS]
    if any(u.airflow_m3s > 0 and u.capacity_kw > 0 for u in room):
        return None
    doors = {u.rack for u in hall.cooling_units if u.kind == "rdhx" and u.capacity_kw > 0}
    heat_w = sum(max(r.it_kw, 0.0) * 1e3 * (1.0 - min(max(r.liquid_fraction, 0.0), 1.0))
                 for r in hall.racks if r.id not in doors)
    if heat_w <= 0:
        return None
    solids = sum(e.width_m * e.depth_m * e.height_m for e in (*hall.racks, *hall.cooling_units))
    volume = max(hall.width_m * hall.depth_m * hall.height_m - solids, 1e-3)
    rate = heat_w / (AIR_RHO_CP_J_PER_M3K * volume) * 60.0
    return StrandedHeat(hall.id, heat_w, rate, "no cooling unit that moves air" if room else "no cooling unit")


def stranded_heat(site: Site) -> list[StrandedHeat]:
    """Every hall of ``site`` whose racks' heat has no way to a cooling unit."""
    return [s for s in (hall_stranded_heat(h) for h in site.halls) if s is not None]


def layout_warnings(site: Site) -> list[LayoutIssue]:
    """What a valid layout will not do as a person may expect (``dctwin validate`` prints these)."""
    return [LayoutIssue(s.hall_id, "cooling_units", s.message().split(": ", 1)[1]) for s in stranded_heat(site)]
