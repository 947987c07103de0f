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
import importlib.abc
import importlib.util
import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

log = logging.getLogger(__name__)

#: the modules holding the numba kernels (``twin/physics/_<area>_numba.py``)
KERNEL_MODULES = ("_airflow_numba", "_cooling_air_numba", "_it_numba", "_plant_numba", "_power_numba",
                  "_thermal_numba", "_workloads_numba")
#: kernel groups as the user sees them: (label, module, kernel-name prefixes or None for the module's other
#: kernels, (CPU seconds its "solve" kernels take to compile, and its "simulate" ones on top): measured on a
#: first run, for the percentage and the time left). They compile in this order, or side by side (each
#: process takes the next group as it finishes one): the largest first, but the two air-flow groups not at
#: once (importing ``_airflow_numba`` compiles its kernels with explicit signatures, which two processes on
#: a fresh cache would both do), so the second finds those in the cache.
GROUPS: tuple[tuple[str, str, Optional[tuple[str, ...]], tuple[float, float]], ...] = (
    ("air flow: pressure solver", "_airflow_numba",
     ("mg_", "pcg", "_cg", "_apply_", "_level", "_lv", "line_gs", "_line_solve", "_dot"), (8.7, 0.0)),
    ("air temperature", "_thermal_numba", None, (4.4, 12.1)),
    ("air flow: transport", "_airflow_numba", None, (5.9, 0.0)),
    ("power chain", "_power_numba", None, (4.2, 0.0)),
    ("racks and servers", "_it_numba", None, (1.1, 1.9)),
    ("cooling units", "_cooling_air_numba", None, (1.7, 0.0)),
    ("chilled-water plant", "_plant_numba", None, (1.5, 0.0)),
    ("workloads", "_workloads_numba", None, (0.6, 0.0)),
)
#: CPU seconds a warm-up process spends setting numba up before its first group
SETUP_S = 1.5
#: the same in the process of a command that compiles groups itself: it has Python and dctwin set up already,
#: but starts later (numba about 0.5 s, and reading the layout and the cache before)
HERE_SETUP_S = 1.0
#: what each command kind needs compiled (the manifest's sections)
NEEDS = {"solve": ("solve",), "simulate": ("solve", "simulate"), "all": ("solve", "simulate")}
#: kernels only layouts with some equipment run, and that equipment (:func:`layout_has`): a layout without it
#: takes a plain-numpy path instead (nothing to compute), so its first run need not compile them
LAYOUT_KERNELS = {"_cooling_air_numba.cdu_kernel": "cdu", "_workloads_numba.utilization_kernel": "workloads"}
#: kernels only a command option runs (the reference runs of the manifest do not), compiled with the signatures
#: of a twin taking the same arguments: {kernel: (its twin, the option, as in ``has``)}
OPTION_KERNELS = {"_thermal_numba.steady_lines_tvd": ("_thermal_numba.steady_lines", "validated")}


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


def layout_has(site: Any) -> frozenset[str]:
    """What of the equipment :data:`LAYOUT_KERNELS` hangs on the layout ``site`` has ("cdu", "workloads")."""
    has = set()
    if any(u.kind == "cdu" for hall in site.halls for u in hall.cooling_units):
        has.add("cdu")
    if site.workloads:
        has.add("workloads")
    return frozenset(has)


def manifest(need: str = "all", has: Optional[Iterable[str]] = None) -> dict[str, tuple[str, ...]]:
    """``{"<module>.<function>": (signature, ...)}`` of what ``need`` compiles (see :data:`NEEDS`); with
    ``has`` (:func:`layout_has`), for a layout with that equipment only (None: any layout)."""
    from dctwin.twin.physics import _kernel_manifest

    out: dict[str, tuple[str, ...]] = {}
    for section in NEEDS[need]:
        for name, sigs in _kernel_manifest.SIGNATURES[section].items():
            out[name] = tuple(dict.fromkeys(out.get(name, ()) + tuple(sigs)))
    for name, (twin, _option) in OPTION_KERNELS.items():
        if twin in out:
            out[name] = out[twin]
    if has is not None:
        has = set(has) | {""}
        out = {name: sigs for name, sigs in out.items() if _needs(name) in has}
    return out


def _needs(name: str) -> str:
    """The equipment or option (as in ``has``) kernel ``name`` runs for ("": every layout)."""
    return LAYOUT_KERNELS.get(name) or OPTION_KERNELS.get(name, ("", ""))[1]


def manifest_groups(need: str = "all", has: Optional[Iterable[str]] = None
                    ) -> list[tuple[str, dict[str, tuple[str, ...]]]]:
    """The manifest of ``need`` (and ``has``) split into :data:`GROUPS` (in that order, empty groups left
    out)."""
    wanted = manifest(need, has)
    return [(label, kernels) for label, _m, _p, _w in GROUPS
            if (kernels := {n: s for n, s in wanted.items() if group_of(n) == label})]


