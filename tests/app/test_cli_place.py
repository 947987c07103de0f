"""CLI: dctwin place (the JSON the issue names, the greedy plan, bad input exits 2 naming the option) and
dctwin bench --place."""

from __future__ import annotations

import json

import pytest

from dctwin.twin.bench.placement import bench_hall
from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.model.layoutfile import save_layout
from tests.app.test_cli_layout import run


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("place") / "tiny.json"
    save_layout(synthetic_site(8, rack_kw=6.0, racks_per_row=4), path)
    return str(path)


def test_place_json_has_the_issue_keys(capsys, tiny):
    code, out, err = run(capsys, "place", tiny, "--kw", "1.5", "--verify", "1", "--grid", "0.6", "--json")
    assert code == 0, err
    d = json.loads(out)
    for key in ("candidates", "best", "evaluated", "wall_s"):
        assert key in d
    assert d["evaluated"] == 836 and d["candidates"]  # every tile corner and facing where a rack fits inside
    c = d["candidates"][0]
    assert set(c) >= {"x_m", "y_m", "facing", "feeds", "feasible", "binding", "inlet_c", "neighbour_rise_k",
                      "headroom_kw", "score"}
    assert set(c["headroom_kw"]) == {"power", "power_n1", "cooling", "cooling_n1"}
    assert d["best"]["verified"]["feasible"] and d["verified"] == 1
    assert d["estimate_error_k"]["verified"] == 1


def test_a_verified_spot_reports_the_corrected_rise_and_keeps_the_floor_wide_estimate(capsys, tiny):
    """A verified candidate's ``neighbour_rise_k`` and ``neighbour`` are the estimate on its corrected flow
    (``verified.local``), its rise error and ``estimate_error_k``'s theirs; its ``inlet_c`` stays the floor-wide
    estimate; the map's floor-wide figures are under ``floor_*`` on every candidate."""
    code, out, err = run(capsys, "place", tiny, "--kw", "1.5", "--verify", "1", "--grid", "0.6", "--json")
    assert code == 0, err
    d = json.loads(out)
    ver = [c for c in d["candidates"] if c.get("verified")]
    assert len(ver) == 1
    c, v = ver[0], ver[0]["verified"]
    loc = v["local"]
    assert c["neighbour_rise_k"] == loc["neighbour_rise_k"] and c["neighbour"] == loc["neighbour"]
    assert c["inlet_c"] == c["floor_inlet_c"]
    assert v["rise_error_k"] == pytest.approx(loc["rise_error_k"], abs=2e-3)
    assert v["inlet_error_k"] == pytest.approx(v["floor_inlet_error_k"], abs=2e-3)
    # the floor-wide estimate is the map's: the same spot estimated again gives it
    code, out2, err = run(capsys, "place", tiny, "--kw", "1.5", "--verify", "0", "--grid", "0.6", "--json",
                          "--top", "500")
    again = {(e["x_m"], e["y_m"], e["facing"]): e for e in json.loads(out2)["candidates"]}[(c["x_m"], c["y_m"], c["facing"])]
    assert c["floor_inlet_c"] == again["inlet_c"] == again["floor_inlet_c"]
    assert c["floor_neighbour_rise_k"] == again["neighbour_rise_k"] and c["floor_neighbour"] == again["neighbour"]
    assert v["floor_inlet_error_k"] == pytest.approx(c["floor_inlet_c"] - v["inlet_c"], abs=2e-3)
    err_k = d["estimate_error_k"]
    assert err_k["neighbour_rise_k"] == pytest.approx(abs(loc["rise_error_k"]), abs=2e-3)
    assert err_k["floor_inlet_c"] == pytest.approx(abs(v["floor_inlet_error_k"]), abs=2e-3)
    assert err_k["floor_neighbour_rise_k"] == pytest.approx(abs(v["floor_rise_error_k"]), abs=2e-3)


def test_place_text_names_the_best_spot_and_what_binds(capsys, tiny):
    code, out, _ = run(capsys, "place", tiny, "--kw", "1.5", "--verify", "0", "--grid", "0.6", "--facing", "N")
    assert code == 0
    assert "best: x " in out and "facing N" in out and "kW left" in out
    assert "with room" in out


def test_place_with_given_feeds_and_a_row(capsys, tiny):
    code, out, err = run(capsys, "place", tiny, "--kw", "1", "--count", "2", "--feeds", "PDU-001A,PDU-001B",
                         "--verify", "0", "--grid", "0.6", "--json")
    assert code == 0, err
    d = json.loads(out)
    # the tiny hall has no room for two side by side at a row end: every spot is ruled out by space
    assert d["candidates"] == [] and d["best"] is None and d["ruled_out"]["space"] == d["evaluated"]


def test_place_plan_json(capsys, tiny):
    code, out, err = run(capsys, "place", tiny, "--kw", "1", "--count", "2", "--plan", "--verify", "1", "--grid", "0.6",
                         "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["count"] == 2 and len(d["placed"]) == 2 and d["stopped"] is None
    assert {"rows", "units"} == set(d["stranded"])
    code, out, _ = run(capsys, "place", tiny, "--kw", "14", "--plan", "--verify", "1", "--grid", "0.6")
    assert code == 0 and "stopped: rack 1 of 1: no spot is feasible" in out and "stranded power" in out


@pytest.mark.parametrize("argv, words", [
    (["--kw", "0"], "--kw"), (["--kw", "nan"], "--kw"), (["--kw", "5", "--count", "0"], "--count"),
    (["--kw", "5", "--liquid-fraction", "2"], "--liquid-fraction"), (["--kw", "5", "--feeds", "NOPE"], "--feeds"),
    (["--kw", "5", "--feeds", "PDU-001A,"], "--feeds"), (["--kw", "5", "--facing", "up"], "--facing"),
    (["--kw", "5", "--verify", "99"], "--verify"), (["--kw", "5", "--hall", "H9"], "--hall"),
    (["--kw", "5", "--width-m", "7"], "--width-m"), (["--kw", "5", "--weight-kg", "-1"], "--weight-kg"),
    (["--kw", "5", "--ashrae-class", "Z9"], "--ashrae-class"), (["--kw", "abc"], "--kw"),
])
def test_bad_input_exits_2_naming_the_option(capsys, tiny, argv, words):
    code, out, err = run(capsys, "place", tiny, *argv)
    assert code == 2 and words in err and "Traceback" not in err


def test_missing_layout_exits_2(capsys, tmp_path):
    code, _, err = run(capsys, "place", str(tmp_path / "nope.json"), "--kw", "5")
    assert code == 2 and "nope.json" in err


def test_bench_place_reports_the_figures():
    r = bench_hall("synthetic-8", kw=1.0, verify=1, repeats=1, grid_m=0.6, workers=1)
    for key in ("context_s", "map_s", "drag_map_s", "floor_s", "verify_s", "verify_cpu_s", "solve_s"):
        assert r[key] > 0, key
    assert r["drag_map_s"] == pytest.approx(r["context_s"] + r["map_s"])
    assert r["verified"] == 1 and r["estimate_error_inlet_k"] is not None
    assert r["local_error_inlet_k"] is not None and r["local_error_rise_k"] is not None  # the corrected flow's
