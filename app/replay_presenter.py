"""The replay in the window: open a recording, show any second of it, explain its alarms, export it.

:class:`ReplayPresenter` puts a recording (opened by :class:`dctwin.app.replay.ReplayController` in
its worker) on the window's widgets: the read-only banner, the replayed layout on the floor plan,
the recorded trends and alarms, the timeline with its markers, the cause chain of a clicked marker,
a preview of a second from the recorded series while the exact state is replayed, and the review
export and report of the recording (in :class:`dctwin.app.workers.Job` s). Closing the replay brings
back the layout that was open before, editable.
"""

from __future__ import annotations

import logging
import os
from html import escape as html_escape
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from dctwin.app.document import blank_site
from dctwin.app.runner import Frame
from dctwin.app.workers import Job
from dctwin.twin.model.words import hms

if TYPE_CHECKING:  # app.replay loads the store: on first use, so the window opens sooner
    from dctwin.app.replay import RecordingData, ReplayController
    from dctwin.app.window import MainWindow

log = logging.getLogger(__name__)

RECORDING_FILTER = "dctwin project and review files (*.dctwin);;All files (*)"


class ReplayPresenter(QObject):
    """The window's replay mode (see the module docstring); the window forwards its public calls here."""

    #: a review report was written (its path)
    sig_report_written = Signal(str)

    def __init__(self, window: "MainWindow"):
        super().__init__(window)
        self.w = window
        #: replay mode: a recording is shown (the layout is read-only)
        self.active = False
        self.data: Optional[RecordingData] = None
        self.controller: Optional[ReplayController] = None  # made on first use
        self._seen = False  # a second of this recording was shown
        self._errors_shown: set[str] = set()  # replay failures of this recording already said in a dialog
        self._before: Optional[tuple[Any, Optional[str]]] = None  # the document's site and path before the replay
        self._preview_t: Optional[float] = None
        self._fit_pending = False
        self._measured = None  # MeasuredPresenter, made on first use
        self.export_dialog = None  # File > Export for Review… (app/export_dialog.py), once opened
        window.timeline.sig_seek_requested.connect(self._on_timeline_seek_requested)
        window.timeline.sig_marker_clicked.connect(self._on_timeline_marker_clicked)
        window.cause_panel.sig_step_chosen.connect(self._on_cause_step_chosen)
        window.alarms.sig_alarm_chosen.connect(self._on_alarms_alarm_chosen)
        window.alarms.sig_group_chosen.connect(self._on_alarms_group_chosen)
        window.alarms.sig_action_requested.connect(self._on_alarms_action_requested)

    def ensure_controller(self) -> ReplayController:
        from dctwin.app.replay import ReplayController

        if self.controller is None:
            z = self.w.heat_combo.currentData()
            self.controller = ReplayController(self.w, heat_z_m=None if z == "off" else float(z))
            self.controller.sig_opened.connect(self._on_replay_opened)
            self.controller.sig_state.connect(self._on_replay_state)
            self.controller.sig_error.connect(self._on_replay_error)
        return self.controller

    def set_heat_height(self, z_m: Optional[float]) -> None:
        if self.controller is not None:
            self.controller.set_heat_height(z_m)
            if self.active:
                self.controller.seek(self.w.timeline.position_s)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    # ---- opening
    def open_recording_dialog(self) -> None:
        start = os.path.dirname(self.data.path) if self.data is not None else ""
        path, _ = QFileDialog.getOpenFileName(self.w, "Open recording", start, RECORDING_FILTER)
        if path:
            self.open_recording(path)

    def open_recording(self, path: str, recording_id: Optional[int] = None) -> bool:
        """Replay a recording of ``path`` (opened read-only in the replay worker; the GUI does not wait)."""
        if not self.active and not self.w.confirm_discard():
            return False
        self.ensure_controller().open(path, recording_id)
        self.w.show_status(f"Opening {path}…", 0)
        return True

    def _on_replay_opened(self, data: RecordingData) -> None:
        from dctwin.app.replay import markers_for

        w = self.w
        if data.generation != self.controller.generation:
            return
        if not self.active:
            self._before = (w.doc.site, w.doc.path)
            w.runner.set_running(False)
        self.active = True
        self.data = data
        self._seen = False
        self._errors_shown = set()
        w.doc.replace(data.site, None)
        w.doc.undo_stack.clear()
        w.set_read_only("a review export cannot be changed" if data.is_review else
                        "a replay shows a recorded layout, which cannot be edited (File > Close Replay to edit)")
        if data.hall_id and w.scene.hall is not None and w.scene.hall.id != data.hall_id:
            w.show_hall(data.hall_id)
        w.timeline.set_playing(False)
        w.timeline.set_duration(data.duration_s)
        w.timeline.view.set_floor(data.first_keyframe_s)
        w.timeline.set_markers(markers_for(data))
        w.timeline.info_label.setText(
            f"{len(data.events)} events, {sum(1 for a in data.alarms if a.get('active', True))} alarms"
            + (f" — {data.incident_name}" if data.incident_name else ""))
        self._fill_trends(data)
        w.alarms.clear()
        self._fill_alarms(data)
        w.cause_panel.clear()
        w.timeline_dock.show()
        w.cause_dock.show()
        w.alarms_dock.raise_()
        w.palette_dock.hide()
        w.history_dock.hide()
        self._enable_actions(True)
        self._show_banner(data)
        w._update_title()
        w.readout.settle_bar.hide()
        w.show_status(f"Replaying {data.path}, recording {data.recording_id}: {hms(data.duration_s)}")
        self._fit_pending = True  # the docks around the plan changed: fit once the first state is shown
        self.measured().show(data)  # a shadow replay of measured data: measured beside predicted
        w.timeline.seek(data.first_keyframe_s)

    def measured(self):
        """The measured side of replays (app/measured_presenter.py), made on first use."""
        if self._measured is None:
            from dctwin.app.measured_presenter import MeasuredPresenter

            self._measured = MeasuredPresenter(self.w)
        return self._measured

    def _enable_actions(self, on: bool) -> None:
        for act in (self.w.act_close_replay, self.w.act_export_review, self.w.act_export_report):
            act.setEnabled(on)

    def _show_banner(self, data: RecordingData) -> None:
        if data.is_review:
            v = data.verify
            check = ""
            if v is not None:
                check = (" Its contents are intact (SHA-256 of every table matches the export)." if v.intact
                         else f" WARNING: {v.message()}")
            what = (f"the moment t = {hms(data.duration_s)} of recording {data.recording_id} (replayable from "
                    f"t = {hms(data.first_keyframe_s)})" if data.first_keyframe_s > 0 else f"recording {data.recording_id}")
            self.w.banner.setText(f"<b>Review export — read-only.</b> {html_escape(data.path)} holds {what} as it "
                                  f"was exported; nothing here can be changed.{check}")
        else:
            self.w.banner.setText(f"<b>Replay — read-only.</b> Recording {data.recording_id} of "
                                  f"{html_escape(data.path)}. File &gt; Close Replay to go back to editing.")
        self.w.banner.show()

    def _fill_trends(self, data: RecordingData) -> None:
        t = data.hall_t_s
        inlet = {}
        if data.rack_t_s.size and t.size:
            for j, rid in enumerate(data.rack_ids):
                inlet[rid] = np.interp(t, data.rack_t_s, data.rack_inlet_c[:, j])
        nan = np.full(t.size, np.nan)
        h = data.hall
        trends = self.w.trends
        trends.set_history(t, inlet, h.get("max_inlet_c", nan), h.get("it_power_w", nan) / 1e3,
                           h.get("facility_power_w", nan) / 1e3,
                           {"min UPS": 100.0 * h["ups_min_soc"]} if "ups_min_soc" in h else None)
        hottest = list(np.argsort(-np.nanmax(data.rack_inlet_c, axis=0))[:3]) if data.rack_inlet_c.size else []
        trends.set_racks([data.rack_ids[int(j)] for j in hottest])

    def _fill_alarms(self, data: RecordingData) -> None:
        """The recording's alarms as an operator works them: by cause, a flood held back, acknowledged
        and shelved as recorded (twin.sim.alarm_board)."""
        from dctwin.twin.sim.alarm_board import build_board

        alarms = self.w.alarms
        alarms.show_board(build_board(data.alarms, data.by_seq, data.actions))
        alarms.set_actions_enabled(
            "a review export cannot be changed: open the project file to acknowledge or shelve" if data.is_review
            else "")

    # ---- the seconds shown
    def _on_replay_state(self, frame: Frame) -> None:
        w = self.w
        if not self.active or frame.generation != self.controller.generation:
            return
        if self._preview_t is not None and abs(frame.t_s - w.timeline.position_s) > 1e-9:
            return  # an older second than the one previewed now: the newest request follows
        self._preview_t = None
        self._seen = True
        summary = frame.summary
        w.scene.stale = False  # a replayed second is what was recorded, never a layout being settled
        w.scene.apply_summary(summary)
        w.power_tree.set_summary(summary)
        if frame.heat is not None and w.heat_combo.currentData() != "off":
            w.scene.set_heatmap(*frame.heat)
            w.scene.heat_item.setOpacity(0.65)  # a replayed second is final: never the faded "settling" look
        else:
            w.scene.set_heatmap(None)
        w.readout.show_summary(float(frame.t_s), summary)
        w.show_warnings(list(summary.warnings))
        w.readout.show_physics(f"replay (seek {1e3 * frame.seek_s:.0f} ms)")
        w.trends.set_cursor(float(frame.t_s))
        self.measured().at(float(frame.t_s))
        if self._fit_pending:
            self._fit_pending = False
            w.view.zoom_to_fit()
        w.sig_replay_shown.emit(frame)

    def _on_replay_error(self, message: str) -> None:
        self.w.show_status(message)
        if not self.active:
            QMessageBox.critical(self.w, "Cannot open recording", message)
            return
        self.w.readout.show_physics("replay failed")
        if message not in self._errors_shown:
            # a second that cannot be replayed (a damaged keyframe, a layout that does not fit): play
            # stops and a dialog says why, once per failure; the rest of the recording still replays
            # and the timeline's recorded series stay readable
            self._errors_shown.add(message)
            self.w.timeline.set_playing(False)
            QMessageBox.critical(self.w, "Cannot replay recording", message)

    def _on_timeline_seek_requested(self, t_s: float) -> None:
        if self.active and self.controller is not None:
            self.controller.seek(t_s)
            self._show_preview(t_s)

    def _show_preview(self, t_s: float) -> None:
        """The recorded series at ``t_s`` on the plan at once; the exact replayed state follows."""
        from dctwin.app.replay import preview_summary

        prev = preview_summary(self.data, t_s)
        if prev is None:
            return
        self._preview_t = t_s
        self.w.scene.apply_summary(prev)
        self.w.readout.show_preview(t_s, prev)

    def _on_timeline_marker_clicked(self, marker) -> None:
        """Jump to the marker's second and select its element; an alarm shows its cause chain and is
        selected in the alarm list too (the list and the timeline are one selection)."""
        if self.data is None or not isinstance(marker.key, tuple):
            self.w.timeline.seek(marker.t_s)
            self._select_element(marker.target)
            return
        kind, key = marker.key
        if kind == "alarm":
            self.show_alarm(key)
        elif kind == "event":  # an event or automatic action: why it happened
            self._show_event(key, marker.t_s, marker.target)
        else:  # an operator action
            self.w.timeline.seek(marker.t_s)
            self._select_element(marker.target)

    def show_alarm(self, index: int) -> None:
        """Alarm ``index`` of the recording everywhere at once: its second on the plan, its element selected,
        its marker picked on the timeline, its line in the alarm list, its cause chain."""
        from dctwin.twin.review import alarm_explanation, chain_steps

        w, data = self.w, self.data
        alarm = data.alarms[index]
        w.timeline.seek(float(alarm["t_s"]))
        self._select_element(str(alarm.get("target", "")))
        self._pick_marker(("alarm", index))
        w.alarms.select_alarm(index)
        w.cause_panel.show_chain(alarm_explanation(alarm, data.by_seq), chain_steps(alarm, data.by_seq, data.alarms))
        w.cause_dock.show()
        w.cause_dock.raise_()

    def _show_event(self, seq: int, t_s: float, target: str) -> None:
        from dctwin.twin.review import event_chain_steps, event_headline

        w = self.w
        w.timeline.seek(t_s)
        self._select_element(target)
        self._pick_marker(("event", seq))
        w.cause_panel.show_chain(event_headline(seq, self.data.by_seq), event_chain_steps(seq, self.data.by_seq))
        w.cause_dock.show()
        w.cause_dock.raise_()

    def _pick_marker(self, key: tuple) -> None:
        view = self.w.timeline.view
        view.picked = next((m for m in view.markers if m.key == key), None)
        view.update()

    def _on_alarms_alarm_chosen(self, index: int) -> None:
        if self.active and self.data is not None and 0 <= index < len(self.data.alarms):
            self.show_alarm(index)

    def _on_alarms_group_chosen(self, key: str) -> None:
        """A cause chosen in the list: its root event's second, element and chain."""
        board = self.w.alarms.board
        group = board.group(key) if board is not None else None
        if not self.active or group is None:
            return
        if group.root is not None:
            self._show_event(group.root.seq, group.root.t_s, group.root.target)
        else:
            self.w.timeline.seek(group.t_s)

    def _on_alarms_action_requested(self, kind: str, keys: list, target: str) -> None:
        """Acknowledge, shelve or unshelve: recorded in the project file beside the recording, with who and
        when, then shown (the list, a timeline marker, the review)."""
        from dctwin.twin.errors import DctwinError
        from dctwin.twin.sim.alarm_board import OperatorAction, now_utc, operator_name
        from dctwin.twin.store.operator import record_action

        from dctwin.app.replay import markers_for

        w, data = self.w, self.data
        if not self.active or data is None:
            return
        if data.is_review:
            w.alarms.show_message("Refused: a review export cannot be changed; open the project file to "
                                  "acknowledge or shelve its alarms.")
            return
        action = OperatorAction(float(w.timeline.position_s), kind, target, tuple(keys), operator_name(), now_utc())
        try:
            record_action(data.path, data.recording_id, action)
        except (DctwinError, OSError) as exc:
            log.warning("cannot record %s in %s: %s", kind, data.path, exc)
            w.alarms.show_message(f"Not recorded: {exc}")
            QMessageBox.critical(w, "Cannot record the action", f"Cannot record it in {data.path}:\n\n{exc}")
            return
        data.actions.append(action)
        w.alarms.show_message("")
        self._fill_alarms(data)
        w.timeline.set_markers(markers_for(data))
        w.show_status(action.text()[0].upper() + action.text()[1:])

    def _on_cause_step_chosen(self, t_s: float, target: str) -> None:
        self.w.timeline.seek(t_s)
        self._select_element(target)

    def _select_element(self, ident: str) -> None:
        scene = self.w.scene
        if ident and ident in scene.items_by_id:
            scene.select_ids([ident])
            self.w.view.ensureVisible(scene.items_by_id[ident])  # scroll only if it is out of sight

    # ---- closing
    def close(self) -> None:
        """Leave the replay: the layout that was open before comes back, editable."""
        if not self.active:
            return
        w = self.w
        w.timeline.set_playing(False)
        self.active = False
        self.data = None
        w.banner.hide()
        w.timeline_dock.hide()
        w.cause_dock.hide()
        w.palette_dock.show()
        w.history_dock.show()
        w.trends.set_cursor(None)
        self._enable_actions(False)
        site, path = self._before or (blank_site(), None)
        self._before = None
        self.measured().clear()
        w.set_read_only("")
        w.doc.replace(site, path)
        w.alarms.clear()
        w._update_title()

    # ---- exports (in a worker, behind a progress dialog)
    def export_review_dialog(self):
        """File > Export for Review…: the one export dialog (review file, PDF, HTML, PNG, CSV); returns it."""
        return self.open_export_dialog(("review", "pdf"))

    def open_export_dialog(self, chosen: tuple[str, ...]):
        """The export dialog for the replayed recording with ``chosen`` outputs ticked (None: no recording)."""
        from dctwin.app.export_dialog import ExportDialog

        if self.data is None:
            QMessageBox.information(self.w, "Export for Review", "Open a recording first (File > Open Recording).")
            return None
        if self.export_dialog is not None:
            self.export_dialog.close()
        dlg = self.export_dialog = ExportDialog(self.data.path, self.data.recording_id, parent=self.w, chosen=chosen)
        dlg.sig_exported.connect(lambda paths: self.w.show_status(f"Exported {len(paths)} output(s): "
                                                                  + ", ".join(paths)))
        dlg.sig_exported.connect(lambda paths: [self.sig_report_written.emit(p) for p in paths
                                                if p.lower().endswith((".pdf", ".html"))])
        dlg.show()
        return dlg

    def export_review_to(self, path: str, at_s: Optional[float] = None) -> Job:
        """Write a review export of the replayed recording (twin.store.export_review) in a worker thread."""
        from dctwin.twin.store import export_review

        d = self.data
        job = Job(lambda _task: export_review(d.path, path, recording_id=d.recording_id, at_s=at_s), self.w)
        return self.w.run_job(job, f"Exporting recording {d.recording_id} for review…",
                              lambda r: self.w.show_status(f"Wrote {r['file']}: {r['keyframes']} keyframe(s), "
                                                           f"{r['events']} event(s), {r['bytes'] / 1e6:.2f} MB"),
                              "Cannot export for review")

    def export_report_dialog(self):
        """File > Export Report…: the export dialog with the PDF report chosen."""
        return self.open_export_dialog(("pdf",))

    def export_report_to(self, path: str, at_s: Optional[float] = None) -> Job:
        """Write the review report (PDF, or HTML for *.html): the data is read and replayed in a worker,
        the pictures are drawn here (Qt painting of the floor-plan scene belongs to the GUI thread)."""
        from dctwin.app import report
        from dctwin.twin.review import collect

        d = self.data

        def done(data) -> None:
            try:
                out = (report.write_html if path.lower().endswith((".html", ".htm")) else report.write_pdf)(data, path)
            except Exception as exc:  # shown, not raised: the window stays usable
                log.warning("report %s failed: %s", path, exc)
                QMessageBox.critical(self.w, "Cannot export report", f"Cannot write {path}:\n\n{exc}")
                return
            self.w.show_status(f"Wrote {out} (floor plan at t = {hms(data.picture_t_s)})")
            self.sig_report_written.emit(str(out))

        job = Job(lambda _task: collect(d.path, d.recording_id, at_s), self.w)
        return self.w.run_job(job, "Writing the review report…", done, "Cannot export report")