#: optional packages numba imports when it sets itself up, for features the kernels do not use: scipy (BLAS
#: for ``np.dot``/``np.linalg`` in a kernel), cffi (calling C through cffi) and yaml (a ``.numba_config.yaml``).
#: scipy alone (with numpy.f2py behind it) is about 0.2-0.7 s of every start that runs the physics.
NOT_FOR_KERNELS = ("scipy", "cffi", "yaml")


class _Unavailable(importlib.abc.MetaPathFinder):
    """Makes ``import <name>`` of :data:`NOT_FOR_KERNELS` fail while numba sets itself up."""

    def find_spec(self, name, path=None, target=None):
        if name in NOT_FOR_KERNELS:
            raise ModuleNotFoundError(f"{name} is not loaded for the physics kernels", name=name)
        return None


def load_numba(cached: bool = False) -> None:
    """Import numba and set up its CPU target without :data:`NOT_FOR_KERNELS` (numba then reports BLAS and
    cffi missing: no kernel uses them; one that did would fail to compile in ``dctwin warmup``'s processes,
    which load numba this way: the fresh-cache warm-up test). Nothing when numba is imported already (a
    test, the window). Importing those packages later works as usual.

    ``cached``: the kernels are known to be in numba's cache (:func:`known_compiled`), so the command only
    loads their machine code: numba's compiler is not set up at all (:func:`_run_from_cache`), which is half
    of numba's start. A kernel that turns out to need compiling still compiles (numba's compiler sets itself
    up first)."""
    if "numba" in sys.modules:
        return
    finder = _Unavailable()
    sys.meta_path.insert(0, finder)
    try:
        import numba  # noqa: F401

        if cached and _run_from_cache():
            return
        from numba.core.registry import cpu_target

        cpu_target.target_context.refresh()  # imports numba's numpy support (where it looks for scipy)
        cpu_target.typing_context.refresh()
    finally:
        sys.meta_path.remove(finder)


def _run_from_cache() -> bool:
    """Let numba load a kernel's code from its cache without setting up what it needs to *compile* one: before
    each load numba refreshes its CPU target, which the first time imports and registers the typing and
    lowering of all it supports (numpy, random, linalg, typed containers, ...) and asks every installed package
    for numba extensions: about 0.2 s CPU of every command, for nothing when the code is cached. Running that
    code needs numba's runtime (NRT) only, set up here instead. A kernel missing from the cache still compiles
    as before: numba's compiler refreshes the target (and loads the extensions) before it compiles anything.
    Returns False (nothing changed) when this numba lacks the internals this relies on."""
    from numba.core import caching, dispatcher
    from numba.core.registry import cpu_target
    from numba.core.runtime import rtsys

    cache, base = caching.Cache, dispatcher._DispatcherBase
    if getattr(cache.load_overload, "_dctwin_from_cache", False):
        return True
    if not all(hasattr(c, a) for c, a in ((cache, "_load_overload"), (cache, "_guard_against_spurious_io_errors"),
                                           (base, "_compilation_chain_init_hook"), (rtsys, "initialize"))):
        return False
    numba_load, cpu = cache.load_overload, cpu_target.target_context

    def load_overload(self, sig, target_context):
        if target_context is not cpu:  # another target: as numba does
            return numba_load(self, sig, target_context)
        rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)

    def compilation_chain_init_hook(self):
        pass  # numba's extensions: loaded by the refresh before anything compiles (see above)

    load_overload._dctwin_from_cache = True
    cache.load_overload = load_overload
    base._compilation_chain_init_hook = compilation_chain_init_hook
    return True


def _source_files() -> list[str]:
    """The files numba's cache of the kernels hangs on: the kernel modules, the manifest, numba's own."""
    here = os.path.dirname(os.path.abspath(__file__))
    files = [os.path.join(here, f"{m}.py") for m in KERNEL_MODULES + ("_kernel_manifest",)]
    numba_spec = importlib.util.find_spec("numba")
    if numba_spec is not None and numba_spec.origin:
        files.append(numba_spec.origin)
    return files


