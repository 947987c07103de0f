"""Autosave and crash recovery (headless part)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dctwin.twin.errors import ProjectFileError
from dctwin.twin.model.layoutfile import dumps_layout
from dctwin.twin.store.autosave import discard_autosave, find_autosaves, load_autosave, write_autosave


def test_own_autosave_round_trips_and_is_not_offered(tmp_path, site):
    path = write_autosave(site, "plan.dctwin", folder=tmp_path)
    assert find_autosaves(tmp_path) == []  # this process is running: nothing to recover
    infos = find_autosaves(tmp_path, include_running=True)
    assert [(i.path, i.document, i.running) for i in infos] == [(path, "plan.dctwin", True)]
    assert dumps_layout(load_autosave(path)) == dumps_layout(site)
    discard_autosave(folder=tmp_path)
    assert not path.exists()


def test_autosave_of_a_dead_process_is_offered(tmp_path, site):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # its pid now belongs to no running process
    own = write_autosave(site, None, folder=tmp_path)
    data = json.loads(own.read_text())
    data["pid"] = child.pid
    left = tmp_path / f"autosave-{child.pid}.json"
    left.write_text(json.dumps(data))
    own.unlink()
    infos = find_autosaves(tmp_path)
    assert [(i.path, i.document, i.pid, i.running) for i in infos] == [(left, None, child.pid, False)]
    assert dumps_layout(load_autosave(infos[0].path)) == dumps_layout(site)


def test_broken_autosaves_are_skipped_not_deleted(tmp_path, site):
    bad = tmp_path / "autosave-1.json"
    bad.write_text("{not json")
    other = tmp_path / "autosave-2.json"
    other.write_text(json.dumps({"format": "something-else"}))
    assert find_autosaves(tmp_path) == []
    assert bad.exists() and other.exists()
    with pytest.raises(ProjectFileError, match="unreadable autosave"):
        load_autosave(bad)
    with pytest.raises(ProjectFileError, match="not a dctwin autosave"):
        load_autosave(other)
