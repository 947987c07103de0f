"""The telemetry import benchmark on a small size: its four file formats import the same samples."""

from __future__ import annotations

from dctwin.twin.bench import telemetry as bench


def test_every_format_imports_the_same_samples():
    res = bench.run(n_points=12, days=0.25, formats=bench.FORMATS)
    assert set(res["formats"]) == set(bench.FORMATS)
    n = int(0.25 * 1440)
    assert res["values"] == 12 * n
    kept = {f: r["kept"] for f, r in res["formats"].items()}
    sentinels = {f: r["sentinel"] for f, r in res["formats"].items()}
    assert len(set(kept.values())) == 1, kept
    assert len(set(sentinels.values())) == 1, sentinels
    # 5 sentinels and a half-hour outage (NaN) per point are dropped; nothing else is
    first = next(iter(res["formats"].values()))
    assert 0 < first["sentinel"] <= 12 * 5
    assert 12 * n - 12 * (5 + 30) <= first["kept"] < 12 * n - first["sentinel"]
    for r in res["formats"].values():
        assert r["total_s"] >= r["read_s"] and r["cpu_s"] > 0
