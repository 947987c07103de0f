"""``dctwin bench --validated`` asks the bench for the adaptive hour on the validated grid and prints its keys
(the hour itself: tests/twin/sim/test_bench.py)."""

from __future__ import annotations

import json

from dctwin.app.main import main
from dctwin.twin.bench import physics as bench


def test_bench_validated_passes_the_request_and_prints_the_validated_keys(monkeypatch, capsys):
    asked = {}

    def run_bench(sizes, repeats=3, grid_m=None, log=None, validated=False):
        asked.update(sizes=sizes, validated=validated)
        case = {"racks": sizes[0]}
        if validated:
            case.update(validated_cells=10, validated_hour_adaptive_run_s=1.5)
        return {"jit_compile_s": 0.0, "cases": [case]}

    monkeypatch.setattr(bench, "run_bench", run_bench)
    assert main(["bench", "--racks", "4", "--repeats", "1", "--validated", "--json"]) == 0
    assert asked == {"sizes": [4], "validated": True}
    assert json.loads(capsys.readouterr().out)["cases"][0]["validated_cells"] == 10
    assert main(["bench", "--racks", "4", "--repeats", "1", "--json"]) == 0
    assert asked["validated"] is False
