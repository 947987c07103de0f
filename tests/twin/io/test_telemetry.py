"""Telemetry files in: long/wide CSV and Parquet, timestamps, units, every defect counted, bad input named,
point maps checked, a map proposed, event logs mapped, a live Prometheus pull (local server)."""

from __future__ import annotations

import json
import math
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest

from dctwin.twin.io.points import PointMap, PointSpec, propose_map, read_point_map
from dctwin.twin.io.prometheus import pull
from dctwin.twin.io.report import SourceError
from dctwin.twin.io.site_events import read_event_log
from dctwin.twin.io.telemetry import RawPoint, clean_point, load_measurements, parse_time, read_measurements

T0 = parse_time("2024-05-14T00:00:00Z")


@pytest.fixture(scope="module")
def site():
    from dctwin.twin.model.demos import load_demo

    return load_demo("small")


def _map(tmp_path, rows, name="points.csv"):
    p = tmp_path / name
    p.write_text("point,element,quantity,unit\n" + "".join(",".join(r) + "\n" for r in rows))
    return p


def test_long_csv_units_offsets_and_unmapped(tmp_path, site):
    data = tmp_path / "m.csv"
    data.write_text("timestamp,point,value,unit\n"
                    "2024-05-14T02:00:00+02:00,a.inlet,68.0,F\n"   # = 00:00Z, 20 C
                    "2024-05-14T00:01:00Z,a.inlet,20.5,C\n"
                    "2024-05-14T00:00:00Z,p.kw,6.5,kW\n"
                    "2024-05-14T00:01:00Z,p.kw,6500,W\n"
                    "2024-05-14T00:00:00Z,stray,1,\n")
    pm = read_point_map(_map(tmp_path, [("a.inlet", "R-A01", "inlet_c", "C"), ("p.kw", "R-A02", "power_w", "kW")]),
                        site)
    md = load_measurements([data], pm)
    a = md.series["a.inlet"]
    assert a.t_s.tolist() == [T0, T0 + 60]
    assert a.value == pytest.approx([20.0, 20.5])  # the row's unit wins over the map's
    assert md.series["p.kw"].value == pytest.approx([6500.0, 6500.0])
    assert md.report.unmapped == [{"point": "stray", "values": 1}]
    assert md.report.formats == ["long-csv"]


def test_wide_csv_epoch_seconds_and_parquet_agree(tmp_path, site):
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = T0 + 60.0 * np.arange(5)
    vals = [19.0, 19.5, "", 20.5, 21.0]
    csv = tmp_path / "w.csv"
    csv.write_text("timestamp,R-A01 inlet,CRAH-1 SAT\n" + "".join(f"{ti:.0f},{v},{18 + k * 0.1:.1f}\n"
                                                                  for k, (ti, v) in enumerate(zip(t, vals))))
    pm = read_point_map(_map(tmp_path, [("R-A01 inlet", "R-A01", "inlet_c", "C"),
                                        ("CRAH-1 SAT", "CRAH-1", "supply_c", "")]), site)
    md = load_measurements([csv], pm)
    assert md.report.formats == ["wide-csv"]
    assert md.series["R-A01 inlet"].t_s.tolist() == [t[0], t[1], t[3], t[4]]
    assert md.report.per_point["R-A01 inlet"]["empty"] == 1
    table = pa.table({"timestamp": pa.array((t * 1e9).astype("int64"), pa.timestamp("ns", tz="UTC")),
                      "R-A01 inlet": pa.array([19.0, 19.5, None, 20.5, 21.0]),
                      "CRAH-1 SAT": pa.array([18 + k * 0.1 for k in range(5)])})
    pq.write_table(table, tmp_path / "w.parquet")
    mq = load_measurements([tmp_path / "w.parquet"], pm)
    assert mq.report.formats == ["wide-parquet"]
    for name in md.series:
        np.testing.assert_allclose(mq.series[name].t_s, md.series[name].t_s)
        np.testing.assert_allclose(mq.series[name].value, md.series[name].value)
    long = pa.table({"timestamp": pa.array([f"2024-05-14T00:0{k}:00Z" for k in range(3)]),
                     "point": ["R-A01 inlet"] * 3, "value": [19.0, 19.5, 20.0]})
    pq.write_table(long, tmp_path / "l.parquet")
    ml = load_measurements([tmp_path / "l.parquet"], pm)
    assert ml.report.formats == ["long-parquet"]
    assert ml.series["R-A01 inlet"].value.tolist() == [19.0, 19.5, 20.0]


