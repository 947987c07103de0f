"""Stored solutions: a cold steady solve made before on this machine is reused, verified, instead of marched again.

A cold steady solve (no flow yet, no previous layout's flow: ``dctwin solve``, the editor opening a layout)
marches the air from rest for seconds. Its answer is a function of its inputs only, so the converged state is
stored under a key that hashes everything that determines it (:func:`solve_key`): the layout's content
(canonical JSON, not its path or time), the compiled hall's element arrays, the hall, grid and air model, the
run's state before the solve (setpoints, failures, overrides, time), the utilizations, powered racks, running
units, chilled-water supply and tolerance the solve takes, the solver's settings (the public constants of the
modules it runs) and the code (every source file of ``dctwin.twin``, numpy's, numba's and Python's versions,
the CPU the kernels compile for).

An entry is one ``.npz`` file of plain arrays (written without pickles, read with ``allow_pickle=False``;
the few dataclasses it holds are rebuilt from a fixed list of classes), written atomically (a temporary file
and :func:`os.replace`), in :func:`store_dir`; the folder is kept under :data:`MAX_BYTES` by removing the
least recently used entries. Before it is reused an entry is verified (:func:`verify`), failing closed: its
format, key, shapes and checksum, and by physics that it is still a steady state of this layout: the flow's
fluxes and divergence, the racks and units recomputed at its inlets and returns, one temperature solve on its
flow reproducing its inlets and returns within the solve's tolerance, the exhausts and the energy balance. An
entry that fails is noted (one line, logged), deleted, and the hall is solved from rest. A reused solution is
the very state the cold solve left (bit for bit; its flow-solve counts too).

``DCTWIN_SOLVED_CACHE=off`` switches the store off; another value is the folder to use instead of
``$XDG_CACHE_HOME/dctwin/solved`` (default ``~/.cache/dctwin/solved``).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import logging
import os
import platform
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, Callable, Optional

import numpy as np

from dctwin.twin._files import remove_quietly
from dctwin.twin.physics import airflow, thermal
from dctwin.twin.physics.airflow import Flow
from dctwin.twin.physics.cooling_air import UnitState, UnitStep, cdu_heat
from dctwin.twin.physics.it import RackState, RackStep, rack_steady
from dctwin.twin.sim import budget, flows, steady
from dctwin.twin.sim.hall import HallState, HallSystem, exhaust_c
from dctwin.twin.sim.stats import RunStats

log = logging.getLogger(__name__)

#: the environment variable that switches the store off ("off") or names its folder
ENV = "DCTWIN_SOLVED_CACHE"
#: the store's size limit (bytes): least recently used entries go beyond it
MAX_BYTES = 500 * 2**20
#: the entry format (a change makes every older entry a miss)
FORMAT = "dctwin-solved-1"
#: fields of the state that an entry leaves out: the air's recent history and scratch (a steady solve resets
#: them from T), its wall time, and the previous layout's flow (a cold solve has none)
_SKIP = frozenset({"air_star", "air_rate1", "air_rate2", "air_rate_dt", "air_guess", "air_sweeps",
                   "air_local_passes", "air_step_s", "solve_s", "warm_flow", "warm_edit"})
#: the classes an entry rebuilds (anything else in a state is not stored)
_CLASSES = {c.__name__: c for c in (Flow, RackStep, UnitStep, RackState, UnitState)}
#: the largest divergence a stored flow may have, relative to its fastest face over the smallest cell (the
#: projection leaves 1e-10 of it: 34 halls and air models, 0.6-2.4 m/s)
_DIV_REL = 1e-6
#: relative agreement asked of what is recomputed from the stored state (deterministic but for round-off)
_RTOL = 1e-9
#: the stats a cold solve moves, replayed with its stored solution
_STATS = ("flow_solves", "flow_adjusts")


class BadEntry(Exception):
    """A stored solution that must not be used (the message says why)."""


@dataclasses.dataclass
class Outcome:
    """A steady solve's racks and units (``rack``, ``unit``), and whether the stored solution ``path`` (stored at
    ``stored_utc``, ISO 8601) was reused; ``path`` is where a cold solve was stored (None: not stored)."""

    rack: RackStep
    unit: UnitStep
    reused: bool = False
    path: Optional[str] = None
    stored_utc: Optional[str] = None


def store_dir() -> Optional[Path]:
    """The store's folder, or None when ``DCTWIN_SOLVED_CACHE`` is "off" (or 0, no, false)."""
    v = os.environ.get(ENV, "").strip()
    if v.lower() in ("off", "0", "no", "false"):
        return None
    if v and v.lower() not in ("on", "1", "yes", "true"):
        return Path(v).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dctwin" / "solved"


