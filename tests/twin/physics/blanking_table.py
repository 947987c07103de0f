"""Print the worked example of docs/validation.md, "Blanking panels": a 10 kW rack at 22 °C room air with
0 to 42 open rack units (``python3 tests/twin/physics/blanking_table.py``)."""

from __future__ import annotations

import time

from dctwin.twin.model.layout import U_OPENING_M2, Rack
from dctwin.twin.physics.it import RackArrays, rack_steady

ROOM_C = 22.0


def main() -> None:
    print("| open U | open area (m²) | recirculated | server airflow (m³/s) | room airflow (m³/s) | power (kW) "
          "| intake (°C) | intake rise (K) | exhaust (°C) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for ou in (0, 1, 2, 4, 8, 16, 42):
        s = rack_steady(RackArrays.from_racks([Rack("R", it_kw=10.0, open_u=float(ou))]), 1.0, ROOM_C)
        print(f"| {ou} | {ou * U_OPENING_M2:.3f} | {100 * float(s.recirc[0]):.1f} % | {s.server_airflow_m3s[0]:.3f} "
              f"| {s.airflow_m3s[0]:.3f} | {s.power_w[0] / 1e3:.2f} | {s.inlet_c[0]:.2f} | {s.inlet_c[0] - ROOM_C:.2f} "
              f"| {s.exhaust_c[0]:.2f} |")
    for label, gaps in (("all with gaps", True), ("fully blanked", False)):
        ra = RackArrays.from_racks([Rack(f"R{i}", it_kw=10.0, open_u=float(i % 43) if gaps else 0.0)
                                    for i in range(1000)])
        rack_steady(ra, 1.0, ROOM_C)
        t = time.process_time()
        rack_steady(ra, 1.0, ROOM_C)
        print(f"1,000 racks {label}: one steady evaluation {(time.process_time() - t) * 1e3:.1f} ms CPU")


if __name__ == "__main__":
    main()
