"""``compact`` and ``sweep --out`` meet tampered and damaged projects (forged checksums, lying content).

Both read a project that another command (export, replay) would refuse: ``compact`` must not carry
the damage into its new file (which would vouch for it), ``sweep`` must not spend minutes and then write
into it. Each is refused at once, exit 2, with a message naming the file and the damage, nothing
changed and nothing left behind (the promise of tests/app/test_cli_attack.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dctwin.twin.store import sweep_job
from tests.app.attack_files import build
from tests.app.test_cli_attack import DAMAGED_DATA, attack, run_cli

#: the variants whose damage sits in a recording: the message names it
_IN_RECORDING = {"dt_negative.dctwin", "dt_text.dctwin", "kf_bytes.dctwin", "plain_kf_bytes.dctwin",
                 "kf_huge.dctwin", "kf_negative.dctwin", "kf_text_shape.dctwin", "kf_unicode.dctwin",
                 "kf_swapped.dctwin", "kf_short.dctwin", "kf_dtype.dctwin"}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    return build(tmp_path_factory.mktemp("tampered"))


def _says(name: str, says: str) -> tuple[str, ...]:
    return (name, says, "recording 1") if name in _IN_RECORDING else (name, says)


@pytest.mark.parametrize("name,says", DAMAGED_DATA, ids=[a[0] for a in DAMAGED_DATA])
def test_compact_refuses_damaged_content(files, name, says):
    """Nothing damaged is rewritten: exit 2 naming file, recording and damage; no new file, not even a part."""
    out = files["dir"] / "compacted.dctwin"
    attack(files, ["compact", files[name], "--out", out], 2, *_says(name, says))
    assert not out.exists()


def test_compact_of_an_intact_project_still_works(files, tmp_path):
    out = tmp_path / "c.dctwin"
    code, _, err = run_cli(["compact", files["run.dctwin"], "--out", out])
    assert code == 0 and out.is_file(), err
    code, _, err = run_cli(["compact", files["review.dctwin"], "--out", tmp_path / "r.dctwin"])
    assert code == 0, err


@pytest.fixture
def no_sweep(monkeypatch):
    """A sweep that gets as far as planning fails the test at once (instead of running for minutes)."""
    def started(self, *a, **k):
        raise AssertionError("the sweep started on a damaged --out project")
    monkeypatch.setattr(sweep_job.SweepJob, "plan", started)
    monkeypatch.setattr(sweep_job.SweepJob, "run", started)


FAST = ["--grid", "0.6", "--duration", "480", "--elements", "CRAH-1", "--no-progress"]


@pytest.mark.parametrize("name,says", DAMAGED_DATA, ids=[a[0] for a in DAMAGED_DATA])
def test_sweep_refuses_damaged_out_project_before_any_work(files, no_sweep, name, says):
    attack(files, ["sweep", files["tiny.json"], *FAST, "--out", files[name]], 2, *_says(name, says))


def test_sweep_out_intact_project_passes_the_check(files):
    assert sweep_job.check_out(files["run.dctwin"], (files["tiny.json"],)) == files["run.dctwin"]


@pytest.mark.parametrize("name,says", DAMAGED_DATA, ids=[a[0] for a in DAMAGED_DATA])
def test_simulate_refuses_to_record_into_a_damaged_project_before_the_run(files, name, says):
    attack(files, ["simulate", files["tiny.json"], "--grid", "0.6", "--duration", "10", "--out", files[name]], 2,
           *_says(name, says))
