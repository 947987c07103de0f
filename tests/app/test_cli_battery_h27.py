"""Findings of the h27 battery re-run against the merged code (layout-file commands, their arguments, and the
damaged-project commands): each must exit 2 naming the path, leave every input byte for byte as it was, and
leave nothing new.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.test_cli_hostile_h27 import refused, run_cli, site  # noqa: F401  (site: the fixture)


def _propose(d: Path, out: Path) -> list:
    return ["telemetry", "propose-map", d / "layout.json", "--data", d / "data.csv", "--out", out]


def test_propose_map_of_the_good_files_works(site):  # noqa: F811
    code, out, err = run_cli(_propose(site, site / "map.csv"))
    assert code == 0, err
    assert (site / "map.csv").read_text().startswith("point,element,quantity,unit")


@pytest.mark.parametrize("target, says", [("data.csv", "--data"), ("layout.json", "layout")])
def test_propose_map_over_its_own_input_is_refused(site, target, says):  # noqa: F811
    """--out measurements.csv (or the layout) replaced the input with the proposed map (exit 0)."""
    refused(site, _propose(site, site / target), "--out", target, says, "never overwritten")


def test_propose_map_over_a_project_file_is_refused(site):  # noqa: F811
    """--out site.dctwin replaced a project file (its recordings and telemetry) with a point map (exit 0)."""
    from dctwin.twin.model.demos import load_demo
    from dctwin.twin.store import Project

    with Project.create(site / "site.dctwin") as p:
        p.save_layout(load_demo("small"))
    refused(site, _propose(site, site / "site.dctwin"), "site.dctwin", "is a project file")


def test_a_refused_output_names_an_incident_with_the_right_article(tmp_path):
    """'a incident is not written over it'."""
    from dctwin.twin.store import Project

    with Project.create(tmp_path / "p.dctwin"):
        pass
    err = refused(tmp_path, ["incidents", "crah-failure", "--out", tmp_path / "p.dctwin"], "p.dctwin")
    assert "an incident is not written over it" in err, err
