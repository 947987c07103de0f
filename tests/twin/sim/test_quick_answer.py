"""The editor's quick first answer after an edit (Simulation.solve_steady(on_partial=...))."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dctwin.twin.model.commands import AddElement
from dctwin.twin.model.demos import load_demo
from dctwin.twin.sim.engine import Simulation


@pytest.fixture(scope="module")
def before():
    site = load_demo("small")
    sim = Simulation(site, grid_m=0.6)
    sim.solve_steady()
    return site, sim


def _with_new_rack(site):
    hall = site.halls[0]
    r0 = hall.racks[0]
    edited = site.copy()
    AddElement(dataclasses.replace(r0, id="R-NEW", x_m=r0.x_m, y_m=round(r0.y_m - 2.4, 6)), hall.id).apply(edited)
    return edited


def test_a_quick_answer_comes_first_and_is_close_to_the_converged_state(before):
    site, sim = before
    edited = _with_new_rack(site)
    partial = []
    sim2 = Simulation(edited, grid_m=0.6, warm_from=sim)
    final = sim2.solve_steady(on_partial=lambda s, summary: partial.append(summary))
    assert len(partial) == 1 and partial[0].settling and not final.settling
    quick = partial[0].racks
    assert set(quick) == set(final.racks) and "R-NEW" in quick
    q = np.array([quick[r].inlet_c for r in final.racks])
    c = np.array([final.racks[r].inlet_c for r in final.racks])
    assert np.isfinite(q).all()
    # a first look, not a guess: within a kelvin of the converged inlets (RMS), the new rack included
    assert np.sqrt(np.mean((q - c) ** 2)) < 1.0
    assert abs(quick["R-NEW"].inlet_c - final.racks["R-NEW"].inlet_c) < 1.5
    # the converged state hardly depends on having shown a quick answer (its inlets start the fan
    # curves from another point, and the flow is re-marched only for airflow moves over 5 %)
    plain = Simulation(edited, grid_m=0.6, warm_from=sim).solve_steady()
    for rid, r in plain.racks.items():
        assert final.racks[rid].inlet_c == pytest.approx(r.inlet_c, abs=0.25)
    assert final.energy_error < 0.01


def test_a_quick_answer_without_its_power_figures_is_the_same_answer_and_leads_to_the_same_state(before):
    """The editor sends the quick answer's map before the power chain's headroom (partial_power=False, then
    Simulation.power_extras): the figures are the full summary's, and the converged state is bit for bit."""
    site, sim = before
    edited = _with_new_rack(site)
    runs = {}
    for full in (True, False):
        got = []

        def partial(s, summary, got=got, full=full):
            got.append((summary, None if full else s.power_extras()))

        sim2 = Simulation(edited, grid_m=0.6, warm_from=sim)
        final = sim2.solve_steady(on_partial=partial, partial_power=full)
        runs[full] = (got[0], final, sim2.rack_inlet_c.copy(), sim2.T.copy())
    (q_full, _), final_full, inlets_full, t_full = runs[True]
    (q_bare, (nodes, pue)), final_bare, inlets_bare, t_bare = runs[False]
    assert q_full.power_nodes and not q_bare.power_nodes and q_bare.pue is None
    assert nodes == q_full.power_nodes and pue == q_full.pue
    assert {k: v.inlet_c for k, v in q_bare.racks.items()} == {k: v.inlet_c for k, v in q_full.racks.items()}
    assert np.array_equal(inlets_bare, inlets_full) and np.array_equal(t_bare, t_full)
    assert final_bare.power_nodes == final_full.power_nodes and final_bare.pue == final_full.pue
