"""Small helpers shared by the physics wrappers."""

from __future__ import annotations

import numpy as np


def per_element(x, n: int, default: float, dtype=np.float64) -> np.ndarray:
    """``x`` as a contiguous array of ``n`` values (a scalar is broadcast; None gives ``default``)."""
    if x is None:
        return np.full(n, default, dtype=dtype)
    return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=dtype), (n,)))
