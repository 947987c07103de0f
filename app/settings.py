"""UI preferences in QSettings: window geometry and dock layout, recent files, view choices."""

from __future__ import annotations

import os
from typing import Optional

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "dctwin"
APPLICATION = "dctwin"
MAX_RECENT = 10


class Settings:
    """Typed access to the few preferences the window keeps."""

    def __init__(self, qsettings: Optional[QSettings] = None):
        self.q = qsettings if qsettings is not None else QSettings(
            QSettings.IniFormat, QSettings.UserScope, ORGANIZATION, APPLICATION)

    # ---- recent files
    def recent_files(self) -> list[str]:
        value = self.q.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or []) if v]

    def add_recent(self, path: str) -> list[str]:
        path = os.path.abspath(path)
        files = [path] + [p for p in self.recent_files() if p != path]
        files = files[:MAX_RECENT]
        self.q.setValue("recent_files", files)
        return files

    def remove_recent(self, path: str) -> list[str]:
        files = [p for p in self.recent_files() if p != os.path.abspath(path)]
        self.q.setValue("recent_files", files)
        return files

    # ---- window
    def geometry(self) -> Optional[QByteArray]:
        v = self.q.value("window/geometry")
        return v if isinstance(v, QByteArray) else None

    def window_state(self) -> Optional[QByteArray]:
        v = self.q.value("window/state")
        return v if isinstance(v, QByteArray) else None

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)

    # ---- view choices
    def value(self, key: str, default):
        v = self.q.value(f"view/{key}", default)
        return type(default)(v) if default is not None and v is not None else v

    def set_value(self, key: str, value) -> None:
        self.q.setValue(f"view/{key}", value)

    def sync(self) -> None:
        self.q.sync()
