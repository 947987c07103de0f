"""Arrays as raw bytes with an explicit dtype and shape (never pickle), and their compact encodings.

``encode_array`` gives ``(dtype, shape, data)``: the numpy ``dtype.str``
(byte order included, e.g. ``"<f8"``), the shape as a JSON list, and the
C-order bytes. ``decode_array`` checks all three before building the array,
so a damaged or hostile row gives a :class:`~dctwin.twin.errors.ProjectFileError`,
never an object array or a wrong-sized view. Only little-endian (``<``) and
byte-order-free (``|``) dtypes are stored: dctwin writes nothing else, so a
``>f8`` in a file is damage, not data.

Compact encodings (project format 2, :func:`pack` / :func:`unpack`), chosen
per array by what each saves:

- ``raw``: the bytes as they are (tiny arrays, and noise nothing shrinks);
- ``zstd``: Zstandard of the bytes (flags, integer codes);
- ``shuffle``: byte-shuffle (the k-th byte of every element together, so the
  sign, exponent and top mantissa bytes of similar floats form long runs),
  then Zstandard;
- ``xor``: XOR with the same array of an earlier keyframe stored in one of
  the three forms above (its *base*), then shuffle and Zstandard: the bits a
  slowly changing field keeps become zero bytes;
- ``scale``: an array that is another array of the same keyframe (its base)
  times a factor per element taking a few values (the engine's face fluxes
  are its face velocities times the face areas): the factors and the XOR of
  the array with base x factors, each shuffled and compressed. The product is
  the same IEEE multiplication when decoding, so this is exact too.

Measured on the 20-rack ``small`` demo (one keyframe of the air fields,
float64 temperature and iterate, float32 rates): ``shuffle`` saves 1.4x on the
float64 fields and 1.3x on the float32 rates, ``xor`` 1.7x on the float64
fields; zstd alone 1.2x. More is not there to take losslessly: the implicit
air solve stops at 0.01 K, so the 40 lowest of the 52 mantissa bits of every
cell are different each minute (zstd level 19 or xz gain another 1-2 %).
"""

from __future__ import annotations

import json
import math
import re
import threading
import zlib
from typing import Optional

import numpy as np
import zstandard

from dctwin.twin.errors import ProjectFileError

#: plain numeric and boolean dtypes only, little-endian or byte-order-free: b (bool), i/u (ints),
#: f (floats), c (complex)
_DTYPE_RE = re.compile(r"^(\|(b1|[iu]1)|<([iu][248]|f[248]|c(8|16)))$")
_ANY_ORDER_RE = re.compile(r"^[<>|=](b1|[iu][1248]|f[248]|c(8|16))$")

#: encodings of a stored array (``keyframe_arrays.codec``); ``xor`` and ``scale`` need a base row
CODECS = ("raw", "zstd", "shuffle", "xor", "scale")
FULL_CODECS = ("raw", "zstd", "shuffle")
#: arrays this small are stored raw: a Zstandard frame alone is ~10 bytes
_SMALL = 64
#: Zstandard level: 1 takes 40 % less time than the library's default 3 on a keyframe of the air fields of
#: ai-hall for 0.3 % more bytes; 9 or 19 gain 1-2 % at 6-40x the time
ZSTD_LEVEL = 1

_local = threading.local()


def _zc() -> zstandard.ZstdCompressor:
    c = getattr(_local, "c", None)
    if c is None:  # one per thread: a compressor object is not safe to share between threads
        c = _local.c = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_content_size=True)
    return c


def _decompress(blob: bytes, nbytes: int) -> bytes:
    """Zstandard ``blob`` that must hold exactly ``nbytes``: a frame that does not say its size (dctwin
    always writes it) or says another is refused before anything is allocated."""
    try:
        size = zstandard.frame_content_size(blob)
    except zstandard.ZstdError as exc:
        raise ProjectFileError(f"stored array data does not decompress ({exc})") from None
    if size != nbytes:
        what = "does not say its size" if size < 0 else f"decompresses to {size} bytes, expected {nbytes}"
        raise ProjectFileError(f"stored array data {what}")
    try:
        return _zd().decompress(blob, max_output_size=max(nbytes, 1))
    except zstandard.ZstdError as exc:
        raise ProjectFileError(f"stored array data does not decompress ({exc})") from None


def _zd() -> zstandard.ZstdDecompressor:
    d = getattr(_local, "d", None)
    if d is None:
        d = _local.d = zstandard.ZstdDecompressor()
    return d


