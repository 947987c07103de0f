"""Demo halls and synthetic halls: valid, plausible (capacities above loads, 2N holds), deterministic."""

from __future__ import annotations

import math
from collections import defaultdict
from importlib import resources

import pytest

from dctwin.twin.model.demos import list_demos, load_demo, synthetic_site
from dctwin.twin.errors import InputError
from dctwin.twin.model.layout import Site
from dctwin.twin.model.validate import validate


def loads_kw(site: Site, side: int | None) -> dict[str, float]:
    """Design load on every power node (kW). ``side`` None: dual-corded loads split evenly over
    their feeds; 0 or 1: only that side is alive, so each load sits on its feed A or B (if it has
    one). A node with several inputs (an ATS) draws from its first (normal) input; losses ignored."""
    direct: dict[str, float] = defaultdict(float)

    def put(feeds, kw):
        feeds = list(feeds)
        if not feeds:
            return
        if side is None or len(feeds) == 1:
            for f in feeds:
                direct[f] += kw / len(feeds)
        else:
            direct[feeds[side]] += kw

    for h in site.halls:
        for r in h.racks:
            put(r.feeds, r.it_kw)
        for u in h.cooling_units:
            put(u.feeds, u.fan_power_kw or 0.0)
    for c in site.chillers:
        put(c.feeds, c.capacity_kw / c.cop)
    for p in site.pumps:
        put(p.feeds, p.power_kw)
    nodes = {n.id: n for n in site.power_nodes}
    total: dict[str, float] = defaultdict(float)

    def roll(ident: str, kw: float) -> None:
        total[ident] += kw
        if nodes[ident].inputs:
            roll(nodes[ident].inputs[0], kw)

    for ident, kw in direct.items():
        roll(ident, kw)
    return dict(total)


def check_power(site: Site, sides=(None, 0, 1)) -> None:
    nodes = {n.id: n for n in site.power_nodes}
    for side in sides:
        for ident, kw in loads_kw(site, side).items():
            assert kw <= nodes[ident].capacity_kw, (side, ident, kw, nodes[ident].capacity_kw)
    # on utility loss each generator carries what its ATS carries
    for side in sides:
        load = loads_kw(site, side)
        for n in site.power_nodes:
            if n.kind == "ats":
                gen = nodes[n.inputs[1]]
                assert gen.kind == "generator"
                assert load.get(n.id, 0.0) <= min(gen.capacity_kw, n.capacity_kw), (side, n.id)


def it_kw(site: Site) -> float:
    return sum(r.it_kw for h in site.halls for r in h.racks)


def test_list_demos():
    demos = list_demos()
    assert set(demos) == {"small", "ai-hall"}
    assert all(isinstance(t, str) and t and "\n" not in t for t in demos.values())


def test_demo_files_are_package_resources():
    for name in list_demos():
        assert resources.files("dctwin.assets").joinpath("demos", f"{name}.json").is_file()


def test_unknown_demo_names_the_known_ones():
    with pytest.raises(InputError) as info:
        load_demo("big")
    assert "'big'" in str(info.value) and "small" in str(info.value) and "ai-hall" in str(info.value)


