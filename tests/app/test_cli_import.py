"""CLI: dctwin import netbox / table: writes a layout that validates and solves, updates it keeping
moved positions, prints or writes the report, refuses bad input with exit 2 and no traceback, and never
overwrites --out with a half layout."""

from __future__ import annotations

import json

from dctwin.twin.model.commands import MoveElements
from dctwin.twin.model.layoutfile import load_layout, save_layout
from tests.twin.io.netbox_fixtures import FakeNetBox, site_objects, to_fixture
from tests.app.test_cli_layout import run


def test_import_netbox_dump_validates_and_solves(tmp_path, capsys):
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps(to_fixture(site_objects())))
    out, report = tmp_path / "layout.json", tmp_path / "report.json"
    code, text, err = run(capsys, "import", "netbox", str(dump), "--site", "DC-East", "--out", str(out),
                          "--report", str(report))
    assert code == 0, err
    assert "Assumptions (" in text and "a device without a rack" in text and "wrote" in text
    rep = json.loads(report.read_text())
    assert rep["counts"]["racks"] == 24 and rep["site"] == "DC-East"
    assert run(capsys, "validate", str(out))[0] == 0
    code, text, err = run(capsys, "solve", str(out), "--json")
    assert code == 0, err
    solved = json.loads(text)
    assert len(solved["racks"]) == 24 and abs(solved["energy_error"]) < 1e-3


def test_reimport_through_the_cli_keeps_a_moved_rack(tmp_path, capsys):
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps(to_fixture(site_objects(extras=False))))
    out = tmp_path / "layout.json"
    assert run(capsys, "import", "netbox", str(dump), "--out", str(out))[0] == 0
    site = load_layout(out)
    MoveElements(("C08",), 0.0, -1.2).apply(site)  # into the hot aisle, as in the editor
    save_layout(site, out)
    moved = site.get("C08")
    code, text, err = run(capsys, "import", "netbox", str(dump), "--out", str(out), "--json")
    assert code == 0, err
    result = json.loads(text)
    assert result["updated"] is True and "C08" in result["report"]["placement"]["kept"]
    again = load_layout(out).get("C08")
    assert (again.x_m, again.y_m) == (moved.x_m, moved.y_m)
    assert run(capsys, "import", "netbox", str(dump), "--out", str(out), "--fresh")[0] == 0
    assert load_layout(out).get("C08").y_m != moved.y_m


def test_live_netbox_through_the_cli(tmp_path, capsys):
    o = site_objects()
    token = tmp_path / "token"
    with FakeNetBox(o) as srv:
        token.write_text(srv.token + "\n")
        code, _, err = run(capsys, "import", "netbox", "--url", srv.url, "--token-file", str(token), "--site",
                           "DC-East", "--out", str(tmp_path / "live.json"))
        assert code == 0, err
        token.write_text("not-the-token\n")
        code, _, err = run(capsys, "import", "netbox", "--url", srv.url, "--token-file", str(token), "--site",
                           "DC-East", "--out", str(tmp_path / "refused.json"))
    assert code == 2 and "refused the token" in err and "Traceback" not in err
    assert not (tmp_path / "refused.json").exists()
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps(to_fixture(o)))
    assert run(capsys, "import", "netbox", str(dump), "--site", "DC-East", "--out", str(tmp_path / "d.json"))[0] == 0
    assert (tmp_path / "live.json").read_text() == (tmp_path / "d.json").read_text()


def test_bad_source_exits_2_and_keeps_out(tmp_path, capsys):
    o = site_objects()
    o.get("dcim.rack", 1005)["outer_depth"] = 50_000
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps(to_fixture(o)))
    out = tmp_path / "layout.json"
    out.write_text("precious")
    code, _, err = run(capsys, "import", "netbox", str(dump), "--site", "DC-East", "--out", str(out), "--fresh")
    assert code == 2 and 'dcim.rack 1005 "A05"' in err and "Traceback" not in err
    assert out.read_text() == "precious"


def test_import_table_csv(tmp_path, capsys):
    sheet = tmp_path / "racks.csv"
    sheet.write_text("Name,Row,kW,Feed A,Feed B\nR1,A,5,P1,P2\nR2,A,6,P1,P2\nR3,B,4,P1,P2\n")
    out = tmp_path / "t.json"
    code, text, err = run(capsys, "import", "table", str(sheet), "--out", str(out), "--json")
    assert code == 0, err
    assert json.loads(text)["report"]["counts"]["racks"] == 3
    assert load_layout(out).get("R2").it_kw == 6.0
