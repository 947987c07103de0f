"""The one atomic write: a failure at any point leaves the original file as it was."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import tempfile

import pytest

from dctwin.twin import _files
from dctwin.twin._files import FolderNotWritable, atomic_write, write_atomically


def test_text_and_bytes_land_exactly_and_leave_nothing_else(tmp_path):
    target = tmp_path / "out.json"
    atomic_write(target, "line one\nzwei: \u00fc\r\n")
    assert target.read_bytes() == "line one\nzwei: \u00fc\r\n".encode("utf-8")  # no newline translation
    atomic_write(target, b"\x00\x01bytes")
    assert target.read_bytes() == b"\x00\x01bytes"
    assert os.listdir(tmp_path) == ["out.json"]


def test_a_new_file_gets_the_umask_mode_and_a_replaced_one_keeps_its_mode(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "new.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.txt").st_mode) == 0o640  # not mkstemp's private 0600
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    os.chmod(kept, 0o604)
    atomic_write(kept, "new")
    assert kept.read_text() == "new" and stat.S_IMODE(os.stat(kept).st_mode) == 0o604


def test_a_writer_failing_half_way_leaves_the_original(tmp_path):
    target = tmp_path / "plan.json"
    target.write_text("original")

    def half(tmp: str) -> None:
        with open(tmp, "w") as fh:
            fh.write("half a fi")
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError, match="renderer crashed"):
        write_atomically(target, half)
    assert target.read_text() == "original"
    assert os.listdir(tmp_path) == ["plan.json"]


def test_a_full_disk_at_the_flush_leaves_the_original(tmp_path, monkeypatch):
    target = tmp_path / "plan.json"
    target.write_text("original")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, "new contents")
    assert target.read_text() == "original"
    assert os.listdir(tmp_path) == ["plan.json"]


def test_a_folder_without_room_for_a_temporary_file_is_named(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(FolderNotWritable) as info:
        atomic_write(tmp_path / "x.json", "x")
    assert isinstance(info.value, OSError) and info.value.strerror == "Permission denied"
    assert info.value.filename == str(tmp_path)
    assert not (tmp_path / "x.json").exists()


def test_a_failed_database_goes_with_its_journal(tmp_path):
    import sqlite3

    target = tmp_path / "p.dctwin"

    def build(tmp: str) -> None:
        con = sqlite3.connect(tmp)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE t (x)")
        con.commit()
        raise sqlite3.OperationalError("disk I/O error")  # the connection stays open: -wal and -shm exist

    with pytest.raises(sqlite3.OperationalError):
        write_atomically(target, build)
    assert os.listdir(tmp_path) == []


def test_a_process_killed_mid_write_leaves_the_original(tmp_path):
    """The writer dies (power cut, kill -9) after writing half: the original is whole, only a hidden
    temporary file may remain beside it."""
    target = tmp_path / "site.json"
    target.write_text('{"old": true}')
    code = (
        "import os, sys\n"
        "from dctwin.twin._files import write_atomically\n"
        "def half(tmp):\n"
        "    with open(tmp, 'w') as fh:\n"
        "        fh.write('{\"new\": tr')\n"
        "        fh.flush()\n"
        "    os._exit(9)\n"
        f"write_atomically({str(target)!r}, half)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 9, out.stderr
    assert target.read_text() == '{"old": true}'
    assert [n for n in os.listdir(tmp_path) if n != "site.json"] == [
        n for n in os.listdir(tmp_path) if n.startswith(".site.json.") and n.endswith(".tmp")]


def test_fsync_folder_survives_a_platform_that_cannot(tmp_path, monkeypatch):
    def no_dirs(path, flags, *args):
        raise PermissionError(13, "folders cannot be opened here")

    monkeypatch.setattr(os, "open", no_dirs)
    _files.fsync_folder(tmp_path)  # no error: the rename is atomic without it