def _sources_key(need: str) -> str:
    """``need`` and the state of :func:`_source_files` as numba tells a source changed (path, time and
    size), with Python's version: without importing numba."""
    import hashlib

    parts = [need, sys.version]
    for path in _source_files():
        st = os.stat(path)
        parts.append(f"{path}:{st.st_mtime_ns}:{st.st_size}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _marker(need: str, has: Optional[Iterable[str]] = None) -> str:
    from dctwin import twin

    every = set(LAYOUT_KERNELS.values()) | {option for _twin, option in OPTION_KERNELS.values()}
    lacks = "" if has is None else "".join(f"-no-{f}" for f in sorted(every - set(has)))
    return os.path.join(twin.NUMBA_CACHE_DIR, f"dctwin-{need}{lacks}-{_sources_key(need)}.compiled")


def known_compiled(need: str = "solve", has: Optional[Iterable[str]] = None) -> bool:
    """Whether this cache was found (or made) complete for ``need`` (for any layout, or for one with the
    equipment ``has``) with the kernels' current source: a file's existence, so a later run neither imports
    numba to ask nor reads the cache's index. (A cache emptied by hand behind it: the command compiles what
    it needs as it goes, without the progress lines.)"""
    try:
        return os.path.exists(_marker(need)) or (has is not None and os.path.exists(_marker(need, has)))
    except OSError:
        return False


def _mark_compiled(need: str, has: Optional[Iterable[str]] = None) -> None:
    """Note that every kernel of ``need`` (and of the needs it covers; for a layout with ``has``) is in the
    cache."""
    for covered, sections in NEEDS.items():
        if set(sections) <= set(NEEDS[need]):
            try:
                with open(_marker(covered, has), "w", encoding="utf-8") as f:
                    f.write("the kernels of this need are compiled for these sources\n")
            except OSError:  # a read-only cache: the next run asks numba again
                return


def kernel_dispatchers(modules: Optional[Iterable[str]] = None) -> dict[str, Any]:
    """Every cached numba kernel as ``{"<module>.<function>": dispatcher}`` (imports the kernel modules), or
    those of ``modules`` only (names of :data:`KERNEL_MODULES`): importing a module compiles its kernels with
    explicit signatures, which a warm-up process that compiles another group must not spend time on."""
    load_numba()
    out: dict[str, Any] = {}
    for mod_name in KERNEL_MODULES if modules is None else [m for m in KERNEL_MODULES if m in set(modules)]:
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


def uncached_kernels(need: str = "all", has: Optional[Iterable[str]] = None) -> list[str]:
    """The kernels of ``need`` (for a layout with ``has``) with a signature the cache holds no code for: what
    the next run compiles first. Kernels whose cache cannot be read are left out."""
    kernels = kernel_dispatchers()
    out = []
    for name, sigs in manifest(need, has).items():
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


def compile_pending(need: str = "solve", has: Optional[Iterable[str]] = None) -> bool:
    """Whether the next ``need`` run (of a layout with ``has``) has to compile kernels first (the first run
    on this machine). Asks numba's cache; when all are there, notes it for :func:`known_compiled`."""
    pending = bool(uncached_kernels(need, has))
    if not pending:
        _mark_compiled(need, has)
    return pending


def cached_count() -> int:
    """How many kernels have compiled code in the cache now (it grows while a first run compiles)."""
    return sum(1 for d in kernel_dispatchers().values() if _cached_signatures(d))


def compile_kernels(kernels: dict[str, tuple[str, ...]]) -> int:
    """Compile (or load from the cache) ``{"<module>.<function>": signatures}`` in this process; returns how
    many signatures numba really compiled (0: all were cached)."""
    dispatchers = kernel_dispatchers({name.split(".", 1)[0] for name in kernels})
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


def _compile_group(kernels: dict[str, tuple[str, ...]]) -> float:
    """Compile a group (in a warm-up's process); returns the CPU seconds it took (with numba's set-up when
    it is the process's first)."""
    t0 = time.process_time()
    compile_kernels(kernels)
    return time.process_time() - t0


def default_jobs() -> int:
    """Processes a warm-up uses: the machine's cores (at most the groups)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, len(GROUPS)))


def schedule(weights: list[tuple[str, float]], workers: int) -> tuple[dict[str, float], float]:
    """When each group should be done, in CPU seconds of one process, if ``workers`` processes each take the
    next group as they finish one (as :func:`warm_up`'s do), and when the last is: ``({label: end}, end)``."""
    free = [0.0] * max(1, workers)
    ends: dict[str, float] = {}
    for label, w in weights:
        i = min(range(len(free)), key=free.__getitem__)
        free[i] += w + (SETUP_S if free[i] == 0.0 else 0.0)
        ends[label] = free[i]
    return ends, max(free)


def plan_lanes(weights: list[tuple[str, float]], jobs: int) -> tuple[list[str], dict[str, float], float]:
    """Which groups a command compiles in its own process while ``jobs - 1`` warm-up processes compile the
    others (as :func:`warm_up` with ``preload`` does), in what order, and when each group and the last should
    be done, in CPU seconds of one process: ``(labels here, {label: end}, end)``; the others in the order
    of ``ends``. The largest first, each to the process that would be free first (this one sets up
    quicker). A module whose groups two processes share is imported here first and there last: importing it
    compiles its kernels with explicit signatures, which the other process then finds in the cache."""
    module = {label: mod for label, mod, _p, _w in GROUPS}
    weight = dict(weights)
    free = [HERE_SETUP_S] + [SETUP_S] * max(0, jobs - 1)
    lanes: list[list[str]] = [[] for _ in free]
    for label, w in sorted(weights, key=lambda lw: -lw[1]):
        lane = min(range(len(free)), key=free.__getitem__)
        lanes[lane].append(label)
        free[lane] += w
    here_modules = {module.get(label) for label in lanes[0]}
    away_modules = {module.get(label) for lane in lanes[1:] for label in lane}
    lanes[0].sort(key=lambda label: module.get(label) not in away_modules)  # stable sorts: shared ones first
    for lane in lanes[1:]:
        lane.sort(key=lambda label: module.get(label) in here_modules)  # and last
    ends: dict[str, float] = {}
    for lane, start in zip(lanes, [HERE_SETUP_S] + [SETUP_S] * max(0, jobs - 1)):
        for label in lane:
            start += weight[label]
            ends[label] = start
    return lanes[0], ends, max(free)


def warm_up(need: str = "all", report: Optional[Callable[[CompileProgress], None]] = None,
            jobs: Optional[int] = None, only_pending: bool = True, preload: bool = False,
            has: Optional[Iterable[str]] = None) -> int:
    """Compile the kernels ``need`` needs, group by group, calling ``report(CompileProgress)`` at the start
    and as each group is done. With ``jobs`` > 1 (default: the machine's cores) groups compile side by side
    in processes of their own that write numba's cache; this process then loads them from it. With
    ``only_pending``, groups whose kernels are all cached are skipped (a cache known empty: pass False and
    this process does not import numba to ask). With ``preload`` (a command about to run the kernels, on
    its main thread), this process is one of the ``jobs``: it compiles a share of the groups itself
    (:func:`plan_lanes`), then loads the others from the cache as their processes finish them. Returns the
    number of groups compiled. ``has``: for a layout with that equipment only (:func:`layout_has`; None: any layout)."""
    t0 = time.monotonic()
    has = None if has is None else frozenset(has)
    groups = manifest_groups(need, has)
    if only_pending:
        pending = set(uncached_kernels(need, has))
        groups = [(label, k) for label, k in groups if pending & set(k)]
    weight = {label: w[0] + (w[1] if need != "solve" else 0.0) for label, _m, _p, w in GROUPS}
    jobs = default_jobs() if jobs is None else max(1, jobs)
    # the share done when a group is: when the schedule says it ends, of when the last ends (side by side,
    # the first group done is not its weight's share of the whole: the others are well on)
    if preload and jobs > 1:
        here, ends, whole = plan_lanes([(label, weight[label]) for label, _k in groups], jobs)
    else:
        here = [label for label, _k in groups] if jobs == 1 else []
        ends, whole = schedule([(label, weight[label]) for label, _k in groups], min(jobs, len(groups)))
    share = 0.0
    say = report or (lambda _p: None)
    say(CompileProgress(0, len(groups), groups[0][0] if groups else "", 0.0, 0.0))
    if not groups:
        _mark_compiled(need, has)
        return 0

    def done(i: int, label: str) -> None:
        nonlocal share
        share = 1.0 if i + 1 == len(groups) else max(share, ends[label] / whole)
        say(CompileProgress(i + 1, len(groups), label, time.monotonic() - t0, share))

    import threading

    lock = threading.Lock()
    count = 0

    def finished(label: str, cpu_s: float) -> None:  # from this thread, or the warm-up processes' thread
        nonlocal count
        with lock:
            log.debug("compiled %s: %.1f s CPU", label, cpu_s)
            done(count, label)
            count += 1

    away = sorted([(label, kernels) for label, kernels in groups if label not in here],
                  key=lambda lk: ends[lk[0]])  # a lane's order (:func:`plan_lanes`)
    if not away:
        for label, kernels in groups:
            finished(label, _compile_group(kernels))
        _mark_compiled(need, has)
        return len(groups)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    workers = min(jobs - 1 if here else jobs, len(away))
    # spawn: a fresh interpreter (no copy of a GUI's threads); it finds the same cache through the environment
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as ex:
        futures = {ex.submit(_compile_group, kernels): (label, kernels) for label, kernels in away}

        def away_done(fut) -> None:  # said as soon as it is, even while this process compiles
            if not fut.cancelled() and fut.exception() is None:
                finished(futures[fut][0], fut.result())

        for fut in futures:
            fut.add_done_callback(away_done)
        by_label = dict(groups)
        for label in here:
            finished(label, _compile_group(by_label[label]))
        for fut in as_completed(futures):
            fut.result()  # a process's error, raised here
            if preload:
                compile_kernels(futures[fut][1])  # cached by its process: a load, not a compile
    _mark_compiled(need, has)
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
