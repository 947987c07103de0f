"""Small helpers shared by the physics wrappers."""

from __future__ import annotations

from dataclasses import fields
from typing import ClassVar, Mapping

import numpy as np


def per_element(x, n: int, default: float, dtype=np.float64) -> np.ndarray:
    """``x`` as a contiguous array of ``n`` values (a scalar is broadcast; None gives ``default``)."""
    if x is None:
        return np.full(n, default, dtype=dtype)
    return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=dtype), (n,)))


def kernel_module(name: str, numba_module, numpy_module):
    """The kernels of ``name``: "numba" (compiled) or "numpy" (the plain reference they are tested against)."""
    if name == "numba":
        return numba_module
    if name == "numpy":
        return numpy_module
    raise ValueError(f"unknown backend {name!r} (numba, numpy)")


class IndexedArrays:
    """Base of a struct of arrays over elements known by id: ``n`` and ``index()`` from the id list
    named by ``IDS``."""

    IDS: ClassVar[str]

    @property
    def n(self) -> int:
        return len(getattr(self, self.IDS))

    def index(self) -> dict[str, int]:
        """id -> index."""
        return {ident: i for i, ident in enumerate(getattr(self, self.IDS))}


class ArrayState:
    """Base of an evolving state held in array fields (a dataclass): copies, and the flat form a
    keyframe stores, keyed ``PREFIX + field``."""

    PREFIX: ClassVar[str] = ""

    def as_dict(self, prefix: str | None = None) -> dict[str, np.ndarray]:
        """Copies of the arrays, keyed ``prefix + field`` (``PREFIX`` by default)."""
        prefix = self.PREFIX if prefix is None else prefix
        return {prefix + f.name: getattr(self, f.name).copy() for f in fields(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, np.ndarray], prefix: str | None = None):
        """The state stored by :meth:`as_dict` (arrays copied)."""
        prefix = cls.PREFIX if prefix is None else prefix
        return cls(**{f.name: np.array(d[prefix + f.name]) for f in fields(cls)})

    def copy(self):
        return type(self)(**{f.name: getattr(self, f.name).copy() for f in fields(self)})
