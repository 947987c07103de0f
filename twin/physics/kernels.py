"""The physics kernels numba compiles, and which of them this machine has no compiled code for yet.

numba compiles each ``@njit(cache=True)`` kernel on its first call (30-60 s for all of them) and keeps
the machine code in its cache (:data:`dctwin.twin.NUMBA_CACHE_DIR`), so only the first run on a
machine (or after the kernels' source changed) waits. :func:`uncached_kernels` tells which kernels
that first run still has to compile, so the window and the CLI can say why they wait, and how far
the compilation has got.
"""

from __future__ import annotations

import importlib
from typing import Any, Iterable, Optional

#: kernels every steady solve compiles first: when one of them has no cached code, the next solve
#: starts by compiling (the first run on this machine, or the kernels' source changed)
SOLVE_KERNELS = ("_it_numba.power_airflow_kernel", "_thermal_numba.steady", "_airflow_numba.mg_pcg",
                 "_airflow_numba.components")
#: the modules holding the numba kernels (``twin/physics/_<area>_numba.py``)
KERNEL_MODULES = ("_airflow_numba", "_cooling_air_numba", "_it_numba", "_plant_numba", "_power_numba",
                  "_thermal_numba", "_workloads_numba")


def kernel_dispatchers() -> dict[str, Any]:
    """Every cached numba kernel as ``{"<module>.<function>": dispatcher}`` (imports the kernel modules)."""
    out: dict[str, Any] = {}
    for mod_name in KERNEL_MODULES:
        mod = importlib.import_module(f"dctwin.twin.physics.{mod_name}")
        for name, obj in vars(mod).items():
            if getattr(obj, "_cache", None) is not None and hasattr(obj, "py_func") \
                    and obj.py_func.__module__ == mod.__name__:
                out[f"{mod_name}.{name}"] = obj
    return out


def _cached(dispatcher: Any) -> Optional[bool]:
    """Whether numba's cache holds code for the kernel's current source (None: cannot tell)."""
    try:
        return bool(dispatcher._cache._cache_file._load_index())  # empty when missing or stale
    except Exception:  # numba's cache layout is not public API: say "cannot tell" rather than guess
        return None


def uncached_kernels(names: Optional[Iterable[str]] = None) -> list[str]:
    """The kernels (of ``names``, default all) with no compiled code in the cache for their current
    source: what the next run compiles first. Kernels whose cache cannot be read are left out."""
    kernels = kernel_dispatchers()
    wanted = kernels if names is None else {n: kernels[n] for n in names if n in kernels}
    return [n for n, d in wanted.items() if _cached(d) is False]


def cached_count() -> int:
    """How many kernels have compiled code in the cache now (it grows while a first run compiles)."""
    return sum(1 for d in kernel_dispatchers().values() if _cached(d))


def compile_pending() -> bool:
    """Whether the next solve has to compile kernels first (one of :data:`SOLVE_KERNELS` is not cached)."""
    return bool(uncached_kernels(SOLVE_KERNELS))