def settle(hs: HallSystem, st: HallState, u: np.ndarray, powered: np.ndarray, running: np.ndarray,
           chw_supply_c: Optional[float], stats: RunStats, cancel: Optional[Callable[[], bool]] = None,
           tol_k: float = steady.STEADY_TOL_K, reuse: Optional[bool] = True) -> Outcome:
    """:func:`~dctwin.twin.sim.steady.settle_hall`, or for a cold solve its verified stored solution (``reuse``
    False: solved from rest all the same, and stored; None: the store is not read or written, for the many
    one-off solves of a search or a fit, which nobody solves again and which would push real entries out)."""
    folder = store_dir() if (reuse is not None and st.flow is None and st.warm_flow is None) else None
    if folder is None:
        return Outcome(*steady.settle_hall(hs, st, u, powered, running, chw_supply_c, stats, cancel, tol_k))
    try:
        key = solve_key(hs, st, u, powered, running, chw_supply_c, tol_k)
    except Exception as exc:  # noqa: BLE001 - an input an entry cannot key: solved as always, not stored
        log.debug("dctwin: no stored solution for this solve (%s)", _reason(exc))
        return Outcome(*steady.settle_hall(hs, st, u, powered, running, chw_supply_c, stats, cancel, tol_k))
    path = folder / f"{key}.npz"
    if reuse and path.exists():
        got = _reuse(path, key, hs, st, u, powered, running, chw_supply_c, stats, tol_k)
        if got is not None:
            return got
    before = {name: getattr(stats, name) for name in _STATS}
    rs, us = steady.settle_hall(hs, st, u, powered, running, chw_supply_c, stats, cancel, tol_k)
    done = {name: getattr(stats, name) - before[name] for name in _STATS}
    stored = _store(path, key, st, rs, us, done)
    return Outcome(rs, us, path=str(path) if stored else None)


def _reuse(path: Path, key: str, hs: HallSystem, st: HallState, u, powered, running, chw_supply_c,
           stats: RunStats, tol_k: float) -> Optional[Outcome]:
    """The verified stored solution ``path`` put in ``st`` (and its flow-solve counts in ``stats``), or None (a
    bad entry is noted and deleted)."""
    try:
        meta, values = read_entry(path, key)
        verify(hs, st, values, u, powered, running, chw_supply_c, tol_k)
    except Exception as exc:  # noqa: BLE001 - whatever is wrong with an entry, the hall is solved from rest
        log.warning("dctwin: stored solution %s not used (%s); solving from rest", path.name, _reason(exc))
        remove_quietly(path)
        return None
    for name, v in values["state"].items():
        setattr(st, name, v)
    st.reset_air_history()
    for name in _STATS:
        setattr(stats, name, getattr(stats, name) + int(values["stats"].get(name, 0)))
    try:
        os.utime(path)  # recently used: the last to go when the store is full
    except OSError:
        pass
    return Outcome(st.last_rack, st.last_unit, reused=True, path=str(path), stored_utc=meta.get("stored_utc"))


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text if isinstance(exc, BadEntry) else f"{type(exc).__name__}: {text}"


# ---------------------------------------------------------------------------------------------------- the key


