"""Helpers for GUI tests: make a window on a site, and drive the floor plan with the mouse."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest

from dctwin.widgets.floor_plan import to_scene


def viewport_point(view, x_m: float, y_m: float) -> QPoint:
    return view.mapFromScene(to_scene(x_m, y_m))


def centre_of(site, element_id: str) -> tuple[float, float]:
    hall, _, _, el = site.locate(element_id)
    x0, y0, x1, y1 = hall.footprint(el) if hall is not None else el.footprint()  # a power node on a floor
    return (x0 + x1) / 2, (y0 + y1) / 2


def mouse_drag(view, start_m: tuple[float, float], end_m: tuple[float, float], steps: int = 4,
               release: bool = True) -> None:
    """Press at ``start_m``, move in ``steps`` to ``end_m`` and release, like a person would."""
    vp = view.viewport()
    p0 = viewport_point(view, *start_m)
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, p0)
    for k in range(1, steps + 1):
        f = k / steps
        p = viewport_point(view, start_m[0] + f * (end_m[0] - start_m[0]), start_m[1] + f * (end_m[1] - start_m[1]))
        QTest.mouseMove(vp, p)
    if release:
        QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, viewport_point(view, *end_m))


def click(view, x_m: float, y_m: float, modifiers=Qt.NoModifier) -> None:
    vp = view.viewport()
    p = viewport_point(view, x_m, y_m)
    QTest.mousePress(vp, Qt.LeftButton, modifiers, p)
    QTest.mouseRelease(vp, Qt.LeftButton, modifiers, p)


def editing_window(qtbot, tmp_path, site=None, size=(1400, 900)):
    """A shown window on ``site`` (the demo hall "small" by default), fitted, without the physics thread."""
    from dctwin.app.document import Document
    from dctwin.app.runner import SimRunner
    from dctwin.app.settings import Settings
    from dctwin.app.window import MainWindow
    from dctwin.twin.model.demos import load_demo

    runner = SimRunner()
    runner.available = False
    w = MainWindow(Document(site if site is not None else load_demo("small")),
                   Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat)), runner)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    w.view.zoom_to_fit()
    return w


def make_window(qtbot, tmp_path, site, runner=None, size=(1400, 900)):
    """A shown MainWindow on ``site`` with its settings in ``tmp_path`` (``runner``: the real engine's
    by default; pass one with ``available = False`` where the test hands frames in itself)."""
    from PySide6.QtCore import QSettings

    from dctwin.app.document import Document
    from dctwin.app.runner import SimRunner
    from dctwin.app.settings import Settings
    from dctwin.app.window import MainWindow

    w = MainWindow(Document(site), Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat)),
                   runner if runner is not None else SimRunner())
    w.save_settings_on_close = False
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    w.view.zoom_to_fit()
    return w
