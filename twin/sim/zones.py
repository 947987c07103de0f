"""Contained zones: which racks and units breathe in or blow into each, the pressure a zone holds
over the room, and the airflow of in-row units that hold it (``airflow_control`` "containment_dp").

A zone leaks through its open area ``A`` (door and roof gaps, panel seams: the air plant's
``zone_leak_m2``), as a sharp-edged gap: ``q = Cd A sqrt(2 |dP| / rho)`` with ``Cd`` =
:data:`LEAK_CD`. Mass closes in the zone, so the net of the flows into it (rack exhausts and unit
supplies that open into it, less rack intakes and unit returns) leaks out and sets its pressure over
the room: ``dP = sign(q) rho / 2 (q / (Cd A))^2``. A unit that holds a zone's pressure moves the
airflow that leaves the target leak (its controller is taken as ideal; its fan follows with the
fan time constant in a run); several share it equally, within their speed limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dctwin.twin.physics import constants as K
from dctwin.twin.physics.codes import CONTROL_DP

#: discharge coefficient of a containment gap (sharp-edged orifice)
LEAK_CD = 0.61


@dataclass
class Zones:
    """Per rack and unit, the zone its intake / exhaust (return / supply) opens into (-1: none)."""

    ids: list[str]
    leak_m2: np.ndarray
    rack_in: np.ndarray
    rack_out: np.ndarray
    unit_in: np.ndarray
    unit_out: np.ndarray

    @property
    def n(self) -> int:
        return len(self.ids)


def _port_zone(ports, zone_cell: np.ndarray) -> np.ndarray:
    """The zone most of each element's port faces open into (-1 when none)."""
    out = np.full(ports.n, -1, dtype=np.int64)
    for e in range(ports.n):
        cells = ports.cell[ports.offsets[e]:ports.offsets[e + 1]]
        if len(cells):
            z = zone_cell[cells]
            z = z[z >= 0]
            if len(z) * 2 > len(cells):
                out[e] = int(np.bincount(z).argmax())
    return out


def hall_zones(ap) -> Zones:
    """The zones of a compiled air plant and the ports that open into each."""
    zc = ap.zone_cell
    if len(ap.zone_ids) == 0:
        empty_r = np.full(ap.n_racks, -1, dtype=np.int64)
        empty_u = np.full(len(ap.unit_ids), -1, dtype=np.int64)
        return Zones([], np.zeros(0), empty_r, empty_r.copy(), empty_u, empty_u.copy())
    return Zones(list(ap.zone_ids), np.asarray(ap.zone_leak_m2, dtype=np.float64),
                 _port_zone(ap.rack_in, zc), _port_zone(ap.rack_out, zc),
                 _port_zone(ap.unit_in, zc), _port_zone(ap.unit_out, zc))


def _net_inflow(zn: Zones, rack_q: np.ndarray, unit_q: np.ndarray, skip: np.ndarray) -> np.ndarray:
    """Per zone, rack exhausts and unit supplies into it less rack intakes and unit returns from it
    (m3/s), units in ``skip`` left out."""
    net = np.zeros(zn.n)
    for zone_of, q, sign in ((zn.rack_out, rack_q, 1.0), (zn.rack_in, rack_q, -1.0),
                             (zn.unit_out, np.where(skip, 0.0, unit_q), 1.0),
                             (zn.unit_in, np.where(skip, 0.0, unit_q), -1.0)):
        m = zone_of >= 0
        if m.any():
            np.add.at(net, zone_of[m], sign * q[m])
    return net


def leak_flow(leak_m2: float, dp_pa: float) -> float:
    """Flow out of a zone through its gaps at ``dp_pa`` over the room (m3/s, negative: inward)."""
    return math.copysign(LEAK_CD * leak_m2 * math.sqrt(2.0 * abs(dp_pa) / K.RHO_AIR), dp_pa)


def zone_dp_pa(zn: Zones, rack_q: np.ndarray, unit_q: np.ndarray) -> np.ndarray:
    """Each zone's pressure over the room (Pa) from its net inflow and its leak area."""
    net = _net_inflow(zn, rack_q, unit_q, np.zeros(len(unit_q), dtype=bool))
    a = np.maximum(zn.leak_m2 * LEAK_CD, 1e-9)
    return np.sign(net) * 0.5 * K.RHO_AIR * (net / a) ** 2


def dp_speeds(zn: Zones, control: np.ndarray, v_des_m3s: np.ndarray, dp_target_pa: np.ndarray,
              rack_q: np.ndarray, unit_q: np.ndarray, running: np.ndarray) -> np.ndarray:
    """Fan speed (fraction of design airflow) of each running unit with ``containment_dp`` control
    that holds its zone at ``dp_target_pa``; NaN for the others (and units that open into no zone)."""
    out = np.full(len(control), np.nan)
    holds = (control == CONTROL_DP) & (running != 0) & (v_des_m3s > 0)
    if zn.n == 0 or not holds.any():
        return out
    net = _net_inflow(zn, rack_q, unit_q, holds)
    for z in range(zn.n):
        pull = np.nonzero(holds & (zn.unit_in == z))[0]   # returns in the zone (a hot aisle)
        push = np.nonzero(holds & (zn.unit_out == z) & (zn.unit_in != z))[0]  # supplies into it
        if len(pull) == 0 and len(push) == 0:
            continue
        target = float(np.mean(dp_target_pa[np.concatenate([pull, push])]))
        leak = leak_flow(float(zn.leak_m2[z]), target)
        # the units move what the others put in (or take out) less the target leak
        need = net[z] - leak if len(pull) else leak - net[z]
        units = pull if len(pull) else push
        out[units] = max(need, 0.0) / float(v_des_m3s[units].sum())
    return out
