"""dctwin bench figures: the keys the issue names, and what they measure (no wall-clock assertions)."""

from __future__ import annotations

import math

import pytest

from dctwin.twin.bench import physics as bench
from dctwin.twin.physics import thermal


@pytest.fixture(scope="module")
def case():
    return bench.bench_case(6, repeats=1, grid_m=0.6, hour=False)  # the simulated hour is the slow part


def test_bench_reports_the_issue_keys(case):
    for key in ("compile_s", "flow_cold_s", "flow_warm_s", "step_s", "sim_s_per_wall_s", "hour_at_1s_s",
                "temp_step_s", "numba_vs_numpy", "numba_vs_numpy_explicit"):
        assert isinstance(case[key], float) and math.isfinite(case[key]) and case[key] > 0, key
    assert case["sim_s_per_wall_s"] == pytest.approx(1.0 / case["step_s"])
    assert case["hour_at_1s_s"] == pytest.approx(3600.0 * case["step_s"])
    assert case["implicit_tol_k"] == thermal.IMPLICIT_TOL_K


def test_numba_and_numpy_take_the_same_step(case):
    # the explicit kernels agree to round-off; the implicit step (when the hall's engine step is
    # implicit) to the solver tolerance, both being within it of the backward-Euler solution
    assert case["numba_numpy_explicit_max_diff_k"] < 1e-9
    if case["engine_step_explicit"]:
        assert case["numba_vs_numpy"] == case["numba_vs_numpy_explicit"]
        assert case["numpy_iterations"] is None
    else:
        assert case["numba_numpy_max_diff_k"] < 2 * thermal.IMPLICIT_TOL_K
        assert case["numpy_iterations"] > 0
    assert case["air_sweeps_per_step"] >= 0 and case["air_local_passes_per_step"] >= 0
    assert "hour_run_s" not in case


def test_the_validated_hour_is_run_on_the_validated_grid():
    # a small hall: the keys, the grid it ran on, an adaptive hour that took long steps, energy closed
    r = bench.bench_validated_hour(4)
    assert r["validated_grid_m"][0] == pytest.approx(bench.VALIDATED_GRID_M[0])
    assert r["validated_grid_m"][1] == pytest.approx(bench.VALIDATED_GRID_M[1], rel=0.25)
    assert r["validated_cells"] > 0
    assert 0 < r["validated_hour_adaptive_run_cpu_s"] and 0 < r["validated_hour_adaptive_run_s"]
    assert r["validated_hour_adaptive_rejected"] <= r["validated_hour_adaptive_steps"] < 3600 / 2
    assert abs(r["validated_hour_adaptive_energy_closure"]) < 1e-9
    assert len(r["validated_load_avg"]) == 2
