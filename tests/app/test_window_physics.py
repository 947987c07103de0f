"""Live physics wiring: solve after each edit in the worker, recolour, heat map, Run/Pause, stale results.

A small stand-in for ``dctwin.twin.sim.engine`` (same contract as the real one, deterministic numbers derived
from the layout) is put in ``sys.modules`` so these tests check the wiring, fast, with or without
the real engine installed.
"""

from __future__ import annotations

import importlib.machinery
import sys
import threading
import types

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from dctwin.twin.sim.results import GridInfo, HallSummary, RackResult, UpsState
from dctwin.twin.model.demos import load_demo
from dctwin.twin.model.events import EventLog

from dctwin.app.document import Document
from dctwin.app.runner import MAX_FPS, SimRunner
from dctwin.app.settings import Settings
from dctwin.app.window import MainWindow
from dctwin.twin.model.commands import SetProperty


def inlet_of(rack) -> float:
    """The stand-in's rack inlet: 18 °C plus 0.5 K per kW."""
    return 18.0 + 0.5 * rack.it_kw


class FakeCancelled(Exception):
    pass


class FakeSimulation:
    gate: threading.Event | None = None
    fail: bool = False
    #: (IT kW of R-A01, whether its solve saw cancel) of every solve, in order
    solves: list = []

    def __init__(self, site, hall_id=None, *, grid_m=None, dt_s=1.0, warm_from=None):
        self.warm_from = warm_from
        self.site = site
        self.power = None
        self.hall = site.get_hall(hall_id) if hall_id else site.halls[0]
        self.t_s = 0.0
        self.dt_s = dt_s
        self.rack_ids = [r.id for r in self.hall.racks]
        self.events = EventLog()

    def solve_steady(self, cancel=None, on_partial=None, partial_power=True) -> HallSummary:
        if FakeSimulation.gate is not None:
            FakeSimulation.gate.wait(10)
        FakeSimulation.solves.append((self.site.get("R-A01").it_kw, bool(cancel is not None and cancel())))
        if cancel is not None and cancel():
            raise FakeCancelled()
        if FakeSimulation.fail:
            raise FloatingPointError("flow diverged")
        return self.summary()

    def summary(self) -> HallSummary:
        racks = {r.id: RackResult(inlet_of(r) + 0.01 * self.t_s, inlet_of(r) + 10, r.it_kw * 1e3,
                                  r.design_airflow_m3s, "ok")
                 for r in self.hall.racks}
        return HallSummary(t_s=self.t_s, racks=racks, max_inlet_c=max(v.inlet_c for v in racks.values()), pue=1.4)

    def step(self, dt_s=None):
        self.t_s += dt_s or self.dt_s
        if self.t_s == 3.0:  # an incident with a cause, to be listed in the alarms dock
            root = self.events.record(self.t_s, "unit_fail", "CRAH-1")
            self.events.record(self.t_s, "rack_throttle", "R-A01", cause=root.seq, condition="inlet above 32 C")

    def air_temperature_slice(self, z_m):
        nx, ny = 20, 10
        temps = np.tile(np.linspace(18.0, 30.0, ny), (nx, 1))  # [nx, ny], warmer to the north
        return temps, (0.0, 0.0, self.hall.width_m, self.hall.depth_m)


@pytest.fixture
def fake_engine(monkeypatch):
    mod = types.ModuleType("dctwin.twin.sim.engine")
    mod.__spec__ = importlib.machinery.ModuleSpec("dctwin.twin.sim.engine", None)
    mod.Simulation = FakeSimulation
    mod.Cancelled = FakeCancelled
    monkeypatch.setitem(sys.modules, "dctwin.twin.sim.engine", mod)
    FakeSimulation.gate = None
    FakeSimulation.fail = False
    FakeSimulation.solves = []
    yield mod
    FakeSimulation.gate = None


@pytest.fixture
def window(qtbot, tmp_path, fake_engine):
    doc = Document(load_demo("small"))
    settings = Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat))
    w = MainWindow(doc, settings, SimRunner())
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.last_frame is not None, timeout=5000)
    yield w
    w.runner.stop()


