"""The rack-front jets in the temperature solve (session 25: the air model's ``front_jet_edge``,
``wall_jet.JetTubes``; off by default): what the streams carry, that every cell keeps its balance and the
steady solve and a transient step their energy with them on, that a run from the steady state stays there,
that off is the solve without them bit for bit, and what they do on a CFD room."""

from __future__ import annotations

import numpy as np
import pytest

from air_cases import cfd_site, room
from cfd_table import inlet_errors
from test_airflow_core import _flow, _front_room
from test_cfd_rooms import load_room
from dctwin.twin.model import demos
from dctwin.twin.model.layout import Grille, Rack, Tile
from dctwin.twin.physics import thermal, wall_jet
from dctwin.twin.sim import air_models
from dctwin.twin.sim.engine import Simulation

EDGE = wall_jet.HEAT_EDGE  # 0.3: AirModel.front_jet_edge when on

#: the front room's rack: 0.36 m3/s through a 0.6 x 2.1 m front, cells of 0.3 m; its tile 0.36 m3/s over 0.36 m2
INTAKE_Q = 0.36 / (0.6 * 2.1) * 0.3 * 0.3
EDGE_Q = 0.3 * 1.0 * 0.3 * 0.3  # HEAT_EDGE x W0 (1 m/s) x the front cell across (0.3 m) x the layer (0.3 m)


def _divergence(ap, c) -> np.ndarray:
    """Net inflow (m3/s) of every cell under the coefficients' fluxes and ports."""
    div = -(c.fx[1:] - c.fx[:-1]) - (c.fy[:, 1:] - c.fy[:, :-1]) - (c.fz[:, :, 1:] - c.fz[:, :, :-1])
    np.add.at(div.reshape(-1), c.pc, c.pq)
    return div


def test_the_free_edges_of_a_front_draw_room_air_that_the_intakes_take():
    ap, flow = _flow(_front_room(), tiles=0.36)
    jt = thermal.jet_tubes(ap, flow)
    cols = [tuple(int(v) for v in np.unravel_index(c, ap.shape)[:2]) for c in jt.cells[:, 0]]
    assert cols == [(4, 6), (5, 6)]  # the two columns in front of the rack, over the tile
    # each has one free edge along the front (x): i 3 beside column 4, i 6 beside column 5, every layer 0..6
    for t, ni in ((0, 3), (1, 6)):
        live = jt.edge_q[t] > 0
        assert live.sum() == 7
        cells = np.unravel_index(jt.edge_cells[t][live], ap.shape)
        assert set(cells[0]) == {ni} and set(cells[1]) == {6}
    np.testing.assert_allclose(jt.edge_q[jt.edge_q > 0], EDGE_Q)
    # the faces between carry that much less toward the jet (x 1.2 inward +x, x 1.8 inward -x)
    np.testing.assert_allclose(jt.fx_sub[4, 6, :7], EDGE_Q)
    np.testing.assert_allclose(jt.fx_sub[6, 6, :7], -EDGE_Q)
    # no tile core (slot 0): nothing arrives at layer 0; above, the intakes take what arrives, up to their flow
    np.testing.assert_allclose(jt.take[:, 0], 0.0)
    np.testing.assert_allclose(jt.take[:, 1:7], INTAKE_Q)
    np.testing.assert_allclose(jt.b_out[:, 6], 7 * EDGE_Q)  # nothing taken from it is lost: it grows by the edge
    assert not jt.pq_add[thermal.port_faces(ap).group["tile"]].any()