def encode_array(arr: np.ndarray) -> tuple[str, str, bytes]:
    """Return ``(dtype, shape_json, data)`` for a numeric or boolean array (stored little-endian)."""
    a = np.asarray(arr)
    if not _ANY_ORDER_RE.match(a.dtype.str):
        raise ValueError(f"cannot store arrays of dtype {a.dtype} (numeric and bool only)")
    if a.dtype.byteorder == ">" or (a.dtype.byteorder == "=" and np.little_endian is False):
        a = a.astype(a.dtype.newbyteorder("<"))
    dtype = a.dtype.str
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
    dt, dims = declared(dtype, shape, where)
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


def declared(dtype: str, shape: str, where: str = "") -> tuple[np.dtype, list[int]]:
    """The dtype and dimensions a stored array declares, checked: a plain numeric or boolean dtype in
    the byte order dctwin writes, and a shape of whole numbers. Raises :class:`ProjectFileError`."""
    label = f" ({where})" if where else ""
    if not isinstance(dtype, str) or not _DTYPE_RE.match(dtype):
        if isinstance(dtype, str) and _ANY_ORDER_RE.match(dtype):
            raise ProjectFileError(f"stored array declares the byte order of {dtype!r}, which dctwin never "
                                   f"writes (little-endian only){label}")
        raise ProjectFileError(f"stored array has an unsupported dtype {str(dtype)[:20]!r}{label}")
    dt, dims = np.dtype(dtype), stored_shape(shape, where)
    if math.prod(dims) * dt.itemsize > MAX_BYTES:
        raise ProjectFileError(f"stored array claims {math.prod(dims):.3g} elements, more than any hall "
                               f"holds{label}")
    return dt, dims


#: no state array of a hall comes near this (the largest, a flow field of a 5,000-rack hall, is tens of
#: MB); a shape claiming more is damage, and nothing that large is allocated
MAX_BYTES = 2 ** 30


def stored_shape(shape: str, where: str = "") -> list[int]:
    """The dimensions in a stored ``shape`` JSON list, checked (whole numbers >= 0, at most 8 of them)."""
    label = f" ({where})" if where else ""
    try:
        dims = json.loads(shape)
    except (TypeError, ValueError):
        raise ProjectFileError(f"stored array has a malformed shape {shape!r}{label}") from None
    if not isinstance(dims, list) or len(dims) > 8 or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in dims):
        raise ProjectFileError(f"stored array has a malformed shape {str(shape)[:60]!r}{label}")
    return dims


# --------------------------------------------------------------------------- compact encodings

def _shuffle(raw: bytes | np.ndarray, itemsize: int) -> bytes:
    b = np.frombuffer(raw, np.uint8) if not isinstance(raw, np.ndarray) else raw
    return np.ascontiguousarray(b.reshape(-1, itemsize).T).tobytes()


def _unshuffle(data: bytes, itemsize: int) -> bytes:
    b = np.frombuffer(data, np.uint8)
    return np.ascontiguousarray(b.reshape(itemsize, -1).T).tobytes()


def _xor(a: bytes, b: bytes) -> np.ndarray:
    """``a XOR b`` as bytes (a uint8 array), eight bytes at a time where the length allows."""
    word = np.uint64 if len(a) % 8 == 0 else np.uint8
    return np.bitwise_xor(np.frombuffer(a, word), np.frombuffer(b, word)).view(np.uint8)


def pack(raw: bytes, itemsize: int, base: Optional[bytes] = None) -> tuple[str, bytes]:
    """The smallest of the encodings of ``raw`` (the C-order bytes of an array of ``itemsize``-byte
    elements): ``(codec, blob)``. ``base``, the raw bytes of the same array in an earlier keyframe
    (same dtype and shape), allows ``xor``."""
    if len(raw) < _SMALL:
        return "raw", bytes(raw)
    c = _zc()
    best = ("raw", bytes(raw))
    # multi-byte numbers: shuffled always did better than plain zstd on every keyframe array measured
    cands = [("shuffle", lambda: c.compress(_shuffle(raw, itemsize)))] if itemsize > 1 else \
        [("zstd", lambda: c.compress(raw))]
    if base is not None and len(base) == len(raw):
        cands.append(("xor", lambda: c.compress(_shuffle(_xor(raw, base), itemsize) if itemsize > 1
                                                else _xor(raw, base).tobytes())))
    for codec, make in cands:
        blob = make()
        if len(blob) < len(best[1]):
            best = (codec, blob)
    return best


