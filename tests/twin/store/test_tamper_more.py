"""Project files edited by hand or by another program: every change is refused with a message naming
the file and what is wrong, never run (triggers), never laundered into a fresh review, never a crash."""

from __future__ import annotations

import importlib.util
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.errors import InputError, ProjectFileError
from dctwin.twin.model.events import Event
from dctwin.twin.store import Project, Recorder, export_review, verify_file
from dctwin.twin.store import replay as replay_mod
from dctwin.twin.store.project import check_file
from dctwin.twin.store.recorder import record_run

_spec = importlib.util.spec_from_file_location("tamper_fakesim", Path(__file__).parent / "fakesim.py")
fakesim = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fakesim)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    d = tmp_path_factory.mktemp("tamper")
    run = d / "run.dctwin"
    with Project.create(run) as p:
        sim = fakesim.FakeSim(dt_s=0.5)
        rec = Recorder(p, p.save_layout(synthetic_site(4)), 0.5, keyframe_every_s=15)
        fakesim.run_live(sim, rec, 60.0, [Event(0, 10.0, "fail", "CRAH-1")], {})
    review = d / "review.dctwin"
    export_review(run, review)
    return run, review


def copy(src: Path, tmp_path: Path, *statements: str, forge: bool = False) -> Path:
    """A copy of ``src`` edited by ``statements``; ``forge``: with every row checksum recomputed after
    (someone who knows the format: the checks behind the checksums must still hold)."""
    dst = tmp_path / f"edited-{src.name}"
    shutil.copy(src, dst)
    con = sqlite3.connect(dst)
    for st in statements:
        con.execute(st)
    if forge:
        fakesim.forge_checksums(con)
    con.commit()
    con.close()
    return dst


def test_a_trigger_is_refused_and_never_fires(made, tmp_path):
    run, _ = made
    bad = copy(run, tmp_path, "CREATE TABLE canary (x)",
               "CREATE TRIGGER t AFTER INSERT ON meta BEGIN INSERT INTO canary VALUES (1); DELETE FROM events; END")
    with pytest.raises(ProjectFileError, match=r"edited-run.dctwin: has been altered: it holds trigger 't'"):
        Project.open(bad)
    with pytest.raises(ProjectFileError, match="trigger"):
        export_review(bad, tmp_path / "out.dctwin")  # export writes meta and manifest into its copy
    assert not (tmp_path / "out.dctwin").exists()
    con = sqlite3.connect(bad)
    assert con.execute("SELECT count(*) FROM canary").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] > 0


def test_a_view_standing_in_for_a_table_is_refused(made, tmp_path):
    run, _ = made
    bad = copy(run, tmp_path, "ALTER TABLE events RENAME TO old_events",
               "CREATE VIEW events AS SELECT * FROM old_events WHERE 0")
    with pytest.raises(ProjectFileError, match="view 'events'"):
        check_file(bad)


def test_verify_reports_structure_changes_of_a_review_as_alterations(made, tmp_path):
    _, review = made
    res = verify_file(copy(review, tmp_path, "CREATE VIEW v AS SELECT 1"))
    assert not res.intact and res.altered == ["(schema)"]
    res = verify_file(copy(review, tmp_path, "DROP TABLE alarms"))
    assert not res.intact and "alarms" in res.missing
    res = verify_file(copy(review, tmp_path, "DELETE FROM manifest"))
    assert not res.intact and res.missing == ["manifest"] and "ALTERED" in res.message()


def test_cut_files_are_named_truncated(made, tmp_path):
    run, _ = made
    data = run.read_bytes()
    for keep, says in ((len(data) - 500, "is truncated: "), (60, r"is truncated \(60 bytes"),
                       (10, r"is truncated \(10 bytes\)"), (0, "it is empty")):
        p = tmp_path / f"cut{keep}.dctwin"
        p.write_bytes(data[:keep])
        with pytest.raises(ProjectFileError, match=says):
            check_file(p)


def test_a_review_whose_kind_was_edited_still_opens_read_only(made, tmp_path):
    _, review = made
    edited = copy(review, tmp_path, "UPDATE meta SET value = 'project' WHERE key = 'kind'")
    with Project.open(edited) as p:
        assert p.is_review and p.read_only
    with pytest.raises(ProjectFileError, match="altered since it was made"):
        export_review(edited, tmp_path / "again.dctwin")  # no fresh hashes over altered content
    assert not (tmp_path / "again.dctwin").exists()


def test_an_unknown_kind_is_damage(made, tmp_path):
    run, _ = made
    with pytest.raises(ProjectFileError, match="unknown file kind"):
        check_file(copy(run, tmp_path, "UPDATE meta SET value = 'evil' WHERE key = 'kind'"))


