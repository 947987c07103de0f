"""The status bar's read-out: cursor position, simulated time, IT power, PUE, hottest inlet, the settling
indicator and the physics state, for live frames, replayed seconds and previews alike.

The window says what happened (a frame, a busy solver, an error); the texts are made here, once.
"""

from __future__ import annotations

import math
from typing import Optional

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton

from dctwin.twin.model.layout import Site
from dctwin.twin.model.words import DEG_C, hms
from dctwin.twin.sim.results import HallSummary

SETTLING = "settling…"
COMPILING = "compiling the physics kernels for this machine (first run only)"


#: simulated time for the status bar, as every view writes it (``hh:mm:ss``)
fmt_time = hms


#: a progress bar's steps when it shows a fraction
BAR_STEPS = 1000


def show_fraction(bar: QProgressBar, fraction: float) -> None:
    """``bar`` at ``fraction`` (0..1), its text the same rounded percentage as the words beside it."""
    bar.setRange(0, BAR_STEPS)
    bar.setValue(int(round(BAR_STEPS * fraction)))
    bar.setFormat(f"{100 * fraction:.0f} %")


def compile_count(progress) -> str:
    """" — 3 of 8 groups, 38 %, about 20 s left (air temperature)": how far compiling the kernels has got
    ("" when nothing is known yet), for the status bar and the splash."""
    if not progress.total:
        return f" — {progress.done} compiled" if progress.done else ""
    left = progress.time_left_s
    eta = f", about {left:.0f} s left" if left is not None and progress.done < progress.total else ""
    what = f" ({progress.what})" if progress.what and progress.done else ""
    return f" — {progress.done} of {progress.total} groups, {100 * progress.fraction:.0f} %{eta}{what}"