def test_small_demo_layout():
    site = load_demo("small")
    assert validate(site) == []
    h = site.hall
    assert 10 <= h.width_m <= 14 and 8 <= h.depth_m <= 12 and h.height_m == 3.0
    assert h.plenum == "raised_floor" and h.tile_m == 0.6 and h.ceiling_return is False
    ids = [r.id for r in h.racks]
    assert ids == [f"R-A{i:02d}" for i in range(1, 11)] + [f"R-B{i:02d}" for i in range(1, 11)]
    assert all(5.0 <= r.it_kw <= 8.0 and r.liquid_fraction == 0 and r.airflow_m3s is None for r in h.racks)
    row_a = [r for r in h.racks if r.row == "A"]
    row_b = [r for r in h.racks if r.row == "B"]
    # the rows face each other across the cold aisle, which holds the perforated tiles
    assert {r.facing for r in row_a} == {"N"} and {r.facing for r in row_b} == {"S"}
    aisle_lo = max(r.footprint()[3] for r in row_a)
    aisle_hi = min(r.footprint()[1] for r in row_b)
    assert aisle_hi - aisle_lo >= 1.2
    assert len(h.tiles) >= 20
    for t in h.tiles:
        x0, y0, x1, y1 = h.footprint(t)
        assert aisle_lo - 1e-9 <= y0 and y1 <= aisle_hi + 1e-9 and t.open_fraction == 0.25
    # two CRAHs at the hall ends facing in; N+1 capacity, airflow 1.1-1.3x the racks'
    units = h.cooling_units
    assert [u.id for u in units] == ["CRAH-1", "CRAH-2"] and all(u.kind == "crah" for u in units)
    assert {(u.x_m == 0.0, u.facing) for u in units} == {(True, "E"), (False, "W")}
    assert max(u.footprint()[2] for u in units) == pytest.approx(h.width_m)
    assert sum(u.capacity_kw for u in units) - max(u.capacity_kw for u in units) >= it_kw(site)
    ratio = sum(u.airflow_m3s for u in units) / sum(r.design_airflow_m3s for r in h.racks)
    assert 1.1 <= ratio <= 1.3


def test_small_demo_power_is_2n():
    site = load_demo("small")
    nodes = {n.id: n for n in site.power_nodes}
    assert {"UTIL", "GEN-1", "ATS-1", "UPS-1A", "UPS-1B", "PDU-A", "PDU-B"} <= set(nodes)
    assert nodes["GEN-1"].start_delay_s == 10.0
    assert nodes["ATS-1"].inputs == ("UTIL", "GEN-1")
    for ups in ("UPS-1A", "UPS-1B"):
        # about ten minutes of battery at the full IT load
        minutes = nodes[ups].battery_kwh / it_kw(site) * 60
        assert 8 <= minutes <= 15
    assert nodes["PDU-A"].inputs == ("UPS-1A",) and nodes["PDU-B"].inputs == ("UPS-1B",)
    assert all(r.feeds == ("PDU-A", "PDU-B") for r in site.hall.racks)
    # cooling rides the generator, not the UPS
    for u in site.hall.cooling_units:
        assert all(nodes[f].kind == "switchboard" and nodes[f].inputs == ("ATS-1",) for f in u.feeds)
    check_power(site)


def test_ai_hall_layout():
    site = load_demo("ai-hall")
    assert validate(site) == []
    h = site.hall
    assert 180 <= len(h.racks) <= 230
    liquid = [r for r in h.racks if r.liquid_fraction > 0]
    air = [r for r in h.racks if r.liquid_fraction == 0]
    assert len(liquid) >= 8 and all(r.it_kw == 120.0 and 0.8 <= r.liquid_fraction <= 0.9 for r in liquid)
    assert len(air) >= 150 and all(r.it_kw == 10.0 for r in air)
    kinds = defaultdict(list)
    for u in h.cooling_units:
        kinds[u.kind].append(u)
    assert kinds["cdu"] and kinds["inrow"] and kinds["crah"]
    cdus = {u.id: u for u in kinds["cdu"]}
    assert all(r.cdu in cdus for r in liquid)
    liquid_kw = sum(r.it_kw * r.liquid_fraction for r in liquid)
    cdu_kw = [u.capacity_kw for u in cdus.values()]
    assert sum(cdu_kw) - max(cdu_kw) >= liquid_kw  # N+1
    for ident, u in cdus.items():  # each CDU carries the racks assigned to it
        assert sum(r.it_kw * r.liquid_fraction for r in liquid if r.cdu == ident) <= u.capacity_kw
    air_heat = sum(r.it_kw * (1 - r.liquid_fraction) for r in h.racks)
    air_units = kinds["inrow"] + kinds["crah"]
    assert sum(u.capacity_kw for u in air_units) > air_heat
    assert sum(u.airflow_m3s for u in air_units) > sum(r.design_airflow_m3s for r in h.racks)
    assert sum(u.capacity_kw for u in h.cooling_units) > it_kw(site)
    assert any(z.kind == "hot" for z in h.containments)
    # every hot aisle is between the backs of two rows
    for z in h.containments:
        x0, y0, x1, y1 = z.footprint()
        south = [r for r in h.racks if r.facing == "S" and abs(r.footprint()[3] - y0) < 1e-6 and x0 <= r.x_m < x1]
        north = [r for r in h.racks if r.facing == "N" and abs(r.footprint()[1] - y1) < 1e-6 and x0 <= r.x_m < x1]
        assert south and north, z.id


