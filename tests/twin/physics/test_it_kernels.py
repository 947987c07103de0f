"""numba kernels of the IT model agree with their numpy references on random input."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.twin.physics import _it_numba as nb
from dctwin.twin.physics import _it_numpy as ref
from dctwin.twin.physics import codes

N = 400
PRM = codes.rack_params()


def _close(a, b):
    for x, y in zip(a, b):
        assert x.dtype == y.dtype or (x.dtype.kind == y.dtype.kind == "f")
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-9)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def test_power_airflow_agrees(rng):
    args = (
        rng.uniform(-0.3, 1.8, N), rng.uniform(-20, 120, N), rng.choice([0.0, 1e3, 8e3, 150e3], N) * rng.random(N),
        rng.uniform(0, 15, N), rng.uniform(0, 0.6, N), rng.choice([0.0, 0.5, 0.85, 1.0], N),
        rng.uniform(0.5, 1.0, N), rng.integers(0, 2, N).astype(np.int8), PRM,
    )
    _close(nb.power_airflow_kernel(*args), ref.power_airflow_kernel(*args))


def test_throttle_agrees(rng):
    warn = rng.choice([25.0, 32.0, 35.0, 40.0], N)
    crit = warn + rng.choice([0.0, 5.0], N)
    args = (warn + rng.uniform(-3, 8, N), rng.uniform(50, 110, N), warn, crit, np.full(N, 85.0),
            np.full(N, 95.0), rng.integers(0, 2, N).astype(np.int8), PRM)
    args[0][:10] = warn[:10]
    args[0][10:20] = crit[10:20]
    _close([nb.throttle_kernel(*args)], [ref.throttle_kernel(*args)])


@pytest.mark.parametrize("dt", [0.5, 1.0, 10.0, 60.0])
def test_protection_agrees(rng, dt):
    warn = rng.choice([32.0, 35.0], N)
    crit = warn + 5.0
    args = (
        warn + rng.uniform(-4, 9, N), rng.uniform(55, 100, N), (rng.random(N) > 0.1).astype(np.int8),
        rng.integers(0, 3, N).astype(np.int8), rng.integers(0, 2, N).astype(np.int8),
        rng.choice([0.0, 30.0, 59.0, 59.5, 60.0], N), rng.choice([0.0, 1.0], N),
        rng.choice([0.0, 100.0, 299.0, 299.5], N), rng.integers(0, 4, N).astype(np.int8),
        warn, crit, np.full(N, 60.0), np.full(N, 300.0), np.full(N, 85.0), np.full(N, 95.0),
        rng.choice([0.0, 2.0], N), rng.integers(0, 2, N).astype(np.int8), dt, PRM,
    )
    a = nb.protection_kernel(*args)
    b = ref.protection_kernel(*args)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert set(np.unique(a[-1])) >= {0, 1, 3}  # the random mix exercises the transitions


@pytest.mark.parametrize("dt", [1e-6, 1.0, 30.0, 3600.0])
def test_server_mass_agrees(rng, dt):
    v = rng.uniform(0, 3, N)
    v[:20] = 0.0
    c = rng.uniform(0, 3e6, N)
    c[20:40] = 0.0
    args = (rng.uniform(0, 150e3, N), v, rng.uniform(10, 45, N), rng.uniform(10, 80, N), c,
            rng.uniform(0.5, 0.9, N), dt, PRM)
    _close(nb.server_mass_kernel(*args), ref.server_mass_kernel(*args))


@pytest.mark.parametrize("dt", [1.0, 30.0])
def test_coldplate_agrees(rng, dt):
    g = rng.uniform(0, 5e3, N)
    g[:20] = 0.0
    args = (rng.uniform(0, 120e3, N), rng.uniform(30, 100, N), rng.uniform(0, 60e3, N), g,
            rng.uniform(20, 45, N), rng.integers(0, 2, N).astype(np.int8),
            np.where(rng.random(N) < 0.5, np.inf, rng.uniform(0, 60e3, N)), dt)
    _close(nb.coldplate_kernel(*args), ref.coldplate_kernel(*args))


def test_server_steady_agrees(rng):
    v = rng.uniform(0, 3, N)
    v[:20] = 0.0
    eps = rng.uniform(0.5, 0.9, N)
    eps[20:30] = 0.0
    args = (rng.uniform(0, 150e3, N), v, rng.uniform(10, 45, N), eps, PRM)
    _close(nb.server_steady_kernel(*args), ref.server_steady_kernel(*args))


def test_params_come_from_constants_and_change_the_result():
    from dctwin.twin.physics import constants as K

    assert PRM[codes.RACK_P_RHOCP] == K.RHO_CP_AIR and PRM[codes.RACK_P_FLOOR] == K.THROTTLE_FLOOR
    n = 3
    args = (np.ones(n), np.full(n, 22.5), np.full(n, 1e4), np.ones(n), np.full(n, 0.1), np.zeros(n),
            np.ones(n), np.ones(n, np.int8))
    other = PRM.copy()
    other[codes.RACK_P_CPU + 1] = 2.0  # CPU power twice as steep in u
    for mod in (nb, ref):
        base = mod.power_airflow_kernel(*args, PRM)[0]
        steep = mod.power_airflow_kernel(*args, other)[0]
        np.testing.assert_allclose(steep - base, 1e4 * 0.9 * 1.0)