def unpack(codec: str, blob: bytes, itemsize: int, nbytes: int, base: Optional[bytes] = None,
           where: str = "", dtype: Optional[np.dtype] = None) -> bytes:
    """The raw bytes of a packed array (``nbytes`` long, from :func:`check_stored_array`).

    Raises :class:`ProjectFileError` naming ``where`` when the blob does not decode to exactly
    ``nbytes`` (a damaged or forged row): a decompression never allocates more than ``nbytes``.
    """
    label = f" ({where})" if where else ""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise ProjectFileError(f"stored array data is not a blob{label}")
    if codec == "raw":
        out = bytes(blob)
    elif codec == "scale":
        if base is None or len(base) != nbytes or dtype is None or dtype.kind != "f":
            raise ProjectFileError(f"stored array's base is missing or of another kind{label}")
        try:
            out = _unpack_scaled(bytes(blob), dtype, nbytes, base)
        except ProjectFileError as exc:
            raise ProjectFileError(f"{exc}{label}") from None
    elif codec in ("zstd", "shuffle", "xor"):
        try:
            out = _decompress(bytes(blob), nbytes)
        except ProjectFileError as exc:
            raise ProjectFileError(f"{exc}{label}") from None
        if codec != "zstd" and itemsize > 1 and nbytes:
            out = _unshuffle(out, itemsize)
        if codec == "xor":
            if base is None or len(base) != nbytes:
                raise ProjectFileError(f"stored array's base is missing or of another size{label}")
            out = _xor(out, base).tobytes()
    else:
        raise ProjectFileError(f"stored array has an unknown encoding {str(codec)[:20]!r}{label}")
    if len(out) != nbytes:
        raise ProjectFileError(f"stored array holds {len(out)} bytes, expected {nbytes}{label}")
    return out


def scaled(raw: bytes, base: bytes, dtype: str) -> bool:
    """Whether ``raw`` looks like ``base`` times a few factors (checked on up to 4,096 elements where the
    base is not zero): worth trying :func:`pack_scaled`. Cheap: a sample, no compression."""
    dt = np.dtype(dtype)
    if dt.kind != "f" or len(raw) != len(base) or len(raw) < _SMALL:
        return False
    a, b = np.frombuffer(base, dt), np.frombuffer(raw, dt)
    idx = np.flatnonzero(a)[:4096]
    if len(idx) < 16:
        return False
    with np.errstate(all="ignore"):
        s = b[idx] / a[idx]
        return len(np.unique(s)) <= 16 and (a[idx] * s).tobytes() == b[idx].tobytes()


def pack_scaled(raw: bytes, base: bytes, dtype: str) -> bytes:
    """``scale`` encoding of ``raw`` against ``base`` (same dtype and size, floats)."""
    dt = np.dtype(dtype)
    a, b = np.frombuffer(base, dt), np.frombuffer(raw, dt)
    with np.errstate(all="ignore"):
        s = np.where(a != 0, b / a, np.zeros((), dt))
        resid = _xor(raw, (a * s).tobytes())
    c = _zc()
    first = c.compress(_shuffle(s.tobytes(), dt.itemsize))
    return len(first).to_bytes(8, "little") + first + c.compress(_shuffle(resid, dt.itemsize))


def _unpack_scaled(blob: bytes, dtype: np.dtype, nbytes: int, base: bytes) -> bytes:
    n = int.from_bytes(blob[:8], "little") if len(blob) >= 8 else -1
    if not 0 <= n <= len(blob) - 8:
        raise ProjectFileError("stored array's scale factors are cut short")
    s = _decompress(blob[8:8 + n], nbytes)
    resid = _decompress(blob[8 + n:], nbytes)
    a = np.frombuffer(base, dtype)
    with np.errstate(all="ignore"):
        pred = a * np.frombuffer(_unshuffle(s, dtype.itemsize), dtype)
    return _xor(_unshuffle(resid, dtype.itemsize), pred.tobytes()).tobytes()


def pack_blob(raw: bytes, itemsize: int) -> bytes:
    """A series blob: shuffle + Zstandard (always; a series chunk is never tiny)."""
    return _zc().compress(_shuffle(raw, itemsize) if itemsize > 1 else raw)


def unpack_blob(blob: bytes, itemsize: int, nbytes: int, where: str = "") -> bytes:
    """The raw bytes of :func:`pack_blob`'s output, exactly ``nbytes`` long (else ProjectFileError)."""
    return unpack("shuffle" if itemsize > 1 else "zstd", blob, itemsize, nbytes, None, where)


def crc(*parts: bytes | bytearray | memoryview) -> int:
    """CRC-32 of the concatenated ``parts`` (detects every single flipped bit and every burst up to 32)."""
    v = 0
    for p in parts:
        v = zlib.crc32(p, v)
    return v
