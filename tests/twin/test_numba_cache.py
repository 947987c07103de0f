"""numba caches compiled kernels in the user's cache folder (or NUMBA_CACHE_DIR), not beside the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import json, sys
{before}
from dctwin.twin.physics import _it_numba
import numba.core.config
print(json.dumps({{"config": numba.core.config.CACHE_DIR,
                  "kernel": _it_numba.power_airflow_kernel._cache._cache_path}}))
"""


def _probe(tmp_path: Path, env_extra: dict, before: str = "") -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")  # platformdirs' user cache folder on Linux
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", PROBE.format(before=before)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG_CACHE_HOME is the Linux cache folder")
@pytest.mark.parametrize("before", ["", "import numba"], ids=["fresh", "numba-imported-first"])
def test_kernels_cache_in_the_user_cache_folder(tmp_path, before):
    got = _probe(tmp_path, {}, before)
    want = tmp_path / "xdg" / "dctwin" / "numba"
    assert Path(got["config"]) == want
    assert Path(got["kernel"]).is_relative_to(want)


def test_numba_cache_dir_set_by_the_user_is_kept(tmp_path):
    mine = tmp_path / "mine"
    got = _probe(tmp_path, {"NUMBA_CACHE_DIR": str(mine)})
    assert Path(got["config"]) == mine
    assert Path(got["kernel"]).is_relative_to(mine)
