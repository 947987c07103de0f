"""Speed of the NetBox import: a synthetic dump of N racks and M devices, read, mapped, validated and
written as a layout.

Run: ``python -m dctwin.twin.bench.importer [--racks 5000] [--devices 100000] [--json]``. The dump is
made first (not timed) in NetBox 3.6's shapes: one hall location, row locations of 20 racks, two
power panels with a primary and a redundant feed per rack, devices spread over the racks with one
power port each (allocated_draw on most, maximum_draw on some, nothing on every tenth, which then
falls back to its device type's 200 W per U).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any


def synthetic_dump(n_racks: int = 5000, n_devices: int = 100_000, per_row: int = 20) -> list[dict[str, Any]]:
    """A NetBox 3.6 ``dumpdata`` list of one site with ``n_racks`` racks and ``n_devices`` devices."""
    out: list[dict[str, Any]] = []

    def add(label: str, pk: int, **fields: Any) -> None:
        fields.setdefault("custom_field_data", {})
        out.append({"model": label, "pk": pk, "fields": fields})

    add("dcim.site", 1, name="Bench", slug="bench", status="active")
    add("dcim.location", 1, name="Hall 1", slug="hall-1", site=1, parent=None, status="active")
    n_rows = -(-n_racks // per_row)
    for r in range(n_rows):
        add("dcim.location", 100 + r, name=f"Row {r + 1:03d}", slug=f"row-{r + 1:03d}", site=1, parent=1,
            status="active")
    add("dcim.devicetype", 1, model="1U server", slug="srv-1u", u_height="1.0", manufacturer=1)
    add("dcim.devicetype", 2, model="2U server", slug="srv-2u", u_height="2.0", manufacturer=1)
    add("dcim.powerpanel", 1, site=1, location=1, name="PP-A")
    add("dcim.powerpanel", 2, site=1, location=1, name="PP-B")
    for k in range(n_racks):
        pk = 1000 + k
        add("dcim.rack", pk, name=f"R{k // per_row + 1:03d}-{k % per_row + 1:02d}", site=1,
            location=100 + k // per_row, status="active", type="4-post-cabinet", width=19, u_height=48,
            outer_width=600, outer_depth=1200, outer_unit="mm")
        for t in range(2):
            add("dcim.powerfeed", 2 * k + t + 1, power_panel=1 + t, rack=pk, name=f"{'AB'[t]}-{k}",
                status="active", type="primary" if t == 0 else "redundant", supply="ac", phase="three-phase",
                voltage=400, amperage=32, max_utilization=80)
    for d in range(n_devices):
        pk = 10_000_000 + d
        add("dcim.device", pk, device_type=1 + (d % 7 == 0), name=f"dev-{d}", site=1, rack=1000 + d % n_racks,
            position=f"{1 + (d // n_racks) % 40:.1f}", face="front", status="active")
        if d % 10:
            draw = {"allocated_draw": 180 + d % 50} if d % 10 > 2 else {"maximum_draw": 300}
            add("dcim.powerport", pk, device=pk, name="PSU1", type="iec-60320-c14",
                **{"allocated_draw": None, "maximum_draw": None, **draw})
    return out


def run(n_racks: int = 5000, n_devices: int = 100_000) -> dict[str, Any]:
    """Seconds to read the dump, map it, validate and write the layout (medians of one run each)."""
    from dctwin.twin.io.netbox import import_netbox
    from dctwin.twin.io.netbox_source import read_fixture
    from dctwin.twin.model.layoutfile import save_layout

    dump = synthetic_dump(n_racks, n_devices)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "dump.json")
        with open(src, "w") as fh:
            json.dump(dump, fh)
        size = os.path.getsize(src)
        del dump
        t0 = time.perf_counter()
        data = read_fixture(src)
        t1 = time.perf_counter()
        site, report = import_netbox(data)
        t2 = time.perf_counter()
        save_layout(site, os.path.join(tmp, "layout.json"))
        t3 = time.perf_counter()
    return {"racks": n_racks, "devices": n_devices, "dump_mb": round(size / 1e6, 1),
            "read_s": round(t1 - t0, 3), "map_and_validate_s": round(t2 - t1, 3), "write_s": round(t3 - t2, 3),
            "total_s": round(t3 - t0, 3), "it_kw": report.counts.get("it_kw"),
            "cooling_units": report.counts.get("cooling_units")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dctwin.twin.bench.importer", description=__doc__.split("\n\n")[0])
    p.add_argument("--racks", type=int, default=5000)
    p.add_argument("--devices", type=int, default=100_000)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    result = run(args.racks, args.devices)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"NetBox import of {result['racks']} racks, {result['devices']} devices "
              f"({result['dump_mb']} MB dump): read {result['read_s']:.2f} s, map + validate "
              f"{result['map_and_validate_s']:.2f} s, write {result['write_s']:.2f} s, total {result['total_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
