"""Rack spreadsheets: columns matched loosely, units converted, positions or rows, errors named."""

from __future__ import annotations

import json
import math

import pytest

from dctwin.twin.io.report import SourceError
from dctwin.twin.io.table import import_table
from dctwin.twin.model.validate import validate


def test_csv_with_rows_units_and_feeds(tmp_path):
    p = tmp_path / "racks.csv"
    p.write_text("Rack Name;ROW;Position;Load [BTU/h];Feed A;Feed B\n"
                 "A02;A;2;3412.14;PDU-1A;PDU-1B\nA01;A;1;6824.28;PDU-1A;PDU-1B\nB01;B;1;;PDU-2A;PDU-2B\n")
    site, rep = import_table(p)
    assert validate(site) == []
    a1, a2, b1 = site.get("A01"), site.get("A02"), site.get("B01")
    assert math.isclose(a1.it_kw, 2.0, rel_tol=1e-6) and math.isclose(a2.it_kw, 1.0, rel_tol=1e-6)
    assert a1.x_m < a2.x_m and a1.facing == "N" and b1.facing == "S"  # position orders the row
    assert a1.feeds == ("PDU-1A", "PDU-1B") and site.get("PDU-1A").inputs == ("UPS-A",)
    assert "it_kw" in b1.assumed and "no IT power in the sheet: 0 kW" in rep.assumptions


def test_xlsx_with_xy_and_a_column_mapping(tmp_path):
    import openpyxl

    from dctwin.twin.io.table import read_mapping

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Asset", "East (m)", "North (m)", "Front", "Design load", "Air (CFM)"])
    ws.append(["R1", 3.0, 3.0, "north", 5000, 800])
    ws.append(["R2", 3.6, 3.0, "N", 4000, None])
    wb.save(tmp_path / "racks.xlsx")
    (tmp_path / "cols.json").write_text(json.dumps({"name": "Asset", "x_m": "East (m)", "y_m": "North (m)",
                                                     "it_kw": {"column": "Design load", "unit": "W"},
                                                     "facing": "Front", "airflow_m3s": "Air (CFM)"}))
    site, rep = import_table(tmp_path / "racks.xlsx", read_mapping(tmp_path / "cols.json"))
    r1 = site.get("R1")
    assert (r1.x_m, r1.y_m, r1.facing, r1.it_kw) == (3.0, 3.0, "N", 5.0)
    assert math.isclose(r1.airflow_m3s, 800 * 4.719474e-4)
    assert rep.placement == {"table": ["R1", "R2"]} and validate(site) == []


def test_bad_cells_are_named_by_line_and_column(tmp_path):
    p = tmp_path / "racks.csv"
    p.write_text("name,kW\nA01,4\nA02,lots\n")
    with pytest.raises(SourceError, match=r"line 3, column 'kW': 'lots' is not a number"):
        import_table(p)
    p.write_text("name,kW\nA01,4\nA01,5\n")
    with pytest.raises(SourceError, match="rack 'A01' is also on line 2"):
        import_table(p)
    p.write_text("Location,kW\nx,4\n")
    with pytest.raises(SourceError, match="no column of rack names"):
        import_table(p)
    p.write_text('name,kW\nA01,4\n"A02,5\nA03,6\n')  # a quote never closed swallows the rows below it
    with pytest.raises(SourceError, match=r"line 3: the rack name 'A02,5\\nA03,6'... runs over several lines"):
        import_table(p)
    p.write_text("name,kW\n")  # a header and nothing below it: refused, not a hall without racks
    with pytest.raises(SourceError, match=r"racks.csv: no rack rows below the header"):
        import_table(p)
