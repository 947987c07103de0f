"""Live measurements from a Prometheus-compatible HTTP API (``/api/v1/query_range``).

Each point of the point map is a PromQL expression that gives one series (``rack_inlet_celsius
{rack="R-A01"}``); :func:`pull` asks ``query_range`` for each over ``[start, end]`` at ``step``
(in pieces of at most :data:`MAX_POINTS` samples, Prometheus' own limit) and returns the samples
as the file readers do, so they are cleaned and counted the same way. Read-only GET requests
through the standard library; a bearer token, when given, is read from a file by the caller.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Optional

import numpy as np

from dctwin.twin.io.points import PointMap, conversion
from dctwin.twin.io.report import SourceError
from dctwin.twin.io.telemetry import RawPoint

#: samples per query (Prometheus refuses more than 11,000 points per series)
MAX_POINTS = 10000


def _get(url: str, token: Optional[str], timeout_s: float) -> dict:
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:
        detail = ""
        try:
            detail = json.loads(exc.read().decode("utf-8", "replace")).get("error", "")
        except (ValueError, AttributeError):
            pass
        raise SourceError(f"{url.split('?')[0]}: HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")
                          ) from None
    except (urllib.error.URLError, OSError) as exc:
        raise SourceError(f"{url.split('?')[0]}: cannot be reached ({getattr(exc, 'reason', exc)})") from None
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise SourceError(f"{url.split('?')[0]}: the answer is not JSON") from None
    if not isinstance(data, dict) or data.get("status") != "success":
        raise SourceError(f"{url.split('?')[0]}: query failed: {data.get('error', data) if isinstance(data, dict) else data}")
    return data


def pull(base_url: str, point_map: PointMap, start_s: float, end_s: float, step_s: float = 60.0, *,
         token: Optional[str] = None, timeout_s: float = 30.0,
         progress: Optional[Callable[[str], None]] = None) -> dict[str, RawPoint]:
    """Every point of ``point_map`` (its name is the PromQL query) from ``base_url`` over
    ``[start_s, end_s]`` (epoch seconds) at ``step_s``. Raises SourceError naming the point whose
    query fails or gives other than one series."""
    if not (math.isfinite(start_s) and math.isfinite(end_s) and end_s > start_s):
        raise SourceError(f"the span {start_s} to {end_s} is empty")
    if not (step_s > 0):
        raise SourceError(f"--step must be above 0 s, got {step_s}")
    root = base_url.rstrip("/")
    if not root.startswith(("http://", "https://")):
        raise SourceError(f"{base_url}: give an http:// or https:// address")
    out: dict[str, RawPoint] = {}
    span = step_s * (MAX_POINTS - 1)
    for n, (name, spec) in enumerate(point_map.points.items()):
        ts, vs = [], []
        a = start_s
        while a <= end_s:
            b = min(a + span, end_s)
            q = urllib.parse.urlencode({"query": name, "start": f"{a:.3f}", "end": f"{b:.3f}", "step": f"{step_s:g}"})
            data = _get(f"{root}/api/v1/query_range?{q}", token, timeout_s)
            result = data.get("data", {}).get("result", [])
            if len(result) > 1:
                raise SourceError(f"point {name!r}: the query gives {len(result)} series; make it select one")
            for series in result:
                for t, v in series.get("values", []):
                    ts.append(float(t))
                    try:
                        vs.append(float(v))
                    except (TypeError, ValueError):
                        raise SourceError(f"point {name!r}: value {v!r} at {t} is not a number") from None
            a = b + step_s
        if progress is not None and n % 50 == 0:
            progress(f"pulled {n + 1} of {len(point_map)} points")
        t = np.asarray(ts, float)
        v = np.asarray(vs, float)
        scale, offset = conversion(spec.quantity, spec.unit) or (1.0, 0.0)
        out[name] = RawPoint(t, v, np.zeros(len(t), bool), scale, offset, (spec.unit,))
    return out
