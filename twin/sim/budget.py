"""What one hall's run may cost: the air grid and the solvers' work, refused before the work.

A steady solve marches the air (steps x cells, :func:`~dctwin.twin.physics.airflow.solve_flow`)
and sweeps the temperature field (sweeps x cells,
:func:`~dctwin.twin.physics.thermal.solve_steady`). Both grow with the grid, the march also with
how fast air enters the room (the step) and how long it stays (the residence time). A 0.05 m grid
over a 12 m hall, a 2 km corridor or a tile that jets air at 50 m/s would each run for hours; they
are refused up front with the figures (:class:`~dctwin.twin.errors.BudgetError`). Every limit here
leaves a 20,000-rack hall at its default grid (1.5 million cells, at most 4.9e8 cell-steps per
march) and the demo halls far inside; on a 2-core desktop a march costs about 0.2 to 0.7 us per
cell-step, a sweep about 30 to 50 ns per cell.
"""

from __future__ import annotations

import math
from typing import Optional

from dctwin.twin.errors import BudgetError
from dctwin.twin.model.layout import Hall
from dctwin.twin.sim.compile import default_grid_m

#: most air cells of a hall's grid (a 20,000-rack hall at its default grid has 1.5 million)
MAX_AIR_CELLS = 4_000_000
#: most cell-steps one air march may take (cells x its most steps; the demos need at most 1.3e8,
#: a 20,000-rack hall 4.9e8): about 10 minutes here when a march runs to its time limit
MAX_MARCH_WORK = 2e9
#: most cell-sweeps of one steady temperature solve, and the most sweeps whatever the grid
#: (the demos settle in at most 1,600 sweeps, a 5,000-rack hall in 200)
MAX_SWEEP_WORK = 4e9
MAX_STEADY_SWEEPS = 20_000


def grid_shape(hall: Hall, grid_m: Optional[float | tuple[float, float]] = None) -> tuple[int, int, int]:
    """(nx, ny, nz) of the air grid :func:`~dctwin.twin.sim.compile.compile_hall` would build."""
    if grid_m is None:
        hxy, hz = default_grid_m(hall)
    elif isinstance(grid_m, tuple):
        hxy, hz = float(grid_m[0]), float(grid_m[1])
    else:
        hxy = hz = float(grid_m)
    return (max(1, int(round(hall.width_m / hxy))), max(1, int(round(hall.depth_m / hxy))),
            max(1, int(round(hall.height_m / hz))))


def check_air_grid(hall: Hall, grid_m: Optional[float | tuple[float, float]] = None) -> None:
    """BudgetError when the hall's air grid would hold more than :data:`MAX_AIR_CELLS` cells."""
    nx, ny, nz = grid_shape(hall, grid_m)
    cells = nx * ny * nz
    if cells > MAX_AIR_CELLS:
        size = f"a {grid_m:g} m grid" if isinstance(grid_m, (int, float)) else "its grid"
        raise BudgetError(f"{hall.id}: {size} over {hall.width_m:g} x {hall.depth_m:g} x {hall.height_m:g} m is "
                          f"{nx:,} x {ny:,} x {nz:,} = {cells:,} air cells; at most {MAX_AIR_CELLS:,} "
                          f"(use a coarser grid)")


def max_sweeps(n_cells: int) -> int:
    """Sweeps one steady temperature solve of ``n_cells`` cells may take."""
    return int(min(MAX_STEADY_SWEEPS, max(200, math.floor(MAX_SWEEP_WORK / max(n_cells, 1)))))