@pytest.mark.parametrize("statement,says", [
    ("UPDATE recordings SET dt_s = 0", "dt_s = 0 is not a usable time"),
    ("UPDATE recordings SET dt_s = -1", "dt_s = -1"),
    ("UPDATE recordings SET duration_s = 1e308", "duration_s = 1e[+]308"),
    ("UPDATE recordings SET keyframe_every_s = 'soon'", "recording 1 is damaged"),  # no checksum holds text
    ("UPDATE recordings SET params_json = '[1, 2]'", "damaged id lists or parameters"),
    ("UPDATE recordings SET params_json = '{\"grid_m\": \"fine\"}'", "damaged id lists or parameters"),
    ("UPDATE recordings SET rack_ids_json = '[1, 2]'", "damaged id lists or parameters"),
])
def test_damaged_recording_settings(made, tmp_path, statement, says):
    run, _ = made
    with Project.open(copy(run, tmp_path, statement), read_only=True) as p:
        with pytest.raises(ProjectFileError, match="recording 1 is damaged: its settings do not match"):
            p.recording()
    with Project.open(copy(run, tmp_path, statement, forge=True), read_only=True) as p:
        with pytest.raises(ProjectFileError, match=says):
            p.recording()


def test_listing_recordings_with_text_for_numbers_is_damage(made, tmp_path):
    run, _ = made
    with Project.open(copy(run, tmp_path, "UPDATE recordings SET duration_s = 'long'"), read_only=True) as p:
        with pytest.raises(ProjectFileError, match="recording 1 is damaged"):
            p.recordings()


@pytest.mark.parametrize("statement,says", [
    ("UPDATE keyframe_arrays SET data = x'00' WHERE ref_id IS NULL AND codec = 'raw'", "holds 1 bytes"),
    ("UPDATE keyframe_arrays SET data = x'00' WHERE codec = 'shuffle'", "does not decompress"),
    ("UPDATE keyframe_arrays SET shape = '[7]' WHERE ref_id IS NULL", "expected 56|decompresses to"),
    ("UPDATE keyframe_arrays SET dtype = '|O' WHERE ref_id IS NULL", "unsupported dtype"),
    ("UPDATE keyframe_arrays SET dtype = '>f8' WHERE dtype = '<f8'", "byte order of '>f8'"),
    ("UPDATE keyframe_arrays SET ref_id = 99999 WHERE id = (SELECT max(id) FROM keyframe_arrays)",
     "refers to array row 99999, which is not there"),
    ("UPDATE series SET data = x'00'", "damaged chunk"),
    ("UPDATE series SET n = 'many'", "damaged chunk"),
    ("UPDATE events SET details_json = '{'", "damaged details"),
    ("UPDATE events SET t_s = 'later'", "event row 1 is damaged"),  # no checksum holds text
])
def test_check_data_finds_damaged_rows_export_would_copy(made, tmp_path, statement, says):
    run, _ = made
    for forge, message in ((False, r"damaged.*checksum does not match"), (True, says)):
        bad = copy(run, tmp_path, statement, forge=forge)
        with Project.open(bad, read_only=True) as p:
            with pytest.raises(ProjectFileError, match=message):
                p.recording().check_data()
        with pytest.raises(ProjectFileError, match=message):
            export_review(bad, tmp_path / "out.dctwin")
        assert not (tmp_path / "out.dctwin").exists()


def test_intact_recording_passes_check_data(made):
    run, _ = made
    with Project.open(run, read_only=True) as p:
        p.recording().check_data()  # raises on any damage


def test_a_layout_that_does_not_fit_the_recording_is_refused_before_the_engine(made, tmp_path):
    run, _ = made
    with Project.open(run, read_only=True) as p:
        reader = p.recording()
        with pytest.raises(ProjectFileError, match="does not match the recording"):
            reader.check_layout(synthetic_site(5))  # the fake engine recorded 6 racks R-00..R-05


def test_a_keyframe_the_engine_cannot_take_becomes_a_file_error(made):
    run, _ = made

    class Picky(fakesim.FakeSim):
        def restore(self, arrays):
            raise ValueError("could not broadcast input array from shape (2,) into shape (3,)")

    with Project.open(run, read_only=True) as p:
        reader = p.recording()
        with pytest.raises(ProjectFileError, match="does not fit the recording's layout"):
            replay_mod.replay_to(reader, 20.0, lambda r: Picky(dt_s=r.dt_s))


def test_a_recording_that_cannot_start_leaves_no_new_file(tmp_path):
    out = tmp_path / "new.dctwin"
    with pytest.raises(InputError, match="keyframe_every_s"):
        record_run(out, synthetic_site(2), fakesim.FakeSim(dt_s=0.5), keyframe_every_s=0.0, background=False)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_stored_arrays_round_trip_after_the_size_check(made):
    run, _ = made
    with Project.open(run, read_only=True) as p:
        reader = p.recording()
        kf = reader.keyframes()[-1]
        arrays = reader.load_keyframe(kf)
    assert arrays and all(isinstance(a, np.ndarray) and a.flags.writeable for a in arrays.values())


@pytest.mark.parametrize("suffix", ["-wal", "-journal"])
def test_garbage_left_beside_a_project_neither_breaks_nor_changes_it(made, tmp_path, suffix):
    """A stray WAL or journal of random bytes (a copy tool, another program): the project opens with the
    same content and its main file is not changed."""
    import hashlib
    import os

    run, _ = made
    p = tmp_path / "copy.dctwin"
    shutil.copy(run, p)
    Path(str(p) + suffix).write_bytes(os.urandom(4096))
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    with Project.open(run, read_only=True) as a, Project.open(p, read_only=True) as b:
        assert a.recordings() == b.recordings()
        assert a.layout_text() == b.layout_text()
    assert hashlib.sha256(p.read_bytes()).hexdigest() == digest
