"""The real window on Qt's xcb platform under an X server (Xvfb), not only offscreen: the system
libraries that README and .ci/run install are the ones Qt needs to open it (issue 17 item 12)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
XVFB = shutil.which("Xvfb")


def free_display() -> int:
    """A display number no X server (and no lock) is using."""
    for n in range(91, 200):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number between 91 and 199")


@pytest.fixture
def xvfb():
    n = free_display()
    proc = subprocess.Popen([XVFB, f":{n}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            if proc.poll() is not None:
                pytest.fail(f"Xvfb :{n} did not start: {proc.stderr.read().decode(errors='replace')[-400:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"Xvfb :{n} did not open its socket within 30 s")
            time.sleep(0.1)
        yield f":{n}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.skipif(XVFB is None, reason="Xvfb is not installed (.ci/run installs it with the xcb libraries)")
def test_the_window_opens_on_xcb_and_its_screenshot_is_the_real_window(xvfb, tmp_path):
    from PySide6.QtGui import QImage

    out = tmp_path / "xcb.png"
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(DISPLAY=xvfb, QT_QPA_PLATFORM="xcb", QT_DEBUG_PLUGINS="0")
    run = subprocess.run([sys.executable, "-m", "dctwin.app.main", "gui", str(REPO / "assets/demos/small.json"),
                          "--screenshot", str(out), "--size", "1024x640"],
                         env=env, capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stderr[-3000:]}"
    assert "could not load the Qt platform plugin" not in run.stderr
    img = QImage(str(out))
    assert not img.isNull() and (img.width(), img.height()) == (1024, 640)
    # not blank: the window's many colours (heat map, racks, text), not one fill
    small = img.scaled(256, 160)
    colours = {small.pixel(x, y) for x in range(small.width()) for y in range(small.height())}
    assert len(colours) > 200, len(colours)