def test_every_defect_is_counted_exactly():
    """One point with each defect placed by hand: out of order, duplicate, empty, NaN, sentinel,
    out of range, spike, a gap, irregular intervals."""
    t = T0 + 60.0 * np.arange(40)
    t[5] += 7.0  # irregular: the intervals around it are 67 and 53 s
    v = 20.0 + 0.01 * np.arange(40)
    empty = np.zeros(40, bool)
    v[8] = np.nan
    empty[8] = True  # empty
    v[12] = np.nan  # NaN
    v[15] = -999.0  # sentinel
    v[18] = 150.0  # out of range for an inlet
    v[22] = 35.0  # spike (+15 K against neighbours that agree)
    keep = np.ones(40, bool)
    keep[30:36] = False  # a gap of 7 intervals
    t, v, empty = t[keep], v[keep], empty[keep]
    # a duplicate of row 3, and row 26 moved before row 25 (out of order)
    order = list(range(len(t)))
    order.insert(4, 3)
    i25, i26 = order.index(25), order.index(26)
    order[i25], order[i26] = order[i26], order[i25]
    raw = RawPoint(t[order], v[order], empty[order])
    s, c = clean_point(raw, "inlet_c")
    assert {k: c[k] for k in ("out_of_order", "duplicate", "empty", "nan", "sentinel", "out_of_range", "spike",
                              "gap")} == dict(out_of_order=1, duplicate=1, empty=1, nan=1, sentinel=1,
                                              out_of_range=1, spike=1, gap=1)
    assert c["irregular"] == 3  # 67 s and 53 s around the shifted sample, 120 s across the empty value
    assert c["gap_s"] == pytest.approx(7 * 60.0)
    assert np.all(np.diff(s.t_s) > 0)
    assert c["kept"] == len(s.t_s) == len(t) - 5  # the empty, NaN, sentinel, out-of-range and spike rows
    assert np.all((s.value > 19.9) & (s.value < 21.0))


def test_spikes_leave_steps_alone():
    x = np.array([20, 20.1, 20.0, 27, 27.1, 27.0, 40, 27.1, 20.2], float)
    from dctwin.twin.io.telemetry import spikes

    assert np.flatnonzero(spikes(x, (5.0, 0.0))).tolist() == [6]
    p = np.array([6000, 6100, 3600, 3650, 3600, 9000, 3620, 3610], float)
    assert np.flatnonzero(spikes(p, (200.0, 0.3))).tolist() == [5]


def test_long_rows_in_a_regular_order_and_shuffled_read_the_same(tmp_path):
    """An export with every point once per time step (read by a transpose) and the same rows shuffled (read
    by a stable sort) give the same rows per point, in file order, with each row's unit."""
    rng = np.random.default_rng(3)
    names = ["c.kw", "a.inlet", "b.inlet"]
    rows = [(T0 + 60 * i, n, round(float(rng.normal(20, 1)), 3), "F" if (i, n) == (2, "a.inlet") else "C")
            for i in range(8) for n in names]
    regular, shuffled = tmp_path / "r.csv", tmp_path / "s.csv"
    for path, rr in ((regular, rows), (shuffled, [rows[i] for i in rng.permutation(len(rows))])):
        path.write_text("timestamp,point,value,unit\n" + "".join(f"{t:.0f},{n},{v},{u}\n" for t, n, v, u in rr))
    _, a = read_measurements(regular)
    _, b = read_measurements(shuffled)
    assert set(a) == set(b) == set(names)
    for n in names:
        expect = [(t, v) for t, nn, v, _ in rows if nn == n]
        assert list(zip(a[n].t_s.tolist(), a[n].value.tolist())) == expect
        order = np.argsort(b[n].t_s, kind="stable")
        assert np.array_equal(b[n].t_s[order], a[n].t_s) and np.array_equal(b[n].value[order], a[n].value)
        assert a[n].units == b[n].units


