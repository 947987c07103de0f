"""Rack spreadsheets (CSV or XLSX) -> dctwin layout.

The common rack list: one rack a line with its name and, as far as known, row, position in the row
(or x/y in metres), facing, IT power, feed A, feed B and airflow. Column names are matched without
regard to case, spaces or punctuation (``Rack Name``, ``rack_name``); a unit in the header converts
the values (``Power (W)``, ``Load [BTU/h]``, ``Airflow (CFM)``). A mapping file names the columns of
other spreadsheets: ``{"name": "Asset", "it_kw": {"column": "Design load", "unit": "W"}}``.

Racks with x/y stand where the sheet says; the others are arranged in rows (by ``row``, then
``position``) like NetBox racks without positions. Feeds become PDUs (capacity assumed from their
racks' load), and the supply and cooling are assumed as for NetBox (:mod:`dctwin.twin.io.arrange`).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Optional

from dctwin.twin.errors import LayoutError
from dctwin.twin.io import arrange
from dctwin.twin.io.arrange import natural_key
from dctwin.twin.io.report import ImportReport, SourceError
from dctwin.twin.model import demos
from dctwin.twin.model.layout import MAX_RACK_POWER_W, PowerNode, Rack, Site
from dctwin.twin.model.layoutfile import MAX_JSON_BYTES, decode_text_file, parse_json_strict, read_json_bytes
from dctwin.twin.model.validate import validate

#: layout field -> header names that mean it (compared without case, spaces or punctuation)
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "rack", "rackname", "rackid", "id", "asset", "cabinet"),
    "row": ("row", "rowname", "aisle", "line"),
    "position": ("position", "pos", "slot", "index", "order", "positioninrow"),
    "x_m": ("x", "xm", "posx", "xposition"),
    "y_m": ("y", "ym", "posy", "yposition"),
    "facing": ("facing", "front", "frontfaces", "orientation", "direction"),
    "it_kw": ("kw", "power", "itpower", "itload", "load", "itkw", "designpower", "designload", "w", "watts",
              "btuh", "btuhr", "heat"),
    "feed_a": ("feeda", "feed1", "pdua", "afeed", "powera", "circuita", "sourcea"),
    "feed_b": ("feedb", "feed2", "pdub", "bfeed", "powerb", "circuitb", "sourceb"),
    "airflow_m3s": ("airflow", "airflowm3s", "cfm", "flow"),
}
#: unit -> (layout field, factor to the layout's unit)
UNITS: dict[str, tuple[str, float]] = {
    "kw": ("it_kw", 1.0), "w": ("it_kw", 1e-3), "watts": ("it_kw", 1e-3), "btuh": ("it_kw", 2.9307107e-4),
    "btuhr": ("it_kw", 2.9307107e-4), "mw": ("it_kw", 1e3),
    "m3s": ("airflow_m3s", 1.0), "cfm": ("airflow_m3s", 4.719474e-4), "m3h": ("airflow_m3s", 1 / 3600),
    "ls": ("airflow_m3s", 1e-3),
    "m": ("x_m", 1.0), "mm": ("x_m", 1e-3), "cm": ("x_m", 1e-2), "ft": ("x_m", 0.3048),
}
_FACINGS = {"n": "N", "north": "N", "e": "E", "east": "E", "s": "S", "south": "S", "w": "W", "west": "W"}


def _key(text: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text or "").lower())


def _split_unit(header: str) -> tuple[str, Optional[str]]:
    """``"Power (kW)"`` -> ("power", "kw"); a bare unit as the whole header is its own unit."""
    m = re.match(r"^(.*?)[\s_]*[\(\[]\s*([^\)\]]+)\s*[\)\]]\s*$", header)
    if m:
        return _key(m.group(1)), _key(m.group(2))
    k = _key(header)
    for unit in ("btuh", "btuhr", "cfm", "kw", "m3s", "m3h"):
        if k.endswith(unit) and k != unit:
            return k[: -len(unit)], unit
    return k, k if k in UNITS and UNITS[k][0] == "it_kw" or k in ("cfm",) else None


def read_rows(path: str | os.PathLike, sheet: Optional[str] = None) -> tuple[list[str], list[list[Any]]]:
    """Header and data rows of a CSV or XLSX file (empty lines left out)."""
    p = Path(path)
    if not p.is_file():
        raise SourceError(f"{p}: not found (a .csv or .xlsx rack list)")
    if p.stat().st_size > MAX_JSON_BYTES:
        raise SourceError(f"{p}: is {p.stat().st_size / 1e6:.0f} MB; a rack list is at most "
                          f"{MAX_JSON_BYTES / 1e6:.0f} MB")
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        import openpyxl

        try:
            wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
            raise SourceError(f"{p}: cannot read as an Excel workbook: {exc}") from None
        try:
            if sheet is not None and sheet not in wb.sheetnames:
                raise SourceError(f"{p}: no sheet {sheet!r} (sheets: {', '.join(wb.sheetnames)})")
            ws = wb[sheet] if sheet else wb.worksheets[0]
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
    else:
        try:
            text = p.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SourceError(f"{p}: not UTF-8 text (byte {exc.start}); save the sheet as CSV UTF-8") from None
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        try:
            rows = [list(r) for r in csv.reader(io.StringIO(text), dialect)]
        except csv.Error as exc:  # a field of 100,000 characters, a NUL: no rack list
            raise SourceError(f"{p}: cannot read as CSV: {exc}") from None
    rows = [r for r in rows if any(v not in (None, "") for v in r)]
    if not rows:
        raise SourceError(f"{p}: is empty")
    return [str(h or "").strip() for h in rows[0]], rows[1:]


def match_columns(header: list[str], mapping: Optional[dict[str, Any]], where: str
                  ) -> dict[str, tuple[int, float, Optional[str]]]:
    """layout field -> (column index, factor, unit) for the columns found."""
    found: dict[str, tuple[int, float, Optional[str]]] = {}
    by_key = {_key(h): k for k, h in enumerate(header)}
    for fieldname, spec in (mapping or {}).items():
        if fieldname not in ALIASES:
            raise SourceError(f"{where}: the column mapping names {fieldname!r}, not one of {', '.join(ALIASES)}")
        column, unit = (spec.get("column"), spec.get("unit")) if isinstance(spec, dict) else (spec, None)
        k = by_key.get(_key(column))
        if k is None:
            raise SourceError(f"{where}: the column mapping's {fieldname!r} is column {column!r}, which the "
                              f"sheet does not have (columns: {', '.join(header)})")
        unit = _key(unit) if unit is not None else _split_unit(header[k])[1]
        found[fieldname] = (k, _factor(fieldname, unit, where, header[k]), unit)
    for k, h in enumerate(header):
        base, unit = _split_unit(h)
        for fieldname, names in ALIASES.items():
            if fieldname in found:
                continue
            if base in names or _key(h) in names:
                found[fieldname] = (k, _factor(fieldname, unit, where, h), unit)
                break
    if "name" not in found:
        raise SourceError(f"{where}: no column of rack names (one of: Name, Rack, Rack Name, ...; or name one "
                          f"in a --columns mapping file); columns: {', '.join(header)}")
    return found


def _factor(fieldname: str, unit: Optional[str], where: str, header: str) -> float:
    if unit is None or fieldname in ("name", "row", "position", "facing", "feed_a", "feed_b"):
        return 1.0
    kind = "x_m" if fieldname in ("x_m", "y_m") else fieldname  # lengths share their units
    target, factor = UNITS.get(unit, (None, 1.0))
    if target != kind:
        allowed = ", ".join(u for u, (t, _) in UNITS.items() if t == kind)
        raise SourceError(f"{where}: column {header!r}: unit {unit!r} is not one for {fieldname} ({allowed})")
    return factor


def import_table(path: str | os.PathLike, mapping: Optional[dict[str, Any]] = None, sheet: Optional[str] = None,
                 name: Optional[str] = None) -> tuple[Site, ImportReport]:
    """A rack list as a validated layout and its report. Bad values raise :class:`SourceError` naming
    the line and the column."""
    p = Path(path)
    header, rows = read_rows(p, sheet)
    cols = match_columns(header, mapping, str(p))
    report = ImportReport(source=str(p), source_kind="table", site=name or p.stem)
    if "it_kw" in cols and cols["it_kw"][2] is None:
        report.assume(f"column {header[cols['it_kw'][0]]!r} is in kW (its header gives no unit)", "all racks")
    ids = arrange.Ids()
    racks_placed: list[Rack] = []
    rows_auto: dict[str, list[tuple[Any, int, Rack]]] = defaultdict(list)
    feeds_of: dict[str, tuple[str, ...]] = {}
    no_power: list[str] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        def cell(fieldname: str) -> Any:
            c = cols.get(fieldname)
            if c is None or c[0] >= len(row):
                return None
            v = row[c[0]]
            return None if (v is None or (isinstance(v, str) and not v.strip())) else v

        def number(fieldname: str) -> Optional[float]:
            v = cell(fieldname)
            if v is None:
                return None
            try:
                f = float(str(v).replace(",", ".")) if isinstance(v, str) else float(v)
            except (TypeError, ValueError):
                f = math.nan
            if not math.isfinite(f):
                raise SourceError(f"{p} line {line}, column {header[cols[fieldname][0]]!r}: {v!r} is not a number")
            return f * cols[fieldname][1]

        rname = cell("name")
        if rname is None:
            raise SourceError(f"{p} line {line}: no rack name (column {header[cols['name'][0]]!r})")
        rname = str(rname).strip()
        if "\n" in rname or "\r" in rname:
            raise SourceError(f"{p} line {line}: the rack name {rname[:30]!r}... runs over several lines (a quote "
                              f"opened and never closed?)")
        if rname in seen:
            raise SourceError(f"{p} line {line}: rack {rname!r} is also on line {seen[rname]}")
        seen[rname] = line
        ident = ids.make(rname, line)
        kw = number("it_kw")
        assumed: list[str] = []
        if kw is None:
            kw, assumed = 0.0, ["it_kw"]
            no_power.append(ident)
        if kw < 0 or kw * 1e3 > MAX_RACK_POWER_W:
            raise SourceError(f"{p} line {line} ({rname}): IT power {kw:g} kW is not a rack's (0 to "
                              f"{MAX_RACK_POWER_W / 1e3:g} kW); check the column's unit")
        airflow = number("airflow_m3s")
        rack = Rack(id=ident, it_kw=round(kw, 6), airflow_m3s=airflow, external_id=f"table:rack:{rname}",
                    assumed=tuple(assumed))
        feeds = tuple(str(cell(f)).strip() for f in ("feed_a", "feed_b") if cell(f) is not None)
        if len(set(feeds)) != len(feeds):
            raise SourceError(f"{p} line {line} ({rname}): feed A and feed B are the same ({feeds[0]!r})")
        feeds_of[ident] = feeds
        x, y = number("x_m"), number("y_m")
        facing_raw = cell("facing")
        facing = _FACINGS.get(str(facing_raw).strip().lower()) if facing_raw is not None else None
        if facing_raw is not None and facing is None:
            raise SourceError(f"{p} line {line} ({rname}): facing {facing_raw!r} is not N, E, S or W")
        if (x is None) != (y is None):
            raise SourceError(f"{p} line {line} ({rname}): give both x and y, or neither")
        if x is not None:
            racks_placed.append(dataclasses.replace(rack, x_m=x, y_m=y, facing=facing or "N",
                                                    assumed=rack.assumed + (() if facing else ("facing",))))
            report.placed("table", ident)
        else:
            row_name = str(cell("row")).strip() if cell("row") is not None else ""
            pos = number("position")
            rows_auto[row_name].append((pos if pos is not None else math.inf, line, rack))
            report.placed("auto", ident)
    if not seen:
        where = f"{p}" + (f", sheet {sheet!r}" if sheet else "")
        raise SourceError(f"{where}: no rack rows below the header (a rack list has one rack per row)")
    if no_power:
        report.assume("no IT power in the sheet: 0 kW", *no_power)
    auto_rows = []
    for row_name, items in sorted(rows_auto.items(), key=lambda kv: natural_key(kv[0])):
        items.sort(key=lambda t: (t[0], t[1]))
        auto_rows.append((row_name, [dataclasses.replace(r, row=row_name or None) for _, _, r in items]))
    report.count("racks", len(seen))
    hall = arrange.build_hall(ids.make("HALL-1", 0), f"table:hall:{p.stem}", racks_placed, auto_rows, [], ids,
                              report, label=lambda r: f"{p} rack {r.id!r}", source="the sheet")
    # feeds -> PDUs on the A or B UPS, capacities from their racks' load (assumed)
    load: dict[str, float] = defaultdict(float)
    side: dict[str, str] = {}
    for r in hall.racks:
        for k, f in enumerate(feeds_of.get(r.id, ())):
            load[f] += r.it_kw
            side.setdefault(f, "AB"[k])
    pdu_ids = {f: ids.make(f, f) for f in load}
    nodes = [PowerNode(id=pdu_ids[f], kind="pdu", inputs=(f"UPS-{side[f]}",), capacity_kw=demos.pdu_kw(max(load[f], 1.0)),
                       external_id=f"table:feed:{f}", assumed=("capacity_kw",)) for f in sorted(load, key=natural_key)]
    if nodes:
        report.assume("feed (PDU) capacity: its racks' load at 80 % loading", *[n.id for n in nodes])
    hall = dataclasses.replace(hall, racks=[dataclasses.replace(r, feeds=tuple(pdu_ids[f] for f in feeds_of.get(r.id, ())))
                                            for r in hall.racks])
    it_kw = sum(r.it_kw for r in hall.racks)
    fan_kw = sum(u.fan_power_kw or 0.0 for u in hall.cooling_units)
    skeleton = arrange.supply_skeleton(it_kw, float(math.ceil(fan_kw * 1.25 + 10)), sorted(set(side.values())))
    report.assume("utility, generator, ATS, mechanical switchboard and UPS above the feeds: sized for the "
                  "load, UPS 2N with 10 min of battery", *[n.id for n in skeleton])
    site = Site(name=name or p.stem, halls=[hall], power_nodes=skeleton + nodes,
                description=f"Imported from the rack list {p.name}")
    report.counts.update({"halls": 1, "power_feeds": len(nodes), "cooling_units": len(hall.cooling_units),
                          "tiles": len(hall.tiles), "it_kw": round(it_kw, 3)})
    issues = validate(site)
    if issues:
        raise LayoutError(issues, f"{p} (imported rack list)")
    return site, report


def read_mapping(path: str | os.PathLike) -> dict[str, Any]:
    """A column mapping file: ``{"name": "Asset tag", "it_kw": {"column": "Load", "unit": "W"}, ...}``."""
    p = Path(path)
    # a missing file, a folder, a device (/dev/zero never ends), 200 MB, malformed or nested 100,000 deep:
    # a LayoutError naming the file, as for layouts
    raw = read_json_bytes(p, "column mapping")
    data = parse_json_strict(decode_text_file(raw, str(p), "column mapping"), str(p), "column mapping")
    if not isinstance(data, dict) or not all(isinstance(v, (str, dict)) for v in data.values()):
        raise SourceError(f"{p}: a column mapping is a JSON object of field -> column name "
                          f"(or {{\"column\", \"unit\"}})")
    return data