@pytest.mark.parametrize("slot", [0.0, 0.15])
def test_every_cell_keeps_its_balance_with_the_streams(monkeypatch, slot):
    monkeypatch.setattr(wall_jet, "HEAT_SLOT_M", slot)
    monkeypatch.setattr(wall_jet, "HEAT_SPREAD", 0.073 if slot else 0.0)
    ap, flow = _flow(_front_room(), tiles=0.36)
    c, jt = thermal.jet_coefficients(ap, flow)
    assert jt.n == 2 and (jt.ent > 0).any()
    plain = _divergence(ap, thermal.coefficients(ap, flow))  # the march's own residual, ~1e-12 m3/s
    assert np.abs(_divergence(ap, c) - plain)[~ap.solid].max() < 1e-15
    if slot:  # the tile's core leaves the tile's inflow into the cell
        tiles = thermal.port_faces(ap).group["tile"]
        assert jt.pq_add[tiles].sum() == pytest.approx(-2 * 0.09 * 0.15 / 0.3)


def _solve(ap, flow, tvd=False, edge=0.0):
    return thermal.solve_steady(ap, flow, np.array([4e3]), np.zeros(0), 18.0, return_info=True, tvd=tvd,
                                front_jet_edge=edge)


@pytest.mark.parametrize("tvd", [False, True])
def test_on_the_rack_reads_the_drawn_room_air_and_energy_is_conserved(tvd):
    ap, flow = _flow(_front_room(), tiles=0.36)
    T0, off = _solve(ap, flow, tvd)
    T1, on = _solve(ap, flow, tvd, EDGE)
    # the edges carry room air (warmer than the tile's) to the intakes: the rack's inlet rises
    assert on["rack_inlet_c"][0] > off["rack_inlet_c"][0] + 0.05
    # its ports carry away the rack's 4 kW (the streams are lossless), no cell colder than the supply
    assert on["energy"]["cooling_w"] == pytest.approx(4e3, rel=1e-4)
    assert on["energy_error"] < 1e-4
    assert T1[~ap.solid].min() > 18.0 - 1e-6
    # port_means reads the same inlets as the solve's coupling
    np.testing.assert_allclose(thermal.port_means(ap, flow, T1, EDGE)[0], on["rack_inlet_c"], atol=1e-12)
    exhaust = on["rack_inlet_c"] + 4e3 / (thermal.RHO_CP * 0.36)
    np.testing.assert_allclose(on["rack_exhaust_c"], exhaust, atol=1e-9)


def test_off_is_the_solve_without_streams_bit_for_bit():
    assert air_models.AirModel().front_jet_edge == 0.0
    # the plain default is off (what a recording that lacks the field ran with); on in "fast" and "one_equation"
    assert {n: m.front_jet_edge for n, m in air_models.AIR_MODELS.items()} == \
        {"fast": EDGE, "validated": 0.0, "one_equation": EDGE}
    ap, flow = _flow(_front_room(), tiles=0.36)
    T0, info0 = _solve(ap, flow)
    assert not any(isinstance(k, tuple) and k[0] in ("jet_tubes", "coeffs_jet") for k in flow.cache)
    rin0 = thermal.port_means(ap, flow, T0)[0]
    Ton, _ = _solve(ap, flow, edge=EDGE)  # the streams are built and cached on the flow
    assert not np.array_equal(T0, Ton)
    T2, info2 = _solve(ap, flow)
    np.testing.assert_array_equal(T0, T2)
    np.testing.assert_array_equal(rin0, thermal.port_means(ap, flow, T2)[0])
    assert info0["sweeps"] == info2["sweeps"]
    for dt in (0.25, 30.0):  # explicit and implicit steps: the same after the streams were used
        a = thermal.step(ap, flow, T0, dt, np.array([35.0]), np.zeros(0), 18.0)
        thermal.step(ap, flow, T0, dt, np.array([35.0]), np.zeros(0), 18.0, front_jet_edge=EDGE)
        np.testing.assert_array_equal(a, thermal.step(ap, flow, T0, dt, np.array([35.0]), np.zeros(0), 18.0))