def test_a_dip_several_points_share_is_kept_a_lone_spike_dropped(tmp_path, site):
    """Three rack powers dip for one sample at 00:30 (a checkpoint of the job: real); a fourth point has a
    lone spike at 00:40 (a bad reading). Only the lone one is dropped."""
    t = T0 + 60.0 * np.arange(60) + np.tile([0.0, 2.0, -3.0], 20)  # jittered
    rows = []
    for k, rack in enumerate(("R-A01", "R-A02", "R-A03", "R-A04")):
        v = np.full(60, 8.0 + k)
        if k < 3:
            v[30] = 3.0  # the shared dip
        else:
            v[40] = 20.0  # the lone spike
        rows += [f"{tt + k:.0f},{rack}.kw,{vv}\n" for tt, vv in zip(t, v)]  # each meter's own clock offset
    data = tmp_path / "m.csv"
    data.write_text("timestamp,point,value\n" + "".join(rows))
    pm = read_point_map(_map(tmp_path, [(f"{r}.kw", r, "power_w", "kW") for r in ("R-A01", "R-A02", "R-A03",
                                                                                    "R-A04")]), site)
    md = load_measurements([data], pm)
    for r in ("R-A01", "R-A02", "R-A03"):
        s, c = md.series[f"{r}.kw"], md.report.per_point[f"{r}.kw"]
        assert c["spike"] == 0 and c["shared_jump"] == 1 and len(s) == 60 and s.value.min() == 3000.0
        assert "spike_t" not in c
    c = md.report.per_point["R-A04.kw"]
    assert c["spike"] == 1 and c.get("shared_jump", 0) == 0 and md.series["R-A04.kw"].value.max() == 11000.0
    assert md.report.defects["spike"] == 1


def test_long_rows_each_point_with_its_own_times_and_empty_cells_read_by_the_transpose(tmp_path):
    """A regular export whose points carry their own (jittered) times and some empty cells: the transposed
    read (times copied per point) gives the rows the sorted read of the same rows shuffled gives."""
    rng = np.random.default_rng(5)
    names = [f"p{k}" for k in range(7)]
    rows = [(T0 + 60 * i + int(rng.integers(-3, 4)), n, "" if rng.random() < 0.1 else f"{rng.normal(20, 1):.3f}")
            for i in range(600) for n in names]
    regular, shuffled = tmp_path / "r.csv", tmp_path / "s.csv"
    for path, rr in ((regular, rows), (shuffled, [rows[i] for i in rng.permutation(len(rows))])):
        path.write_text("timestamp,point,value\n" + "".join(f"{t},{n},{v}\n" for t, n, v in rr))
    _, a = read_measurements(regular)
    _, b = read_measurements(shuffled)
    for n in names:
        expect = [(float(t), v) for t, nn, v in rows if nn == n]
        assert a[n].t_s.tolist() == [t for t, _ in expect]
        assert a[n].empty.tolist() == [v == "" for _, v in expect]
        order = np.argsort(b[n].t_s, kind="stable")
        for x in ("t_s", "value", "empty"):
            assert np.array_equal(getattr(b[n], x)[order], getattr(a[n], x), equal_nan=x == "value")


def test_a_csv_whose_times_start_as_epoch_seconds_and_turn_to_iso_is_refused_as_mixed(tmp_path):
    """Epoch seconds in the first row are read as numbers; a later ISO time falls back to the text read,
    which says what is wrong (as it does when ISO comes first)."""
    for first, second in ((f"{T0:.0f}", "2024-05-14T00:01:00Z"), ("2024-05-14T00:00:00Z", f"{T0 + 60:.0f}")):
        p = tmp_path / "mixed.csv"
        p.write_text(f"timestamp,point,value\n{first},a,1\n{second},a,2\n")
        with pytest.raises(SourceError, match="timestamps mix epoch seconds and ISO 8601"):
            read_measurements(p)


