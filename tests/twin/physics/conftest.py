"""Fixtures of the air-physics tests (layouts live in air_cases.py)."""

from __future__ import annotations

import pytest

from air_cases import load_case_b1


@pytest.fixture(scope="session")
def case_b1() -> dict:
    """The CFD reference room B1 (shared validation data)."""
    return load_case_b1()
