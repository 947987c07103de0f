"""Capacity reading of a summary: power headroom along the feed paths, intake temperature at a spot."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.twin.sim.results import Headroom
from dctwin.twin.model.demos import load_demo
from dctwin.twin.sim import capacity


@pytest.fixture
def site():
    return load_demo("small")


def nodes(**over):
    """Every node of the small demo with plenty of headroom, except the ones given as (head, head_n1) kW."""
    out = {}
    for n in load_demo("small").power_nodes:
        h, h1 = over.get(n.id.replace("-", "_"), (500.0, 500.0))
        out[n.id] = Headroom(1e3, 1e6, h * 1e3, h1 * 1e3)
    return out


def test_upstream_follows_inputs_to_the_sources(site):
    assert capacity.upstream(site, "PDU-A") == {"PDU-A", "UPS-1A", "ATS-1", "UTIL", "GEN-1"}


def test_power_shares_the_rack_between_feeds_and_checks_the_loss_of_one(site):
    feeds = ("PDU-A", "PDU-B")
    assert capacity.power_problem(site, nodes(), feeds, 10e3) == ""
    # 6 kW free on PDU-A: enough for its 5 kW share now ...
    assert capacity.power_problem(site, nodes(PDU_A=(6.0, 500.0)), feeds, 10e3) == ""
    # ... but not for half of a 14 kW rack
    msg = capacity.power_problem(site, nodes(PDU_A=(6.0, 500.0)), feeds, 14e3)
    assert "PDU-A" in msg and "6.0 kW" in msg and "7.0 kW" in msg
    # after losing PDU-B, UPS-1A's path carries the whole rack
    msg = capacity.power_problem(site, nodes(UPS_1A=(500.0, 8.0)), feeds, 10e3)
    assert "after losing one feed UPS-1A" in msg and "10.0 kW" in msg
    # the ATS lies on both paths: it takes the whole rack in normal operation
    msg = capacity.power_problem(site, nodes(ATS_1=(9.0, 500.0)), feeds, 10e3)
    assert "ATS-1" in msg and "needs 10.0 kW" in msg
    # a single feed has no N-1 to keep
    assert capacity.power_problem(site, nodes(PDU_A=(500.0, 1.0)), ("PDU-A",), 10e3) == ""
    assert capacity.power_problem(site, {}, feeds, 10e3) == ""


def test_nearest_feeds_and_row_headroom(site):
    hall = site.hall
    assert capacity.nearest_feeds(hall, 1.0, 1.0) == ("PDU-A", "PDU-B")
    rows = capacity.row_feeds(hall)
    assert rows == {"A": [("PDU-A", "PDU-B")], "B": [("PDU-A", "PDU-B")]}
    heads = capacity.row_headroom_w(site, rows, nodes(UPS_1B=(500.0, 12.0)))
    assert heads == {"A": pytest.approx(12e3), "B": pytest.approx(12e3)}
    assert capacity.row_headroom_w(site, rows, {}) == {}
    assert capacity.hall_pdus(site, hall) == ["PDU-A", "PDU-B"]


def test_predicted_inlet_reads_the_cells_in_front_of_the_intake():
    # 10 x 10 cells of 0.5 m; temperature = 20 + x index
    field = np.add.outer(np.arange(10.0), np.zeros(10)) + 20.0
    extent = (0.0, 0.0, 5.0, 5.0)
    fp = (1.0, 1.0, 2.0, 2.0)  # cells x 2..3, y 2..3
    assert capacity.predicted_inlet_c(field, extent, fp, "N") == pytest.approx(22.5)  # row y=4, x 2,3
    assert capacity.predicted_inlet_c(field, extent, fp, "E") == pytest.approx(24.0)  # column x=4
    assert capacity.predicted_inlet_c(field, extent, fp, "W") == pytest.approx(21.0)  # column x=1
    field[4, :] = np.nan  # solid in front of the east face
    assert capacity.predicted_inlet_c(field, extent, fp, "E") is None
    assert capacity.predicted_inlet_c(field, extent, (0.0, 0.0, 1.0, 1.0), "S") is None  # against the wall
    hot = np.full((10, 10), 30.0)
    assert "30.0 °C" in capacity.cooling_problem(hot, extent, fp, "N")
    assert capacity.cooling_problem(hot - 3.0, extent, fp, "N") == ""  # 27 °C is at the limit: fine
    assert capacity.cooling_problem(None, extent, fp, "N") == ""
    # an intake flush against a wall gets no air at all, whatever the field says
    cool = np.full((10, 10), 20.0)
    assert "against the wall" in capacity.cooling_problem(cool, extent, (0.0, 4.0, 1.0, 5.0), "N")
    assert "against the wall" in capacity.cooling_problem(cool, extent, (4.0, 0.0, 5.0, 1.0), "E")
    assert capacity.cooling_problem(cool, extent, (0.0, 4.0, 1.0, 5.0), "S") == ""  # its back on the wall: fine


def test_intake_field_averages_open_layers():
    a = np.array([[20.0, np.nan], [np.nan, np.nan]])
    b = np.array([[30.0, 25.0], [np.nan, np.nan]])
    f = capacity.intake_field([(0.25, a), (0.75, b)])
    assert f[0, 0] == 25.0 and f[0, 1] == 25.0 and np.isnan(f[1, 0])
    assert capacity.intake_field([]) is None
