"""Write the demo layouts small.json and ai-hall.json (run from the repository root).

    python3 assets/demos/make_demos.py

The committed JSON files are the source of truth; this script only records how
they were first laid out, so a change to a demo can be made here or by hand.
Sizing follows ../shared/physics-reference.md: 1e-4 m3/s per W of air-side
heat unless a rack says otherwise, N+1 cooling, 2N power with every node
loaded below its rating when one side is lost.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from dctwin.twin._files import atomic_write
from dctwin.twin.model.layout import (
    Chiller, Containment, CoolingUnit, Economizer, Hall, Outdoor, Plant, PowerNode, Pump, Rack,
    Site, StorageTank, Tile, Workload,
)
from dctwin.twin.model.layoutfile import dumps_layout
from dctwin.twin.model.validate import validate

HERE = Path(__file__).resolve().parent


def small() -> Site:
    """2 rows of 10 racks facing a 3-tile cold aisle, 2 CRAHs at the hall ends, 2N power."""
    kw = (6.0, 6.5, 7.0, 7.5, 8.0, 5.0, 5.5, 6.0, 6.5, 7.0)  # 65 kW a row, 130 kW in all
    racks = []
    for i, p in enumerate(kw):
        racks.append(Rack(id=f"R-A{i + 1:02d}", x_m=round(3.0 + 0.6 * i, 6), y_m=3.0, facing="N", it_kw=p,
                          feeds=("PDU-A", "PDU-B"), row="A"))
    for i, p in enumerate(reversed(kw)):
        racks.append(Rack(id=f"R-B{i + 1:02d}", x_m=round(3.0 + 0.6 * i, 6), y_m=6.0, facing="S", it_kw=p,
                          feeds=("PDU-A", "PDU-B"), row="B"))
    # cold aisle y 4.2..6.0 (3 tiles of 0.6 m) in front of both rows, x 3.0..9.0
    tiles = [Tile(id=f"T-{r + 1}{c + 1:02d}", x_m=round(3.0 + 0.6 * c, 6), y_m=round(4.2 + 0.6 * r, 6),
                  open_fraction=0.25)
             for r in range(3) for c in range(10)]
    # 13 m3/s of rack air; 2 x 7.8 m3/s = 1.2x; each CRAH alone carries the 130 kW (N+1)
    units = [
        CoolingUnit(id="CRAH-1", kind="crah", x_m=0.0, y_m=4.2, facing="E", width_m=1.8, depth_m=0.9,
                    height_m=1.9, airflow_m3s=7.8, capacity_kw=150.0, supply_setpoint_c=18.0,
                    feeds=("SWB-M",), fan_power_kw=6.5),
        CoolingUnit(id="CRAH-2", kind="crah", x_m=11.1, y_m=4.2, facing="W", width_m=1.8, depth_m=0.9,
                    height_m=1.9, airflow_m3s=7.8, capacity_kw=150.0, supply_setpoint_c=18.0,
                    feeds=("SWB-M",), fan_power_kw=6.5),
    ]
    hall = Hall(id="HALL-1", width_m=12.0, depth_m=10.2, height_m=3.0, tile_m=0.6, plenum="raised_floor",
                plenum_depth_m=0.6, ceiling_return=False, supply_c=18.0, racks=racks, cooling_units=units,
                tiles=tiles)
    power = [
        PowerNode(id="UTIL", kind="utility", capacity_kw=500.0),
        PowerNode(id="GEN-1", kind="generator", capacity_kw=300.0, start_delay_s=10.0),
        PowerNode(id="ATS-1", kind="ats", inputs=("UTIL", "GEN-1"), capacity_kw=300.0,
                  transfer_delay_s=0.5, retransfer_delay_s=300.0),
        # each UPS carries all 130 kW when the other side is lost (81 % of rating), 10 min at 160 kW
        PowerNode(id="UPS-1A", kind="ups", inputs=("ATS-1",), capacity_kw=160.0, battery_kwh=27.0),
        PowerNode(id="UPS-1B", kind="ups", inputs=("ATS-1",), capacity_kw=160.0, battery_kwh=27.0),
        PowerNode(id="PDU-A", kind="pdu", inputs=("UPS-1A",), capacity_kw=150.0),
        PowerNode(id="PDU-B", kind="pdu", inputs=("UPS-1B",), capacity_kw=150.0),
        # mechanical loads ride the generator, not the UPS
        PowerNode(id="SWB-M", kind="switchboard", inputs=("ATS-1",), capacity_kw=100.0),
    ]
    # one air-cooled chiller (N: the small room has no redundant plant) and its pump:
    # 130 kW at COP 4 draws ~33 kW; 0.0075 m3/s of water carries 130 kW at a 4.2 K rise
    chillers = [Chiller(id="CH-1", capacity_kw=200.0, cop=4.0, kind="air_cooled", feeds=("SWB-M",))]
    pumps = [Pump(id="CHWP-1", power_kw=3.0, flow_m3s=0.0075, feeds=("SWB-M",), loop="chw")]
    return Site(name="small", halls=[hall], power_nodes=power, chillers=chillers, pumps=pumps,
                plant=Plant(chw_supply_c=12.0, loop_volume_m3=5.0,
                            outdoor=Outdoor(kind="constant", c=25.0)),
                description="Two rows of 10 air-cooled racks (130 kW) facing a raised-floor cold aisle, "
                            "two perimeter CRAHs (N+1), 2N power from utility and generator.")


def _row_with_coolers(racks: list[Rack], units: list[CoolingUnit], row: str, x0: float, y: float, facing: str,
                      slots: int, every: int, first: int, rack: Rack) -> None:
    """A row of ``slots`` 0.6 m slots from ``x0``: an in-row cooler in every ``every``-th slot from
    ``first`` (60 kW, 3.4 m3/s, on the mechanical switchboards), copies of ``rack`` in the others."""
    n_r = n_c = 0
    for pos in range(slots):
        x = round(x0 + 0.6 * pos, 6)
        if pos % every == first:
            n_c += 1
            units.append(CoolingUnit(
                id=f"IRC-{row}{n_c}", kind="inrow", x_m=x, y_m=y, facing=facing, width_m=0.6, depth_m=1.2,
                height_m=2.0, airflow_m3s=3.4, capacity_kw=60.0, supply_setpoint_c=22.0,
                feeds=("SWB-MA", "SWB-MB"), fan_power_kw=2.2))
        else:
            n_r += 1
            racks.append(dataclasses.replace(rack, id=f"R-{row}{n_r:02d}", x_m=x, y_m=y))


def ai_hall() -> Site:
    """A 16-rack 120 kW liquid-cooled pod beside 8 rows of 24 air-cooled 10 kW racks."""
    racks: list[Rack] = []
    units: list[CoolingUnit] = []
    zones: list[Containment] = []
    power: list[PowerNode] = []
    # ---- air-cooled rows: 4 pairs of rows around contained hot aisles, x 3.0..21.0
    # pattern per row: [R R C R R] x 6 -> 24 racks and 6 in-row coolers, 18 m
    letters = "ABCDEFGH"
    for pair in range(4):
        y0 = 2.4 + pair * 5.4
        for side in range(2):
            row = letters[2 * pair + side]
            y = y0 if side == 0 else y0 + 2.4
            facing = "S" if side == 0 else "N"  # backs to the hot aisle y0+1.2..y0+2.4
            _row_with_coolers(racks, units, row, 3.0, round(y, 6), facing, 30, 5, 2, Rack(
                id="", facing=facing, height_m=2.2, it_kw=10.0, airflow_m3s=0.75,
                feeds=(f"PDU-{row}-A", f"PDU-{row}-B"), workload="W-ENTERPRISE", row=row))
        zones.append(Containment(id=f"HAC-{pair + 1}", kind="hot", x_m=3.0, y_m=round(y0 + 1.2, 6),
                                 width_m=18.0, depth_m=1.2, height_m=2.2))
    # ---- liquid pod: rows P (facing S) and Q (facing N) at y 7.8..11.4, x 24.0..31.2
    # pattern [R C R] x 4 -> 8 racks of 120 kW and 4 in-row coolers for the 15 % air-side heat
    for side, row in enumerate("PQ"):
        y = 7.8 if side == 0 else 10.2
        facing = "S" if side == 0 else "N"
        _row_with_coolers(racks, units, row, 24.0, y, facing, 12, 3, 1, Rack(
            id="", facing=facing, height_m=2.2, it_kw=120.0, airflow_m3s=1.5, liquid_fraction=0.85,
            feeds=(f"PDU-{row}-A", f"PDU-{row}-B"), workload="W-TRAINING", cdu="CDU-1" if row == "P" else "CDU-2",
            row=row, thermal_mass_kj_per_k=600.0))
    zones.append(Containment(id="HAC-POD", kind="hot", x_m=24.0, y_m=9.0, width_m=7.2, depth_m=1.2,
                             height_m=2.2))
    # 3 CDUs of 1 MW for 16 x 102 kW = 1632 kW of liquid heat: any two carry it (N+1)
    for i, y in enumerate((7.8, 9.0, 10.2)):
        units.append(CoolingUnit(
            id=f"CDU-{i + 1}", kind="cdu", x_m=32.4, y_m=y, facing="W", width_m=0.8, depth_m=1.2, height_m=2.0,
            airflow_m3s=0.0, capacity_kw=1000.0, supply_setpoint_c=32.0, feeds=("SWB-2A", "SWB-2B"),
            fan_power_kw=15.0))
    # perimeter CRAHs on the west and east walls (room-level backup and mixing), 4 x 250 kW
    for i, (x, y, f) in enumerate(((0.0, 5.4, "E"), (0.0, 16.2, "E"), (38.1, 5.4, "W"), (38.1, 16.2, "W"))):
        units.append(CoolingUnit(
            id=f"CRAH-{i + 1}", kind="crah", x_m=x, y_m=y, facing=f, width_m=2.5, depth_m=0.9, height_m=2.2,
            airflow_m3s=10.0, capacity_kw=250.0, supply_setpoint_c=20.0, feeds=("SWB-MA", "SWB-MB"),
            fan_power_kw=9.0))
    hall = Hall(id="HALL-AI", width_m=39.0, depth_m=25.2, height_m=4.2, tile_m=0.6, plenum="none",
                ceiling_return=False, supply_c=20.0, racks=racks, cooling_units=units, containments=zones)

    # ---- power: 2N from two ATS; A and B each carry the whole IT load when the other is lost
    power += [
        PowerNode(id="UTIL", kind="utility", capacity_kw=12000.0),
        PowerNode(id="GEN-A", kind="generator", capacity_kw=6000.0, start_delay_s=10.0),
        PowerNode(id="GEN-B", kind="generator", capacity_kw=6000.0, start_delay_s=10.0),
        PowerNode(id="ATS-A", kind="ats", inputs=("UTIL", "GEN-A"), capacity_kw=6000.0, transfer_delay_s=0.5,
                  retransfer_delay_s=300.0),
        PowerNode(id="ATS-B", kind="ats", inputs=("UTIL", "GEN-B"), capacity_kw=6000.0, transfer_delay_s=0.5,
                  retransfer_delay_s=300.0),
    ]
    for side in "AB":
        # UPS-1x: air rows (1920 kW), UPS-2x: liquid pod (1920 kW) and CDUs; 10 min of battery at rating
        power += [
            PowerNode(id=f"UPS-1{side}", kind="ups", inputs=(f"ATS-{side}",), capacity_kw=2200.0,
                      battery_kwh=370.0),
            PowerNode(id=f"UPS-2{side}", kind="ups", inputs=(f"ATS-{side}",), capacity_kw=2200.0,
                      battery_kwh=370.0),
            PowerNode(id=f"SWB-1{side}", kind="switchboard", inputs=(f"UPS-1{side}",), capacity_kw=2200.0),
            PowerNode(id=f"SWB-2{side}", kind="switchboard", inputs=(f"UPS-2{side}",), capacity_kw=2200.0),
            # mechanical: chillers, pumps, CRAH and in-row fans ride the generator
            PowerNode(id=f"SWB-M{side}", kind="switchboard", inputs=(f"ATS-{side}",), capacity_kw=1500.0),
        ]
        for row in letters:
            power.append(PowerNode(id=f"PDU-{row}-{side}", kind="pdu", inputs=(f"SWB-1{side}",),
                                   capacity_kw=300.0))
        for row in "PQ":
            power.append(PowerNode(id=f"PDU-{row}-{side}", kind="rpp", inputs=(f"SWB-2{side}",),
                                   capacity_kw=1100.0))
    # ---- chilled-water plant: 3 x 2200 kW (N+1 over ~4 MW of heat), tank for ~20 min ride-through
    chillers = [Chiller(id=f"CH-{i + 1}", capacity_kw=2200.0, cop=6.0, kind="water_cooled",
                        feeds=(f"SWB-M{'ABA'[i]}",), restart_delay_s=300.0) for i in range(3)]
    pumps = [Pump(id=f"CHWP-{i + 1}", power_kw=45.0, flow_m3s=0.09, feeds=(f"SWB-M{'ABA'[i]}",), loop="chw")
             for i in range(3)]
    plant = Plant(chw_supply_c=14.0, loop_volume_m3=40.0,
                  storage_tank=StorageTank(volume_m3=200.0, usable_dt_k=6.0),
                  economizer=Economizer(enabled=True, approach_k=4.0, min_outdoor_margin_k=1.0),
                  outdoor=Outdoor(kind="sine", c=22.0, amplitude_k=6.0, peak_hour=15.0))
    workloads = [
        Workload(id="W-ENTERPRISE", kind="diurnal", utilization=0.65, amplitude=0.2, period_s=86400.0,
                 phase_s=0.0),
        Workload(id="W-TRAINING", kind="ai_training", utilization=0.95, period_s=1800.0, dip_utilization=0.35,
                 dip_s=60.0),
    ]
    return Site(name="ai-hall", halls=[hall], power_nodes=power, chillers=chillers, pumps=pumps,
                workloads=workloads, plant=plant,
                description="AI hall: a 16-rack pod of 120 kW direct-liquid-cooled racks (85 % to 3 CDUs) "
                            "beside 8 rows of 10 kW air-cooled racks in hot-aisle containment with in-row "
                            "coolers, perimeter CRAHs, a chilled-water plant with storage and economizer, "
                            "2N power.")


def main() -> int:
    for name, build in (("small", small), ("ai-hall", ai_hall)):
        site = build()
        issues = validate(site)
        if issues:
            for i in issues:
                print(f"{name}: {i}", file=sys.stderr)
            return 2
        atomic_write(HERE / f"{name}.json", dumps_layout(site, compact=True))
        print(f"wrote {name}.json: {site.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
