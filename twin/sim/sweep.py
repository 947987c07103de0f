"""A contingency sweep on dask.distributed: scenarios in batches on workers, results as they arrive.

A sweep is thousands of independent runs from one keyframe, so it runs on a dask cluster:
:func:`open_cluster` starts a ``LocalCluster`` (worker processes with one thread each, as many as
the machine has cores unless told) or connects to an existing scheduler (``Client(address)``).
:func:`distribute` ships the :class:`~dctwin.twin.sim.contingency.SweepBase` (layout, settings and
the keyframe at the failure time, taken once per sweep) to every worker once (``scatter`` with
``broadcast``), submits the scenarios in batches and hands each batch's outcomes to ``on_results``
as it completes (the caller streams them into the project file), with a progress callback and a
cancel poll. Workers build the simulation once per sweep and thread, and load the numba kernels
from the shared cache (``dctwin.twin.NUMBA_CACHE_DIR``) that the steady solve filled.

Results do not depend on how many workers there are or in which order they finish: every scenario
starts from the same keyframe on a bit-deterministic engine, and the caller ranks outcomes by a
stable key.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from dctwin.twin.errors import DctwinError, InputError
from dctwin.twin.sim.contingency import Scenario, SweepBase, run_scenario

log = logging.getLogger(__name__)

#: scenarios per task at most (smaller batches stream results sooner and balance the load)
MAX_BATCH = 4
#: batches per worker to aim for
BATCHES_PER_WORKER = 4
#: seconds to wait for a scheduler to answer
CONNECT_TIMEOUT_S = 15


class SweepCancelled(DctwinError):
    """The sweep was cancelled; what finished before is kept."""

    exit_code = 130


@dataclass
class Progress:
    """How far a sweep is: scenarios done of total (this run), elapsed and the rate so far."""

    done: int
    total: int
    elapsed_s: float

    @property
    def rate_per_s(self) -> float:
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def left_s(self) -> Optional[float]:
        r = self.rate_per_s
        return (self.total - self.done) / r if r > 0 else None


def default_workers() -> int:
    """Worker processes of a local cluster when not told: the machine's cores."""
    return max(1, os.cpu_count() or 1)


class Cluster:
    """A dask client and (for a local cluster) the cluster it started; ``close()`` stops what it started."""

    def __init__(self, client: Any, cluster: Any = None) -> None:
        self.client = client
        self.cluster = cluster

    @property
    def workers(self) -> int:
        """Worker threads the scheduler knows now (the sweep's parallelism)."""
        info = self.client.scheduler_info()
        return int(sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    @property
    def address(self) -> str:
        return str(self.client.scheduler.address)

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _quiet_dask() -> None:
    """dask's own INFO lines (workers starting, keys cancelled) are not ours to show."""
    for name in ("distributed", "dask"):
        lg = logging.getLogger(name)
        if lg.getEffectiveLevel() < logging.WARNING:
            lg.setLevel(logging.WARNING)


def _not_an_address(scheduler: str, exc: Exception) -> InputError:
    return InputError(f"--scheduler {scheduler}: is not a dask scheduler address such as tcp://10.0.0.5:8786 ({exc})")


def check_scheduler_address(scheduler: str) -> None:
    """Refuse an address dask cannot parse (no port, an unknown scheme) before the sweep plans, without
    connecting."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, loc = parse_address(scheduler)
        get_backend(scheme)
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(loc)
    except ValueError as exc:
        raise _not_an_address(scheduler, exc) from None


def open_cluster(workers: Optional[int] = None, scheduler: Optional[str] = None) -> Cluster:
    """A local cluster of ``workers`` processes (one thread each), or a client of ``scheduler``."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - a dependency of the package
        raise InputError("the sweep needs dask.distributed: pip install 'distributed'") from None
    if scheduler:
        _quiet_dask()
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise InputError(f"--scheduler {scheduler}: cannot reach a dask scheduler there ({exc})") from None
        except ValueError as exc:  # no port, an unknown scheme: was an internal error (exit 1)
            raise _not_an_address(scheduler, exc) from None
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError):
            client.close()
            raise InputError(f"--scheduler {scheduler}: the scheduler has no worker "
                             f"(start one with: dask worker {scheduler})") from None
        return Cluster(client)
    _quiet_dask()
    n = default_workers() if workers is None else int(workers)
    if not 1 <= n <= 4096:
        raise InputError(f"--workers must be from 1 to 4096, got {n}")
    # a random port for its HTTP server (status, health): another sweep may hold the default 8787
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                           silence_logs=logging.ERROR)
    try:
        return Cluster(Client(cluster), cluster)
    except BaseException:
        cluster.close()
        raise