def solve_key(hs: HallSystem, st: HallState, u: np.ndarray, powered: np.ndarray, running: np.ndarray,
              chw_supply_c: Optional[float], tol_k: float) -> str:
    """The hash (hex) of everything a cold steady solve of ``hs`` from ``st`` depends on (module docstring).
    Raises :class:`BadEntry` when the state holds something an entry cannot."""
    from dctwin.twin.model.layoutfile import site_to_dict

    h = hashlib.sha256()

    def text(label: str, value: str) -> None:
        h.update(f"{label}\0{len(value)}\0{value}\0".encode())

    def arrays(label: str, values: dict) -> None:
        for name in sorted(values):
            a = np.ascontiguousarray(values[name])
            if a.dtype == object:
                raise BadEntry(f"{label}.{name} holds objects")
            text(f"{label}.{name}", f"{a.dtype.str}{a.shape}")
            h.update(a.tobytes())

    text("format", FORMAT)
    text("code", code_hash())
    text("layout", json.dumps(site_to_dict(hs.site), sort_keys=True, default=repr))
    text("hall", hs.hall.id)
    text("air model", f"{hs.air_model_name} {hs.air_model!r}")
    ap = hs.air
    text("grid", repr((ap.shape, ap.dx, ap.dy, ap.dz)))
    arrays("solid", {"solid": np.asarray(ap.solid)})
    arrays("racks", _array_fields(hs.ra))
    arrays("units", _array_fields(hs.ua))
    arrays("rack cdu", {"cdu": np.asarray(hs.rack_cdu)})
    arrays("inputs", {"u": np.asarray(u, dtype=np.float64), "powered": np.asarray(powered),
                      "running": np.asarray(running)})
    text("chw", repr(chw_supply_c))
    text("tol", repr(float(tol_k)))
    state = {}
    for f in dataclasses.fields(st):
        v = getattr(st, f.name)
        if f.name in _SKIP or v is None:
            continue
        if isinstance(v, np.ndarray):
            state[f.name] = v
        elif isinstance(v, (RackState, UnitState)):
            state.update({f"{f.name}.{n}": a for n, a in _array_fields(v).items()})
        elif isinstance(v, (bool, int, float, str)) or (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            text(f"state.{f.name}", repr(v))
        elif not (isinstance(v, list) and not v):  # the marched flows of a state that has none
            raise BadEntry(f"the state's {f.name} ({type(v).__name__}) is not an input an entry can key")
    arrays("state", state)
    text("settings", settings())
    return h.hexdigest()


def _array_fields(obj: Any) -> dict[str, np.ndarray]:
    return {f.name: v for f in dataclasses.fields(obj) if isinstance(v := getattr(obj, f.name), np.ndarray)}


@lru_cache(maxsize=1)
def code_hash() -> str:
    """The hash of the code a solve runs: every source file of ``dctwin.twin``, numpy, numba and Python, and the
    CPU the kernels compile for."""
    import numba
    from llvmlite import binding

    import dctwin.twin as twin

    root = Path(twin.__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    numba_env = sorted((k, v) for k, v in os.environ.items() if k.startswith("NUMBA_") and k != "NUMBA_CACHE_DIR")
    h.update(repr((np.__version__, numba.__version__, sys.version, platform.machine(), binding.get_host_cpu_name(),
                   numba_env)).encode())
    return h.hexdigest()


def settings() -> str:
    """The solver's settings now: the public constants (upper-case names) of the modules a steady solve runs
    (a test or a script that changes one makes another key), but those whose text names a place in memory
    (another in every process; the code's hash covers them)."""
    from dctwin.twin.physics import constants, flow_adjust

    mods: tuple[ModuleType, ...] = (steady, flows, airflow, thermal, budget, constants, flow_adjust)
    return repr([(m.__name__, sorted((k, r) for k, v in vars(m).items()
                                     if k.isupper() and " at 0x" not in (r := repr(v)))) for m in mods])


# ---------------------------------------------------------------------------------------------------- entries


def _encode(prefix: str, v: Any, out: dict[str, np.ndarray], seen: dict[int, str]) -> None:
    """``v`` as plain arrays under ``prefix`` (a suffix after "~" says what to rebuild); an array or object met
    before (``seen``: id -> prefix) is stored as an alias, so that the rebuilt state shares what the state did."""
    if isinstance(v, np.ndarray) or dataclasses.is_dataclass(v):
        if id(v) in seen:
            out[prefix + "~alias"] = np.array(seen[id(v)])
            return
        seen[id(v)] = prefix
    if v is None:
        out[prefix + "~none"] = np.zeros(0)
    elif isinstance(v, np.ndarray):
        if v.dtype == object:
            raise BadEntry(f"{prefix} holds objects")
        out[prefix] = v
    elif isinstance(v, (bool, np.bool_)):
        out[prefix + "~bool"] = np.array(bool(v))
    elif isinstance(v, (int, np.integer)):
        out[prefix + "~int"] = np.array(int(v), dtype=np.int64)
    elif isinstance(v, (float, np.floating)):
        out[prefix + "~float"] = np.array(float(v), dtype=np.float64)
    elif isinstance(v, str):
        out[prefix + "~str"] = np.array(v)
    elif isinstance(v, list) and all(isinstance(x, str) for x in v):
        out[prefix + "~strs"] = np.array(v, dtype=str) if v else np.zeros(0, dtype="<U1")
    elif _CLASSES.get(type(v).__name__) is type(v):
        out[prefix + "~class"] = np.array(type(v).__name__)
        for f in dataclasses.fields(v):
            if f.name != "cache":  # a flow's derived coefficients, recomputed on demand
                _encode(f"{prefix}.{f.name}", getattr(v, f.name), out, seen)
    else:
        raise BadEntry(f"{prefix} ({type(v).__name__}) cannot be stored")


def _decode(prefix: str, k: dict[str, np.ndarray], made: dict[str, Any]) -> Any:
    """What :func:`_encode` stored under ``prefix`` (KeyError when it is not there; ``made``: prefix -> what was
    rebuilt, for the aliases)."""
    if prefix + "~alias" in k:
        return made[str(k[prefix + "~alias"])]
    if prefix in k:
        made[prefix] = np.array(k[prefix])
        return made[prefix]
    if prefix + "~none" in k:
        return None
    if prefix + "~bool" in k:
        return bool(k[prefix + "~bool"])
    if prefix + "~int" in k:
        return int(k[prefix + "~int"])
    if prefix + "~float" in k:
        return float(k[prefix + "~float"])
    if prefix + "~str" in k:
        return str(k[prefix + "~str"])
    if prefix + "~strs" in k:
        return [str(x) for x in k[prefix + "~strs"]]
    name = str(k[prefix + "~class"])
    if name not in _CLASSES:
        raise BadEntry(f"{prefix} is a {name}, which no entry holds")
    cls = _CLASSES[name]
    made[prefix] = cls(**{f.name: _decode(f"{prefix}.{f.name}", k, made) for f in dataclasses.fields(cls)
                          if f.name != "cache"})
    return made[prefix]


def snapshot(st: HallState, stats: dict[str, int]) -> dict[str, np.ndarray]:
    """The state a steady solve left, as plain arrays (:class:`BadEntry` when it holds what an entry cannot)."""
    out: dict[str, np.ndarray] = {}
    seen: dict[int, str] = {}
    for f in dataclasses.fields(st):
        if f.name in _SKIP:
            continue
        v = getattr(st, f.name)
        if f.name == "marched":
            out["marched~count"] = np.array(len(v), dtype=np.int64)
            for i, (flow, rq, uq) in enumerate(v):
                _encode(f"marched.{i}.flow", flow, out, seen)
                _encode(f"marched.{i}.rack_q", rq, out, seen)
                _encode(f"marched.{i}.unit_q", uq, out, seen)
        else:
            _encode(f"state.{f.name}", v, out, seen)
    for name, n in stats.items():
        out[f"stats.{name}"] = np.array(n, dtype=np.int64)
    return out


def unpack(k: dict[str, np.ndarray]) -> dict[str, Any]:
    """{"state": field -> value, "stats": name -> count} from a :func:`snapshot`."""
    state: dict[str, Any] = {}
    made: dict[str, Any] = {}
    for f in dataclasses.fields(HallState):
        if f.name in _SKIP:
            continue
        if f.name == "marched":
            state[f.name] = [tuple(_decode(f"marched.{i}.{part}", k, made) for part in ("flow", "rack_q", "unit_q"))
                             for i in range(int(k["marched~count"]))]
        else:
            state[f.name] = _decode(f"state.{f.name}", k, made)
    stats = {name[len("stats."):]: int(v) for name, v in k.items() if name.startswith("stats.")}
    return {"state": state, "stats": stats}


def digest(k: dict[str, np.ndarray]) -> str:
    """The checksum of an entry's arrays (names, dtypes, shapes and bytes, in name order)."""
    h = hashlib.sha256()
    for name in sorted(k):
        a = np.ascontiguousarray(k[name])
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _store(path: Path, key: str, st: HallState, rs: RackStep, us: UnitStep, done: dict[str, int]) -> bool:
    """Write the state a cold solve left as the entry ``path`` (atomically), then trim the store. False (noted)
    when it cannot be written; the solve's answer stands either way."""
    if st.last_rack is not rs or st.last_unit is not us:  # the state does not hold the racks and units returned
        return False
    tmp = None
    try:
        arrays = snapshot(st, done)
        meta = {"format": FORMAT, "key": key,
                "stored_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "digest": digest(arrays)}
        arrays["meta"] = np.array(json.dumps(meta))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:  # not synced: a file a crash leaves half written fails its checksum
            np.savez(fh, **arrays)
        os.replace(tmp, path)
        tmp = None
    except BadEntry:
        return False
    except Exception as exc:  # noqa: BLE001 - the solve's answer stands whatever the store does
        log.warning("dctwin: could not store the solution in %s (%s)", path.parent, _reason(exc))
        return False
    finally:
        if tmp is not None:
            remove_quietly(Path(tmp))
    trim(path.parent, keep=path)
    return True


def read_entry(path: Path, key: str) -> tuple[dict, dict[str, Any]]:
    """(meta, :func:`unpack`) of the entry ``path`` after its format, key and checksum are checked (BadEntry, or
    whatever a damaged file raises)."""
    with np.load(path, allow_pickle=False) as z:
        k = {name: z[name] for name in z.files}
    if "meta" not in k:
        raise BadEntry("no meta record")
    meta = json.loads(str(k.pop("meta")))
    if meta.get("format") != FORMAT:
        raise BadEntry(f"format {meta.get('format')!r}, not {FORMAT}")
    if meta.get("key") != key or path.stem != key:
        raise BadEntry("stored for other inputs")
    if meta.get("digest") != digest(k):
        raise BadEntry("checksum mismatch (the file was changed)")
    return meta, unpack(k)


def trim(folder: Path, max_bytes: Optional[int] = None, keep: Optional[Path] = None) -> None:
    """Remove the least recently used entries of ``folder`` until it holds at most ``max_bytes`` (default
    :data:`MAX_BYTES`); ``keep`` goes last. Leftover temporary files of an hour or more go too."""
    limit = MAX_BYTES if max_bytes is None else max_bytes
    try:
        items = []
        for p in folder.iterdir():
            s = p.stat()
            if p.suffix == ".tmp" and s.st_mtime < datetime.datetime.now().timestamp() - 3600:
                remove_quietly(p)
            elif p.suffix == ".npz":
                items.append((p == keep, s.st_mtime, s.st_size, p))
    except OSError:
        return
    total = sum(i[2] for i in items)
    for _, _, size, p in sorted(items, key=lambda i: (i[0], i[1])):
        if total <= limit:
            break
        remove_quietly(p)
        total -= size


# ---------------------------------------------------------------------------------------------------- verification


def verify(hs: HallSystem, st: HallState, values: dict[str, Any], u: np.ndarray, powered: np.ndarray,
           running: np.ndarray, chw_supply_c: Optional[float], tol_k: float) -> None:
    """BadEntry unless the stored state ``values`` (:func:`unpack`) fits this hall and state and is a steady state
    of it: shapes; the flow's fluxes, divergence and mass balance; the racks and units recomputed at its inlets
    and returns; one temperature solve on its flow moving the inlets and returns by less than ``tol_k``; the
    exhausts and the energy balance."""
    new = values["state"]
    ap = hs.air
    flow, T = new.get("flow"), new.get("T")
    rs, us = new.get("last_rack"), new.get("last_unit")
    if not isinstance(flow, Flow) or not isinstance(rs, RackStep) or not isinstance(us, UnitStep):
        raise BadEntry("no flow, racks or units")
    # shapes and dtypes: as the state before the solve, the grid's and the elements'
    for name, old in vars(st).items():
        if isinstance(old, np.ndarray) and name not in _SKIP and name not in ("flow_rack_q", "flow_unit_q"):
            v = new.get(name)
            if not isinstance(v, np.ndarray) or v.shape != old.shape or v.dtype != old.dtype:
                raise BadEntry(f"{name} does not fit this hall")
    _shape("T", T, ap.shape)
    for name in ("u", "flux"):
        _shape(f"flow {name}", getattr(flow, name), (ap.n_faces,))
    for name in ("phi", "nu_t"):
        _shape(f"flow {name}", getattr(flow, name), ap.shape)
    _shape("flow port_q", flow.port_q, (len(airflow.port_faces(ap).face),))
    _shape("flow rack_q", flow.rack_q, (hs.ra.n,))
    for what, step, n in (("racks", rs, hs.ra.n), ("units", us, hs.ua.n)):
        for f in dataclasses.fields(step):
            v = getattr(step, f.name)
            arrays = _array_fields(v).values() if isinstance(v, (RackState, UnitState)) else [v]
            if any(isinstance(a, np.ndarray) and a.shape[:1] != (n,) for a in arrays):
                raise BadEntry(f"{what}' {f.name} does not fit this hall")
    inlet, ret = new["rack_inlet_c"], new["unit_return_c"]
    for name, a in (("T", T), ("flow", flow.u), ("inlets", inlet), ("returns", ret),
                    ("exhausts", new["rack_exhaust_c"])):
        if not np.isfinite(a).all():
            raise BadEntry(f"{name} not finite")
    # the flow: fluxes from its velocities, as divergence-free and mass-conserving as when it was made
    if not np.array_equal(flow.flux, flow.u * airflow.face_areas(ap)):
        raise BadEntry("the flow's fluxes do not follow from its velocities")
    div = airflow.max_divergence(ap, flow.u)
    scale = float(np.abs(flow.u).max(initial=0.0)) / min(ap.dx, ap.dy, ap.dz)  # 1/s
    if not div <= min(flow.max_div * (1 + _RTOL) + 1e-12, max(_DIV_REL * scale, 1e-12)):
        raise BadEntry(f"the flow's divergence {div:.3g} 1/s is not the stored {flow.max_div:.3g} or too large")
    q_in, q_out = airflow.mass_balance(ap, flow)
    if abs(q_in - q_out) > 1e-6 * max(q_in, 1e-9):
        raise BadEntry(f"the flow's ports do not balance ({q_in:.6g} in, {q_out:.6g} m3/s out)")
    # the racks and units at the stored inlets and returns
    setpoint = new["unit_setpoint_c"]
    cdu_ok = cdu_heat(hs.ua, rs.liquid_power_w, hs.rack_cdu, running)[3]
    _same("racks", rack_steady(hs.ra, u, inlet, powered, cdu_ok), rs)
    probe = SimpleNamespace(unit_setpoint_c=setpoint)  # what units_steady reads of a state
    _same("units", steady.units_steady(hs, probe, ret, running, inlet, chw_supply_c, rs.airflow_m3s), us)
    # one temperature solve on the stored flow, from the stored temperatures
    heat, duty = hs.air_heat(rs, rs.exhaust_c, running, setpoint)
    tile_c = hs.tile_supply_c(us.supply_c, us.airflow_m3s)
    model = hs.air_model
    T2 = thermal.solve_steady(ap, flow, heat, us.supply_c, tile_c, T0=T, tvd=model.tvd, alpha_floor=model.alpha_floor,
                              max_sweeps=budget.max_sweeps(ap.n_cells), front_jet_edge=model.front_jet_edge)
    in2, ret2 = thermal.port_means(ap, flow, T2, model.front_jet_edge)
    # the fixed point stopped when they moved by less than tol_k and kept all or half of that last move; this
    # solve moves the air by 1e-4 K more
    moved = max(float(np.abs(in2 - inlet).max(initial=0.0)), float(np.abs(ret2 - ret).max(initial=0.0)))
    if not moved < tol_k:
        raise BadEntry(f"a temperature solve on the stored flow moves the inlets or returns by {moved:.3g} K")
    moved = float(np.abs(T2 - T).max(initial=0.0))  # small: 1.4e-4 K (tol_k 0.01)
    if not moved < tol_k:
        raise BadEntry(f"a temperature solve on the stored flow moves the air by {moved:.3g} K")
    if not np.array_equal(T[ap.solid], st.T[ap.solid]):  # the solve leaves solid cells as they start
        raise BadEntry("the temperatures inside solids are not the solve's")
    # exhausts and the energy balance, as the solve leaves them
    if not np.allclose(new["rack_exhaust_c"], exhaust_c(inlet, heat, flow.rack_q), rtol=_RTOL, atol=1e-9) \
            or not np.allclose(new["door_duty"], duty, rtol=_RTOL, atol=1e-6):
        raise BadEntry("the exhausts or rear-door duties do not follow from the stored state")
    heat_in = float(heat.sum())
    ef = thermal.energy_flows_w(ap, flow, T, new["rack_exhaust_c"], us.supply_c, tile_c)
    unit_err = abs(float(us.duty_w[hs.air_units].sum()) - heat_in) / heat_in if heat_in > 0 else 0.0
    air_err = abs(ef["cooling_w"] - heat_in) / heat_in if heat_in > 0 else 0.0
    if not (np.isclose(unit_err, new["energy_error"], rtol=1e-6, atol=1e-12)
            and np.isclose(air_err, new["air_energy_error"], rtol=1e-6, atol=1e-12)):
        raise BadEntry("the energy balance does not follow from the stored state")


def _shape(name: str, a: Any, shape: tuple) -> None:
    if not isinstance(a, np.ndarray) or a.shape != tuple(shape):
        raise BadEntry(f"{name} does not fit this hall")


def _same(what: str, got: Any, stored: Any) -> None:
    """BadEntry unless every array of the recomputed ``got`` equals the stored one (to :data:`_RTOL`)."""
    for f in dataclasses.fields(got):
        a, b = getattr(got, f.name), getattr(stored, f.name)
        if isinstance(a, (RackState, UnitState)):
            _same(what, a, b)
            continue
        if a is None and b is None:
            continue
        if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray) or a.shape != b.shape:
            raise BadEntry(f"{what}' {f.name} do not follow from the stored inlets and returns")
        if a.dtype.kind in "fc":
            ok = np.allclose(a, b, rtol=_RTOL, atol=1e-9, equal_nan=True)
        else:
            ok = np.array_equal(a, b)
        if not ok:
            raise BadEntry(f"{what}' {f.name} do not follow from the stored inlets and returns")