class StatusReadout:
    """The permanent widgets on the right of ``bar`` and what they say."""

    def __init__(self, bar: QStatusBar):
        self.time_label = QLabel(f"t = {hms(0)}")
        self.pue_label = QLabel("PUE —")
        self.it_label = QLabel("IT — kW")
        self.hot_label = QLabel("hottest inlet —")
        self.physics_label = QLabel("")
        self.settle_bar = QProgressBar()
        self.settle_bar.setRange(0, 0)  # busy indicator
        self.settle_bar.setMaximumWidth(80)
        self.settle_bar.setMaximumHeight(14)
        self.settle_bar.setToolTip("settling: the steady state is being recomputed")
        self.settle_bar.hide()
        self.cursor_label = QLabel("")
        #: the engine's warnings for what is on show: a badge that opens the Warnings panel
        self.warnings_button = QToolButton()
        self.warnings_button.setObjectName("warnings_badge")
        self.warnings_button.setAutoRaise(True)
        self.warnings_button.setStyleSheet("color: #b35900; font-weight: bold;")
        self.warnings_button.hide()
        for w in (self.cursor_label, self.time_label, self.it_label, self.pue_label, self.hot_label,
                  self.warnings_button, self.settle_bar, self.physics_label):
            bar.addPermanentWidget(w)

        #: the physics kernels are being compiled (the first run): that, not "settling", is said
        self.compiling = False

    @property
    def settling(self) -> bool:
        return self.settle_bar.isVisible()

    def show_compiling(self, progress) -> None:
        """Compiling the kernels (a :class:`~dctwin.twin.physics.kernels.CompileProgress`), or that it is
        over (None)."""
        bar, label = self.settle_bar, self.physics_label
        if progress is None:
            self.compiling = False
            bar.setToolTip("settling: the steady state is being recomputed")
            bar.setRange(0, 0)
            bar.setFormat("%p%")
            if label.text().startswith(COMPILING):
                label.setText(SETTLING if bar.isVisible() else "steady")
            return
        self.compiling = True
        label.setText(COMPILING + compile_count(progress))
        if progress.total:
            show_fraction(bar, progress.fraction)
        else:
            bar.setRange(0, 0)
        bar.setToolTip("numba compiles the physics kernels once for this machine and keeps them in its "
                       "cache; later starts skip this (`dctwin warmup` does it ahead)")
        bar.show()

    def show_cursor(self, x_m: float, y_m: float) -> None:
        self.cursor_label.setText(f"x {x_m:.1f} m, y {y_m:.1f} m")

    def show_summary(self, t_s: float, summary: HallSummary) -> None:
        """Time, IT power, PUE and hottest inlet of one state (IT and hottest from the racks if the
        hall figures are missing)."""
        self.time_label.setText(f"t = {fmt_time(t_s)}")
        racks = summary.racks
        it_w = summary.it_power_w
        if it_w is None and racks:
            it_w = sum(float(d.power_w or 0.0) for d in racks.values())
        if it_w is not None:
            self.it_label.setText(f"IT {it_w / 1e3:.0f} kW")
        pue = summary.pue
        self.pue_label.setText(f"PUE {pue:.2f}" if isinstance(pue, (int, float)) and math.isfinite(pue)
                               else "PUE —")
        hot = summary.max_inlet_c
        if hot is None and racks:
            vals = [d.inlet_c for d in racks.values() if d.inlet_c is not None]
            hot = max(vals) if vals else None
        self.hot_label.setText(f"hottest inlet {hot:.1f} {DEG_C}" if hot is not None else "hottest inlet —")

    def show_preview(self, t_s: float, preview: HallSummary) -> None:
        """A replay's recorded series at ``t_s`` while the exact state is being replayed."""
        if preview.max_inlet_c is not None:
            self.hot_label.setText(f"hottest inlet {preview.max_inlet_c:.1f} {DEG_C}")
        self.time_label.setText(f"t = {fmt_time(t_s)}")
        self.physics_label.setText(f"preview: recorded racks at {hms(preview.t_s)}, replaying…")

    def show_design(self, site: Site) -> None:
        """No physics result yet: the IT power the layout is designed for."""
        it_kw = sum(r.it_kw for h in site.halls for r in h.racks)
        self.it_label.setText(f"IT {it_kw:.0f} kW (design)")

    def clear(self) -> None:
        """A new layout: no time, PUE or temperatures until it is solved."""
        for label, text in ((self.time_label, f"t = {hms(0)}"), (self.pue_label, "PUE —"),
                            (self.hot_label, "hottest inlet —")):
            label.setText(text)

    def show_warnings(self, warnings: list[str]) -> None:
        """The badge: how many warnings the engine has (hidden when none), all of them as its tooltip."""
        n = len(warnings)
        self.warnings_button.setText(f"⚠ {n} warning{'s' if n != 1 else ''}")
        self.warnings_button.setToolTip("\n".join(warnings) + "\n\nClick to list them.")
        self.warnings_button.setVisible(n > 0)

    def show_physics(self, text: str, tip: Optional[str] = None) -> None:
        self.physics_label.setText(text)
        if tip is not None:
            self.physics_label.setToolTip(tip)

    def show_state(self, running: bool, idle: str = "steady") -> None:
        """Running or ``idle`` ("steady", "paused"), unless a solve is settling."""
        if not self.settling and not self.compiling:
            self.physics_label.setText("running" if running else idle)

    def show_no_cooling(self, diagnosis: str, running: bool) -> None:
        """A hall whose heat has nowhere to go: no steady state, it heats up (``diagnosis`` says by how much)."""
        rate = diagnosis.rsplit("the room heats by ", 1)[-1] if "the room heats by " in diagnosis else ""
        text = f"no cooling: heats {rate}" if rate else "no cooling"
        self.physics_label.setText(text + (", running" if running else ""))
        self.physics_label.setToolTip(diagnosis + ". There is no steady state; Run shows the room warming.")

    def clear_no_cooling(self, running: bool) -> None:
        """The hall has a way for its heat again (a cooling unit was added): back to the plain state."""
        self.physics_label.setToolTip("")
        self.show_state(running)

    def show_settling(self, busy: bool, running: bool) -> None:
        if self.compiling:
            return  # the compile message stays until compiling is over
        self.settle_bar.setVisible(busy)
        if busy:
            self.physics_label.setText(SETTLING)
        elif self.physics_label.text() == SETTLING:
            self.physics_label.setText("steady" if not running else "running")

    def show_error(self, message: str) -> None:
        """The engine failed: no temperatures, and why."""
        self.settle_bar.hide()
        self.hot_label.setText("hottest inlet —")
        self.pue_label.setText("PUE —")
        self.show_physics("physics unavailable" if "unavailable" in message else "physics error", message)
