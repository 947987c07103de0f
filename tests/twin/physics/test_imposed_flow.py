"""The CFD-flow carrier of session 26's error budget (imposed_flow.py): face fluxes of one uniform grid
integrated onto another's faces conserve mass on every cell."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from imposed_flow import average_cells, restrict_fluxes  # noqa: E402
from dctwin.twin.physics import airflow  # noqa: E402

SRC, H_SRC = (8, 6, 5), (0.15, 0.15, 0.2)  # the CFD rooms' mesh: 1.2 x 0.9 x 1.0 m
DST, H_DST = (4, 3, 8), (0.3, 0.3, 0.125)  # dctwin's grid of the same box (layers not nested)


def curl_fluxes(seed: int = 1) -> list:
    """Face fluxes with zero discrete divergence: the circulations of a random edge potential."""
    rng = np.random.default_rng(seed)
    nx, ny, nz = SRC
    ax = rng.normal(size=(nx, ny + 1, nz + 1))
    ay = rng.normal(size=(nx + 1, ny, nz + 1))
    az = rng.normal(size=(nx + 1, ny + 1, nz))
    fx = (az[:, 1:, :] - az[:, :-1, :]) - (ay[:, :, 1:] - ay[:, :, :-1])
    fy = (ax[:, :, 1:] - ax[:, :, :-1]) - (az[1:, :, :] - az[:-1, :, :])
    fz = (ay[1:, :, :] - ay[:-1, :, :]) - (ax[:, 1:, :] - ax[:, :-1, :])
    return [fx, fy, fz]


def divergence(f: list) -> np.ndarray:
    return f[0][1:] - f[0][:-1] + f[1][:, 1:] - f[1][:, :-1] + f[2][:, :, 1:] - f[2][:, :, :-1]


def test_restricted_fluxes_balance_on_every_cell():
    src = curl_fluxes()
    assert np.abs(divergence(src)).max() < 1e-12
    dst = restrict_fluxes(src, H_SRC, DST, H_DST)
    assert [a.shape for a in dst] == [(5, 3, 8), (4, 4, 8), (4, 3, 9)]
    assert np.abs(divergence(dst)).max() < 1e-12
    # a plane both grids share carries the same flow
    assert abs(dst[0][2].sum() - src[0][4].sum()) < 1e-12
    assert abs(dst[2][:, :, 8].sum() - src[2][:, :, 5].sum()) < 1e-12
    # ... and a layer plane of dctwin's inside a CFD cell the flow interpolated across it (z = 0.5 m)
    assert abs(dst[2][:, :, 4].sum() - 0.5 * (src[2][:, :, 2].sum() + src[2][:, :, 3].sum())) < 1e-12


def test_linear_velocity_resampling_does_not_balance():
    """What the carrier replaces: velocities interpolated linearly onto the other grid's faces
    (airflow.resample, as a start for a march) leave a divergence the projection would have to take out."""
    src = curl_fluxes()
    areas = (H_SRC[1] * H_SRC[2], H_SRC[0] * H_SRC[2], H_SRC[0] * H_SRC[1])
    dst_areas = (H_DST[1] * H_DST[2], H_DST[0] * H_DST[2], H_DST[0] * H_DST[1])
    out = []
    for axis in range(3):
        xs = [np.arange(n + (a == axis)) * h + (0 if a == axis else h / 2) for a, (n, h) in enumerate(zip(SRC, H_SRC))]
        xd = [np.arange(n + (a == axis)) * h + (0 if a == axis else h / 2) for a, (n, h) in enumerate(zip(DST, H_DST))]
        out.append(airflow.resample(src[axis] / areas[axis], tuple(xs), tuple(xd)) * dst_areas[axis])
    assert np.abs(divergence(out)).max() > 1e-3


def test_uniform_flow_and_cell_average():
    u = (0.3, -0.2, 0.1)
    src = [np.full(tuple(n + (a == axis) for a, n in enumerate(SRC)), u[axis] * H_SRC[(axis + 1) % 3] *
                   H_SRC[(axis + 2) % 3]) for axis in range(3)]
    dst = restrict_fluxes(src, H_SRC, DST, H_DST)
    for axis in range(3):
        assert np.allclose(dst[axis], u[axis] * H_DST[(axis + 1) % 3] * H_DST[(axis + 2) % 3], rtol=0, atol=1e-14)
    solid = np.zeros(SRC, dtype=bool)
    solid[:2, :2, :] = True  # the first dctwin column is solid in the source
    a = np.where(solid, 99.0, 2.0)
    avg = average_cells(a, solid, H_SRC, DST, H_DST)
    assert np.allclose(avg[1:], 2.0) and np.allclose(avg[0, 1:], 2.0) and np.allclose(avg[0, 0], 0.0)
