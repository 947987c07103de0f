"""Find space in the editor: the placement map while a rack is dragged, and Simulation > Find Space for...

:func:`install_find_space` wires both into a :class:`~dctwin.app.window.MainWindow`:

* the floor plan's drag overlay (:attr:`dctwin.widgets.floor_plan.FloorPlanView.drag_overlay`): when a
  rack is dragged from the palette and the hall has been solved, the placement search
  (:mod:`dctwin.twin.sim.placement`) evaluates every spot of the floor for that rack on a background
  thread and the floor shows where it fits (green), fits but tightly (amber) and does not (red); the
  status bar says what binds under the cursor. Without a solved state the plain fit tint stays;
* Simulation > Find Space for...: a dialog for kW, count and liquid fraction that runs the search with
  its full-solve verification in the background and lists the best spots; Place puts the rack(s) at the
  chosen spot as one undo step.

The search reads the runner's last solved simulation (the state on screen); its results are for that
layout and are dropped when the layout changes.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import Any, Optional

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDoubleSpinBox, QFormLayout, QHBoxLayout, QHeaderView,
                               QLabel, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from dctwin.app.workers import start_thread
from dctwin.twin.model.layout import Element, Rack
from dctwin.twin.sim.placement import (Cancelled, Candidate, PlacementContext, PlacementResult, RackRequest,
                                       find_space)
from dctwin.twin.sim.placement_space import Spot, row_at
from dctwin.widgets.placement_map import MAP_KINDS, MAP_LEGEND, PlacementMapItem

log = logging.getLogger(__name__)


def request_for(proto: Rack, count: int) -> RackRequest:
    """The placement request of a palette rack dropped ``count`` times side by side."""
    return RackRequest(kw=proto.it_kw, count=count, liquid_fraction=proto.liquid_fraction,
                       airflow_m3s=proto.airflow_m3s, width_m=proto.width_m, depth_m=proto.depth_m,
                       height_m=proto.height_m, feeds=tuple(proto.feeds), weight_kg=proto.weight_kg,
                       ashrae_class=proto.ashrae_class)


def verdict_text(cand: Optional[Candidate], reason: str = "") -> str:
    """The spot in words: fits / fits tightly / does not fit, and what binds."""
    if cand is None:
        return f"Does not fit: {reason}" if reason else "Does not fit here"
    v = cand.verified or {}
    feasible, tight, binding = v.get("feasible", cand.feasible), v.get("tight", cand.tight), v.get("binding", cand.binding)
    if not feasible:
        return f"Does not fit: {binding}"
    return f"{'Fits tightly' if tight else 'Fits'}: {binding}"


class FindSpaceController(QObject):
    """The drag overlay of the floor plan and the owner of the placement context (see the module docstring)."""

    #: a drag's map is ready (token, payload: (tiles, floor map, context, seconds) or an error text)
    sig_map_done = Signal(int, object)
    #: the map of the current drag was drawn (seconds from the drag's start)
    sig_map_shown = Signal(float)

    def __init__(self, window: Any):
        super().__init__(window)
        self.window = window
        self._lock = threading.Lock()
        self._ctx: Optional[PlacementContext] = None
        self._token = 0
        self.item: Optional[PlacementMapItem] = None
        self.floor_map = None
        self._drag: Optional[dict] = None
        self.last_map_s: Optional[float] = None
        #: the searches' threads (the drag's map, the dialog's search), joined when the window closes
        self._threads: list[threading.Thread] = []
        #: the window is closing: every search stops at its next look at its cancel predicate
        self.closing = False
        self.sig_map_done.connect(self._on_map_done)
        window.runner.sig_running.connect(self._on_runner_running)

    # ---- the searches' threads
    def start_work(self, work, name: str) -> threading.Thread:
        """Run ``work`` on a thread of its own (see :meth:`shutdown`)."""
        self._threads = [t for t in self._threads if t.is_alive()]
        thread = start_thread(work, name)
        self._threads.append(thread)
        return thread

    def shutdown(self, timeout_s: float = 10.0) -> list[str]:
        """Cancel every search and wait (at most ``timeout_s`` in all) for their threads to end, before the
        window and this controller go: a search's thread must not emit from, or hold the last reference to, a
        Qt object being deleted. Returns the names of the threads still running."""
        self.closing = True
        self._token += 1
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]
        if self._threads:
            log.warning("a space search still running after %.0f s", timeout_s)
        return [t.name for t in self._threads]

    # ---- the solved state
    def solved_simulation(self) -> Optional[Any]:
        """The runner's solved simulation if it is the layout on screen (None while a newer edit solves)."""
        w = self.window
        if w.replay_mode or self.closing or w.runner.running:  # running: the transient steps it
            return None
        sim, gen = w.runner.solved
        if sim is None or gen != w.runner.generation or sim.flow is None:
            return None
        return sim

    def context(self, sim: Any) -> PlacementContext:
        """The placement context of ``sim`` (built once per solved state; any thread)."""
        with self._lock:
            if self._ctx is not None and self._ctx.sim is sim:
                return self._ctx
        frame = self.window.last_frame
        summary = frame.summary if (frame is not None and not frame.summary.settling
                                    and frame.generation == self.window.runner.solved[1]) else None
        ctx = PlacementContext(sim, summary)
        with self._lock:
            self._ctx = ctx
        return ctx

    # ---- the drag overlay (FloorPlanView.drag_overlay)
    def start(self, proto: Element, count: int) -> bool:
        if not isinstance(proto, Rack):
            return False
        sim = self.solved_simulation()
        if sim is None:
            return False
        scene = self.window.scene
        hall = scene.hall
        if hall is None or hall.id != sim.hall.id:
            return False
        self._token += 1
        token = self._token
        request = request_for(proto, count)
        try:
            request.check(sim.site, hall)
        except Exception:
            return False
        runner = self.window.runner
        if not runner.hold_solved():
            return False
        self.item = PlacementMapItem(scene.hall_rect(), hall.tile_m)
        scene.addItem(self.item)
        self.floor_map = None
        spots = self._tile_spots(proto)
        self._drag = {"token": token, "request": request, "proto": proto, "count": count, "t0": time.perf_counter(),
                      "hover": None}
        facing = proto.facing

        def work() -> None:
            t0 = time.perf_counter()
            try:
                ctx = self.context(sim)
                fmap = ctx.floor_map(request, facing, cancel=lambda: token != self._token)
                status = {(round(float(x), 9), round(float(y), 9)): int(code)
                          for (x, y), code in zip(fmap.xy.tolist(), fmap.status())}
                tiles = {t: MAP_KINDS[status.get(s, 2)] for t, s in spots.items()}
                self.sig_map_done.emit(token, (tiles, fmap, ctx, time.perf_counter() - t0))
            except Cancelled:
                return
            except Exception as exc:  # the map is a help: say why it is missing, keep the drag going
                log.exception("placement map failed")
                self.sig_map_done.emit(token, f"{type(exc).__name__}: {exc}")
            finally:
                runner.release_solved()

        self.start_work(work, "dctwin-place-map")
        return True

    def _on_runner_running(self, running: bool) -> None:
        """Run pressed: the searches reading the solved state stop (the transient waits for them to let go)."""
        if running:
            self._token += 1

    def _tile_spots(self, proto: Rack) -> dict[tuple[int, int], tuple[float, float]]:
        """Per floor tile: the drop spot (first rack's corner) of a cursor in it (the scene's snapping,
        which is separable in x and y)."""
        scene = self.window.scene
        hall = scene.hall
        t = hall.tile_m
        nx, ny = int(hall.width_m / t + 1e-9), int(hall.depth_m / t + 1e-9)
        xs = [round(scene.drop_position(proto, (i + 0.5) * t, 0.5 * t)[0], 9) for i in range(nx)]
        ys = [round(scene.drop_position(proto, 0.5 * t, (j + 0.5) * t)[1], 9) for j in range(ny)]
        return {(i, j): (xs[i], ys[j]) for i in range(nx) for j in range(ny)}

    def hover(self, proto: Element, x_m: float, y_m: float, count: int, problem: str = "") -> None:
        if self._drag is None:
            return
        self._drag["hover"] = (round(x_m, 9), round(y_m, 9), problem)
        self._show_hint()

    def stop(self) -> None:
        self._token += 1  # a map still computing is dropped
        if self.item is not None:
            self.window.scene.removeItem(self.item)
            self.item = None
        self._drag = None
        self.floor_map = None

    def _on_map_done(self, token: int, payload: object) -> None:
        if self._drag is None or token != self._drag["token"] or self.item is None:
            return
        if isinstance(payload, str):
            self.window.show_status(f"Placement map unavailable: {payload}")
            return
        tiles, fmap, ctx, _ = payload
        self.floor_map = fmap
        self._drag["ctx"] = ctx
        self.item.set_tiles(tiles)
        self.last_map_s = time.perf_counter() - self._drag["t0"]
        self.sig_map_shown.emit(self.last_map_s)
        self._show_hint()

    def spot_text(self, x_m: float, y_m: float) -> Optional[str]:
        """What binds at the drop spot (x_m, y_m) of the current drag (None until its map is ready)."""
        d = self._drag
        if d is None or self.floor_map is None:
            return None
        cand = self.floor_map.candidates.get((round(x_m, 9), round(y_m, 9)))
        if cand is not None:
            return verdict_text(cand)
        proto = dataclasses.replace(d["proto"], feeds=tuple(d["proto"].feeds))
        reason = d["ctx"].rules.problem(row_at(proto, Spot(x_m, y_m, proto.facing), d["count"]))
        return verdict_text(None, reason)

    def _show_hint(self) -> None:
        d = self._drag
        if d is None or d["hover"] is None:
            return
        x, y, problem = d["hover"]
        if problem:
            return  # the model refuses the drop: the window already says why
        text = self.spot_text(x, y)
        if text is None:
            self.window.show_status("Working out where it fits (space, power, cooling, air)…", 0)
            return
        ghost = self.window.view._ghost
        if ghost is not None:
            ghost.setToolTip(text)
        self.window.show_status(f"{text}.  Map: {MAP_LEGEND}", 0)


