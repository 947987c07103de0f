"""The physics kernels numba compiles: which of them this machine still has to compile, and the warm-up
that compiles them ahead, group by group, with progress.

numba compiles each ``@njit(cache=True)`` kernel on its first call and keeps the machine code in its cache
(:data:`dctwin.twin.NUMBA_CACHE_DIR`), so only the first run on a machine (or after the kernels' source
changed) waits. The kernels and the signatures the engine calls them with are listed in
:mod:`._kernel_manifest` (written by ``python -m dctwin.twin.sim.kernel_manifest`` from reference runs,
checked by the tests): a warm-up compiles exactly those, in
:data:`GROUPS`, in parallel processes when the machine has more than one core, so the command that
follows only loads them from the cache.

What a command needs: ``"solve"`` (a steady state), ``"simulate"`` (a transient, incidents, replay: the
solve's kernels and the time-stepping ones), ``"all"``. A command that needs none (``validate``) never
imports numba.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

#: the modules holding the numba kernels (``twin/physics/_<area>_numba.py``)
KERNEL_MODULES = ("_airflow_numba", "_cooling_air_numba", "_it_numba", "_plant_numba", "_power_numba",
                  "_thermal_numba", "_workloads_numba")
#: kernel groups as the user sees them, largest first (they compile in this order, or side by side):
#: (label, module, kernel-name prefixes or None for the module's other kernels, the share of the whole
#: compile time it takes: CPU seconds measured on a first run, for the percentage and the time left)
GROUPS: tuple[tuple[str, str, Optional[tuple[str, ...]], float], ...] = (
    ("air flow: pressure solver", "_airflow_numba",
     ("mg_", "_cg", "_precondition", "_apply_", "_level", "_lv", "line_gs", "_line_solve", "_dot"), 14.0),
    ("air flow: transport", "_airflow_numba", None, 12.0),
    ("air temperature", "_thermal_numba", None, 6.0),
    ("power chain", "_power_numba", None, 4.0),
    ("racks and servers", "_it_numba", None, 1.5),
    ("cooling units", "_cooling_air_numba", None, 1.5),
    ("chilled-water plant", "_plant_numba", None, 1.7),
    ("workloads", "_workloads_numba", None, 0.8),
)
#: what each command kind needs compiled (the manifest's sections)
NEEDS = {"solve": ("solve",), "simulate": ("solve", "simulate"), "all": ("solve", "simulate")}


@dataclass(frozen=True)
class CompileProgress:
    """How far compiling the physics kernels has got: ``done`` of ``total`` kernel groups (``total`` 0: not
    known), ``what`` the group just finished or started ("": not known), ``elapsed_s`` since the start,
    ``share`` the part of the whole work done (groups weighed by their compile time; None: done / total)."""

    done: int = 0
    total: int = 0
    what: str = ""
    elapsed_s: float = 0.0
    share: Optional[float] = None

    @property
    def fraction(self) -> float:
        if self.share is not None:
            return min(max(self.share, 0.0), 1.0)
        return min(self.done / self.total, 1.0) if self.total else 0.0

    @property
    def time_left_s(self) -> Optional[float]:
        """Seconds left at the pace so far (None before the first group is done)."""
        f = self.fraction
        if not self.done or f <= 0.0:
            return None
        return self.elapsed_s / f * (1.0 - f)


def group_of(name: str) -> str:
    """The group label of kernel ``"<module>.<function>"``."""
    module, func = name.split(".", 1)
    for label, mod, prefixes, _w in GROUPS:
        if mod == module and (prefixes is None or func.startswith(prefixes)):
            return label
    raise KeyError(name)


def manifest(need: str = "all") -> dict[str, tuple[str, ...]]:
    """``{"<module>.<function>": (signature, ...)}`` of what ``need`` compiles (see :data:`NEEDS`)."""
    from dctwin.twin.physics import _kernel_manifest

    out: dict[str, tuple[str, ...]] = {}
    for section in NEEDS[need]:
        for name, sigs in _kernel_manifest.SIGNATURES[section].items():
            out[name] = tuple(dict.fromkeys(out.get(name, ()) + tuple(sigs)))
    return out


def manifest_groups(need: str = "all") -> list[tuple[str, dict[str, tuple[str, ...]]]]:
    """The manifest of ``need`` split into :data:`GROUPS` (in that order, empty groups left out)."""
    wanted = manifest(need)
    return [(label, kernels) for label, _m, _p, _w in GROUPS
            if (kernels := {n: s for n, s in wanted.items() if group_of(n) == label})]


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


def _types_namespace() -> dict[str, Any]:
    from numba.core import types

    ns = {name: getattr(types, name) for name in dir(types) if not name.startswith("_")}
    ns["bool"] = types.boolean
    return ns


def parse_signature(text: str) -> tuple:
    """A manifest signature (``str`` of numba's argument types) as numba types. The text is the package's
    own manifest, evaluated over numba's type names only."""
    value = eval(text, {"__builtins__": {}}, _types_namespace())  # noqa: S307 (our manifest, type names only)
    return value if isinstance(value, tuple) else (value,)


def _cached_signatures(dispatcher: Any) -> Optional[set]:
    """The argument types numba's cache holds code for, for the kernel's current source (None: cannot tell:
    numba's cache layout is not public API)."""
    try:
        keys = [key[0] for key in dispatcher._cache._cache_file._load_index()]  # empty when missing or stale
    except Exception:
        return None
    from numba.core import sigutils

    # argument types; a kernel with an explicit signature is cached under that signature (text or object)
    return {tuple(sigutils.normalize_signature(k)[0]) if isinstance(k, str) or hasattr(k, "args") else tuple(k)
            for k in keys}


def uncached_kernels(need: str = "all") -> list[str]:
    """The kernels of ``need`` with a signature the cache holds no code for: what the next run compiles
    first. Kernels whose cache cannot be read are left out."""
    kernels = kernel_dispatchers()
    out = []
    for name, sigs in manifest(need).items():
        d = kernels.get(name)
        cached = _cached_signatures(d) if d is not None else None
        if cached is not None and any(parse_signature(s) not in cached for s in sigs):
            out.append(name)
    return out


def cache_is_empty() -> bool:
    """Whether numba's cache holds nothing of these kernels at all (a machine that never ran them): told
    from the file names alone, without importing numba, so the first run can say so at once (importing
    the kernel modules compiles the few with explicit signatures)."""
    import glob

    from dctwin import twin

    root = twin.NUMBA_CACHE_DIR
    return not any(glob.glob(os.path.join(glob.escape(root), "*", f"{mod}.*.nbi")) for mod in KERNEL_MODULES)


def compile_pending(need: str = "solve") -> bool:
    """Whether the next ``need`` run has to compile kernels first (the first run on this machine)."""
    return bool(uncached_kernels(need))


def cached_count() -> int:
    """How many kernels have compiled code in the cache now (it grows while a first run compiles)."""
    return sum(1 for d in kernel_dispatchers().values() if _cached_signatures(d))


def compile_kernels(kernels: dict[str, tuple[str, ...]]) -> int:
    """Compile (or load from the cache) ``{"<module>.<function>": signatures}`` in this process; returns how
    many signatures numba really compiled (0: all were cached)."""
    dispatchers = kernel_dispatchers()
    compiled = 0
    for name, sigs in kernels.items():
        d = dispatchers[name]
        for text in sigs:
            sig = parse_signature(text)
            if sig in d.overloads:
                continue
            misses = sum(d._cache_misses.values())
            d.compile(sig)
            compiled += sum(d._cache_misses.values()) - misses
    return compiled


def _compile_group_in_child(kernels: dict[str, tuple[str, ...]]) -> int:
    return compile_kernels(kernels)


def default_jobs() -> int:
    """Processes a warm-up uses: the machine's cores (at most the groups)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, len(GROUPS)))


def warm_up(need: str = "all", report: Optional[Callable[[CompileProgress], None]] = None,
            jobs: Optional[int] = None, only_pending: bool = True) -> int:
    """Compile the kernels ``need`` needs, group by group, calling ``report(CompileProgress)`` at the start
    and as each group is done. With ``jobs`` > 1 (default: the machine's cores) groups compile side by side
    in processes of their own that write numba's cache; this process then loads them from it. With
    ``only_pending``, groups whose kernels are all cached are skipped. Returns the number of groups compiled."""
    t0 = time.monotonic()
    groups = manifest_groups(need)
    if only_pending:
        pending = set(uncached_kernels(need))
        groups = [(label, k) for label, k in groups if pending & set(k)]
    weight = {label: w for label, _m, _p, w in GROUPS}
    whole = sum(weight[label] for label, _k in groups)
    done_w = 0.0
    say = report or (lambda _p: None)
    say(CompileProgress(0, len(groups), groups[0][0] if groups else "", 0.0, 0.0))
    if not groups:
        return 0

    def done(i: int, label: str) -> None:
        nonlocal done_w
        done_w += weight[label]
        say(CompileProgress(i + 1, len(groups), label, time.monotonic() - t0, done_w / whole))

    jobs = default_jobs() if jobs is None else max(1, jobs)
    if jobs == 1:
        for i, (label, kernels) in enumerate(groups):
            compile_kernels(kernels)
            done(i, label)
        return len(groups)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: a fresh interpreter (no copy of a GUI's threads); it finds the same cache through the environment
    with ProcessPoolExecutor(max_workers=min(jobs, len(groups)), mp_context=multiprocessing.get_context("spawn")) as ex:
        futures = {ex.submit(_compile_group_in_child, kernels): label for label, kernels in groups}
        for i, fut in enumerate(as_completed(futures)):
            fut.result()
            done(i, futures[fut])
    return len(groups)


def progress_line(p: CompileProgress) -> str:
    """One line of the CLI's compile progress."""
    if p.done == 0:
        return (f"dctwin: compiling the physics kernels for this machine (first run only; "
                f"`dctwin warmup` does it ahead): {p.total} groups")
    left = p.time_left_s
    eta = f", about {left:.0f} s left" if left is not None and p.done < p.total else ""
    return f"dctwin:   [{p.done}/{p.total}] {p.what} compiled ({p.elapsed_s:.0f} s{eta})"


def stderr_reporter(stream=None, said_first: bool = False) -> Callable[[CompileProgress], None]:
    """A ``report`` for :func:`warm_up` printing :func:`progress_line` to stderr (stdout stays clean);
    ``said_first``: the first line was printed already (:func:`first_line`)."""
    def report(p: CompileProgress) -> None:
        if p.done == 0 and said_first:
            return
        print(progress_line(p), file=stream or sys.stderr, flush=True)
    return report


def first_line() -> str:
    """What the first run says before it knows how many groups it compiles."""
    return progress_line(CompileProgress()).rsplit(":", 1)[0]
