"""Speed of the telemetry import: one month of 1-minute data for 2,000 points, read, cleaned and stored.

Run: ``python -m dctwin.twin.bench.telemetry [--points 2000] [--days 30] [--formats wide-csv,wide-parquet,
long-parquet,long-csv] [--json]``. The layout is a synthetic hall of ``points / 2`` racks, each with an
inlet temperature and a power point; the data (made first, not timed) are 1-minute samples with
jittered timestamps, noise, and a few sentinels and gaps per point. Each format is imported into a new
project file by :func:`dctwin.twin.io.import_telemetry.import_telemetry` (the work ``dctwin telemetry
import`` does: read, clean, write in one transaction, rename into place); the figures are its wall
times per stage (read, clean, write) and in total, and the process's CPU time (the machine's load average is
printed beside them: on a shared machine the wall time is the CPU time stretched by the other work).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

FORMATS = ("wide-csv", "wide-parquet", "long-parquet", "long-csv")


def make_data(folder: Path, n_points: int, days: float, formats: tuple[str, ...], seed: int = 1) -> dict[str, Any]:
    """The layout, point map and measurement files (one per format) in ``folder``; returns their paths."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from dctwin.twin.model.demos import synthetic_site
    from dctwin.twin.model.layoutfile import save_layout

    n_racks = n_points // 2
    site = synthetic_site(n_racks, rack_kw=8.0)
    layout = folder / "layout.json"
    save_layout(site, layout)
    racks = [r.id for r in site.halls[0].racks]
    names = [f"B1/{r}/INLET" for r in racks] + [f"B1/{r}/KW" for r in racks]
    pmap = folder / "points.csv"
    pmap.write_text("point,element,quantity,unit\n" + "".join(f"{n},{n.split('/')[1]},inlet_c,C\n" for n in names[:n_racks])
                    + "".join(f"{n},{n.split('/')[1]},power_w,kW\n" for n in names[n_racks:]))
    rng = np.random.default_rng(seed)
    n = int(days * 1440)
    t0 = 1714521600  # 2024-05-01T00:00:00Z
    t = t0 + 60 * np.arange(n) + rng.integers(-3, 4, n)
    cols = {}
    for k, name in enumerate(names):
        base = 22.0 if k < n_racks else 8.0
        v = (base + rng.normal(0, 0.3 if k < n_racks else 0.05, n)).round(2)
        v[rng.integers(0, n, 5)] = -999.0
        v[rng.integers(0, n - 60, 1)[0]:][:30] = np.nan  # a half-hour outage
        cols[name] = v
    out: dict[str, Any] = {"layout": layout, "points": pmap, "values": n * len(names), "files": {}}
    stamps = pa.array((t * 1e9).astype("int64"), pa.timestamp("ns", tz="UTC"))
    if any(f.startswith("wide") for f in formats):
        wide = pa.table({"timestamp": stamps, **{k: pa.array(v) for k, v in cols.items()}})
        if "wide-parquet" in formats:
            out["files"]["wide-parquet"] = folder / "wide.parquet"
            pq.write_table(wide, out["files"]["wide-parquet"])
        if "wide-csv" in formats:
            out["files"]["wide-csv"] = folder / "wide.csv"
            text = pa.table({"timestamp": pa.array(t.astype(np.int64)), **{k: pa.array(v) for k, v in cols.items()}})
            pacsv.write_csv(text, out["files"]["wide-csv"])
        del wide
    if any(f.startswith("long") for f in formats):
        tl = np.repeat(t, len(names))
        pl = pa.DictionaryArray.from_arrays(pa.array(np.tile(np.arange(len(names), dtype=np.int32), n)),
                                            pa.array(names))
        vl = np.stack([cols[k] for k in names], axis=1).ravel()
        if "long-parquet" in formats:
            out["files"]["long-parquet"] = folder / "long.parquet"
            pq.write_table(pa.table({"timestamp": pa.array((tl * 1e9).astype("int64"), pa.timestamp("ns", tz="UTC")),
                                     "point": pl, "value": pa.array(vl)}), out["files"]["long-parquet"])
        if "long-csv" in formats:
            out["files"]["long-csv"] = folder / "long.csv"
            pacsv.write_csv(pa.table({"timestamp": pa.array(tl.astype(np.int64)), "point": pl.cast(pa.string()),
                                      "value": pa.array(vl)}), out["files"]["long-csv"])
        del tl, pl, vl
    return out


def run(n_points: int = 2000, days: float = 30.0, formats: tuple[str, ...] = FORMATS[:3]) -> dict[str, Any]:
    from dctwin.twin.io.import_telemetry import import_telemetry

    with tempfile.TemporaryDirectory(prefix="dctwin-bench-telemetry-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        data = make_data(folder, n_points, days, formats)
        made_s = time.perf_counter() - t
        out: dict[str, Any] = {"points": n_points, "days": days, "values": data["values"], "make_s": round(made_s, 1),
                               "load_avg": round(os.getloadavg()[0], 1), "cpus": os.cpu_count(), "formats": {}}
        for fmt, path in data["files"].items():
            size = os.path.getsize(path)
            project = folder / f"{fmt}.dctwin"
            t, cpu = time.perf_counter(), time.process_time()
            res = import_telemetry(data["layout"], project, [path], data["points"])
            total, cpu = time.perf_counter() - t, time.process_time() - cpu
            rep = res["report"]
            out["formats"][fmt] = {"file_mb": round(size / 1e6, 1), "total_s": round(total, 2), "cpu_s": round(cpu, 2),
                                   "read_s": round(rep["timings_s"]["read"], 2),
                                   "clean_s": round(rep["timings_s"]["clean"], 2),
                                   "write_s": round(rep["timings_s"]["write"], 2), "kept": rep["kept"],
                                   "sentinel": rep["defects"]["sentinel"], "gap": rep["defects"]["gap"],
                                   "project_mb": round(project.stat().st_size / 1e6, 1)}
            project.unlink()
            os.unlink(path)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dctwin.twin.bench.telemetry", description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=2000)
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--formats", default=",".join(FORMATS[:3]), help=f"comma-separated, of {', '.join(FORMATS)}")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        ap.error(f"unknown format(s) {', '.join(bad)}")
    res = run(args.points, args.days, formats)
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        print(f"{res['values']:,} values ({res['points']} points, {res['days']:g} days of 1-minute data); "
              f"files made in {res['make_s']} s; load average {res['load_avg']} on {res['cpus']} cores")
        for fmt, r in res["formats"].items():
            print(f"  {fmt:13s} {r['file_mb']:7.1f} MB: import {r['total_s']:6.1f} s, CPU {r['cpu_s']:.1f} s (read {r['read_s']:.1f}, "
                  f"clean {r['clean_s']:.1f}, write {r['write_s']:.1f}); project {r['project_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
