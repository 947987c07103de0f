"""Fixtures for the project-file tests: a small real layout and a fresh project file in tmp_path."""

from __future__ import annotations

import pytest

from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.store import Project


@pytest.fixture
def site():
    return synthetic_site(6)


@pytest.fixture
def project(tmp_path):
    p = Project.create(tmp_path / "run.dctwin")
    yield p
    p.close()
