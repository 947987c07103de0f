"""Every layout, incident, solve and command-line example of issue 19, as the person met it: the demo
hall (or the tiny one) edited one way, then run through the CLI. Each one used to crash, hang, print
NaN or accept nonsense; each now ends with exit 2 and a message naming the element and field (or exit
0 with finite figures where the input is physical), never a traceback, within a hang guard.

The project-file examples (checksums, lying keyframe arrays, foreign journals, two writers) are
tested with the store (tests/twin/store, tests/app/test_cli_attack.py); a seek into a damaged
recording in the window by tests/app/test_gui_attack.py.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest

from dctwin.twin.errors import ResultError
from dctwin.twin.model.demos import demo_text
from dctwin.twin.model.incidents import MAX_EVENTS
from dctwin.twin.model.validate import MAX_POWER_DEPTH
from tests.app.attack_files import TINY
from tests.app.test_cli_attack import run_cli
from tests.hostile import ends_within

SMALL = json.loads(demo_text("small"))
AI_HALL = json.loads(demo_text("ai-hall"))


def _layout(tmp_path: Path, doc: dict, name: str = "layout.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _refused(argv: list, *must_say: str, limit_s: float = 300) -> str:
    with ends_within(limit_s, argv[:2]):
        code, out, err = run_cli(argv)
    assert code == 2, f"{argv[:2]}: exit {code}\n{out[-1500:]}\n{err[-1500:]}"
    assert "Traceback" not in err and "internal error" not in err, err[-2000:]
    for text in must_say:
        assert text in err, f"{text!r} not in {err[-2000:]!r}"
    return err


def _small(change) -> dict:
    doc = copy.deepcopy(SMALL)
    change(doc)
    return doc


# ---------------------------------------------------------------- types before constructors (item 1)

@pytest.mark.parametrize("value", [True, None, 3, [1]])
@pytest.mark.parametrize("kind", ["tiles", "containments"])
def test_an_id_of_the_wrong_type_names_the_element_and_field(tmp_path, kind, value):
    doc = copy.deepcopy(AI_HALL if kind == "containments" else SMALL)
    hall = doc["halls"][0]
    hall[kind][0]["id"] = value
    err = _refused(["validate", _layout(tmp_path, doc)], f"{hall['id']}.{kind}[0].id: must be a string, got "
                   + json.dumps(value))
    assert "__init__" not in err and "TypeError" not in err


@pytest.mark.parametrize("side", ["height_m", "width_m"])
def test_a_hall_1e_308_m_high_or_wide_is_refused(tmp_path, side):
    doc = _small(lambda d: d["halls"][0].__setitem__(side, 1e-308))
    err = _refused(["solve", _layout(tmp_path, doc)], f"HALL-1.{side}: 1e-308 m is too small (at least 1 m)")
    assert "ZeroDivisionError" not in err


# ---------------------------------------------------------------- every run bounded (item 2)

@pytest.mark.parametrize("kind,element,least", [("racks", "R-A01", "0.3"), ("cooling_units", "CRAH-1", "0.1")])
def test_an_element_1e_308_m_high_is_refused_before_the_solve(tmp_path, kind, element, least):
    doc = _small(lambda d: d["halls"][0][kind][0].__setitem__("height_m", 1e-308))
    _refused(["solve", _layout(tmp_path, doc)], f"{element}.height_m: 1e-308 m is too small (at least {least} m)")


def test_a_chain_of_20000_switchboards_is_refused_by_its_depth(tmp_path):
    def chain(d):
        nodes = [n for n in d["power_nodes"] if n["id"] != "SWB-M"]
        prev = "UTIL"
        for i in range(19_999):
            nodes.append({"id": f"SW-{i}", "kind": "switchboard", "inputs": [prev], "capacity_kw": 500})
            prev = f"SW-{i}"
        # the last one is the switchboard the units and the plant use
        nodes.append({"id": "SWB-M", "kind": "switchboard", "inputs": [prev], "capacity_kw": 500})
        d["power_nodes"] = nodes
        d["halls"][0]["racks"][0]["feeds"] = ["SWB-M"]
    err = _refused(["solve", _layout(tmp_path, _small(chain))], f"at most {MAX_POWER_DEPTH}")
    assert err.count("\n") < 50 and len(err) < 5000, err[:3000]  # one finding, not 20,000


def test_every_rack_at_250_kw_is_refused_by_its_airflow(tmp_path):
    def all_250(d):
        for r in d["halls"][0]["racks"]:
            r["it_kw"] = 250
    _refused(["solve", _layout(tmp_path, _small(all_250))], "R-A01.it_kw", "20.8 m/s (at most 10 m/s")


def test_every_rack_at_250_kw_with_its_airflow_has_no_steady_state(tmp_path):
    """Airflow given, so the rack is physical: 5 MW on 300 kW of cooling ends with a clear message."""
    def all_250(d):
        for r in d["halls"][0]["racks"]:
            r.update(it_kw=250, airflow_m3s=12.0, width_m=1.2, height_m=2.4)
        d["halls"][0]["racks"] = d["halls"][0]["racks"][::2]  # twice as wide: every other one fits
    _refused(["solve", _layout(tmp_path, _small(all_250)), "--grid", "0.6"], "cooling cannot carry its heat")


def test_a_grid_of_0_05_m_is_refused_by_its_predicted_cost(tmp_path):
    _refused(["solve", _layout(tmp_path, SMALL), "--grid", "0.05"], "cell-steps", "use a coarser grid")


def test_cooling_of_1e_9_kw_has_no_steady_state(tmp_path):
    def starve(d):
        for u in d["halls"][0]["cooling_units"]:
            u["capacity_kw"] = 1e-9
    _refused(["solve", _layout(tmp_path, _small(starve)), "--grid", "0.6"],
             "no steady state: the hall's cooling cannot carry its heat")


def test_supply_35_c_with_setpoints_45_c_ends_with_finite_figures(tmp_path):
    """Hot, but physical: the solve ends, and every figure it prints is a number."""
    def hot(d):
        d["halls"][0]["supply_c"] = 35
        for u in d["halls"][0]["cooling_units"]:
            u["supply_setpoint_c"] = 45
    with ends_within(600, "supply 35 C"):
        code, out, err = run_cli(["solve", _layout(tmp_path, _small(hot)), "--grid", "0.6", "--json"])
    assert code == 0, err
    summary = json.loads(out)

    def numbers(v):
        if isinstance(v, dict):
            for x in v.values():
                yield from numbers(x)
        elif isinstance(v, list):
            for x in v:
                yield from numbers(x)
        elif isinstance(v, float):
            yield v
    assert all(math.isfinite(v) for v in numbers(summary))
    assert summary["max_inlet_c"] >= 45.0  # the units blow 45 C air: the inlets are at least that hot


def test_a_2000_m_by_0_7_m_corridor_is_refused(tmp_path):
    def corridor(d):
        d["halls"][0].update(width_m=2000.0, depth_m=0.7)
    _refused(["solve", _layout(tmp_path, _small(corridor))], "HALL-1.depth_m: 0.7 m is too small (at least 1 m)")


def test_0_1_m_tiles_fully_open_are_refused_by_their_jets(tmp_path):
    def tiny_tiles(d):
        d["halls"][0]["tile_m"] = 0.1
        for t in d["halls"][0]["tiles"]:
            t["open_fraction"] = 1.0
    _refused(["solve", _layout(tmp_path, _small(tiny_tiles))], "HALL-1.tiles", "at most 25 m/s")


def test_simulate_with_an_incident_of_100000_events_is_refused_at_once(tmp_path):
    events = [{"t_s": 1.0 + i * 1e-3, "kind": "set_utilization", "target": "all", "utilization": 0.5}
              for i in range(100_000)]
    inc = tmp_path / "inc.json"
    inc.write_text(json.dumps({"format": "dctwin-incident", "version": 1, "name": "flood", "events": events}))
    _refused(["simulate", _layout(tmp_path, TINY), "--duration", "10", "--grid", "1", "--incident", inc],
             f"at most {MAX_EVENTS:,}", limit_s=60)


# ---------------------------------------------------------------- no NaN out, printable ids (item 3)

def test_a_chiller_cop_of_1e_308_is_refused_naming_the_chiller(tmp_path):
    def cop(d):
        d["plant"]["chillers"][0]["cop"] = 1e-308
    err = _refused(["solve", _layout(tmp_path, _small(cop))], "CH-1.cop: 1e-308 is out of range")
    assert "nan" not in err.lower().replace("cannot", "")


def test_the_engine_names_a_non_finite_value_instead_of_reporting_it(tmp_path):
    """The last line of defence (twin/sim/guard.py): whatever slipped past validation and would print
    NaN or a temperature below absolute zero is a ResultError naming the element and the figure."""
    from dctwin.twin.model.layoutfile import site_from_dict
    from dctwin.twin.sim import guard
    from dctwin.twin.sim.engine import Simulation

    sim = Simulation(site_from_dict(copy.deepcopy(TINY)), grid_m=1.0)
    sim.solve_steady()
    guard.check_results(sim)  # a physical state passes
    st = sim.state
    st.rack_inlet_c = np.array(st.rack_inlet_c, dtype=float)
    good = st.rack_inlet_c.copy()
    st.rack_inlet_c[0] = np.nan
    with pytest.raises(ResultError, match="rack R-01: its inlet air would be nan C"):
        guard.check_results(sim)
    st.rack_inlet_c[:] = good
    st.rack_inlet_c[0] = -300.0
    with pytest.raises(ResultError, match="rack R-01: its inlet air would be -300 C"):
        guard.check_results(sim)


@pytest.mark.parametrize("rack_id,says", [
    ("R\u2028", "U+2028 LINE SEPARATOR"),
    ("R\u2029", "U+2029 PARAGRAPH SEPARATOR"),
    ("R\uffff", "U+FFFF (a noncharacter)"),
    ("R\u0378", "U+0378 (unassigned)"),
    ("\u3164", "only blanks such as U+3164 HANGUL FILLER"),
    ("\u2800", "only blanks such as U+2800 BRAILLE PATTERN BLANK"),
])
def test_identifiers_that_print_nothing_or_break_lines_are_refused(tmp_path, rack_id, says):
    doc = _small(lambda d: d["halls"][0]["racks"][0].__setitem__("id", rack_id))
    err = _refused(["validate", _layout(tmp_path, doc)], says)
    assert err.isprintable() or err.replace("\n", "").isprintable()  # escaped, never acted on


@pytest.mark.parametrize("row,says", [("x" * 5_000_000, "at most 64 characters, got 5,000,000"),
                                      ("\u202eA", "U+202E RIGHT-TO-LEFT OVERRIDE")])
def test_a_5_mb_row_or_an_rtl_override_in_a_row_is_refused(tmp_path, row, says):
    doc = _small(lambda d: d["halls"][0]["racks"][0].__setitem__("row", row))
    err = _refused(["validate", _layout(tmp_path, doc)], "R-A01.row", says)
    assert len(err) < 2000


@pytest.mark.parametrize("name,says", [("n" * 10_000_000, "at most 200 characters, got 10,000,000"),
                                       ("a\x1b[2Jb", "U+001B (a control character)")])
def test_incident_names_of_10_mb_or_with_control_characters_are_refused(tmp_path, name, says):
    inc = tmp_path / "inc.json"
    inc.write_text(json.dumps({"format": "dctwin-incident", "version": 1, "name": name,
                               "events": [{"t_s": 1.0, "kind": "fail", "target": "CRAH-1"}]}))
    err = _refused(["simulate", _layout(tmp_path, TINY), "--duration", "5", "--grid", "1", "--incident", inc],
                   "name", says)
    assert len(err) < 2000 and "\x1b" not in err


def test_a_key_given_twice_inside_an_incident_event_is_refused(tmp_path):
    inc = tmp_path / "inc.json"
    inc.write_text('{"format": "dctwin-incident", "version": 1, "name": "twice", "events": ['
                   '{"t_s": 1.0, "kind": "fail", "target": "CRAH-1", "target": "R-01"}]}')
    _refused(["simulate", _layout(tmp_path, TINY), "--duration", "5", "--grid", "1", "--incident", inc],
             "events[0].target", "twice")


# ---------------------------------------------------------------- the command line

def test_replay_a_hair_past_the_end_of_a_120_s_recording_is_refused(tmp_path):
    rec = tmp_path / "run.dctwin"
    code, _, err = run_cli(["simulate", _layout(tmp_path, TINY), "--duration", "120", "--dt", "10", "--grid", "1",
                            "--out", rec, "--no-progress"])
    assert code == 0, err
    _refused(["replay", rec, "--at", "120.0000001"], "--at 120.0000001 s is outside recording 1 (0 to 120 s)")
    code, out, err = run_cli(["replay", rec, "--at", "120", "--json"])  # the end itself replays
    assert code == 0, err
    assert json.loads(out)["t_s"] == pytest.approx(120.0)


@pytest.mark.parametrize("argv", [
    ["demo", "small", "--out", "{long}.json"],
    ["replay", "{long}.dctwin", "--at", "1"],
    ["simulate", "{tiny}", "--duration", "1", "--grid", "1", "--out", "{long}.dctwin", "--no-progress"],
    ["import", "table", "{long}.csv", "--out", "x.json"],
])
def test_a_file_name_the_system_refuses_is_a_clean_error(tmp_path, argv):
    """Found by the command-line fuzzer: a 300-character file name ended in an internal error (OSError)."""
    long = str(tmp_path / ("x" * 300))
    argv = [a.format(long=long, tiny=_layout(tmp_path, TINY)) for a in argv]
    _refused(argv, "File name too long")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layout.json"]


def test_a_rack_list_with_a_field_of_200000_characters_is_refused(tmp_path):
    """Found by the command-line fuzzer: csv's field limit ended in an internal error (csv.Error)."""
    sheet = tmp_path / "racks.csv"
    sheet.write_text('name,power\nR-01,"' + "x" * 200_000 + '"\n', encoding="utf-8")
    _refused(["import", "table", sheet, "--out", tmp_path / "out.json"], "cannot read as CSV", "field larger")


@pytest.mark.parametrize("mapping", ["/dev/zero", "folder", "deep.json"])
def test_a_column_mapping_that_is_no_json_file_is_refused_naming_it(tmp_path, mapping):
    sheet = tmp_path / "racks.csv"
    sheet.write_text("name,power\nR-01,4\n", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    path = mapping if mapping.startswith("/") else str(tmp_path / mapping)
    with ends_within(60, mapping):
        err = _refused(["import", "table", sheet, "--columns", path, "--out", tmp_path / "out.json"], "column mapping")
    assert path in err
