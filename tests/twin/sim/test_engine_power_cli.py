"""`dctwin solve --json` and `dctwin simulate --json`: the power and PUE keys of issue 4, with values
checked by hand against the small demo's power graph (engine underneath, 0.6 m air grid)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dctwin.app.main import main
from dctwin.twin.model import demos
from dctwin.twin.model.layoutfile import save_layout

PEUKERT_K = 1.15


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_solve_json_power_nodes_headroom_and_pue(tmp_path, capsys):
    path = tmp_path / "small.json"
    save_layout(demos.load_demo("small"), path)
    assert main(["solve", str(path), "--grid", "0.6", "--json"]) == 0
    s = _json(capsys)
    it = s["it_power_w"]
    assert it == pytest.approx(sum(r["power_w"] for r in s["racks"].values()), rel=1e-12)
    nodes = s["power_nodes"]
    for n in nodes.values():
        assert set(n) == {"load_w", "capacity_w", "headroom_w", "headroom_n1_w"}
        assert n["headroom_w"] == pytest.approx(n["capacity_w"] - n["load_w"], abs=1e-6)
    # 2N PDUs (150 kW): each carries half the racks; losing its partner it carries them all
    a, b = nodes["PDU-A"], nodes["PDU-B"]
    assert a["load_w"] == pytest.approx(it / 2, rel=1e-9)                    # ≈ 65.3 kW
    assert a["headroom_n1_w"] == pytest.approx(150e3 - it, rel=1e-9)         # ≈ 19.5 kW
    assert b["headroom_n1_w"] == pytest.approx(a["headroom_n1_w"], rel=1e-12)
    # UPS (160 kW) feeds its PDU (2 % loss): out = 1.02 IT/2; N-1 = 160 kW − 1.02 IT ≈ 26.9 kW
    assert nodes["UPS-1A"]["load_w"] == pytest.approx(1.02 * it / 2, rel=1e-9)
    assert nodes["UPS-1A"]["headroom_n1_w"] == pytest.approx(160e3 - 1.02 * it, rel=1e-9)
    # the generator idles; N-1 (utility lost) it carries what the utility carries now, without the
    # UPS loss change: below 300 kW − utility load
    assert nodes["GEN-1"]["load_w"] == 0.0
    assert nodes["GEN-1"]["headroom_n1_w"] == pytest.approx(300e3 - nodes["UTIL"]["load_w"], rel=1e-9)
    # everything the site draws comes through the utility: PUE = utility load / IT (≈ 179.0 / 130.5 = 1.371)
    assert s["pue"] == pytest.approx(nodes["UTIL"]["load_w"] / it, rel=1e-9)
    assert 1.1 < s["pue"] < 1.6


def test_simulate_json_pue_energy_racks_down_events_and_min_soc(tmp_path, capsys):
    # Small demo with 2 kWh batteries and the CRAHs on the UPS side (PDU-A + PDU-B); the generator
    # fails to start after a utility loss at 1 s, so the racks go down when the batteries are empty.
    site = demos.load_demo("small")
    hall = site.halls[0]
    hall.cooling_units = [dataclasses.replace(u, feeds=("PDU-A", "PDU-B")) for u in hall.cooling_units]
    site.power_nodes = [dataclasses.replace(n, battery_kwh=2.0) if n.kind == "ups" else n for n in site.power_nodes]
    layout = tmp_path / "short-battery.json"
    save_layout(site, layout)
    incident = tmp_path / "outage.json"
    incident.write_text(json.dumps({
        "format": "dctwin-incident", "version": 1, "name": "outage", "description": "",
        "events": [{"t_s": 0, "kind": "generator_fail_to_start", "target": "GEN-1"},
                   {"t_s": 1, "kind": "utility_loss", "target": "UTIL"}]}))
    assert main(["solve", str(layout), "--grid", "0.6", "--json"]) == 0
    steady = _json(capsys)
    it_w = steady["it_power_w"]
    # each UPS carries 1.02 (IT + 13 kW of CRAH fans)/2 ≈ 73.2 kW, x ≈ 0.4575, loss ≈ 3.57 kW
    p_out = 1.02 * (it_w + 13e3) / 2
    x = p_out / 160e3
    pb = p_out + 160e3 * (0.0131 + 0.0132 * x + 0.0153 * x * x)
    t_run = (2.0 * 3.6e6 / 160e3) * (160e3 / pb) ** PEUKERT_K      # ≈ 104.7 s (Peukert)

    assert main(["simulate", str(layout), "--grid", "0.6", "--duration", "150", "--incident", str(incident),
                 "--json", "--no-progress"]) == 0
    s = _json(capsys)
    assert set(s["racks_down"]) == set(steady["racks"])
    assert all(1 + t_run <= t <= 1 + 1.05 * t_run for t in s["racks_down"].values())
    assert s["ups_min_soc"] == 0.0
    ev = s["events"]
    assert ev["utility_loss"] == 1 and ev["generator_fail_to_start"] == 1 and ev["ups_battery_exhausted"] == 2
    assert ev["rack_down"] == 20 and ev.get("generator_on_load", 0) == 0
    # IT energy: the racks draw their steady power (the hall stays cooled) until they go down at ≈ 107 s,
    # then nothing: ≈ 130.5 kW * 106 s / 3.6e6 ≈ 3.84 kWh
    t_down = min(s["racks_down"].values())
    assert s["it_energy_kwh"] == pytest.approx(it_w * (t_down - 1) / 3.6e6, rel=0.01)
    assert s["pue_avg"] == pytest.approx(s["facility_energy_kwh"] / s["it_energy_kwh"], rel=1e-9)
    # facility energy adds the UPS and PDU losses and the CRAH fans to the IT energy
    assert s["facility_energy_kwh"] > s["it_energy_kwh"] > 0
    assert 1.0 < s["pue_avg"] < 1.6