@pytest.mark.parametrize("text, where", [
    ("timestamp,point,value\n1715644800,a,1\nnot a time,a,2\n", "line 3, column 'timestamp': timestamp 'not a time'"),
    ("timestamp,point,value\n2024-05-14T00:00:00Z,a,1\n2024-05-14T00:01:00Z,a,abc\n", "line 3, column 'value'"),
    ("timestamp,point,value\n2024-05-14T00:00:00Z,a,1\n\n2024-05-14T00:01:00,a,2\n", "line 4, column 'timestamp': timestamp '2024-05-14T00:01:00' has no zone offset"),
    ("timestamp,point,value\n2024-05-14T00:00:00Z,a,1\n2024-05-14T00:01:00Z,a\n", "line 3: 2 cells"),
    ("timestamp,a,b\n2024-05-14T00:00:00Z,1,2\nnot a time,1,2\n", "line 3, column 'timestamp': timestamp 'not a time'"),
    ("time,point,value\n1,a,2\n", "no 'timestamp' column"),
])
def test_bad_files_are_named_with_line_and_column(tmp_path, text, where):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(SourceError) as err:
        read_measurements(p)
    assert str(p) in str(err.value) and where in str(err.value)


def test_point_map_errors_name_file_and_line(tmp_path, site):
    cases = [([("x", "R-A01", "inlet_temp", "C")], "quantity 'inlet_temp'"),
             ([("x", "R-ZZ", "inlet_c", "C")], "no element 'R-ZZ'"),
             ([("x", "CRAH-1", "inlet_c", "C")], "needs a rack, but 'CRAH-1' is a cooling unit"),
             ([("x", "R-A01", "inlet_c", "kW")], "unit 'kW' does not fit inlet_c"),
             ([("x", "R-A01", "inlet_c", "C"), ("x", "R-A02", "inlet_c", "C")], "mapped twice")]
    for rows, msg in cases:
        p = _map(tmp_path, rows)
        with pytest.raises(SourceError) as err:
            read_point_map(p, site)
        assert str(p) in str(err.value) and "line" in str(err.value) and msg in str(err.value), str(err.value)


def test_proposed_map_matches_ids_in_names_and_reads_back(tmp_path, site):
    names = ["DC1/HALL-1/R-A01/INLET_T", "dc1.hall1.r_a02.exhaust_degF", "HALL-1 CRAH-2 SAT", "CRAH-1_RAT",
             "CRAH-1 RUN status", "EPMS/PDU-A/LOAD_KW", "UPS-1A battery SOC pct", "WEATHER/OAT", "mystery point"]
    pm, unmatched = propose_map(names, site)
    got = {p.point: (p.element, p.quantity, p.unit) for p in pm.points.values()}
    assert got["DC1/HALL-1/R-A01/INLET_T"] == ("R-A01", "inlet_c", "")
    assert got["dc1.hall1.r_a02.exhaust_degF"] == ("R-A02", "exhaust_c", "F")
    assert got["HALL-1 CRAH-2 SAT"][:2] == ("CRAH-2", "supply_c")
    assert got["CRAH-1_RAT"][:2] == ("CRAH-1", "return_c")
    assert got["CRAH-1 RUN status"][:2] == ("CRAH-1", "running")
    assert got["EPMS/PDU-A/LOAD_KW"] == ("PDU-A", "load_w", "kW")
    assert got["UPS-1A battery SOC pct"] == ("UPS-1A", "soc", "%")
    assert got["WEATHER/OAT"][:2] == ("", "outdoor_c")
    assert unmatched == ["mystery point"]
    p = tmp_path / "proposed.csv"
    p.write_text(pm.to_csv())
    assert len(read_point_map(p, site)) == len(pm)