def test_solve_recolours_racks_and_fills_the_status_bar(window):
    site = window.doc.site
    item = window.scene.items_by_id["R-A01"]
    want = window.scene.temp_scale.colour(inlet_of(site.get("R-A01")))
    assert item.fill == want
    hottest = max(inlet_of(r) for r in site.hall.racks)
    assert window.readout.hot_label.text() == f"hottest inlet {hottest:.1f} °C"
    assert window.readout.pue_label.text() == "PUE 1.40"
    assert window.readout.physics_label.text() == "steady"


def test_an_edit_is_solved_again_and_the_view_shows_new_temperatures(window, qtbot):
    with qtbot.waitSignal(window.sig_physics_shown, timeout=5000) as blocker:
        window.doc.execute(SetProperty("R-A01", "it_kw", 20.0))
    assert blocker.args[0].summary.racks["R-A01"].inlet_c == inlet_of(window.doc.site.get("R-A01"))
    assert window.scene.items_by_id["R-A01"].fill == window.scene.temp_scale.colour(28.0)


def test_heat_map_is_drawn_north_up(window):
    heat = window.scene.heat_item
    assert heat.isVisible()
    img = heat.pixmap().toImage()
    top, bottom = img.pixelColor(0, 0), img.pixelColor(0, img.height() - 1)
    scale = window.scene.temp_scale
    assert (top.red(), top.green(), top.blue()) == tuple(scale.lut[scale.index(30.0)][:3])
    assert (bottom.red(), bottom.green(), bottom.blue()) == tuple(scale.lut[scale.index(18.0)][:3])
    rect = heat.sceneBoundingRect()
    hall = window.scene.hall_rect()
    assert rect.toRect() == hall.toRect()
    window.heat_combo.setCurrentIndex(window.heat_combo.findData("off"))
    assert not heat.isVisible()


def test_a_newer_edit_supersedes_a_stale_solve(window, qtbot):
    FakeSimulation.gate = threading.Event()
    shown = []
    window.sig_physics_shown.connect(lambda f: shown.append(f.generation))
    with qtbot.waitSignal(window.runner.sig_busy, timeout=5000):
        window.doc.execute(SetProperty("R-A01", "it_kw", 11.0))
    window.doc.execute(SetProperty("R-A01", "it_kw", 12.0))
    latest = window.runner.generation
    FakeSimulation.gate.set()
    qtbot.waitUntil(lambda: latest in shown, timeout=5000)
    assert shown == [latest]
    assert window.last_frame.summary.racks["R-A01"].inlet_c == 18.0 + 0.5 * 12.0


def test_the_runner_cancels_a_superseded_solve_and_skips_a_replaced_one(fake_engine, qtbot):
    """Three edits while the first is solving: the first solve is cancelled (and sends nothing), the
    second never starts, the third is solved and sent."""
    FakeSimulation.gate = threading.Event()
    runner = SimRunner()
    solved = []
    runner.sig_solved.connect(lambda f: solved.append((f.generation, f.summary.racks["R-A01"].power_w)))
    site = load_demo("small")

    def edited(kw: float):
        SetProperty("R-A01", "it_kw", kw).apply(site)
        return site.copy()

    try:
        with qtbot.waitSignal(runner.sig_busy, timeout=5000):
            first = runner.request_solve(edited(11.0))
        runner.request_solve(edited(12.0))
        last = runner.request_solve(edited(13.0))
        FakeSimulation.gate.set()
        qtbot.waitUntil(lambda: bool(solved), timeout=5000)
        qtbot.wait(100)
    finally:
        runner.stop()
    assert FakeSimulation.solves == [(11.0, True), (13.0, False)]
    assert solved == [(last, 13e3)] and first < last


