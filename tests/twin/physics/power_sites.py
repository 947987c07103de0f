"""Small sites for the power, plant and metrics tests, built from twin.layout objects."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from dctwin.twin.model.events import EventLog
from dctwin.twin.model.layout import Chiller, CoolingUnit, Hall, Plant, PowerNode, Pump, Rack, Site, StorageTank


def racks(n: int, kw: float, feeds: Sequence[str], prefix: str = "R", y_m: float = 2.0) -> list[Rack]:
    """``n`` racks in a row along x, each ``kw`` kW on ``feeds``."""
    return [Rack(id=f"{prefix}{i + 1:02d}", x_m=1.0 + 0.6 * i, y_m=y_m, it_kw=kw, feeds=tuple(feeds))
            for i in range(n)]


def hall(rack_list: list[Rack], units: Optional[list[CoolingUnit]] = None) -> Hall:
    return Hall(id="H1", width_m=30.0, depth_m=12.0, racks=rack_list, cooling_units=units or [])


def backup_site(n_racks: int = 4, rack_kw: float = 10.0, battery_kwh: float = 10.0, peukert_k: float = 1.0,
                ups_kw: float = 100.0, gen_delay_s: float = 10.0) -> Site:
    """Utility + generator -> ATS -> UPS -> PDU -> single-corded racks."""
    nodes = [
        PowerNode(id="UTIL", kind="utility", capacity_kw=0.0),
        PowerNode(id="GEN", kind="generator", capacity_kw=200.0, start_delay_s=gen_delay_s),
        PowerNode(id="ATS", kind="ats", inputs=("UTIL", "GEN"), capacity_kw=200.0),
        PowerNode(id="UPS", kind="ups", inputs=("ATS",), capacity_kw=ups_kw, battery_kwh=battery_kwh,
                  peukert_k=peukert_k),
        PowerNode(id="PDU", kind="pdu", inputs=("UPS",), capacity_kw=100.0),
    ]
    return Site(name="backup", halls=[hall(racks(n_racks, rack_kw, ["PDU"]))], power_nodes=nodes)


def two_n_site(n_racks: int, rack_kw: float = 10.0, pdu_kw: float = 100.0, extra_single_a: int = 0) -> Site:
    """2N: utility -> UPS-A/B (200 kW) -> PDU-A/B -> dual-corded racks (+ single-corded on A)."""
    nodes = [
        PowerNode(id="UTIL", kind="utility", capacity_kw=0.0),
        PowerNode(id="UPS-A", kind="ups", inputs=("UTIL",), capacity_kw=200.0, battery_kwh=20.0),
        PowerNode(id="UPS-B", kind="ups", inputs=("UTIL",), capacity_kw=200.0, battery_kwh=20.0),
        PowerNode(id="PDU-A", kind="pdu", inputs=("UPS-A",), capacity_kw=pdu_kw),
        PowerNode(id="PDU-B", kind="pdu", inputs=("UPS-B",), capacity_kw=pdu_kw),
    ]
    rl = racks(n_racks, rack_kw, ["PDU-A", "PDU-B"])
    rl += racks(extra_single_a, rack_kw, ["PDU-A"], prefix="S", y_m=6.0)
    return Site(name="2n", halls=[hall(rl)], power_nodes=nodes)


def plant_site(loop_m3: float = 10.0, tank_m3: float = 0.0, chillers: int = 1, chiller_kw: float = 500.0,
               kind: str = "water_cooled", cop: float = 6.0, restart_s: float = 300.0, setpoint_c: float = 12.0,
               outdoor_c: float = 25.0, economizer: bool = False, with_power: bool = False) -> Site:
    """A plant with ``chillers`` chillers and one chilled-water pump (on SWB when ``with_power``)."""
    feeds: tuple[str, ...] = ("SWB",) if with_power else ()
    nodes = ([PowerNode(id="UTIL", kind="utility", capacity_kw=0.0),
              PowerNode(id="SWB", kind="switchboard", inputs=("UTIL",), capacity_kw=1000.0)]
             if with_power else [])
    site = Site(name="plant", halls=[hall([])], power_nodes=nodes,
                chillers=[Chiller(id=f"CH-{i + 1}", capacity_kw=chiller_kw, cop=cop, kind=kind, feeds=feeds,
                                  restart_delay_s=restart_s) for i in range(chillers)],
                pumps=[Pump(id="CHWP-1", power_kw=5.0, flow_m3s=0.02, feeds=feeds, loop="chw")])
    site.plant = Plant(chw_supply_c=setpoint_c, loop_volume_m3=loop_m3,
                       storage_tank=StorageTank(volume_m3=tank_m3) if tank_m3 > 0 else None)
    site.plant.outdoor = type(site.plant.outdoor)(kind="constant", c=outdoor_c)
    site.plant.economizer = type(site.plant.economizer)(enabled=economizer, approach_k=5.0, min_outdoor_margin_k=1.0)
    return site


def rack_load(ps, site: Site) -> np.ndarray:
    """Consumer load vector (W): every rack at its design it_kw, nothing else."""
    load = np.zeros(ps.plant.n_consumers)
    load[ps.plant.rack_slice] = [r.it_kw * 1e3 for h in site.halls for r in h.racks]
    return load


def run(ps, load: np.ndarray, seconds: int, dt_s: float = 1.0, events_at: Optional[dict] = None,
        stop=None) -> list:
    """Step ``seconds``/``dt_s`` times; ``events_at`` = {t_s: [(kind, target), ...]} are
    recorded in ``ps.log`` and injected at that time. ``stop(ps)`` ends the run early."""
    out = []
    n = int(round(seconds / dt_s))
    for _ in range(n):
        t = ps.t_s
        evs = []
        for (kind, target) in (events_at or {}).get(round(t, 6), []):
            evs.append(ps.log.record(t, kind, target))
        out += ps.step(dt_s, load, evs)
        if stop is not None and stop(ps):
            break
    return out


def new_log() -> EventLog:
    return EventLog()
