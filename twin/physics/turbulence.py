"""A one-equation eddy viscosity carried with the flow (an option of the air march,
:func:`dctwin.twin.physics.airflow.solve_flow`, ``turbulence=OneEquation(...)``).

Chen's zero-equation model sets ``nu_t`` from the local speed and wall distance only, so a tile jet
mixes as much at its core as at its edges, and the air along an aisle mixes as much as a plume. Here
the turbulent kinetic energy ``k`` is made where the resolved flow shears (``P = nu_t S²``), carried
with the air, spread by ``nu_t / sigma_k`` and dissipated at ``C_mu^¾ k^{3/2} / l``; then
``nu_t = C_mu^¼ sqrt(k) l`` (Prandtl-Kolmogorov, as Wolfshtein's one-equation model). The mixing
length is ``l = min(kappa d, l_max)`` (d the wall distance). Where production balances dissipation
this is Prandtl's mixing length, ``nu_t = l² S``; away from where the turbulence is made it decays.
Air entering through a port carries ``k = 1.5 (I v)²`` (``I`` the turbulence intensity, ``v`` the
port face velocity). Kernels in :mod:`._turbulence_numba` (references in :mod:`._turbulence_numpy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from dctwin.twin.physics import _turbulence_numba as _nb

#: the k-epsilon constant (-)
C_MU = 0.09
#: von Karman constant (-)
KAPPA = 0.41


@dataclass(frozen=True)
class OneEquation:
    """Parameters of the one-equation model: the largest mixing length ``l_max`` (m), the intensity
    of the air entering through ports ``intensity`` (-), the Schmidt number of k ``sigma_k`` (-),
    Gauss-Seidel sweeps per step ``sweeps``; ``kato``: production ``nu_t S Ω`` (Kato-Launder: none
    where the air is strained without rotating, as a jet turning under the ceiling) instead of
    ``nu_t S²``; ``momentum``: its eddy viscosity diffuses momentum too
    (False: momentum keeps Chen's, and only the temperature's diffusivity comes from k)."""

    l_max: float = 0.2
    intensity: float = 0.1
    sigma_k: float = 1.0
    sweeps: int = 2
    kato: bool = False
    momentum: bool = True

    def __post_init__(self) -> None:
        if not self.l_max > 0.0:
            raise ValueError(f"l_max {self.l_max!r} must be above 0 m")
        if not 0.0 <= self.intensity <= 1.0:
            raise ValueError(f"intensity {self.intensity!r} is out of range (0..1)")
        if not self.sigma_k > 0.0 or self.sweeps < 1:
            raise ValueError(f"sigma_k {self.sigma_k!r} must be above 0 and sweeps {self.sweeps!r} at least 1")


def mixing_length(ap, l_max: float) -> np.ndarray:
    """``min(kappa d, l_max)`` (m) at cell centres (d the distance to the nearest wall), at least 1 mm."""
    return np.clip(KAPPA * ap.wall_dist_m, 1e-3, l_max)


class KField:
    """The k of one march on plant ``ap``: :meth:`step` advances it with the face velocities of a step
    and writes the eddy viscosity."""

    def __init__(self, ap, model: OneEquation, port_cell: np.ndarray, port_q: np.ndarray, port_area: np.ndarray,
                 nu_floor: float, k0: Optional[np.ndarray] = None) -> None:
        self.ap, self.model, self.nu_floor = ap, model, nu_floor
        self.lmix = mixing_length(ap, model.l_max)
        self.k = np.zeros(ap.shape) if k0 is None or np.shape(k0) != ap.shape else np.array(k0, dtype=np.float64)
        self.port_in = np.zeros(ap.shape)
        self.port_out = np.zeros(ap.shape)
        q = np.asarray(port_q, dtype=np.float64)
        k_in = 1.5 * (model.intensity * q / np.maximum(port_area, 1e-12)) ** 2
        cells = np.asarray(port_cell, dtype=np.int64)
        np.add.at(self.port_in.reshape(-1), cells[q > 0], (q * k_in)[q > 0])
        np.add.at(self.port_out.reshape(-1), cells[q < 0], -q[q < 0])
        self.s2 = np.zeros(ap.shape)
        self.nu = np.zeros(ap.shape)
        self.viscosity(self.nu)
        self._rhs = np.zeros(ap.shape)
        self._diag = np.zeros(ap.shape)

    def viscosity(self, out: np.ndarray) -> np.ndarray:
        """The eddy viscosity (m2/s) of the present k into ``out``."""
        _nb.k_viscosity(self.k, self.lmix, self.ap.solid, C_MU, self.nu_floor, out)
        return out

    def step(self, uf: np.ndarray, dt: float) -> np.ndarray:
        """Advance k over ``dt`` (s) in the face velocities ``uf`` (its production and spreading with
        the eddy viscosity of the step's start); returns the new eddy viscosity (m2/s, cell centres,
        :attr:`nu`, overwritten by the next step)."""
        nu = self.nu
        ap, m = self.ap, self.model
        u, v, w = ap.face_views(uf)
        cx, cy, cz = ap.face_views(ap.cond)
        _nb.strain_sq(u, v, w, ap.solid, ap.dx, ap.dy, ap.dz, m.kato, self.s2)
        _nb.k_step(self.k, u, v, w, cx, cy, cz, ap.solid, nu, self.lmix, self.s2, self.port_in, self.port_out,
                   dt, ap.dx, ap.dy, ap.dz, m.sigma_k, C_MU, m.sweeps, self._rhs, self._diag)
        return self.viscosity(nu)