# --------------------------------------------------------------------------- the dialog


class FindSpaceDialog(QDialog):
    """Simulation > Find Space for...: K kW, a row of N, liquid fraction; the best spots; Place."""

    #: the search finished (token, PlacementResult or an error text), from the worker thread
    sig_result = Signal(int, object)
    #: the result is shown in the table
    sig_listed = Signal()

    COLUMNS = ("Fit", "x (m)", "y (m)", "Facing", "Feeds", "Inlet °C", "Rise K", "Power N-1 kW", "Cooling N-1 kW",
               "Binding")
    #: rows listed (the best first)
    LISTED = 25

    def __init__(self, window: Any, controller: FindSpaceController, parent: Optional[QWidget] = None):
        super().__init__(parent or window)
        self.setWindowTitle("Find Space")
        self.setObjectName("find_space_dialog")
        self.window = window
        self.controller = controller
        self.kw = QDoubleSpinBox(self)
        self.kw.setRange(0.1, 250.0)
        self.kw.setDecimals(1)
        self.kw.setValue(20.0)
        self.kw.setSuffix(" kW")
        self.count = QSpinBox(self)
        self.count.setRange(1, 40)
        self.liquid = QDoubleSpinBox(self)
        self.liquid.setRange(0.0, 1.0)
        self.liquid.setSingleStep(0.05)
        self.liquid.setDecimals(2)
        self.verify = QSpinBox(self)
        self.verify.setRange(0, 10)
        self.verify.setValue(3)
        self.verify.setToolTip("Check the best spots with full solves (slower, exact)")
        form = QFormLayout()
        form.addRow("Rack power", self.kw)
        form.addRow("Racks in a row", self.count)
        form.addRow("Liquid-cooled fraction", self.liquid)
        form.addRow("Verify best by full solve", self.verify)
        self.search_button = QPushButton("Search", self)
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.search)
        self.status = QLabel("Set the rack and press Search.", self)
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, len(self.COLUMNS), self)
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(len(self.COLUMNS) - 1, QHeaderView.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._on_table_selection_changed)
        self.table.cellDoubleClicked.connect(lambda row, _col: self.place(row))
        self.place_button = QPushButton("Place", self)
        self.place_button.setEnabled(False)
        self.place_button.clicked.connect(lambda: self.place(self.table.currentRow()))
        close = QPushButton("Close", self)
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.search_button)
        buttons.addStretch(1)
        buttons.addWidget(self.place_button)
        buttons.addWidget(close)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.status)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)
        self.resize(1150, 480)
        self.result: Optional[PlacementResult] = None
        self.rows: list[Candidate] = []
        #: the racks of the spot placed last (as the search proposed them)
        self.placed_racks: list[Rack] = []
        self._token = 0
        self._revision = None
        self._waiting = False
        self.sig_result.connect(self._on_result)
        window.sig_physics_shown.connect(self._on_window_physics_shown)
        window.runner.sig_running.connect(self._on_runner_running)
        window.doc.sig_site_changed.connect(self._on_layout_changed)
        window.doc.sig_site_replaced.connect(self._on_layout_changed)

    def request(self) -> RackRequest:
        return RackRequest(kw=float(self.kw.value()), count=int(self.count.value()),
                           liquid_fraction=float(self.liquid.value()))

    def search(self) -> None:
        if self.controller.closing:
            return
        sim = self.controller.solved_simulation()
        runner = self.window.runner
        if sim is None or not runner.hold_solved():  # searched as soon as the state on screen is still
            self._waiting = True
            self.status.setText("Waiting for the run to pause (the search reads a still state)…" if runner.running
                                else "Waiting for the hall's steady state (a solve is under way)…")
            return
        self._waiting = False
        request = self.request()
        try:
            request.check(sim.site, sim.hall)
        except Exception as exc:
            runner.release_solved()
            self.status.setText(str(exc))
            return
        self._token += 1
        token = self._token
        verify_top = int(self.verify.value())
        self._revision = self.window.doc.revision
        self.search_button.setEnabled(False)
        self.place_button.setEnabled(False)
        self.status.setText(f"Searching every spot for {request.count} x {request.kw:g} kW"
                            + (f", then verifying the best {verify_top} with full solves…" if verify_top else "…"))

        def work() -> None:
            try:
                ctx = self.controller.context(sim)
                res = find_space(sim, request, verify_top=verify_top, context=ctx,
                                 cancel=lambda: token != self._token or self.controller.closing)
                self.sig_result.emit(token, res)
            except Cancelled:
                return
            except Exception as exc:
                log.exception("find space failed")
                self.sig_result.emit(token, f"{type(exc).__name__}: {exc}")
            finally:
                runner.release_solved()

        self.controller.start_work(work, "dctwin-find-space")

    def _on_result(self, token: int, payload: object) -> None:
        if token != self._token:
            return
        self.search_button.setEnabled(True)
        if isinstance(payload, str):
            self.status.setText(f"The search failed: {payload}")
            return
        res: PlacementResult = payload
        self.result = res
        # the spot the search recommends (res.best: verified by a full solve when any was, as `dctwin place`'s
        # "best") heads the list, selected; then the feasible ones by rank, then the rest. A verified spot can rank
        # below unverified ones when its full solve read it warmer than the estimate did.
        best = res.best
        feasible = [c for c in res.candidates if (c.verified or {}).get("feasible", c.feasible)]
        self.rows = ([best] if best is not None else []) + [c for c in feasible if c is not best]
        self.rows = self.rows[:self.LISTED]
        self.rows += [c for c in res.candidates if c not in self.rows][:max(0, self.LISTED - len(self.rows))]
        self.table.setRowCount(len(self.rows))
        for r, c in enumerate(self.rows):
            v = c.verified or {}
            feasible, tight = v.get("feasible", c.feasible), v.get("tight", c.tight)
            fit = ("tight" if tight else "fits") if feasible else "no"
            head = v.get("headroom_kw", c.headroom_kw)
            cells = (fit + (" ✓" if c.verified else ""), f"{c.x_m:g}", f"{c.y_m:g}", c.facing, ",".join(c.feeds),
                     _fmt(v.get("inlet_c", c.inlet_c), ".1f"), _fmt(v.get("neighbour_rise_k", c.neighbour_rise_k), ".2f"),
                     _fmt(head.get("power_n1"), ".1f"), _fmt(head.get("cooling_n1"), ".1f"),
                     v.get("binding", c.binding))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 0:
                    item.setToolTip("✓ verified by a full solve" if c.verified else "estimated on the present flow")
                self.table.setItem(r, col, item)
        err = res.estimate_error_k()
        lines = [f"{res.evaluated} spots evaluated, {len(res.candidates)} with room, "
                 f"{sum(1 for c in res.candidates if c.feasible)} feasible by the estimate, {res.verified} verified "
                 f"({res.wall_s:.1f} s)."]
        if best is None:
            lines.append("No feasible spot.")
        if err["verified"]:
            lines.append(f"Estimate vs full solve: inlet within {_fmt(err['inlet_c'], '.2f')} K, rise within "
                         f"{_fmt(err['neighbour_rise_k'], '.2f')} K.")
        self.status.setText(" ".join(lines))
        if self.rows:
            self.table.selectRow(0)
        self.sig_listed.emit()

    def _on_window_physics_shown(self, _frame) -> None:
        if self._waiting and self.isVisible() and self.controller.solved_simulation() is not None:
            self.search()

    def _on_runner_running(self, running: bool) -> None:
        """Run pressed: a search under way stops (the transient would change the state it reads) and starts again
        when the run pauses; paused: a search waiting for it starts."""
        if running and not self.search_button.isEnabled():
            self._token += 1
            self.search_button.setEnabled(True)
            self._waiting = True
            self.status.setText("Waiting for the run to pause (the search reads a still state)…")
        elif not running and self._waiting and self.isVisible():
            self.search()

    def _on_table_selection_changed(self) -> None:
        self.place_button.setEnabled(0 <= self.table.currentRow() < len(self.rows))

    def _on_layout_changed(self, *_args) -> None:
        if self.result is not None and self.window.doc.revision != self._revision:
            self.result = None
            self.rows = []
            self.table.setRowCount(0)
            self.place_button.setEnabled(False)
            self.status.setText("The layout changed: search again for spots in the new layout.")

    def place(self, row: int) -> bool:
        """Put the rack(s) of the listed spot ``row`` on the floor: one undo step."""
        if not 0 <= row < len(self.rows) or self.result is None:
            return False
        c = self.rows[row]
        self.placed_racks = list(c.racks)
        proto = dataclasses.replace(c.racks[0], id="")
        doc = self.window.doc
        cmd = doc.place_command(proto, c.x_m, c.y_m, len(c.racks), self.window.scene.hall.id)
        self._revision = None  # this edit makes the list stale too
        if not self.window.execute(cmd, "place"):
            return False
        ids = [sub.element.id for sub in getattr(cmd, "commands", (cmd,))]
        self.window.scene.select_ids(ids)
        return True


def _fmt(v: Any, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def install_find_space(window: Any) -> FindSpaceController:
    """The placement map on ``window``'s floor plan and Simulation > Find Space for... in its menu."""
    ctl = FindSpaceController(window)
    window.find_space = ctl
    window.find_space_dialog = None
    window.view.drag_overlay = ctl
    menu = None
    for act in window.menuBar().actions():
        if act.menu() is not None and act.text().replace("&", "") == "Simulation":
            menu = act.menu()
    act = QAction("Find &Space for…", window)
    act.setStatusTip("Where the next racks fit: space, power (N-1), cooling (N-1), air and floor, best spots first")

    def open_dialog() -> FindSpaceDialog:
        if window.find_space_dialog is None:
            window.find_space_dialog = FindSpaceDialog(window, ctl)
        window.find_space_dialog.show()
        window.find_space_dialog.raise_()
        return window.find_space_dialog

    act.triggered.connect(open_dialog)
    window.act_find_space = act
    window.open_find_space = open_dialog
    if menu is not None:
        menu.addAction(act)
    return ctl
