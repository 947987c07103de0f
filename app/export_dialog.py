"""File > Export for Review…: one dialog for everything a recording is handed on as.

The review file (self-contained, hashed), the report as PDF and as HTML, the floor plan as PNG and the
series, events and alarms as CSV, each a checkbox; one folder and one base name give every file's name
(shown beside its box). Everything is checked before anything is written (folder, name, a file that
would be replaced asks first, a non-review file is never replaced). Everything is then written into a
temporary folder beside the targets: the review file and the CSV in a worker, the pictures here (Qt
paints the floor-plan scene in the GUI thread), one step at a time behind the dialog's progress bar.
Only when every output is written are they moved into place; a failure names the output and the reason
and leaves every existing file as it was.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel,
                               QLineEdit, QMessageBox, QProgressBar, QPushButton, QVBoxLayout, QWidget)

from dctwin.twin.errors import DctwinError, InputError, ProjectFileError

from dctwin.app.workers import Job

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Output:
    key: str
    title: str
    suffix: str  # appended to the base name
    folder: bool = False  # a folder of files (CSV), not one file


OUTPUTS = (Output("review", "Review file (self-contained, hashed, read-only)", "-review.dctwin"),
           Output("pdf", "Report as PDF", "-report.pdf"),
           Output("html", "Report as HTML (one file, pictures inside)", "-report.html"),
           Output("png", "Floor plan as PNG", "-plan.png"),
           Output("csv", "Series, events and alarms as CSV (a folder)", "-csv", folder=True))
#: checked when the dialog opens
DEFAULT_CHOSEN = ("review", "pdf")
PICTURES = ("pdf", "html", "png")


class ExportError(DctwinError):
    """An output could not be written: ``output`` names it, the message says why."""

    def __init__(self, output: str, message: str):
        super().__init__(f"{output}: {message}")
        self.output = output


class ExportDialog(QDialog):
    """See the module docstring. ``source`` is the project file, ``recording_id`` its recording; the
    pictures show ``at_s`` (None: the hottest inlet of the run)."""

    #: every chosen output was written: their paths
    sig_exported = Signal(list)
    #: the export failed (a message naming the output and the reason); nothing was replaced
    sig_failed = Signal(str)

    def __init__(self, source: str, recording_id: Optional[int] = None, at_s: Optional[float] = None,
                 parent: Optional[QWidget] = None, chosen: tuple[str, ...] = DEFAULT_CHOSEN):
        super().__init__(parent)
        self.setWindowTitle("Export for Review — dctwin")
        self.source = os.path.abspath(source)
        self.recording_id = recording_id
        self.at_s = at_s
        self.job: Optional[Job] = None
        self._staging: Optional[str] = None
        self._steps: list[tuple[str, Callable[[], None]]] = []
        self._data: Any = None

        stem = Path(self.source).stem
        self.folder_edit = QLineEdit(os.path.dirname(self.source), self)
        self.browse_button = QPushButton("Browse…", self)
        self.browse_button.clicked.connect(self._browse)
        self.base_edit = QLineEdit(stem, self)
        self.boxes: dict[str, QCheckBox] = {}
        self.targets_shown: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.addWidget(QLabel("Folder:", self), 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(self.browse_button)
        grid.addLayout(row, 0, 1)
        grid.addWidget(QLabel("Base name:", self), 1, 0)
        grid.addWidget(self.base_edit, 1, 1)
        for i, out in enumerate(OUTPUTS):
            box = QCheckBox(out.title, self)
            box.setChecked(out.key in chosen)
            box.toggled.connect(self._update)
            self.boxes[out.key] = box
            shown = QLabel(self)
            self.targets_shown[out.key] = shown
            grid.addWidget(box, 2 + i, 0)
            grid.addWidget(shown, 2 + i, 1)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.stage = QLabel("", self)
        self.stage.setWordWrap(True)
        self.buttons = QDialogButtonBox(self)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.Close)
        self.export_button.clicked.connect(lambda: self.export())
        self.close_button.clicked.connect(self._close_or_cancel)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"Recording {recording_id if recording_id is not None else '(latest)'} of "
                             f"{self.source}", self))
        lay.addLayout(grid)
        lay.addWidget(self.progress)
        lay.addWidget(self.stage)
        lay.addWidget(self.buttons)
        self.folder_edit.textChanged.connect(self._update)
        self.base_edit.textChanged.connect(self._update)
        self.setMinimumWidth(640)
        self._update()

    # ---- what would be written
    def chosen(self) -> list[Output]:
        return [o for o in OUTPUTS if self.boxes[o.key].isChecked()]

    def targets(self) -> dict[str, Path]:
        """Every output's path (chosen or not)."""
        folder = Path(self.folder_edit.text().strip() or ".").expanduser()
        base = self.base_edit.text().strip()
        return {o.key: (folder / f"{base}{o.suffix}").absolute() for o in OUTPUTS}

    def _update(self, *_args) -> None:
        targets = self.targets()
        for key, label in self.targets_shown.items():
            label.setText(targets[key].name + ("/" if next(o for o in OUTPUTS if o.key == key).folder else ""))
            label.setEnabled(self.boxes[key].isChecked())
        self.export_button.setEnabled(bool(self.chosen()) and self.job is None and self._staging is None)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def problems(self) -> list[str]:
        """What stops the export, in words (empty: it can run)."""
        from dctwin.twin.store import check_file
        from dctwin.twin.store.project import KIND_REVIEW

        out: list[str] = []
        chosen = self.chosen()
        if not chosen:
            return ["Choose at least one thing to export."]
        folder = Path(self.folder_edit.text().strip()).expanduser()
        base = self.base_edit.text().strip()
        if not self.folder_edit.text().strip():
            out.append("Give a folder to export into.")
        elif not folder.is_dir():
            out.append(f"The folder {folder} does not exist.")
        elif not os.access(folder, os.W_OK):
            out.append(f"The folder {folder} cannot be written to.")
        if not base:
            out.append("Give a base name for the files.")
        elif any(c in base for c in "/\\") or base in (".", ".."):
            out.append(f"The base name {base!r} must be a plain name, without folders.")
        if out:
            return out
        targets = self.targets()
        for o in chosen:
            t = targets[o.key]
            if t == Path(self.source):
                out.append(f"{o.title}: {t} is the file being exported; it is never overwritten.")
            elif o.folder and t.exists() and not t.is_dir():
                out.append(f"{o.title}: {t} is a file, not a folder.")
            elif not o.folder and t.is_dir():
                out.append(f"{o.title}: {t} is a folder; choose another base name.")
            elif o.key == "review" and t.exists():
                try:
                    kind = check_file(t).kind
                except ProjectFileError:
                    kind = None
                if kind != KIND_REVIEW:
                    out.append(f"{o.title}: {t} exists and is not a review export; it is not replaced "
                               f"(choose another base name or remove it).")
        return out

    def existing(self) -> list[Path]:
        """The chosen outputs' files that exist and would be replaced."""
        targets = self.targets()
        found = []
        for o in self.chosen():
            t = targets[o.key]
            if o.folder:
                found += [t / name for name in CSV_FILES if (t / name).exists()]
            elif t.exists():
                found.append(t)
        return found

    # ---- the export
    def export(self, replace: Optional[bool] = None) -> bool:
        """Check, then start writing (False: refused, the dialog says why). ``replace`` answers "replace the
        files that exist?" (None: ask)."""
        if self.job is not None or self._staging is not None:
            return False
        problems = self.problems()
        if problems:
            self._fail("\n".join(problems), dialog=True, title="Cannot export", started=False)
            return False
        existing = self.existing()
        if existing and replace is None:
            names = "\n".join(f"• {p}" for p in existing[:12]) + ("\n…" if len(existing) > 12 else "")
            replace = QMessageBox.question(self, "Replace files?", f"These files exist and would be replaced:\n\n"
                                                                   f"{names}") == QMessageBox.Yes
        if existing and not replace:
            self.stage.setText("Nothing exported: choose another base name or folder.")
            return False
        targets = self.targets()
        chosen = self.chosen()
        folder = targets[chosen[0].key].parent
        try:
            self._staging = tempfile.mkdtemp(prefix=".dctwin-export-", dir=folder)
        except OSError as exc:
            self._fail(f"Cannot write in {folder}: {exc.strerror}", dialog=True, title="Cannot export", started=False)
            return False
        staged = {o.key: Path(self._staging) / targets[o.key].name for o in chosen}
        keys = [o.key for o in chosen]
        pictures = [k for k in PICTURES if k in keys]
        worker_steps = [k for k in ("review", "csv") if k in keys] + (["read"] if pictures else [])
        self.progress.setRange(0, len(worker_steps) + len(pictures) + 1)
        self.progress.setValue(0)
        self._steps = [(f"Drawing the {TITLES[k]}", lambda k=k: self._write_picture(k, staged[k])) for k in pictures]
        self._steps.append(("Moving the files into place", lambda: self._commit(staged, targets)))
        source, rec, at_s = self.source, self.recording_id, self.at_s

        def work(task) -> Any:
            from dctwin.twin.review import collect
            from dctwin.twin.store import Project, export_csv, export_review

            data = None
            for step in worker_steps:
                task.token.check("cancelled: nothing was written")
                task.report(STEP_TEXT[step])
                try:
                    if step == "review":
                        export_review(source, staged["review"], recording_id=rec)
                    elif step == "csv":
                        with Project.open(source, read_only=True) as project:
                            export_csv(project, staged["csv"], recording_id=rec, at_s=at_s)
                    else:
                        data = collect(source, rec, at_s)
                except (InputError, ProjectFileError, OSError) as exc:
                    raise ExportError(STEP_OUTPUT[step], str(exc)) from None
            return data

        self.job = job = Job(work, self, name="dctwin-export")
        job.sig_progress.connect(self._on_progress)
        job.sig_done.connect(self._on_worker_done)
        job.sig_error.connect(lambda message: self._fail(message, dialog=True))
        job.sig_cancelled.connect(lambda message: self._fail(message, dialog=False))
        self.close_button.setText("Cancel")
        self.stage.setStyleSheet("")
        self.stage.setText("Starting…")
        self._update()
        job.start()
        return True

    def _on_progress(self, text: Any) -> None:
        self.stage.setText(f"{text}…")
        self.progress.setValue(self.progress.value() + 1)

    def _on_worker_done(self, data: Any) -> None:
        self.job = None
        self._data = data
        QTimer.singleShot(0, self._next_step)

    def _next_step(self) -> None:
        """One GUI-thread step per turn of the event loop, so the dialog repaints between them."""
        if self._staging is None:  # cancelled or failed meanwhile
            return
        text, step = self._steps.pop(0)
        self.stage.setText(f"{text}…")
        self.progress.setValue(self.progress.value() + 1)
        try:
            step()
        except ExportError as exc:
            self._fail(str(exc), dialog=True)
            return
        except Exception as exc:  # shown, not raised: the window stays usable
            log.warning("export failed: %s", exc)
            self._fail(f"{text}: {exc}", dialog=True)
            return
        if self._steps:
            QTimer.singleShot(0, self._next_step)

    def _write_picture(self, key: str, path: Path) -> None:
        from dctwin.app import report

        try:
            {"pdf": report.write_pdf, "html": report.write_html, "png": report.write_png}[key](self._data, path)
        except (InputError, OSError) as exc:
            raise ExportError(TITLES[key], str(exc)) from None

    def _commit(self, staged: dict[str, Path], targets: dict[str, Path]) -> None:
        written: list[str] = []
        for key, tmp in staged.items():
            target = targets[key]
            try:
                if tmp.is_dir():
                    target.mkdir(exist_ok=True)
                    for f in sorted(tmp.iterdir()):
                        os.replace(f, target / f.name)
                else:
                    os.replace(tmp, target)
            except OSError as exc:
                raise ExportError(TITLES[key], f"cannot move into {target}: {exc.strerror}") from None
            written.append(str(target))
        self._cleanup()
        self.progress.setValue(self.progress.maximum())
        self.stage.setText("Wrote " + ", ".join(Path(w).name + ("/" if Path(w).is_dir() else "") for w in written)
                           + f" in {targets[next(iter(staged))].parent}")
        self.stage.setStyleSheet("")
        self.close_button.setText("Close")
        self._update()
        self.sig_exported.emit(written)

    def _fail(self, message: str, dialog: bool, title: str = "Export failed", started: bool = True) -> None:
        """Say why nothing was exported (in the dialog, and in a message box when ``dialog``); an export that
        ``started`` has its temporary folder removed and says that no file was replaced."""
        self.job = None
        self._cleanup()
        self._steps = []
        self.progress.setValue(0)
        text = f"{message}\n\nNothing was replaced." if started else message
        self.stage.setText(text)
        self.stage.setStyleSheet("color: #c0392b")
        self.close_button.setText("Close")
        self._update()
        if dialog:
            QMessageBox.critical(self, title, text)
        self.sig_failed.emit(text)

    def _cleanup(self) -> None:
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None

    def _close_or_cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
        elif self._staging is not None:
            self._fail("cancelled: nothing was written", dialog=False)
        else:
            self.reject()

    def closeEvent(self, event) -> None:  # Qt override: closing while exporting cancels first
        if self.job is not None or self._staging is not None:
            self._close_or_cancel()
        super().closeEvent(event)


#: the files :func:`dctwin.twin.store.export_csv` writes
CSV_FILES = ("hall_metrics.csv", "rack_inlet_c.csv", "rack_power_w.csv", "events.csv", "alarms.csv")
TITLES = {"review": "review file", "pdf": "report (PDF)", "html": "report (HTML)", "png": "floor plan (PNG)",
          "csv": "CSV files"}
STEP_TEXT = {"review": "Writing the review file", "csv": "Writing the CSV files",
             "read": "Reading the recording and replaying the moment of the pictures"}
STEP_OUTPUT = {"review": "review file", "csv": "CSV files", "read": "reading the recording for the pictures"}