def test_run_and_pause_send_throttled_frames(window, qtbot):
    frames = []
    window.runner.sig_frame.connect(frames.append)
    window.set_speed("max")
    window.toggle_run()
    assert window.act_run.isChecked()
    qtbot.waitUntil(lambda: len(frames) >= 4, timeout=10000)
    window.toggle_run()
    qtbot.waitUntil(lambda: not window.act_run.isChecked(), timeout=5000)
    times = [f.t_s for f in frames]
    assert times == sorted(times) and times[-1] > 0
    gaps = np.diff([f.emitted_s for f in frames])
    assert gaps.min() >= 1.0 / MAX_FPS * 0.999
    assert window.readout.time_label.text() != "t = 0 s"
    rows = window.alarms.row_texts()
    assert [r[1:3] for r in rows[-2:]] == [["rack_throttle", "R-A01"], ["unit_fail", "CRAH-1"]]
    assert window.alarms.tree.topLevelItem(len(rows) - 2).child(0).text(2) == "CRAH-1"


def test_engine_failure_is_reported_not_faked(window, qtbot):
    FakeSimulation.fail = True
    with qtbot.waitSignal(window.runner.sig_error, timeout=5000):
        window.doc.execute(SetProperty("R-A01", "it_kw", 9.0))
    assert window.readout.physics_label.text() == "physics error"
    assert "flow diverged" in window.statusBar().currentMessage()
    assert all(it.fill is None for it in window.scene.items_by_id.values())
    assert not window.scene.heat_item.isVisible()
    assert window.readout.hot_label.text() == "hottest inlet —"


def test_without_engine_the_window_says_physics_unavailable(qtbot, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "dctwin.twin.sim.engine", None)  # import fails as if not installed
    runner = SimRunner()
    assert runner.available is False
    w = MainWindow(Document(load_demo("small")),
                   Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat)), runner)
    qtbot.addWidget(w)
    assert w.readout.physics_label.text() == "physics unavailable"
    assert all(it.fill is None for it in w.scene.items_by_id.values())  # no made-up colours
    assert not w.act_run.isEnabled()
    assert w.readout.it_label.text() == f"IT {sum(r.it_kw for r in w.doc.site.hall.racks):.0f} kW (design)"


def test_ups_charge_is_read_through_the_power_model():
    class Power:
        def node(self, ident):
            return {"UPS-1A": {"soc": 0.4, "mode": "battery"}}.get(ident) or {"load_w": 1.0}

    class Sim:
        site = load_demo("small")
        power = Power()

    ups = {n.id for n in Sim.site.power_nodes if n.kind == "ups" and n.battery_kwh}
    assert "UPS-1A" in ups
    state = SimRunner._ups_state(Sim())
    assert state["UPS-1A"] == UpsState(0.4, "battery")
    assert set(state) == {"UPS-1A"}  # a node without a charge reading is left out


def test_run_stops_exactly_at_the_requested_second(window, qtbot):
    """--screenshot --run-seconds S shows second S, not wherever the last fast frame happened to land."""
    runner = window.runner
    runner.set_speed(float("inf"))
    runner.stop_at_s = 7.5
    with qtbot.waitSignal(runner.sig_running, timeout=5000, check_params_cb=lambda r: r is False):
        runner.set_running(True)
    qtbot.waitUntil(lambda: window.last_frame.t_s == 7.5, timeout=5000)
    assert not runner.running and runner.stop_at_s is None
    assert runner._sim.t_s == 7.5  # seven whole steps and one half step


def test_frames_carry_the_intake_air_for_the_cooling_check():
    """The mean air temperature over the cell layers below 2 m (the intake height of a rack)."""

    class Layers:
        asked = []

        def air_temperature_slice(self, z_m):
            self.asked.append(z_m)
            t = np.full((3, 2), 20.0 + z_m)
            t[0, 0] = np.nan  # a solid cell
            return t, (0.0, 0.0, 1.8, 1.2)

    sim = Layers()
    field, extent = SimRunner._inlet_field(sim, HallSummary(grid=GridInfo(3, 2, 4, 0.6, 0.6, 0.5)))
    assert sim.asked == [0.25, 0.75, 1.25, 1.75]
    assert field[1, 1] == pytest.approx(21.0) and np.isnan(field[0, 0])
    assert extent == (0.0, 0.0, 1.8, 1.2)
    assert SimRunner._inlet_field(sim, HallSummary()) is None