def _batches(scenarios: Sequence[Scenario], workers: int, size: Optional[int]) -> list[list[Scenario]]:
    n = len(scenarios)
    if size is None:
        size = max(1, min(MAX_BATCH, math.ceil(n / max(1, BATCHES_PER_WORKER * workers))))
    return [list(scenarios[i:i + size]) for i in range(0, n, size)]


_WORKER_SIMS: dict[int, tuple[str, Any]] = {}


def worker_simulation(base: SweepBase) -> Any:
    """This thread's simulation of the base's layout (built once per sweep and thread)."""
    tid = threading.get_ident()
    held = _WORKER_SIMS.get(tid)
    if held is None or held[0] != base.token:
        _WORKER_SIMS.pop(tid, None)  # a new sweep: let the old simulation go first
        _WORKER_SIMS[tid] = (base.token, base.simulation())
    return _WORKER_SIMS[tid][1]


def run_batch(base: SweepBase, scenarios: Sequence[Scenario]) -> list[dict[str, Any]]:
    """The task a worker runs: each scenario on this worker's simulation; a scenario that fails
    comes back as ``{"key", "error"}`` so the others are kept."""
    sim = worker_simulation(base)
    out = []
    for sc in scenarios:
        try:
            out.append(run_scenario(sim, base, sc))
        except Exception as exc:  # reported with the scenario; the rest of the sweep goes on
            log.warning("scenario %s failed: %s", sc.key, traceback.format_exc())
            out.append({"key": sc.key, "error": f"{type(exc).__name__}: {exc}"})
    return out


def distribute(cluster: Cluster, base: SweepBase, scenarios: Sequence[Scenario],
               on_results: Callable[[list[dict[str, Any]]], None],
               progress: Optional[Callable[[Progress], None]] = None,
               cancel: Optional[Callable[[], bool]] = None, batch_size: Optional[int] = None,
               task: Callable = run_batch) -> Progress:
    """Run ``scenarios`` on the cluster; ``on_results(outcomes)`` for each batch as it finishes.

    Raises :class:`SweepCancelled` when ``cancel()`` turns True (pending batches are cancelled;
    what finished was handed over). Returns the final progress.
    """
    from distributed import wait

    client = cluster.client
    t0 = time.perf_counter()
    total = len(scenarios)
    state = Progress(0, total, 0.0)
    if not scenarios:
        return state
    workers = max(1, cluster.workers)
    base_f = client.scatter(base, broadcast=True, hash=False)
    pending = {client.submit(task, base_f, batch, pure=False) for batch in _batches(scenarios, workers, batch_size)}
    try:
        while pending:
            try:
                done, pending = wait(pending, timeout=0.5, return_when="FIRST_COMPLETED")
            except TimeoutError:  # nothing finished within the poll: look at cancel, then wait again
                done = set()
            for fut in done:
                outcomes = fut.result()
                on_results(outcomes)
                state = Progress(state.done + len(outcomes), total, time.perf_counter() - t0)
                if progress is not None:
                    progress(state)
            if cancel is not None and cancel():
                raise SweepCancelled(f"sweep cancelled after {state.done} of {total} scenarios "
                                     f"(they are kept; run it again to resume)")
    finally:
        if pending:
            client.cancel(list(pending), force=True)
        client.cancel([base_f], force=True)
    return Progress(state.done, total, time.perf_counter() - t0)


def run_local(base: SweepBase, scenarios: Sequence[Scenario],
              on_results: Callable[[list[dict[str, Any]]], None]) -> None:
    """The same scenarios in this process, one after another (for tests and debugging)."""
    for sc in scenarios:
        on_results(run_batch(base, [sc]))
