"""Validation against hostile layouts: bounded overlap reports, ids and names that are safe to print."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import dctwin.twin.model.validate as v
from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.model.validate import overlapping_pairs, validate


def _brute(a: np.ndarray, b: np.ndarray | None) -> list[tuple[int, int]]:
    same = b is None
    b = a if same else b
    out = []
    for i in range(len(a)):
        for j in range(i + 1 if same else 0, len(b)):
            if (min(a[i, 2], b[j, 2]) - max(a[i, 0], b[j, 0]) > v._EPS
                    and min(a[i, 3], b[j, 3]) - max(a[i, 1], b[j, 1]) > v._EPS):
                out.append((i, j))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("same", [True, False])
def test_limited_search_gives_the_first_pairs_of_the_full_search(monkeypatch, seed, same):
    rng = np.random.default_rng(seed)

    def rects(n):
        xy = rng.random((n, 2)) * 3.0
        wh = 0.2 + rng.random((n, 2))
        return np.hstack([xy, xy + wh])

    a = rects(60)
    b = None if same else rects(40)
    full = _brute(a, b)
    assert overlapping_pairs(a, b) == full
    monkeypatch.setattr(v, "_CANDIDATE_BUDGET", 50)  # force the chunked search
    for limit in (1, 7, len(full), len(full) + 5):
        assert overlapping_pairs(a, b, limit=limit) == full[:limit]


def test_stacked_racks_are_reported_up_to_the_limit():
    site = synthetic_site(2)
    hall = site.halls[0]
    r0 = hall.racks[0]
    pile = [dataclasses.replace(r0, id=f"P{k}", feeds=r0.feeds) for k in range(3000)]
    site.halls[0] = dataclasses.replace(hall, racks=list(hall.racks) + pile)
    issues = validate(site)
    overlaps = [i for i in issues if "footprint overlaps" in i.message]
    assert len(overlaps) == v.MAX_OVERLAP_ISSUES
    assert any(i.message.startswith("more footprints overlap than the 200 listed") for i in issues)


@pytest.mark.parametrize("ident", ["R-\x00", "R-\x1b[2J", "R-\u202e01", "R-\ud800"])
def test_ids_with_control_or_invisible_characters_are_refused(ident):
    site = synthetic_site(2)
    hall = site.halls[0]
    site.halls[0] = dataclasses.replace(hall, racks=[dataclasses.replace(hall.racks[0], id=ident)] + hall.racks[1:])
    issues = [i for i in validate(site) if i.field == "id"]
    assert issues and "control or invisible" in issues[0].message
    assert issues[0].element.isprintable()  # the element label is escaped


def test_site_name_must_be_short_and_printable():
    site = synthetic_site(2)
    site.name = "x" * 201
    assert any(i.field == "name" and "at most 200" in i.message for i in validate(site))
    site.name = "hall\u202e"
    assert any(i.field == "name" and "control or invisible" in i.message for i in validate(site))
    site.name = "Hall A"
    site.description = "line one\nline two\twith a tab"
    assert validate(site) == []


@pytest.mark.parametrize("airflow,ok", [(1e-9, False), (0.05, False), (0.2, True), (None, True)])
def test_rack_airflow_must_carry_its_heat(airflow, ok):
    """60 kW through 1e-9 m3/s is an air rise of 5e10 K: the steady solve never ended. Refused above 75 K."""
    site = synthetic_site(2)
    hall = site.halls[0]
    rack = dataclasses.replace(hall.racks[0], it_kw=16.0, airflow_m3s=airflow)
    site.halls[0] = dataclasses.replace(hall, racks=[rack] + hall.racks[1:])
    issues = [i for i in validate(site) if i.field == "airflow_m3s"]
    assert (issues == []) == ok
    if not ok:
        assert issues[0].element == rack.id and "K across the rack" in issues[0].message


@pytest.mark.parametrize("fraction,ok", [(0.001, False), (0.049, False), (0.05, True), (0.25, True), (1.0, True)])
def test_tile_open_fraction_has_a_physical_floor(fraction, ok):
    """A 0.1 %-open tile made the steady solve run past 200 s; tiles are refused below 5 % open."""
    site = synthetic_site(2)
    hall = site.halls[0]
    assert hall.tiles, "the synthetic hall has perforated tiles"
    tile = dataclasses.replace(hall.tiles[0], open_fraction=fraction)
    site.halls[0] = dataclasses.replace(hall, tiles=[tile] + hall.tiles[1:])
    issues = [i for i in validate(site) if i.field == "open_fraction"]
    assert (issues == []) == ok
    if not ok:
        assert issues[0].element == tile.id and "out of range" in issues[0].message


@pytest.mark.parametrize("airflow,ok", [(1e-9, False), (0.049, False), (0.05, True), (0.0, False)])
def test_cooling_unit_airflow_has_a_floor(airflow, ok):
    """A CRAH moving 1e-9 m3/s kept the steady solve running for minutes: refused below 0.05 m3/s
    (0 stays refused for a unit with capacity: it moves no air at all)."""
    site = synthetic_site(2)
    hall = site.halls[0]
    unit = dataclasses.replace(hall.cooling_units[0], airflow_m3s=airflow)
    site.halls[0] = dataclasses.replace(hall, cooling_units=[unit] + hall.cooling_units[1:])
    issues = [i for i in validate(site) if i.field == "airflow_m3s"]
    assert (issues == []) == ok
    if not ok:
        assert issues[0].element == unit.id
