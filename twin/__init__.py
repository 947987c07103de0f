"""dctwin core: layout model, physics, incidents and project files (no Qt)."""

from __future__ import annotations

import os
import sys

__version__ = "0.1.0"


def _numba_cache_dir() -> str:
    """Where numba keeps compiled kernels: ``NUMBA_CACHE_DIR`` when the user set it, else the user's
    cache folder (``platformdirs.user_cache_dir("dctwin")/numba``), never beside the installed package
    (read-only or shared there, so numba would fail or compile again at every start)."""
    chosen = os.environ.get("NUMBA_CACHE_DIR")
    if chosen:
        return chosen
    from platformdirs import user_cache_dir

    folder = os.path.join(user_cache_dir("dctwin", appauthor=False), "numba")
    os.environ["NUMBA_CACHE_DIR"] = folder
    numba = sys.modules.get("numba")
    if numba is not None:  # imported before us: its config was read already, read it again
        numba.core.config.reload_config()
    return folder


#: the folder numba caches compiled kernels in (set before any kernel module is imported)
NUMBA_CACHE_DIR = _numba_cache_dir()
