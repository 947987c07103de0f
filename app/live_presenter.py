"""The editor's live physics in the window: a solve after every edit, and each result on the views.

:class:`LivePresenter` asks :class:`dctwin.app.runner.SimRunner` for a steady solve of the layout
shown and puts every frame that comes back (a steady state, a running transient's frame) on the
floor plan, its heat map, the power tree, the trends, the alarms and the status bar; results for a
layout that has changed since are dropped. While a solve settles the old heat map fades; when the
engine fails, no old result stays on show.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

from PySide6.QtCore import QObject, QTimer

from dctwin.widgets.icons import tool_icon

from dctwin.app.runner import Frame

if TYPE_CHECKING:
    from dctwin.app.window import MainWindow


#: heat map opacity: settled, and while a solve settles (the old field, then the quick first answer)
HEAT_OPACITY, HEAT_OPACITY_SETTLING = 0.65, 0.3


class LivePresenter(QObject):
    """The runner's results on ``window`` (see the module docstring)."""

    #: the old heat map fades only if no quick first answer has come this long after an edit (ms): the
    #: quick answer usually comes first, faded itself, so the hall is redrawn once, not twice
    FADE_DELAY_MS = 250
    #: a quick first answer's side panels (inspector figures, power tree, warnings, read-out, trends,
    #: alarms) follow its plan after this long (ms), so that the map is drawn first: a timer fires
    #: after Qt's paint request (a posted event) has been served, a queued call would come before it
    PANELS_AFTER_MS = 1
    #: an edit's own side-panel updates held for its first map (:meth:`after_first_map`) wait at most this
    #: long (ms): an edit whose solve has no quick answer (a cold start, a hall without cooling) does not
    #: keep its panels waiting for the converged state
    EDIT_PANELS_MAX_MS = 1000

    def __init__(self, window: "MainWindow"):
        super().__init__(window)
        self.w = window
        self._fade_timer = QTimer(self)
        self._fade_timer.setSingleShot(True)
        self._fade_timer.setInterval(self.FADE_DELAY_MS)
        self._fade_timer.timeout.connect(self._fade_heat)
        self._panels_timer = QTimer(self)
        self._panels_timer.setSingleShot(True)
        self._panels_timer.setInterval(self.PANELS_AFTER_MS)
        self._panels_timer.timeout.connect(self._show_pending_panels)
        #: the quick answer on the plan whose side panels are still to come
        self._panels_frame: Optional[Frame] = None
        #: an edit's side-panel updates waiting for its first map (:meth:`after_first_map`)
        self._edit_panels: Optional[Callable[[], None]] = None
        self._edit_timer = QTimer(self)
        self._edit_timer.setSingleShot(True)
        self._edit_timer.setInterval(self.EDIT_PANELS_MAX_MS)
        self._edit_timer.timeout.connect(self._catch_up_edit_panels)
        self._busy = False
        #: the frame on show (None until the layout shown is solved)
        self.last_frame: Optional[Frame] = None
        self._alarms_generation: Optional[int] = None
        self._diagnosis = ""
        r = window.runner
        for signal, slot in ((r.sig_solved, self._on_runner_frame), (r.sig_frame, self._on_runner_frame),
                             (r.sig_busy, self._on_runner_busy), (r.sig_error, self._on_runner_error),
                             (r.sig_running, self._on_runner_running), (r.sig_compiling, self._on_runner_compiling),
                             (r.sig_quick_power, self._on_runner_quick_power)):
            signal.connect(slot)

    def request_solve(self) -> None:
        """Solve the layout shown (not in a replay, and only with the engine)."""
        w = self.w
        if w.replay_mode or not w.runner.available or not w.doc.site.halls:
            return
        w.runner.hall_id = w.scene.hall.id if w.scene.hall else None
        w.runner.request_solve(w.doc.site.copy())  # first: the worker starts while the plan is marked
        w.scene.set_stale(True)  # the capacity figures on show are the last solve's until this one is in

    def after_first_map(self, update: Callable[[], None]) -> bool:
        """Hold ``update`` (an edit's side panels: the power tree, the trends' racks) until the first map of
        the solve just requested has been painted, so that the GUI thread leaves the worker the interpreter
        and the CPU until then. It runs before that map's own panels, before a converged state's, on an
        error, or after :data:`EDIT_PANELS_MAX_MS` at the latest. False (nothing held: run it now) when no
        solve is on its way (a replay, no engine)."""
        w = self.w
        if w.replay_mode or not w.runner.available or not w.doc.site.halls:
            return False
        self._edit_panels = update
        if not self._edit_timer.isActive():  # edits in a row do not keep postponing their panels
            self._edit_timer.start()
        return True

    def _catch_up_edit_panels(self) -> None:
        update, self._edit_panels = self._edit_panels, None
        self._edit_timer.stop()
        if update is not None:
            update()

    def show_availability(self) -> None:
        """Without the engine: say so, and Run is off."""
        available = self.w.runner.available
        if not available:
            self.w.readout.show_physics("physics unavailable", "twin.engine is not installed or failed to load: "
                                        "layout editing works, temperatures are not computed")
        self.w.act_run.setEnabled(available)

    def show_design(self) -> None:
        """Before the first result: the IT power the layout is designed for."""
        if self.last_frame is None:
            self.w.readout.show_design(self.w.doc.site)

    def _on_runner_busy(self, busy: bool) -> None:
        w = self.w
        if w.replay_mode:  # the editor's solver says nothing about a replay
            w.readout.settle_bar.hide()
            return
        self._busy = busy
        if not busy:
            self._catch_up_edit_panels()  # the solve ended (or stopped) without a map held back for
        if busy:
            self._fade_timer.start()  # the old field fades while the new one settles
        else:
            self._fade_timer.stop()
            w.scene.heat_item.setOpacity(HEAT_OPACITY)
        w.readout.show_settling(busy, w.runner.running)

    def _fade_heat(self) -> None:
        if self._busy and not self.w.replay_mode:
            self.w.scene.heat_item.setOpacity(HEAT_OPACITY_SETTLING)

    def _on_runner_compiling(self, progress) -> None:
        """The first run on this machine compiles the physics kernels: say that, not just "settling"."""
        if not self.w.replay_mode:
            self.w.readout.show_compiling(progress)

    def _on_runner_error(self, message: str) -> None:
        w = self.w
        self._catch_up_edit_panels()
        self._drop_pending_panels()
        self.last_frame = None
        self._diagnosis = ""
        w.scene.stale = False
        w.scene.apply_summary(None)  # old results no longer describe this layout
        w.scene.set_inlet_field(None)
        w.power_tree.set_summary(None)
        w.scene.set_heatmap(None)
        w.readout.show_error(message)
        self.show_design()
        w.show_status(message)
        self.show_availability()

    def _on_runner_running(self, running: bool) -> None:
        self.w.act_run.setChecked(running)
        self.w.act_run.setText("&Pause" if running else "&Run")
        self.w.act_run.setIcon(tool_icon("pause" if running else "run", self.w))
        self.w.readout.show_state(running, "paused")
        if self._diagnosis and not self.w.replay_mode:  # still a hall without cooling, running or not
            self.w.readout.show_no_cooling(self._diagnosis, running)

    def _on_runner_frame(self, frame: Frame) -> None:
        try:
            self._show_frame(frame)
        finally:
            self.w.runner.frame_shown()
            if self._panels_frame is not frame:  # not a quick answer waiting to be drawn: the worker goes on
                self.w.runner.quick_drawn()

    def _show_frame(self, frame: Frame) -> None:
        w = self.w
        if w.replay_mode or frame.generation != w.runner.generation:
            return  # a result for a layout that has changed since (or a replay is shown)
        self._show_pending_panels(force=True)  # an earlier quick answer's events and figures are not skipped
        self.last_frame = frame
        summary = frame.summary
        if frame.inlet_field is not None:
            w.scene.set_inlet_field(*frame.inlet_field)
        w.scene.stale = bool(summary.settling)  # a quick first answer is not the converged state yet
        if summary.settling:
            self._fade_timer.stop()
            self._fade_heat()
        if frame.power_pending and w.scene.summary is not None:
            # until its own follow (_on_runner_quick_power), the plan keeps the power figures it shows (stale)
            summary.power_nodes = w.scene.summary.power_nodes
        w.scene.apply_summary(summary)
        heat_off = w.heat_combo.currentData() == "off"
        if frame.heat is not None and not heat_off:
            w.scene.set_heatmap(*frame.heat)
        elif heat_off:
            w.scene.set_heatmap(None)
        if summary.settling:  # the first look after an edit: the map first, the panels right after it is drawn
            self._panels_frame = frame
            self._panels_timer.start()
            w.sig_physics_shown.emit(frame)
            return
        self._catch_up_edit_panels()
        self._show_panels(frame)
        w.sig_physics_shown.emit(frame)

    def _on_runner_quick_power(self, generation: int, power_nodes: dict, pue) -> None:
        """The power chain's figures of the quick answer on the plan: on the plan, then its side panels."""
        frame = self.last_frame
        if frame is None or not frame.power_pending or frame.generation != generation \
                or generation != self.w.runner.generation or self.w.replay_mode:
            return
        frame.summary.power_nodes, frame.summary.pue = power_nodes, pue
        frame.power_pending = False
        if self.w.scene.summary is frame.summary:
            self.w.scene.power_figures_changed()
        if self._panels_frame is frame and not self._panels_timer.isActive():
            self._show_pending_panels()  # the map was drawn already: its panels waited for these figures

    def _show_pending_panels(self, force: bool = False) -> None:
        """The side panels of the quick answer on the plan, if they are still to come (once its power figures
        are in, unless ``force``)."""
        frame, self._panels_frame = self._panels_frame, None
        self._panels_timer.stop()
        if not force:  # the timer: it fires once the plan has been painted
            self.w.runner.quick_drawn()
        if frame is not None:
            self._catch_up_edit_panels()  # the edit's own panels, then the figures of its first map
            if frame.power_pending and not force:
                self._panels_frame = frame  # _on_runner_quick_power shows them
                return
        if frame is not None and frame is self.last_frame and not self.w.replay_mode \
                and frame.generation == self.w.runner.generation:
            self._show_panels(frame)

    def _drop_pending_panels(self) -> None:
        self._panels_frame = None
        self._panels_timer.stop()
        self.w.runner.quick_drawn()

    def _show_panels(self, frame: Frame) -> None:
        """``frame`` beside the plan: the inspector's live figures, the power tree, the warnings, the
        read-out, the trends and the alarms."""
        w = self.w
        summary = frame.summary
        w.inspector.set_live(summary.racks)
        w.power_tree.set_summary(summary)
        t = float(frame.t_s)
        w.show_warnings(list(summary.warnings))
        w.readout.show_summary(t, summary)
        w.readout.show_state(w.runner.running)
        if frame.diagnosis:  # no steady state: the room heats up, said in words, not "physics error"
            w.readout.show_no_cooling(frame.diagnosis, w.runner.running)
            if frame.diagnosis != self._diagnosis:
                w.show_status(frame.diagnosis)
        elif self._diagnosis:  # a cooling unit gives the heat a way out again
            w.readout.clear_no_cooling(w.runner.running)
        self._diagnosis = frame.diagnosis
        w.trends.add_frame(t, summary, frame.ups)
        if frame.generation != self._alarms_generation:
            w.alarms.clear()  # a new simulation (after an edit) starts a new event log
            self._alarms_generation = frame.generation
        if frame.events:
            w.alarms.add_events(frame.events, frame.chains)
