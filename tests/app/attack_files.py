"""Attack files for the CLI and GUI hardening tests: broken layouts, damaged and tampered projects.

``build(folder)`` writes them all (a second or two; the recording comes from the fake engine of
tests/twin/store/fakesim.py) and returns ``{name: path}`` plus ``"dir"``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Callable

from dctwin.app.main import main
from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.model.events import Event
from dctwin.twin.store import Project, Recorder

_spec = importlib.util.spec_from_file_location(
    "attack_fakesim", Path(__file__).parents[1] / "twin" / "store" / "fakesim.py")
fakesim = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fakesim)

TINY = {
    "format": "dctwin-layout", "version": 1, "name": "tiny",
    "halls": [{"id": "H1", "width_m": 9.6, "depth_m": 7.2, "height_m": 3.0, "plenum": "raised_floor",
               "ceiling_return": False, "supply_c": 18,
               "racks": [{"id": "R-01", "x_m": 2.4, "y_m": 1.8, "facing": "N", "it_kw": 4,
                          "feeds": ["PDU-A", "PDU-B"]}],
               "cooling_units": [{"id": "CRAH-1", "kind": "crah", "x_m": 0.0, "y_m": 3.0, "facing": "E",
                                  "airflow_m3s": 1.0, "capacity_kw": 30, "supply_setpoint_c": 18}],
               "tiles": [{"x_m": 2.4, "y_m": 3.0, "open_fraction": 0.25}], "grilles": [], "containments": []}],
    "power_nodes": [{"id": "UTIL", "kind": "utility"},
                    {"id": "PDU-A", "kind": "pdu", "inputs": ["UTIL"], "capacity_kw": 100},
                    {"id": "PDU-B", "kind": "pdu", "inputs": ["UTIL"], "capacity_kw": 100}],
}
TINY_TEXT = json.dumps(TINY, indent=1)


def _sql(path: Path, *statements: str, forge: bool = False) -> None:
    """Edit ``path``; ``forge``: recompute every row checksum after, as someone who knows the format
    would, so that the checks behind the checksums are what meets the edit."""
    con = sqlite3.connect(path)
    for st in statements:
        con.execute(st)
    if forge:
        fakesim.forge_checksums(con)
    con.commit()
    con.close()


def _flip(path: Path, offset: int) -> None:
    b = bytearray(path.read_bytes())
    b[offset] ^= 0xFF
    path.write_bytes(bytes(b))


def _middle_leaf(path: Path) -> int:
    """The offset of the page-type byte of a table leaf page in the middle of a project file: a flipped
    byte there is damage SQLite's own check finds."""
    con = sqlite3.connect(path)
    pages = [r[0] for r in con.execute("SELECT pageno FROM dbstat WHERE pagetype = 'leaf' AND name IN "
                                       "('keyframe_arrays', 'series', 'events') ORDER BY pageno")]
    size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    return (pages[len(pages) // 2] - 1) * size


def build(d: Path) -> dict[str, Path]:
    """Every attack file in folder ``d``: good inputs first, then broken copies of them."""
    f: dict[str, Path] = {"dir": d}

    def text(name: str, data: str | bytes) -> Path:
        p = d / name
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
        f[name] = p
        return p

    text("tiny.json", TINY_TEXT)
    text("empty.json", b"")
    text("garbage.json", bytes(range(256)) * 8)
    text("nan.json", TINY_TEXT.replace('"it_kw": 4', '"it_kw": NaN'))
    text("inf.json", TINY_TEXT.replace('"it_kw": 4', '"it_kw": -Infinity'))
    text("e400.json", TINY_TEXT.replace('"it_kw": 4', '"it_kw": 1e400'))
    text("bigint.json", TINY_TEXT.replace('"it_kw": 4', '"it_kw": 1' + "0" * 400))
    text("hugeint.json", TINY_TEXT.replace('"x_m": 2.4', '"x_m": 1' + "0" * 5000, 1))
    text("e308.json", TINY_TEXT.replace('"width_m": 9.6', '"width_m": 1e308'))
    text("negative.json", TINY_TEXT.replace('"it_kw": 4', '"it_kw": -4'))
    text("wrongtype.json", TINY_TEXT.replace('"it_kw": 4', '"it_kw": "4"').replace('"facing": "N"', '"facing": 7'))
    text("nested.json", "[" * 100_000 + "]" * 100_000)
    bad_feed = json.loads(TINY_TEXT)
    bad_feed["halls"][0]["racks"][0]["feeds"] = ["PDU-A", "PDU-X"]
    text("missingref.json", json.dumps(bad_feed))
    text("utf16.json", TINY_TEXT.encode("utf-16"))
    text("ctrl_id.json", TINY_TEXT.replace('"R-01"', '"R-\\u0000\\u001b[2J"'))
    text("surrogate_name.json", TINY_TEXT.replace('"name": "tiny"', '"name": "\\ud800\\u202e"'))
    stacked = json.loads(TINY_TEXT)
    stacked["halls"][0]["racks"] += [{"id": f"Q{k}", "x_m": 6.0, "y_m": 4.8, "it_kw": 1} for k in range(5000)]
    text("stacked.json", json.dumps(stacked))
    text("layout.dctwin", TINY_TEXT)
    (d / "folder").mkdir()
    f["folder"] = d / "folder"
    other = d / "other.dctwin"
    _sql(other, "CREATE TABLE t (x)", "INSERT INTO t VALUES (1)")
    f["other.dctwin"] = other

    inc = {"format": "dctwin-incident", "version": 1, "name": "x", "description": "", "events": []}
    text("inc_missing_el.json", json.dumps({**inc, "events": [{"t_s": 1, "kind": "fail", "target": "CRAH-99"}]}))
    text("inc_kind.json", json.dumps({**inc, "events": [{"t_s": 1, "kind": "explode", "target": "CRAH-1"}]}))
    text("inc_nan.json", json.dumps({**inc, "events": [{"t_s": 1, "kind": "fail", "target": "CRAH-1"}]})
         .replace('"t_s": 1', '"t_s": NaN'))
    text("inc_bigint.json", json.dumps({**inc, "events": [{"t_s": 1, "kind": "fail", "target": "CRAH-1"}]})
         .replace('"t_s": 1', '"t_s": 1' + "0" * 400))
    text("inc_nested.json", '{"events": ' + "[" * 100_000 + "]" * 100_000 + "}")

    run = d / "run.dctwin"
    with Project.create(run) as p:
        sim = fakesim.FakeSim(dt_s=0.5)
        rec = Recorder(p, p.save_layout(synthetic_site(4)), 0.5, keyframe_every_s=15)
        fakesim.run_live(sim, rec, 60.0, [Event(0, 10.0, "fail", "CRAH-1")], {})
    f["run.dctwin"] = run
    review = d / "review.dctwin"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["export", str(run), "--out", str(review)]) == 0
    f["review.dctwin"] = review

    def variant(src: str, name: str, change: Callable[[Path], None]) -> None:
        p = d / name
        shutil.copy(f[src], p)
        change(p)
        f[name] = p

    size = run.stat().st_size
    variant("run.dctwin", "flip_header.dctwin", lambda p: _flip(p, 20))
    variant("run.dctwin", "flip_appid.dctwin", lambda p: _flip(p, 70))
    variant("run.dctwin", "flip_middle.dctwin", lambda p: _flip(p, _middle_leaf(p)))
    variant("run.dctwin", "cut_header.dctwin", lambda p: p.write_bytes(p.read_bytes()[:50]))
    variant("run.dctwin", "cut_middle.dctwin", lambda p: p.write_bytes(p.read_bytes()[:size // 2]))
    variant("run.dctwin", "cut_end.dctwin", lambda p: p.write_bytes(p.read_bytes()[:size - 700]))
    variant("run.dctwin", "dt_negative.dctwin", lambda p: _sql(p, "UPDATE recordings SET dt_s = -1", forge=True))
    variant("run.dctwin", "dt_text.dctwin", lambda p: _sql(p, "UPDATE recordings SET dt_s = 'abc'", forge=True))
    variant("run.dctwin", "layout_garbage.dctwin", lambda p: _sql(p, "UPDATE layouts SET layout_json = 'x{'", forge=True))
    variant("run.dctwin", "layout_blob.dctwin", lambda p: _sql(p, "UPDATE layouts SET layout_json = x'ff00'", forge=True))
    variant("run.dctwin", "kf_bytes.dctwin", lambda p: _sql(p, "UPDATE keyframe_arrays SET data = x'00'", forge=True))
    variant("run.dctwin", "kf_dtype.dctwin", lambda p: _sql(p, "UPDATE keyframe_arrays SET dtype = 'O'", forge=True))
    variant("run.dctwin", "series_bytes.dctwin", lambda p: _sql(p, "UPDATE series SET data = x'0001'", forge=True))
    variant("run.dctwin", "event_details.dctwin", lambda p: _sql(p, "UPDATE events SET details_json = '[1'", forge=True))
    variant("run.dctwin", "event_time.dctwin", lambda p: _sql(p, "UPDATE events SET t_s = 'soon'", forge=True))
    # issue 19: keyframe arrays that lie (checksums forged): refused with the array named, no hang, no crash
    for name, change in (("kf_huge", "shape = '[1000000000]'"), ("kf_negative", "shape = '[-8, 5]'"),
                         ("kf_text_shape", "shape = '\"8x5\"'"), ("kf_unicode", "dtype = '<U10'"),
                         ("kf_swapped", "dtype = '>f8'"), ("kf_short", "shape = '[8, 6]'")):
        variant("run.dctwin", f"{name}.dctwin", lambda p, change=change: _sql(
            p, f"UPDATE keyframe_arrays SET {change} WHERE name = 'air_c'", forge=True))
    variant("run.dctwin", "plain_kf_bytes.dctwin", lambda p: _sql(p, "UPDATE keyframe_arrays SET data = x'00' "
                                                                     "WHERE keyframe_id = 1 AND name = 'air_c'"))
    variant("run.dctwin", "plain_event.dctwin", lambda p: _sql(p, "UPDATE events SET t_s = t_s + 1"))
    variant("run.dctwin", "dropped.dctwin", lambda p: _sql(p, "DROP TABLE events"))
    variant("run.dctwin", "newer.dctwin", lambda p: _sql(p, "PRAGMA user_version = 99"))
    variant("run.dctwin", "trigger.dctwin", lambda p: _sql(
        p, "CREATE TABLE canary (x)",
        "CREATE TRIGGER wipe AFTER INSERT ON meta BEGIN INSERT INTO canary VALUES (1); DELETE FROM events; END"))
    variant("run.dctwin", "view.dctwin", lambda p: _sql(
        p, "ALTER TABLE events RENAME TO events_old", "CREATE VIEW events AS SELECT * FROM events_old WHERE 0"))
    variant("review.dctwin", "rev_rows.dctwin", lambda p: _sql(p, "UPDATE events SET t_s = t_s + 1"))
    variant("review.dctwin", "rev_kind.dctwin", lambda p: _sql(p, "UPDATE meta SET value = 'project' "
                                                                  "WHERE key = 'kind'"))
    variant("review.dctwin", "rev_dropped.dctwin", lambda p: _sql(p, "DROP TABLE alarms"))
    variant("review.dctwin", "rev_trigger.dctwin", lambda p: _sql(
        p, "CREATE TRIGGER t AFTER INSERT ON meta BEGIN SELECT 1; END"))
    variant("review.dctwin", "rev_no_manifest.dctwin", lambda p: _sql(p, "DELETE FROM manifest"))
    return f
