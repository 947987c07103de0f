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


def _synth(d: Path, *extra) -> list:
    return ["telemetry", "synth", d / "layout.json", "--hours", "0.5", "--grid", "0.6", *extra]


@pytest.mark.parametrize("flag, value, says", [
    ("--seed", "-1", "--seed"),  # numpy's ValueError: an internal error (exit 1), with the folder left
    ("--start", "yesterday", "--start"),  # refused, but the new --out folder was left behind
    ("--start", "2024-05-14T00:00:00", "no zone offset"),
])
def test_synth_bad_argument_is_refused_before_any_folder_is_made(site, flag, value, says):  # noqa: F811
    refused(site, _synth(site, "--out", site / "so", flag, value), says)
    assert not (site / "so").exists()


def test_synth_out_under_a_file_is_refused_before_the_run(site):  # noqa: F811
    """--out racks.csv/so ran the whole hidden truth before finding it cannot make the folder."""
    (site / "racks.csv").write_text("Name\nR1\n")
    refused(site, _synth(site, "--out", site / "racks.csv" / "so"), "racks.csv", "not a folder")


@pytest.mark.parametrize("address", ["notaurl", "foo://x:1", "tcp://127.0.0.1:abc"])
def test_sweep_scheduler_that_is_not_an_address_is_refused(site, address):  # noqa: F811
    """dask's ValueError (no port, unknown scheme) was an internal error (exit 1)."""
    refused(site, ["sweep", site / "layout.json", "--scheduler", address, "--no-progress"], "--scheduler", address,
            "not a dask scheduler address")


@pytest.mark.parametrize("target", ["other.dctwin", "fifo"])
def test_calibrate_out_that_cannot_be_written_is_refused_before_the_fit(site, target):  # noqa: F811
    """--out a project file (or a pipe) was refused only after the fit had added a layout version to the
    calibrated project: the input changed though the command failed."""
    import os

    from dctwin.twin.store import Project

    code, out, err = run_cli(_telemetry_import(site))
    assert code == 0, err
    if target == "fifo":
        os.mkfifo(site / target)
    else:
        with Project.create(site / target):
            pass
    refused(site, ["calibrate", site / "p.dctwin", "--out", site / target, "--grid", "0.6", "--min-window", "5",
                   "--max-evaluations", "2"], target, "not written over")


def _telemetry_import(d: Path) -> list:
    return ["telemetry", "import", d / "layout.json", "--points", d / "points.csv", "--data", d / "data.csv", "--out",
            d / "p.dctwin"]
