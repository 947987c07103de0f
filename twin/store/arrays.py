"""Arrays as raw bytes with an explicit dtype and shape (never pickle).

``encode_array`` gives ``(dtype, shape, data)``: the numpy ``dtype.str``
(byte order included, e.g. ``"<f8"``), the shape as a JSON list, and the
C-order bytes. ``decode_array`` checks all three before building the array,
so a damaged or hostile row gives a :class:`~dctwin.twin.errors.ProjectFileError`,
never an object array or a wrong-sized view.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np

from dctwin.twin.errors import ProjectFileError

#: plain numeric and boolean dtypes only: b (bool), i/u (ints), f (floats), c (complex)
_DTYPE_RE = re.compile(r"^[<>|](b1|[iu][1248]|f[248]|c(8|16))$")


def encode_array(arr: np.ndarray) -> tuple[str, str, bytes]:
    """Return ``(dtype, shape_json, data)`` for a numeric or boolean array."""
    a = np.asarray(arr)
    dtype = a.dtype.str
    if not _DTYPE_RE.match(dtype):
        raise ValueError(f"cannot store arrays of dtype {a.dtype} (numeric and bool only)")
    return dtype, json.dumps([int(s) for s in a.shape]), np.ascontiguousarray(a).tobytes()


def decode_array(dtype: str, shape: str, data: bytes, where: str = "") -> np.ndarray:
    """Build a writable array from stored ``dtype``, ``shape`` JSON and ``data``."""
    dt, dims = check_stored_array(dtype, shape, data, where)
    return np.frombuffer(data, dtype=dt).reshape(dims).copy()


def check_stored_array(dtype: str, shape: str, data: bytes | int,
                       where: str = "") -> tuple[np.dtype, list[int]]:
    """Check a stored array's ``dtype``, ``shape`` and ``data`` (or just its length in bytes) agree.

    Returns ``(dtype, dims)``; raises :class:`ProjectFileError` naming ``where`` otherwise.
    """
    label = f" ({where})" if where else ""
    if not isinstance(dtype, str) or not _DTYPE_RE.match(dtype):
        raise ProjectFileError(f"stored array has an unsupported dtype {dtype!r}{label}")
    try:
        dims = json.loads(shape)
    except (TypeError, ValueError):
        raise ProjectFileError(f"stored array has a malformed shape {shape!r}{label}") from None
    if not isinstance(dims, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                             for d in dims):
        raise ProjectFileError(f"stored array has a malformed shape {shape!r}{label}")
    dt = np.dtype(dtype)
    expected = math.prod(dims) * dt.itemsize
    if isinstance(data, int) and not isinstance(data, bool):
        size: object = data
    elif isinstance(data, (bytes, bytearray, memoryview)):
        size = len(data)
    else:
        size = type(data).__name__
    if size != expected:
        raise ProjectFileError(f"stored array holds {size} bytes, expected {expected} for {dtype} "
                               f"{tuple(dims)}{label}")
    return dt, dims
