"""The Help menu: About, the keyboard shortcuts, and the README.

Installed as a window feature (:data:`dctwin.app.window.FEATURES`), last, so Help ends the menu bar.
The dialogs are not modal: a person can keep them open beside the window.
"""

from __future__ import annotations

import html
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import QUrl, qVersion
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from dctwin.app.window import MainWindow

#: what the floor plan does with keys and the mouse besides the menus' shortcuts
PLAN_GESTURES = (
    ("Space (tap, plan focused)", "run or pause the simulation"),
    ("Space + drag, middle button drag", "pan the plan"),
    ("Mouse wheel", "zoom about the cursor"),
    ("Arrow keys", "move the selection one tile"),
    ("Drag a selection", "move it (snapped to the tiles, red where it cannot go)"),
    ("Ctrl/Shift + click", "add to or take from the selection"),
    ("Esc", "cancel a drag, or disarm a drawing tool"),
)
README_NAME = "README.md"


def readme_path() -> Optional[Path]:
    """The README of this dctwin (a source checkout or an editable install), None when not shipped."""
    here = Path(__file__).resolve().parent.parent
    path = here / README_NAME
    return path if path.is_file() else None


def readme_text() -> str:
    """The README as Markdown: the file beside the package, else the installed distribution's description."""
    path = readme_path()
    if path is not None:
        return path.read_text(encoding="utf-8")
    try:
        from importlib.metadata import metadata

        meta = metadata("dctwin")
        return meta.get_payload() or meta.get("Description") or ""  # type: ignore[attr-defined]
    except Exception:  # not installed as a distribution: nothing more to show
        return ""


def shortcut_rows(window: "MainWindow") -> list[tuple[str, str]]:
    """(keys, what) of every window action with a shortcut, then the plan's gestures."""
    rows = []
    seen = set()
    for act in window.findChildren(QAction):
        keys = [k.toString(QKeySequence.NativeText) for k in act.shortcuts() if not k.isEmpty()]
        name = act.text().replace("&", "").rstrip("…").strip()
        if keys and name and (name, tuple(keys)) not in seen:
            seen.add((name, tuple(keys)))
            rows.append((", ".join(keys), name))
    rows.sort(key=lambda r: r[1].lower())
    return rows + list(PLAN_GESTURES)


def _dialog(window: "MainWindow", title: str, body: QWidget, name: str) -> QDialog:
    dlg = QDialog(window)
    dlg.setObjectName(name)
    dlg.setWindowTitle(f"{title} — dctwin")
    lay = QVBoxLayout(dlg)
    lay.addWidget(body, 1)
    buttons = QDialogButtonBox(QDialogButtonBox.Close, dlg)
    buttons.rejected.connect(dlg.close)
    lay.addWidget(buttons)
    return dlg


class HelpMenu:
    """The menu and its dialogs (``window.help``)."""

    def __init__(self, window: "MainWindow"):
        self.w = window
        self.dialogs: dict[str, QDialog] = {}
        m = window.menu("&Help")
        self.act_readme = m.addAction("&README", self.show_readme)
        self.act_readme.setShortcut(QKeySequence.HelpContents)
        self.act_shortcuts = m.addAction("&Keyboard Shortcuts", self.show_shortcuts)
        self.act_shortcuts.setShortcut(QKeySequence("Ctrl+/"))
        m.addSeparator()
        self.act_about = m.addAction("&About dctwin", self.show_about)
        for act in (self.act_readme, self.act_shortcuts):
            window.addAction(act)

    def _show(self, key: str, make) -> QDialog:
        dlg = self.dialogs.get(key)
        if dlg is None:
            dlg = self.dialogs[key] = make()
        dlg.show()
        dlg.raise_()
        return dlg

    def show_about(self) -> QDialog:
        def make() -> QDialog:
            from dctwin.twin import NUMBA_CACHE_DIR, __version__

            text = (f"<h3>dctwin {html.escape(__version__)}</h3>"
                    "<p>A desktop digital twin of a data center: plan layouts on a floor plan and see power and "
                    "temperature respond, replay incidents second by second, and hand a reviewer one "
                    "self-contained file of what was seen.</p>"
                    f"<p>Python {platform.python_version()}, Qt {qVersion()}, PySide6 {PYSIDE_VERSION}<br>"
                    f"Compiled physics kernels: {html.escape(NUMBA_CACHE_DIR)}</p>")
            label = QLabel(text)
            label.setWordWrap(True)
            return _dialog(self.w, "About", label, "about_dialog")
        return self._show("about", make)

    def show_shortcuts(self) -> QDialog:
        def make() -> QDialog:
            rows = "".join(f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
                           for k, v in shortcut_rows(self.w))
            view = QTextBrowser()
            view.setHtml(f"<table cellpadding='3'>{rows}</table>")
            dlg = _dialog(self.w, "Keyboard shortcuts", view, "shortcuts_dialog")
            dlg.resize(520, 560)
            return dlg
        return self._show("shortcuts", make)

    def show_readme(self) -> QDialog:
        def make() -> QDialog:
            body = QWidget()
            lay = QVBoxLayout(body)
            lay.setContentsMargins(0, 0, 0, 0)
            path = readme_path()
            link = QLabel(f"<a href='{QUrl.fromLocalFile(str(path)).toString()}'>{html.escape(str(path))}</a>"
                          if path is not None else "The README as installed with dctwin:")
            link.setObjectName("readme_link")
            link.setOpenExternalLinks(False)
            link.linkActivated.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
            text = QTextBrowser()
            text.setObjectName("readme_text")
            text.setOpenExternalLinks(True)
            if path is not None:
                text.setSearchPaths([str(path.parent)])  # the README's pictures
            text.setMarkdown(readme_text() or "No README was installed with this dctwin.")
            lay.addWidget(link)
            lay.addWidget(text, 1)
            dlg = _dialog(self.w, "README", body, "readme_dialog")
            dlg.resize(820, 680)
            return dlg
        return self._show("readme", make)


def install_help_menu(window: "MainWindow") -> None:
    """The window feature (``window.help``)."""
    window.help = HelpMenu(window)
