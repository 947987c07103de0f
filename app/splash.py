"""The first start of the window on a machine: a splash with a progress bar while the physics kernels
compile (once; numba caches them), so nobody stares at nothing for half a minute.

:func:`warm_up_with_splash` returns at once when the kernels are compiled already; else it shows
:class:`CompileSplash` and runs :func:`dctwin.twin.physics.kernels.warm_up` on a thread of its own (the
splash stays live), and returns when they are compiled (or when compiling failed: the window then
compiles what it needs itself and its status bar says so).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Optional

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar, QVBoxLayout, QWidget

from dctwin.twin.physics import kernels
from dctwin.twin.physics.kernels import CompileProgress

from dctwin.app.status import COMPILING, compile_count, show_fraction
from dctwin.app.workers import start_thread

log = logging.getLogger(__name__)


class CompileSplash(QWidget):
    """A small frameless window: what is happening, a bar (percentage) and the time so far / left."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent, Qt.SplashScreen | Qt.FramelessWindowHint | Qt.WindowStaysOnTopHint)
        self.setObjectName("compileSplash")
        self.started = time.monotonic()
        self.progress = CompileProgress()
        title = QLabel("<b>dctwin</b> — data center digital twin")
        self.label = QLabel(COMPILING[0].upper() + COMPILING[1:] + "…")
        self.label.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setTextVisible(True)
        self.detail = QLabel("")
        hint = QLabel("Later starts skip this. `dctwin warmup` does it ahead, e.g. right after installing.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: gray")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 20, 24, 20)
        for w in (title, self.label, self.bar, self.detail, hint):
            lay.addWidget(w)
        self.setFixedWidth(520)
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._refresh)
        self._timer.start()
        self._refresh()

    def show_progress(self, progress: CompileProgress) -> None:
        self.progress = progress
        if progress.total:
            show_fraction(self.bar, progress.fraction)
        self._refresh()

    def text(self) -> str:
        """The detail line: groups done, percentage, time left, and the time so far."""
        elapsed = time.monotonic() - self.started
        count = compile_count(self.progress).removeprefix(" — ")
        return f"{count or 'starting'}; {elapsed:.0f} s so far"

    def _refresh(self) -> None:
        self.detail.setText(self.text())


class _Relay(QObject):
    """Carries the warm-up's reports from its thread to the splash (queued signals)."""

    sig_progress = Signal(object)
    sig_done = Signal()


def warm_up_with_splash(need: str = "simulate") -> bool:
    """Compile the kernels the window needs behind a splash, if they are not compiled yet. Returns whether
    it compiled anything (False: the cache had them, no splash was shown)."""
    # a machine that never compiled them: the splash at once (importing the kernels compiles a few);
    # else only when some are missing (their source changed)
    if kernels.known_compiled(need):
        return False
    empty = kernels.cache_is_empty()
    if not empty:
        try:
            if not kernels.compile_pending(need):
                return False
        except Exception as exc:  # numba's cache unreadable: the window compiles what it needs as it goes
            log.info("cannot tell whether the kernels are compiled: %s", exc)
            return False
    app = QApplication.instance() or QApplication(sys.argv[:1])
    splash = CompileSplash()
    relay = _Relay()
    relay.sig_progress.connect(splash.show_progress)
    loop = QEventLoop()
    relay.sig_done.connect(loop.quit)
    failed: list[BaseException] = []

    def work() -> None:
        try:
            kernels.warm_up(need, relay.sig_progress.emit, only_pending=not empty)
        except BaseException as exc:  # reported below; the window compiles what it needs itself
            failed.append(exc)
        finally:
            relay.sig_done.emit()

    screen = app.primaryScreen()
    if screen is not None:
        splash.adjustSize()
        splash.move(screen.availableGeometry().center() - splash.rect().center())
    splash.show()
    app.processEvents()
    thread = start_thread(work, "dctwin-warmup")
    loop.exec()
    thread.join()
    splash.close()
    splash.deleteLater()
    if failed:
        log.warning("compiling the physics kernels ahead failed: %s", failed[0])
    return not failed
