"""Autosave of unsaved layout edits, and recovery after a crash (headless part; the GUI asks the user).

The window calls :func:`write_autosave` a few seconds after an edit (and
:func:`discard_autosave` after a save or a clean exit). At start it calls
:func:`find_autosaves`: an autosave left by a process that is no longer
running is a crash remnant to offer for recovery with :func:`load_autosave`.
Files live in the user data folder (platformdirs) and are written atomically.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from dctwin.twin.errors import ProjectFileError
from dctwin.twin._files import atomic_write
from dctwin.twin.store.project import now_iso

log = logging.getLogger(__name__)

FORMAT = "dctwin-autosave"
VERSION = 1


def autosave_dir(folder: Optional[str | os.PathLike] = None) -> Path:
    """The autosave folder: ``folder`` or ``<user data dir>/autosave`` (created if missing)."""
    if folder is None:
        import platformdirs

        folder = platformdirs.user_data_path("dctwin", appauthor=False) / "autosave"
    p = Path(folder)
    p.mkdir(parents=True, exist_ok=True)
    return p


@dataclass(frozen=True)
class AutosaveInfo:
    path: Path
    document: Optional[str]  # the project or layout file being edited, None if never saved
    saved_at: str
    pid: int
    running: bool  # the process that wrote it is still running (not a crash remnant)


def _pid_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return False  # no cheap check: offer it; the user decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_autosave(site: Any, document: Optional[str | os.PathLike] = None, *,
                   folder: Optional[str | os.PathLike] = None) -> Path:
    """Write this process's autosave of ``site`` (replacing its previous one)."""
    from dctwin.twin.model.layoutfile import site_to_dict

    path = autosave_dir(folder) / f"autosave-{os.getpid()}.json"
    data = {"format": FORMAT, "version": VERSION, "document": None if document is None else str(document),
            "saved_at": now_iso(), "pid": os.getpid(), "layout": site_to_dict(site)}
    atomic_write(path, json.dumps(data, indent=1, allow_nan=False) + "\n")
    return path


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ProjectFileError(f"{path}: unreadable autosave ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("layout"), dict):
        raise ProjectFileError(f"{path}: not a dctwin autosave")
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        raise ProjectFileError(f"{path}: autosave from a newer dctwin (version {data.get('version')!r})")
    return data


def find_autosaves(folder: Optional[str | os.PathLike] = None,
                   include_running: bool = False) -> list[AutosaveInfo]:
    """Autosaves to offer for recovery (newest first): those whose process is no longer running.

    Unreadable files are skipped (and logged), never deleted.
    """
    out = []
    for path in autosave_dir(folder).glob("autosave-*.json"):
        try:
            data = _read(path)
            pid = int(data.get("pid", -1))
        except (ProjectFileError, TypeError, ValueError) as exc:
            log.warning("skipping autosave %s: %s", path, exc)
            continue
        running = _pid_running(pid)
        if running and not include_running:
            continue
        out.append(AutosaveInfo(path, data.get("document"), str(data.get("saved_at", "")), pid, running))
    return sorted(out, key=lambda a: a.saved_at, reverse=True)


def load_autosave(path: str | os.PathLike) -> Any:
    """The layout (:class:`dctwin.twin.model.layout.Site`) held by an autosave; LayoutError if it is invalid."""
    from dctwin.twin.model.layoutfile import site_from_dict

    p = Path(path)
    return site_from_dict(_read(p)["layout"], f"{p} (autosave)")


def discard_autosave(path: Optional[str | os.PathLike] = None, *,
                     folder: Optional[str | os.PathLike] = None) -> None:
    """Delete an autosave (default: this process's own)."""
    p = Path(path) if path is not None else autosave_dir(folder) / f"autosave-{os.getpid()}.json"
    try:
        p.unlink()
    except FileNotFoundError:
        pass
