"""Workload profiles: each kind, CSV traces (inline and file), errors naming the workload, numba == numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dctwin.twin.errors import LayoutError
from dctwin.twin.model.layout import Hall, Rack, Site, Workload
from dctwin.twin.physics import constants as K
from dctwin.twin.physics.workloads import compile_hall_workloads, compile_workloads, read_trace_csv


def _u(w: Workload, t: float, backend: str = "numba", **kw) -> float:
    return float(compile_workloads([w], [w.id], **kw).utilization(t, backend=backend)[0])


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_constant_and_no_workload(backend):
    wa = compile_workloads([Workload("W", "constant", 0.4)], ["W", None])
    np.testing.assert_array_equal(wa.utilization(123.0, backend=backend), [0.4, 1.0])


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_diurnal(backend):
    w = Workload("D", "diurnal", 0.6, amplitude=0.3, phase_s=3600.0)
    day = K.DIURNAL_PERIOD_S
    assert _u(w, 3600.0, backend) == pytest.approx(0.6, abs=1e-12)
    assert _u(w, 3600.0 + day / 4, backend) == pytest.approx(0.9, rel=1e-12)
    assert _u(w, 3600.0 + 3 * day / 4, backend) == pytest.approx(0.3, rel=1e-12)
    assert _u(w, 3600.0 + day / 12, backend) == pytest.approx(0.6 + 0.3 * math.sin(math.pi / 6), rel=1e-12)
    # default amplitude and period
    d = Workload("D2", "diurnal", 0.5)
    assert _u(d, day / 4, backend) == pytest.approx(0.5 + K.DIURNAL_AMPLITUDE, rel=1e-12)


def test_diurnal_is_clipped_to_range():
    w = Workload("D", "diurnal", 1.4, amplitude=0.5, period_s=100.0)
    assert _u(w, 25.0) == K.UTIL_MAX
    w = Workload("D", "diurnal", 0.1, amplitude=0.5, period_s=100.0)
    assert _u(w, 75.0) == 0.0


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_ai_training_dips_at_each_checkpoint(backend):
    w = Workload("AI", "ai_training", 0.95, period_s=600.0, dip_s=60.0, dip_utilization=0.2)
    assert _u(w, 0.0, backend) == 0.95
    assert _u(w, 539.9, backend) == 0.95
    assert _u(w, 540.0, backend) == 0.2
    assert _u(w, 599.9, backend) == 0.2
    assert _u(w, 600.0, backend) == 0.95
    assert _u(w, 1140.0 + 30.0, backend) == 0.2
    times = np.arange(0.0, 6000.0, 1.0)
    wa = compile_workloads([w], ["AI"])
    dipped = sum(wa.utilization(t, backend=backend)[0] == 0.2 for t in times)
    assert dipped == 10 * 60
    # defaults
    d = Workload("AI2", "ai_training", 0.9)
    assert _u(d, K.AI_PERIOD_S - 1.0) == K.AI_DIP_UTILIZATION
    assert _u(d, K.AI_PERIOD_S - K.AI_DIP_S - 1.0) == 0.9


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_csv_inline_points_interpolate_and_hold(backend):
    w = Workload("T", "csv", points=((10.0, 0.2), (20.0, 1.0), (40.0, 0.6)))
    assert _u(w, 0.0, backend) == 0.2
    assert _u(w, 15.0, backend) == pytest.approx(0.6, rel=1e-12)
    assert _u(w, 30.0, backend) == pytest.approx(0.8, rel=1e-12)
    assert _u(w, 1e6, backend) == 0.6


def test_csv_file_relative_to_layout_folder(tmp_path):
    (tmp_path / "traces").mkdir()
    (tmp_path / "traces" / "job.csv").write_text(
        "# a job\nt_s,utilization\n0,0.5\n\n100,1.0\n200, 0.0\n", encoding="utf-8")
    w = Workload("J", "csv", path="traces/job.csv")
    assert _u(w, 50.0, base_dir=tmp_path) == pytest.approx(0.75)
    assert _u(w, 150.0, base_dir=tmp_path) == pytest.approx(0.5)
    assert _u(w, 500.0, base_dir=tmp_path) == 0.0
    # columns may come in another order, and a headerless file is t_s,utilization
    (tmp_path / "b.csv").write_text("utilization,t_s,note\n0.3,0,x\n0.9,60,y\n", encoding="utf-8")
    assert _u(Workload("B", "csv", path="b.csv"), 30.0, base_dir=tmp_path) == pytest.approx(0.6)
    (tmp_path / "c.csv").write_text("0,0.1\n10,0.3\n", encoding="utf-8")
    assert _u(Workload("C", "csv", path=str(tmp_path / "c.csv")), 5.0) == pytest.approx(0.2)


@pytest.mark.parametrize("text, needle", [
    ("t_s,utilization\n0,0.5\n10,abc\n", "line 3"),
    ("t_s,utilization\n0,0.5\n10,0.6\n5,0.7\n", "line 4: time 5 s does not come after 10 s"),
    ("0,0.5\n10,2.5\n", "line 2: utilization 2.5 is out of range"),
    ("0,0.5\n10,nan\n", "line 2: values must be finite"),
    ("0,0.5\n10\n", "line 2: expected t_s,utilization"),
    ("time,load\n0,0.5\n", "line 1: header must name the columns t_s and utilization"),
    ("# nothing\n\n", "holds no data rows"),
])
def test_bad_csv_names_workload_and_line(tmp_path, text, needle):
    (tmp_path / "bad.csv").write_text(text, encoding="utf-8")
    with pytest.raises(LayoutError) as exc:
        compile_workloads([Workload("TRACE-1", "csv", path="bad.csv")], ["TRACE-1"], base_dir=tmp_path)
    msg = str(exc.value)
    assert "TRACE-1" in msg and needle in msg and "bad.csv" in msg


def test_missing_and_binary_csv(tmp_path):
    with pytest.raises(LayoutError, match=r"TRACE-2\.path: trace file .*nope\.csv' not found"):
        compile_workloads([Workload("TRACE-2", "csv", path="nope.csv")], [], base_dir=tmp_path)
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x01garbage")
    with pytest.raises(LayoutError, match="not UTF-8"):
        read_trace_csv(tmp_path / "bin.csv", "TRACE-3")
    with pytest.raises(LayoutError, match="is not a file"):
        read_trace_csv(tmp_path, "TRACE-4")


def test_unknown_workload_names_the_rack():
    site = Site(halls=[Hall("H", 10, 10, racks=[Rack("R-A01", it_kw=5, workload="ghost")])])
    with pytest.raises(LayoutError, match=r"R-A01\.workload: names workload 'ghost'"):
        compile_hall_workloads(site, site.hall)


def test_override_wins():
    wa = compile_workloads([Workload("W", "constant", 0.4)], ["W", "W", None])
    np.testing.assert_array_equal(wa.utilization(0.0, override=np.array([np.nan, 0.9, 0.1])), [0.4, 0.9, 0.1])


def test_numba_equals_numpy_on_many_times():
    rng = np.random.default_rng(3)
    ws = [Workload("c", "constant", 0.7), Workload("d", "diurnal", 0.5, amplitude=0.4, period_s=3600.0, phase_s=17.0),
          Workload("a", "ai_training", 1.0, period_s=900.0, dip_s=90.0, dip_utilization=0.1, phase_s=-50.0),
          Workload("t", "csv", points=tuple((float(t), float(u)) for t, u in
                                             zip(np.cumsum(rng.uniform(1, 50, 40)), rng.uniform(0, 1.5, 40))))]
    rack_w = [ws[i].id if i < 4 else None for i in rng.integers(0, 5, 300)]
    wa = compile_workloads(ws, rack_w)
    override = np.where(rng.random(300) < 0.1, rng.uniform(-1, 2, 300), np.nan)
    for t in np.concatenate([rng.uniform(-2000, 20000, 200), [0.0, 810.0, 900.0]]):
        np.testing.assert_allclose(wa.utilization(t, override), wa.utilization(t, override, backend="numpy"),
                                   rtol=1e-12, atol=1e-13)
