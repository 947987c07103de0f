"""What the model says at each sensor: the output vector of a simulated hall and the sensors' rows in it.

The output vector ``y`` of a simulation holds, in blocks: every rack's inlet, exhaust and power,
every cooling unit's supply, return, airflow and running state, every power node's load and state
of charge, and the outdoor temperature. A :class:`Sensor` is a measured point placed on its row, so
``y[sensor.row]`` is the model's value beside the measurement, and a Jacobian of ``y`` over the
parameters gives the sensitivity of every sensor (and of every rack inlet between them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Optional

import numpy as np

#: quantity -> output block
BLOCK_OF = {"inlet_c": "inlet", "exhaust_c": "exhaust", "power_w": "power", "supply_c": "supply",
            "return_c": "return", "airflow_m3s": "airflow", "running": "running", "load_w": "load",
            "soc": "soc", "outdoor_c": "outdoor"}
#: quantities the shadow imposes on the model (boundary conditions), not predictions
BOUNDARY = ("power_w", "supply_c", "running", "outdoor_c")
#: the measurement noise assumed per quantity (standard deviation, SI; relative for power and flow)
NOISE = {"inlet_c": 0.3, "exhaust_c": 0.5, "return_c": 0.3, "supply_c": 0.3, "outdoor_c": 0.5,
         "airflow_m3s": 0.05, "load_w": 0.02, "power_w": 0.02, "soc": 0.02, "running": 0.0}
RELATIVE_NOISE = ("airflow_m3s", "load_w", "power_w")


class Outputs:
    """Offsets of the blocks of a hall's output vector."""

    def __init__(self, rack_ids: list[str], unit_ids: list[str], node_ids: list[str]) -> None:
        self.rack_ids, self.unit_ids, self.node_ids = list(rack_ids), list(unit_ids), list(node_ids)
        n, m, k = len(rack_ids), len(unit_ids), len(node_ids)
        sizes = [("inlet", n), ("exhaust", n), ("power", n), ("supply", m), ("return", m), ("airflow", m),
                 ("running", m), ("load", k), ("soc", k), ("outdoor", 1)]
        self.start: dict[str, int] = {}
        at = 0
        for name, size in sizes:
            self.start[name] = at
            at += size
        self.size = at
        self.rack_index = {r: i for i, r in enumerate(rack_ids)}
        self.unit_index = {u: i for i, u in enumerate(unit_ids)}
        self.node_index = {u: i for i, u in enumerate(node_ids)}

    @classmethod
    def of(cls, sim: Any) -> "Outputs":
        nodes = list(sim.power.plant.node_ids) if sim.power is not None else []
        return cls(list(sim.rack_ids), list(sim.unit_ids), nodes)

    def rows(self, block: str) -> slice:
        sizes = {"inlet": len(self.rack_ids), "exhaust": len(self.rack_ids), "power": len(self.rack_ids),
                 "supply": len(self.unit_ids), "return": len(self.unit_ids), "airflow": len(self.unit_ids),
                 "running": len(self.unit_ids), "load": len(self.node_ids), "soc": len(self.node_ids), "outdoor": 1}
        return slice(self.start[block], self.start[block] + sizes[block])

    def row(self, quantity: str, element: str) -> Optional[int]:
        """Row of ``quantity`` of ``element`` (None when the element is not in this hall)."""
        block = BLOCK_OF[quantity]
        if block in ("inlet", "exhaust", "power"):
            i = self.rack_index.get(element)
        elif block in ("supply", "return", "airflow", "running"):
            i = self.unit_index.get(element)
        elif block in ("load", "soc"):
            i = self.node_index.get(element)
        else:
            i = 0
        return None if i is None else self.start[block] + i


def model_outputs(sim: Any, out: Optional[Outputs] = None) -> np.ndarray:
    """The output vector of ``sim`` now (see the module docstring); NaN where the model has no value."""
    o = out or Outputs.of(sim)
    y = np.full(o.size, np.nan)
    st = sim.state
    n = len(o.rack_ids)
    y[o.rows("inlet")] = st.rack_inlet_c
    y[o.rows("exhaust")] = st.rack_exhaust_c
    y[o.rows("power")] = st.rack_power_w if st.last_rack is not None else np.full(n, np.nan)
    us = st.last_unit
    if us is not None:
        y[o.rows("supply")] = us.supply_c
        y[o.rows("airflow")] = us.airflow_m3s
    y[o.rows("return")] = st.unit_return_c
    y[o.rows("running")] = sim.running_units()
    if sim.power is not None and len(o.node_ids):
        ps = sim.power.state
        y[o.rows("load")] = ps.out_w
        batt = sim.power.plant.batt_j > 0
        y[o.rows("soc")] = np.where(batt, ps.soc, np.nan)
    if sim.cplant is not None:
        y[o.start["outdoor"]] = float(sim.cplant.outdoor_c)
    return y


@dataclass(frozen=True)
class Sensor:
    """A measured point placed on the model's output vector."""

    point: str
    element: str
    quantity: str
    row: int

    @property
    def boundary(self) -> bool:
        """The shadow imposes this value on the model (its residual only checks the imposing)."""
        return self.quantity in BOUNDARY

    @property
    def temperature(self) -> bool:
        return self.quantity.endswith("_c")

    def noise(self, level: float = math.nan) -> float:
        """Standard deviation of the measurement noise at ``level`` (SI)."""
        s = NOISE.get(self.quantity, 0.3)
        if self.quantity in RELATIVE_NOISE:
            return max(s * abs(level), 1e-3) if math.isfinite(level) else 1.0
        return s


def place(points: Iterable[Any], outputs: Outputs) -> tuple[list[Sensor], list[str]]:
    """Sensors for the points (objects with ``point, element, quantity``) that fall on this hall, and
    the names of those that do not (another hall's elements)."""
    sensors, outside = [], []
    for p in points:
        row = outputs.row(p.quantity, p.element)
        if row is None:
            outside.append(p.point)
        else:
            sensors.append(Sensor(p.point, p.element, p.quantity, row))
    return sensors, outside