def test_without_a_stream_the_steady_solve_with_the_edge_is_the_plain_one_bit_for_bit():
    """A hall with no intake above a supplying tile (the ai-hall: no stream) solves as with the edge off,
    the same sweeps, bit for bit: "fast"'s edge does not move its saved outputs."""
    rack = Rack(id="A", x_m=1.2, y_m=0.6, facing="N", height_m=2.1, it_kw=4.0, airflow_m3s=0.36)
    far = room(width=3.0, depth=4.2, racks=[rack], tiles=[Tile(id="T", x_m=0.3, y_m=3.6, open_fraction=1.0)],
               grilles=[Grille(id="G", x_m=2.4, y_m=3.0)], grid_m=0.3)  # the tile away from the rack's front
    ap, flow = _flow(far, tiles=0.36)
    assert thermal.jet_tubes(ap, flow, EDGE).n == 0
    T0, info0 = _solve(ap, flow)
    T1, info1 = _solve(ap, flow, edge=EDGE)
    np.testing.assert_array_equal(T0, T1)
    assert info0["sweeps"] == info1["sweeps"]


def _physical_heat(ap, flow, star, dt, tex, edge):
    """Heat (J) the plant's ports bring in over a step whose air left at the iterate ``star``: tile and
    exhaust air in at their temperatures, the grille's out at its cell's, the rack's intake at
    :func:`thermal.port_means` of the iterate (the jets' temperatures where it takes from them)."""
    pf = thermal.port_faces(ap)
    q = flow.port_q
    pT = thermal.inflow_temperatures(ap, flow, tex, np.zeros(0), 18.0)
    face = np.where(q > 0, q * pT, q * star.reshape(-1)[pf.cell])
    rin = pf.group["rack_in"]
    face[rin] = 0.0
    tin = thermal.port_means(ap, flow, star, edge)[0]
    return thermal.RHO_CP * dt * (face.sum() - float((flow.rack_q * tin).sum()))


@pytest.mark.parametrize("dt", [0.25, 30.0])
def test_a_step_with_the_jets_conserves_the_plants_port_heat(dt):
    """Explicit (0.25 s) and implicit (30 s) steps: the stored energy changes by what the plant's ports bring,
    the intake at the jets' temperatures at the iterate (round-off); a step without the streams misses it."""
    ap, flow = _flow(_front_room(), tiles=0.36)
    T = thermal.initial_temperature(ap, 22.0)
    star = np.empty(ap.shape)
    for n in range(6):
        tin = thermal.port_means(ap, flow, T, EDGE)[0]
        tex = tin + 4e3 / (thermal.RHO_CP * 0.36)
        e0 = thermal.stored_energy_j(ap, T)
        star[...] = T
        info: dict = {}
        T, heat = thermal.step(ap, flow, T, dt, tex, np.zeros(0), 18.0, iterate=star, return_heat=True,
                               front_jet_edge=EDGE, info=info)
        assert (info["substeps"] > 0) == (dt < 1)
        de = thermal.stored_energy_j(ap, T) - e0
        assert de == pytest.approx(heat, rel=1e-9, abs=1e-12 * abs(e0))
        assert de == pytest.approx(_physical_heat(ap, flow, star, dt, tex, EDGE), rel=1e-9, abs=1e-12 * abs(e0))
    # without the streams in the step, the intakes' heat at the jets' temperatures does not close
    star[...] = T
    T2, _ = thermal.step(ap, flow, T, dt, tex, np.zeros(0), 18.0, iterate=star, return_heat=True)
    de = thermal.stored_energy_j(ap, T2) - thermal.stored_energy_j(ap, T)
    assert abs(de - _physical_heat(ap, flow, star, dt, tex, EDGE)) > 1e-6 * abs(de)