def test_event_log_mapping_builtin_and_file(tmp_path, site):
    log = tmp_path / "events.csv"
    log.write_text("timestamp,source,kind,message\n"
                   "2024-05-14T04:00:03+02:00,BMS,TRIP,CRAH-2 compressor trip - unit stopped\n"
                   "2024-05-14T02:10:00Z,EPMS,OPEN,Breaker of PDU-A opened\n"
                   "2024-05-14T02:20:00Z,BMS,ALARM,High inlet temperature R-A10\n"
                   "2024-05-14T02:30:00Z,BMS,RESET,CRAH-2 restarted after reset\n"
                   "2024-05-14T02:40:00Z,BMS,SETPOINT,CRAH-1 supply setpoint changed to 19.5 C\n"
                   "2024-05-14T02:50:00Z,DCIM,LOAD,Row B jobs drained, load set to 60 %\n"
                   "2024-05-14T03:00:00Z,OPS,NOTE,Visitor tour\n")
    ev = read_event_log(log, site)
    got = [(e.kind, e.target, e.details) for e in ev]
    assert got[0] == ("fail", "CRAH-2", {}) and ev[0].t_s == T0 + 7203
    assert got[1] == ("breaker_trip", "PDU-A", {})
    assert got[2] == ("site_alarm", "R-A10", {})
    assert got[3] == ("repair", "CRAH-2", {})
    assert got[4] == ("set_setpoint", "CRAH-1", {"setpoint_c": 19.5})
    assert got[5][0] == "site_note"  # no built-in rule for a DCIM load message
    assert got[6] == ("site_note", "", {})
    rules = tmp_path / "map.json"
    rules.write_text(json.dumps({"rules": [{"source": "DCIM", "message": r"row (\S+) .*load set to ([0-9.]+) ?%",
                                            "event": "set_utilization", "target": "{1}", "value": r"([0-9.]+) ?%",
                                            "scale": 0.01}]}))
    ev2 = read_event_log(log, site, rules)
    assert (ev2[5].kind, ev2[5].target, ev2[5].details) == ("set_utilization", "B", {"utilization": 0.6})
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,source,kind,message\n2024-05-14T00:00:00Z,BMS,TRIP,ok\nyesterday,BMS,TRIP,x\n")
    with pytest.raises(SourceError, match=r"bad.csv, line 3, column 'timestamp'"):
        read_event_log(bad, site)
    rules.write_text(json.dumps({"rules": [{"event": "explode"}]}))
    with pytest.raises(SourceError, match=r"rule 1: event 'explode'"):
        read_event_log(log, site, rules)


class _Prom(BaseHTTPRequestHandler):
    series = {'inlet{rack="R-A01"}': [(T0 + 60 * k, f"{20 + 0.1 * k:.1f}") for k in range(30)],
              'supply{unit="CRAH-1"}': [(T0 + 60 * k, "18") for k in range(30)]}
    queries: list = []

    def do_GET(self):  # noqa: N802 - http.server's name
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        if u.path != "/api/v1/query_range":
            self.send_error(404)
            return
        query = q["query"][0]
        self.queries.append((query, float(q["start"][0]), float(q["end"][0])))
        if query == "bad(":
            body = json.dumps({"status": "error", "errorType": "bad_data", "error": "parse error"}).encode()
            self.send_response(400)
        else:
            a, b = float(q["start"][0]), float(q["end"][0])
            vals = [[t, v] for t, v in self.series.get(query, []) if a <= t <= b]
            body = json.dumps({"status": "success", "data": {"resultType": "matrix",
                                                             "result": [{"metric": {}, "values": vals}]}}).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def prometheus():
    server = HTTPServer(("127.0.0.1", 0), _Prom)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        th.join(5)
        server.server_close()


def test_prometheus_pull_in_pieces(prometheus, monkeypatch):
    import dctwin.twin.io.prometheus as prom

    monkeypatch.setattr(prom, "MAX_POINTS", 11)  # force several query_range calls per point
    _Prom.queries = []
    pm = PointMap({'inlet{rack="R-A01"}': PointSpec('inlet{rack="R-A01"}', "R-A01", "inlet_c", "C"),
                   'supply{unit="CRAH-1"}': PointSpec('supply{unit="CRAH-1"}', "CRAH-1", "supply_c", "C")})
    raw = pull(prometheus, pm, T0, T0 + 29 * 60, 60.0)
    assert raw['inlet{rack="R-A01"}'].value.tolist() == pytest.approx([20 + 0.1 * k for k in range(30)])
    assert len(raw['inlet{rack="R-A01"}'].t_s) == 30  # no sample twice at the piece boundaries
    assert len(_Prom.queries) == 6
    bad = PointMap({"bad(": PointSpec("bad(", "R-A01", "inlet_c", "C")})
    with pytest.raises(SourceError, match="HTTP 400.*parse error"):
        pull(prometheus, bad, T0, T0 + 600, 60.0)
    with pytest.raises(SourceError, match="cannot be reached"):
        pull("http://127.0.0.1:9", pm, T0, T0 + 600, 60.0, timeout_s=2)


def test_parse_time_forms():
    assert parse_time("1715644800") == 1715644800.0
    assert parse_time("2024-05-14T02:00:00+02:00") == T0
    with pytest.raises(SourceError, match="no zone offset"):
        parse_time("2024-05-14T00:00:00")
    assert math.isfinite(parse_time("2024-05-14T00:00:00.250Z"))
