"""Keyframes: the state of a simulation as named arrays, and back.

A state dataclass says in each field's metadata what it keyframes as (:func:`array`,
:func:`nested`, :func:`flow_arrays`, :func:`marches`); :func:`state_arrays` and
:func:`restore_state` read that metadata, so the array names are written once, beside the
field they store. A keyframe is a dict ``name -> numpy array`` (0-d for scalars); restoring a
keyframe and stepping reproduces the live run bit for bit.

Keyframes written by older engines may lack arrays added since: such a field says what it
restores as (``missing``), and a ``group`` of arrays (the air's recent history) restores all
together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Callable, Optional

import numpy as np

from dctwin.twin.errors import InputError
from dctwin.twin.physics.airflow import Flow

#: the Flow arrays a keyframe holds (``prefix + name``), and its two scalars
FLOW_ARRAYS = ("u", "flux", "port_q", "rack_q", "unit_in_q", "unit_out_q", "tile_q", "grille_q", "phi", "nu_t")
FLOW_SCALARS = ("leak_q", "plenum_dp_pa")


@dataclass(frozen=True)
class _Array:
    name: str
    dtype: Any = None  # cast to on restore (None: as stored)
    scalar: bool = False  # a Python float in the state, a 0-d array in the keyframe
    group: str = ""  # restored all together, or (an older keyframe without them) none
    missing: Optional[Callable[[Any], Any]] = None  # value when an older keyframe lacks it (given the state)
    grid: str = ""  # must have the air grid's shape: what to call it in the error
    shape: Optional[tuple] = None  # reshaped to on restore


def array(name: str, *, dtype: Any = None, scalar: bool = False, group: str = "",
          missing: Optional[Callable[[Any], Any]] = None, grid: str = "", shape: Optional[tuple] = None,
          **kw: Any) -> Any:
    """A field keyframed as the array ``name`` (see the module docstring)."""
    return field(metadata={"keyframe": _Array(name, dtype, scalar, group, missing, grid, shape)}, **kw)


def nested(prefix: str, **kw: Any) -> Any:
    """A field holding a state dataclass with ``as_dict(prefix)`` / ``from_dict(arrays, prefix)``."""
    return field(metadata={"keyframe_nested": prefix}, **kw)


def flow_arrays(prefix: str, **kw: Any) -> Any:
    """A field holding a :class:`~dctwin.twin.physics.airflow.Flow` (keyframed as ``prefix + name``)."""
    return field(metadata={"keyframe_flow": prefix}, **kw)


def marches(rack_q: str, unit_q: str, **kw: Any) -> Any:
    """The list of marched flows ``(flow, rack_q, unit_q)`` later steps may carry over from; the
    state's current flow among them is stored once (``march{i}_is_current``). An older keyframe
    without them restores the current flow, marched for the airflows in the state's fields
    ``rack_q`` and ``unit_q`` (restored before this one)."""
    return field(metadata={"keyframe_marches": (rack_q, unit_q)}, **kw)


def flow_to_arrays(flow: Flow, prefix: str = "flow_") -> dict[str, np.ndarray]:
    out = {prefix + name: np.array(getattr(flow, name), copy=True) for name in FLOW_ARRAYS}
    out.update({prefix + name: np.array(float(getattr(flow, name))) for name in FLOW_SCALARS})
    return out


def flow_from_arrays(k: dict[str, np.ndarray], prefix: str = "flow_") -> Flow:
    return Flow(**{name: np.array(k[prefix + name]) for name in FLOW_ARRAYS},
                **{name: float(k[prefix + name]) for name in FLOW_SCALARS})


def _marches_to_arrays(items: list, current: Optional[Flow]) -> dict[str, np.ndarray]:
    out = {"march_count": np.array(len(items), dtype=np.int64)}
    for i, (flow, rq, uq) in enumerate(items):
        p = f"march{i}_"
        if flow is current:
            out[p + "is_current"] = np.array(1, dtype=np.int8)
        else:
            out.update(flow_to_arrays(flow, p + "flow_"))
        out[p + "bc_rack_q"] = rq.copy()
        out[p + "bc_unit_q"] = uq.copy()
    return out


def _marches_from_arrays(k: dict[str, np.ndarray], current: Flow, rack_q: np.ndarray,
                         unit_q: np.ndarray) -> list:
    if "march_count" not in k:  # an older keyframe: the flow was marched for the airflows it has
        return [(current, rack_q.copy(), unit_q.copy())]
    out = []
    for i in range(int(k["march_count"])):
        p = f"march{i}_"
        flow = current if p + "is_current" in k else flow_from_arrays(k, p + "flow_")
        out.append((flow, np.array(k[p + "bc_rack_q"]), np.array(k[p + "bc_unit_q"])))
    return out


def _flow_field(state: Any) -> Optional[Flow]:
    for f in fields(state):
        if "keyframe_flow" in f.metadata:
            return getattr(state, f.name)
    return None


def state_arrays(state: Any) -> dict[str, np.ndarray]:
    """Copies of every keyframed field of ``state``, in field order."""
    out: dict[str, np.ndarray] = {}
    for f in fields(state):
        v = getattr(state, f.name)
        md = f.metadata
        if "keyframe" in md:
            out[md["keyframe"].name] = np.array(v, copy=True)
        elif "keyframe_nested" in md:
            out.update(v.as_dict(md["keyframe_nested"]))
        elif "keyframe_flow" in md:
            out.update(flow_to_arrays(v, md["keyframe_flow"]))
        elif "keyframe_marches" in md:
            out.update(_marches_to_arrays(v, _flow_field(state)))
    return out


def restore_state(state: Any, k: dict[str, np.ndarray], grid: tuple) -> set[str]:
    """Put the keyframed fields of ``state`` back from ``k`` (other fields stay as they are).

    Returns the groups ``k`` lacks (their fields stay as they are, for the caller to reset).
    Raises InputError, changing nothing, when an array does not fit the air ``grid`` shape, and
    KeyError naming an array ``k`` lacks.
    """
    specs = [(f, f.metadata.get("keyframe")) for f in fields(state)]
    groups: dict[str, bool] = {}
    for _, a in specs:
        if a is not None and a.group:
            groups[a.group] = groups.get(a.group, True) and a.name in k
    for _, a in specs:
        if a is not None and a.grid and groups.get(a.group, True) and a.name in k:
            if np.shape(k[a.name]) != tuple(grid):
                raise InputError(f"keyframe {a.grid} {np.shape(k[a.name])} does not match this layout's grid "
                                 f"{tuple(grid)}")
    for f, a in specs:
        md = f.metadata
        if a is not None:
            if not groups.get(a.group, True):
                continue
            if a.name not in k and a.missing is not None:
                setattr(state, f.name, a.missing(state))
            elif a.scalar:
                setattr(state, f.name, float(k[a.name]))
            else:
                v = np.array(k[a.name], dtype=a.dtype, copy=True)
                setattr(state, f.name, v.reshape(a.shape) if a.shape is not None else v)
        elif "keyframe_nested" in md:
            setattr(state, f.name, type(getattr(state, f.name)).from_dict(k, md["keyframe_nested"]))
        elif "keyframe_flow" in md:
            setattr(state, f.name, flow_from_arrays(k, md["keyframe_flow"]))
        elif "keyframe_marches" in md:
            rq, uq = (getattr(state, name) for name in md["keyframe_marches"])
            setattr(state, f.name, _marches_from_arrays(k, _flow_field(state), rq, uq))
    return {g for g, ok in groups.items() if not ok}


def group_names(cls: Any, group: str) -> set[str]:
    """The names of the arrays of ``group`` in the state dataclass ``cls``."""
    return {a.name for f in fields(cls) if (a := f.metadata.get("keyframe")) is not None and a.group == group}


def prefixed(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``arrays`` with ``prefix`` before every name (a subsystem's part of a keyframe)."""
    return {prefix + n: v for n, v in arrays.items()}


def unprefixed(prefix: str, k: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays of ``k`` whose names start with ``prefix``, without it."""
    return {n[len(prefix):]: v for n, v in k.items() if n.startswith(prefix)}