@pytest.mark.parametrize("dt,span", [(0.25, 60.0), (10.0, 300.0), (30.0, 300.0)])
def test_a_run_from_the_steady_state_with_the_jets_stays_there(dt, span):
    """Constant heat from the steady state with the jets: a run's steps (exhaust = last step's inlet + P / (rho
    cp Q), as :mod:`dctwin.twin.sim.transient`) keep the rack's inlet and the field there (the step's tolerance);
    a step without the streams drifts off (explicit 0.25 s and implicit 10 and 30 s steps)."""
    ap, flow = _flow(_front_room(), tiles=0.36)
    T0, on = _solve(ap, flow, edge=EDGE)
    for edge, stays in ((EDGE, True), (0.0, False)):
        T, star = T0.copy(), T0.copy()
        tin = on["rack_inlet_c"]
        for _ in range(int(span / dt)):
            tex = tin + 4e3 / (thermal.RHO_CP * 0.36)
            T = thermal.step(ap, flow, T, dt, tex, np.zeros(0), 18.0, iterate=star, front_jet_edge=edge)
            tin = thermal.port_means(ap, flow, star, edge)[0]
        drift = abs(float(thermal.port_means(ap, flow, T, EDGE)[0][0] - on["rack_inlet_c"][0]))
        if stays:
            assert drift < 0.01
            assert np.abs(T - T0)[~ap.solid].max() < 0.02
        else:
            assert drift > 0.05


def test_on_case_b1_the_row_ends_come_toward_the_cfd(monkeypatch):
    """B1 (a tuned room; docs/validation.md, "Session 25"): uniform 1.42 -> 1.27 K RMS, worst rack 3.2 -> 2.6 K."""
    case = load_room("case_B1")
    pc = "uniform_4kW"
    site = cfd_site(case, pc)
    fast_off = air_models.AirModel()  # "fast" before session 26
    off = np.asarray(inlet_errors(Simulation(site, air_model=fast_off).solve_steady().to_json(), site, case, pc))
    on = np.asarray(inlet_errors(Simulation(site).solve_steady().to_json(), site, case, pc))
    rms = lambda e: float(np.sqrt(np.mean(e ** 2)))  # noqa: E731
    assert rms(on) < rms(off) - 0.1
    assert np.abs(on).max() < np.abs(off).max() - 0.3


def test_a_hall_run_from_its_steady_state_with_the_jets_stays_there(monkeypatch):
    """The small demo (0.6 m, 20 jet columns, 4 of them at a free edge: the tubes kept) with "fast" and the edge on: 180 s of a run at constant load from its
    steady state keeps every rack's inlet (2.7e-4 K when written) and closes its energy (1e-14); the same run
    with steps that ignore the streams drifts 0.53 K and misses 2.4 % of the heat."""
    monkeypatch.setitem(air_models.AIR_MODELS, "fast", air_models.AirModel(front_jet_edge=EDGE))

    def run() -> tuple[float, float]:
        sim = Simulation(demos.load_demo("small"), grid_m=0.6)
        s0 = sim.solve_steady()
        assert thermal.jet_tubes(sim.system.air, sim.state.flow, EDGE).n == 4
        out = sim.run(180)
        return max(abs(r.inlet_c - s0.racks[k].inlet_c) for k, r in out.final.racks.items()), out.energy_error

    drift, energy_error = run()
    assert drift < 0.01 and energy_error < 1e-9
    step = thermal.step
    monkeypatch.setattr(thermal, "step", lambda *a, **k: step(*a, **{**k, "front_jet_edge": 0.0}))
    drift, energy_error = run()
    assert drift > 0.1 and energy_error > 0.01


def test_the_floor_estimate_reads_the_intakes_with_the_jets(monkeypatch):
    """placement_checks (the placement search's floor-wide estimate) takes the hall's edge and reads the
    rise at every rack's intake with the jets, as the hall's solves do: off, the racks at a row's end would
    read their cells' means."""
    from dctwin.twin.sim import placement_checks

    monkeypatch.setitem(air_models.AIR_MODELS, "fast", air_models.AirModel(front_jet_edge=EDGE))
    sim = Simulation(demos.load_demo("small"), grid_m=0.6)
    sim.solve_steady()
    am = placement_checks.AirModel(sim)
    assert am.jet_edge == EDGE
    rack = sim.system.hall.racks[0]
    on, _ = am.rises([rack], [5000.0])
    am.jet_edge = 0.0
    off, _ = am.rises([rack], [5000.0])
    assert np.abs(on - off).max() > 1e-3
