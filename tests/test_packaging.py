"""The distribution installs one import package, dctwin, and the code imports itself only through it.

The repository keeps its folders (twin/, widgets/, app/, assets/) at the top; setuptools maps them
under ``dctwin`` (``package-dir``). A module that imported ``twin.x`` instead of ``dctwin.twin.x``
would work from the repository's root (the working directory is on ``sys.path``) and break once
installed, or load a second copy of its modules beside the first: these tests catch both.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = ("twin", "widgets", "app", "assets")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _python_files() -> list[Path]:
    files = [p for top in TOP + ("tests",) for p in (ROOT / top).rglob("*.py")]
    return [p for p in files if "__pycache__" not in p.parts]


def test_every_package_folder_is_listed():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    found = {"dctwin." + ".".join(p.parent.relative_to(ROOT).parts)
             for top in TOP for p in (ROOT / top).rglob("__init__.py") if "__pycache__" not in p.parts}
    assert found - listed == set(), "packages missing from pyproject.toml [tool.setuptools] packages"
    assert listed - found == set(), "pyproject.toml lists packages that have no folder"


def test_no_module_imports_the_folders_by_their_bare_names():
    bad = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in TOP:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert bad == []


def test_console_script_points_into_dctwin():
    assert _pyproject()["project"]["scripts"]["dctwin"] == "dctwin.app.main:main"


@pytest.mark.slow
def test_wheel_holds_only_dctwin(tmp_path):
    """A non-editable build: every module under dctwin/, the demo halls and incidents inside it."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                           "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    wheel = next(tmp_path.glob("dctwin-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"dctwin"}
    for must in ("dctwin/twin/sim/engine.py", "dctwin/app/main.py", "dctwin/widgets/floor_plan.py",
                 "dctwin/assets/demos/small.json", "dctwin/assets/demos/ai-hall.json",
                 "dctwin/assets/incidents/crah-failure.json"):
        assert must in names, must
    assert not any(n.startswith("dctwin/tests/") for n in names)