def test_ai_hall_plant_and_power():
    site = load_demo("ai-hall")
    heat = it_kw(site) + sum(u.fan_power_kw or 0 for u in site.hall.cooling_units)
    caps = [c.capacity_kw for c in site.chillers]
    assert len(caps) >= 2 and sum(caps) - max(caps) >= heat  # N+1 chillers
    assert site.pumps and site.plant.storage_tank is not None and site.plant.economizer.enabled
    tank_s = site.plant.storage_tank.volume_m3 * 998 * 4180 * site.plant.storage_tank.usable_dt_k / (heat * 1e3)
    assert 600 <= tank_s <= 3600  # 10 to 60 minutes of ride-through
    kinds = {n.kind for n in site.power_nodes}
    assert {"utility", "generator", "ats", "ups", "switchboard", "pdu", "rpp"} <= kinds
    assert all(len(r.feeds) == 2 for r in site.hall.racks)
    check_power(site)


def test_synthetic_site_is_deterministic_and_valid():
    a = synthetic_site(250, rack_kw=7.0)
    assert a == synthetic_site(250, rack_kw=7.0)
    assert validate(a) == []
    assert len(a.hall.racks) == 250 and len({r.id for r in a.hall.racks}) == 250
    assert a != synthetic_site(251, rack_kw=7.0)


@pytest.mark.parametrize("n,kw", [(1, 8.0), (7, 3.0), (40, 8.0), (401, 12.0), (1000, 8.0), (3000, 20.0)])
def test_synthetic_site_is_sized_to_its_load(n, kw):
    site = synthetic_site(n, rack_kw=kw)
    assert validate(site) == []
    h = site.hall
    assert len(h.racks) == n and it_kw(site) == pytest.approx(n * kw)
    units = h.cooling_units
    caps = [u.capacity_kw for u in units]
    assert sum(caps) - max(caps) >= n * kw
    ratio = sum(u.airflow_m3s for u in units) / sum(r.design_airflow_m3s for r in h.racks)
    assert 1.1 <= ratio <= 1.3
    # every rack faces a cold aisle of tiles
    tiles = {(round(t.x_m, 3), round(t.y_m, 3)) for t in h.tiles}
    for r in h.racks[:: max(1, n // 50)]:
        x0, y0, x1, y1 = r.footprint()
        y_front = y1 if r.facing == "N" else y0 - 0.6
        assert (round(x0, 3), round(y_front, 3)) in tiles, r.id
    check_power(site)


def test_synthetic_hall_grows():
    sizes = [synthetic_site(n).hall for n in (10, 100, 1000)]
    areas = [h.width_m * h.depth_m for h in sizes]
    assert areas[0] < areas[1] < areas[2]


@pytest.mark.parametrize("n,kw", [(0, 8.0), (-3, 8.0), (20001, 8.0), (2.5, 8.0), (10, 0.0), (10, -1.0),
                                  (10, math.nan), (10, 500.0)])
def test_synthetic_site_refuses_bad_arguments(n, kw):
    with pytest.raises(InputError):
        synthetic_site(n, rack_kw=kw)
