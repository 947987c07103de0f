"""The one-equation eddy viscosity (twin/physics/turbulence.py): its kernels against the numpy
references, and its physics (decay in still air, the mixing-length balance in a homogeneous shear,
the jet it makes in a room)."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.twin.physics import _turbulence_numba as nb
from dctwin.twin.physics import _turbulence_numpy as ref
from dctwin.twin.physics.turbulence import C_MU, OneEquation


def _grid(seed=1, shape=(7, 6, 5)):
    rng = np.random.default_rng(seed)
    nx, ny, nz = shape
    solid = np.zeros(shape, dtype=bool)
    solid[2:4, 2, 1:3] = True
    u = rng.normal(size=(nx + 1, ny, nz))
    v = rng.normal(size=(nx, ny + 1, nz))
    w = rng.normal(size=(nx, ny, nz + 1))
    cx, cy, cz = (np.where(rng.random(a.shape) < 0.1, 0.0, np.where(rng.random(a.shape) < 0.1, 0.3, 1.0))
                  for a in (u, v, w))
    for c in (cx[0], cx[-1], cy[:, 0], cy[:, -1], cz[:, :, 0], cz[:, :, -1]):
        c[...] = 0.0
    return rng, solid, u, v, w, cx, cy, cz


@pytest.mark.parametrize("kato", [False, True])
def test_strain_agrees_with_the_reference(kato):
    _, solid, u, v, w, *_ = _grid()
    out = np.empty(solid.shape)
    nb.strain_sq(u, v, w, solid, 0.3, 0.25, 0.2, kato, out)
    np.testing.assert_allclose(out, ref.strain_sq(u, v, w, solid, 0.3, 0.25, 0.2, kato), rtol=1e-12, atol=1e-12)


def test_kato_launder_makes_nothing_in_a_pure_strain_and_the_same_in_a_simple_shear():
    n = 5
    h = 0.3
    x = np.arange(n + 1) * h
    # u = a x, w = -a z: strained, not rotating
    u = np.broadcast_to((0.8 * x)[:, None, None], (n + 1, n, n)).copy()
    w = np.broadcast_to((-0.8 * x)[None, None, :], (n, n, n + 1)).copy()
    v = np.zeros((n, n + 1, n))
    solid = np.zeros((n, n, n), bool)
    s2, sw = np.empty(solid.shape), np.empty(solid.shape)
    nb.strain_sq(u, v, w, solid, h, h, h, False, s2)
    nb.strain_sq(u, v, w, solid, h, h, h, True, sw)
    assert s2.min() > 1.0 and np.abs(sw).max() < 1e-12
    # a simple shear rotates as much as it strains: S Ω = S²
    y = (np.arange(n) + 0.5) * h
    u = np.broadcast_to((2.0 * y)[None, :, None], (n + 1, n, n)).copy()
    nb.strain_sq(u, v, np.zeros((n, n, n + 1)), solid, h, h, h, True, sw)
    np.testing.assert_allclose(sw, 4.0, rtol=1e-12)


def test_strain_of_a_linear_shear_is_its_rate_squared():
    nx, ny, nz = 4, 6, 3
    s = 2.5
    y = (np.arange(ny) + 0.5) * 0.3
    u = np.broadcast_to(s * y[None, :, None], (nx + 1, ny, nz)).copy()
    out = np.empty((nx, ny, nz))
    nb.strain_sq(u, np.zeros((nx, ny + 1, nz)), np.zeros((nx, ny, nz + 1)), np.zeros((nx, ny, nz), bool),
                 0.3, 0.3, 0.3, False, out)
    np.testing.assert_allclose(out, s * s, rtol=1e-12)


def test_the_implicit_step_by_sweeps_converges_to_the_exact_solve():
    rng, solid, u, v, w, cx, cy, cz = _grid(2)
    shape = solid.shape
    k0 = rng.random(shape) * 0.05
    nu = 0.001 + 0.02 * rng.random(shape)
    lmix = 0.05 + 0.2 * rng.random(shape)
    s2 = rng.random(shape)
    port_in = np.where(rng.random(shape) < 0.1, rng.random(shape) * 0.01, 0.0)
    port_out = np.where(rng.random(shape) < 0.1, rng.random(shape) * 0.05, 0.0)
    args = (u, v, w, cx, cy, cz, solid, nu, lmix, s2, port_in, port_out, 0.02, 0.3, 0.25, 0.2, 1.0, C_MU)
    exact = ref.k_step(k0.copy(), *args)
    kt = k0.copy()
    nb.k_step(kt, *args, 400, np.empty(shape), np.empty(shape))
    np.testing.assert_allclose(kt, exact, rtol=1e-9, atol=1e-12)
    assert exact.min() >= 0.0
    # a single sweep is a different (not converged) answer: the sweeps count
    one = k0.copy()
    nb.k_step(one, *args, 1, np.empty(shape), np.empty(shape))
    assert np.abs(one - exact).max() > 1e-6


def test_viscosity_agrees_with_the_reference():
    rng, solid, *_ = _grid(3)
    kt = rng.random(solid.shape) * 0.1
    lmix = 0.05 + 0.2 * rng.random(solid.shape)
    out = np.empty(solid.shape)
    nb.k_viscosity(kt, lmix, solid, C_MU, 1e-3, out)
    np.testing.assert_allclose(out, ref.k_viscosity(kt, lmix, solid, C_MU, 1e-3), rtol=1e-14)


def _box(shape=(5, 5, 5)):
    nx, ny, nz = shape
    z = [np.zeros((nx + 1, ny, nz)), np.zeros((nx, ny + 1, nz)), np.zeros((nx, ny, nz + 1))]
    cond = [np.ones_like(a) for a in z]
    for c in (cond[0][0], cond[0][-1], cond[1][:, 0], cond[1][:, -1], cond[2][:, :, 0], cond[2][:, :, -1]):
        c[...] = 0.0
    return z, cond, np.zeros(shape, dtype=bool)


def test_k_decays_in_still_air_as_the_dissipation_law_says():
    """dk/dt = -C_mu^¾ k^{3/2} / l  =>  k(t)^-½ = k0^-½ + C_mu^¾ t / (2 l)."""
    (u, v, w), (cx, cy, cz), solid = _box()
    shape = solid.shape
    lm = 0.1
    lmix = np.full(shape, lm)
    k0 = 0.5
    kt = np.full(shape, k0)
    nu = np.empty(shape)
    s2, zero = np.zeros(shape), np.zeros(shape)
    dt, t_end = 0.002, 2.0
    for _ in range(int(round(t_end / dt))):
        nb.k_viscosity(kt, lmix, solid, C_MU, 0.0, nu)
        nb.k_step(kt, u, v, w, cx, cy, cz, solid, nu, lmix, s2, zero, zero, dt, 0.3, 0.3, 0.3, 1.0, C_MU, 2,
                  np.empty(shape), np.empty(shape))
    exact = (k0 ** -0.5 + C_MU ** 0.75 * t_end / (2 * lm)) ** -2
    assert exact < 0.25 * k0  # it has decayed a lot
    np.testing.assert_allclose(kt, exact, rtol=0.01)


def test_homogeneous_shear_settles_where_production_balances_dissipation():
    """In a uniform shear S, P = eps gives k = l² S² / sqrt(C_mu) and nu_t = l² S (Prandtl's mixing
    length), whatever k it starts from."""
    nx, ny, nz = 6, 8, 3
    (u, v, w), (cx, cy, cz), solid = _box((nx, ny, nz))
    h, s, lm = 0.3, 4.0, 0.1
    y = (np.arange(ny) + 0.5) * h
    u[:] = s * y[None, :, None]
    lmix = np.full(solid.shape, lm)
    k_eq = lm * lm * s * s / np.sqrt(C_MU)
    # the air entering at x = 0 carries the equilibrium k; it leaves at x = L
    port_in, port_out = np.zeros(solid.shape), np.zeros(solid.shape)
    port_in[0] = u[0] * h * h * k_eq
    port_out[-1] = u[-1] * h * h
    s2 = np.empty(solid.shape)
    nb.strain_sq(u, v, w, solid, h, h, h, False, s2)
    for k_start in (1e-4, 10 * k_eq):
        kt = np.full(solid.shape, k_start)
        nu = np.empty(solid.shape)
        for _ in range(400):
            nb.k_viscosity(kt, lmix, solid, C_MU, 0.0, nu)
            nb.k_step(kt, u, v, w, cx, cy, cz, solid, nu, lmix, s2, port_in, port_out, 0.05, h, h, h, 1.0, C_MU,
                      2, np.empty(solid.shape), np.empty(solid.shape))
        nb.k_viscosity(kt, lmix, solid, C_MU, 0.0, nu)
        np.testing.assert_allclose(kt, k_eq, rtol=1e-3)
        np.testing.assert_allclose(nu, lm * lm * s, rtol=1e-3)


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="l_max"):
        OneEquation(l_max=0.0)
    with pytest.raises(ValueError, match="intensity"):
        OneEquation(intensity=2.0)


# --------------------------------------------------------------------------- in the march


def _aisle_march(**kw):
    from air_cases import aisle_room
    from dctwin.twin.physics.airflow import FlowBC, solve_flow
    from dctwin.twin.sim.compile import compile_hall
    site, qt = aisle_room(n_per_row=3)
    ap = compile_hall(site)
    bc = FlowBC(np.full(ap.n_racks, 0.35), np.zeros(0), qt)
    return ap, bc, solve_flow, FlowBC, qt


def test_a_march_with_the_one_equation_model_carries_k_and_sets_nu_t_from_it():
    from dctwin.twin.physics.turbulence import mixing_length
    ap, bc, solve_flow, FlowBC, qt = _aisle_march()
    model = OneEquation(l_max=0.4)
    fl = solve_flow(ap, bc, turbulence=model)
    chen = solve_flow(ap, bc)
    assert fl.converged and chen.k is None
    assert fl.max_div * ap.cell_volume_m3 < 1e-9 * qt
    fluid = ~ap.solid
    assert np.isfinite(fl.k).all() and fl.k.min() >= 0.0 and fl.k[fluid].max() > 0.05
    nu = np.maximum(C_MU ** 0.25 * np.sqrt(fl.k) * mixing_length(ap, 0.4), 1e-3)
    np.testing.assert_allclose(fl.nu_t[fluid], nu[fluid], rtol=1e-12)
    # where the turbulence is made, not the local speed: the eddy viscosity is not Chen's
    assert np.median(fl.nu_t[fluid]) > 2 * np.median(chen.nu_t[fluid])
    # a warm start carries k along: fewer steps than from rest, to the same flow
    bc2 = FlowBC(bc.rack_airflow_m3s * 0.95, bc.unit_airflow_m3s, qt * 0.95)
    warm = solve_flow(ap, bc2, init=fl, turbulence=model)
    cold = solve_flow(ap, bc2, turbulence=model)
    assert warm.steps < cold.steps
    assert np.abs(warm.cell_velocity(ap) - cold.cell_velocity(ap)).max() < 0.3


def test_the_air_model_option_reaches_a_steady_solve():
    from air_cases import cfd_site
    from dctwin.twin.sim.engine import Simulation
    from test_cfd_rooms import load_room
    site = cfd_site(load_room("g_short_rows"), "uniform_5kW")
    fast = Simulation(site).solve_steady().to_json()
    k1 = Simulation(site, air_model="one_equation")
    out = k1.solve_steady().to_json()
    assert k1.state.flow.k is not None and k1.state.flow.k.max() > 0.0
    dt = [abs(out["racks"][r]["inlet_c"] - fast["racks"][r]["inlet_c"]) for r in fast["racks"]]
    assert max(dt) > 0.05  # the option changes the answer


def test_k_for_the_temperature_only_leaves_the_momentum_to_chen():
    ap, bc, solve_flow, FlowBC, qt = _aisle_march()
    chen = solve_flow(ap, bc)
    t_only = solve_flow(ap, bc, turbulence=OneEquation(l_max=0.4, momentum=False))
    both = solve_flow(ap, bc, turbulence=OneEquation(l_max=0.4))
    assert np.array_equal(t_only.u, chen.u)  # the flow is Chen's, bit for bit
    assert not np.array_equal(t_only.nu_t, chen.nu_t)  # the temperature's diffusivity is k's
    assert np.abs(both.u - chen.u).max() > 0.05
