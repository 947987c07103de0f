"""Project files: markers, checks on open, refusals with clear messages, layout versions, Save As, migration."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from dctwin.twin.errors import ProjectFileError
from dctwin.twin.model.layoutfile import dumps_layout
from dctwin.twin.store import APPLICATION_ID, SCHEMA_VERSION, Project, check_file
from dctwin.twin.store import project as project_mod


def _pragma(path, name):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        con.close()


def test_create_sets_application_id_and_user_version(tmp_path):
    path = tmp_path / "a.dctwin"
    Project.create(path).close()
    assert _pragma(path, "application_id") == APPLICATION_ID == 0x44435457
    assert _pragma(path, "user_version") == SCHEMA_VERSION
    info = check_file(path, full=True)
    assert info.kind == "project"
    # closed: a single file, no WAL left behind
    assert sorted(os.listdir(tmp_path)) == ["a.dctwin"]


def test_live_project_runs_in_wal(project):
    con = project.raw_connection()
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert con.execute("PRAGMA trusted_schema").fetchone()[0] == 0


def test_create_refuses_an_existing_file(tmp_path):
    path = tmp_path / "a.dctwin"
    path.write_text("keep me")
    with pytest.raises(ProjectFileError, match="already exists"):
        Project.create(path)
    assert path.read_text() == "keep me"


def test_open_read_only_refuses_writes_and_leaves_file_unchanged(tmp_path, site):
    path = tmp_path / "a.dctwin"
    with Project.create(path) as p:
        p.save_layout(site, "v1")
    before = path.read_bytes()
    with Project.open(path, read_only=True) as p:
        assert p.read_only
        assert p.load_layout().summary() == site.summary()
        with pytest.raises(ProjectFileError, match="read-only"):
            p.save_layout(site, "v2")
    assert path.read_bytes() == before


def test_missing_file_is_refused_and_not_created(tmp_path):
    path = tmp_path / "nope.dctwin"
    with pytest.raises(ProjectFileError, match="nope.dctwin: no such file"):
        Project.open(path)
    assert not path.exists()


def test_sqlite_file_that_is_not_dctwin_is_refused(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(ProjectFileError, match=r"other.db: is not a dctwin project file \(SQLite application_id"):
        Project.open(path)


def test_garbage_file_is_refused(tmp_path):
    path = tmp_path / "garbage.dctwin"
    path.write_bytes(b"this is not a database at all\n" * 200)
    with pytest.raises(ProjectFileError, match=r"garbage.dctwin: is not a dctwin project file \(not an SQLite"):
        Project.open(path)


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.dctwin"
    path.write_bytes(b"")
    with pytest.raises(ProjectFileError, match="empty.dctwin: is not a dctwin project file"):
        Project.open(path)
    assert path.read_bytes() == b""


def test_truncated_file_is_refused_as_damaged(tmp_path, site):
    path = tmp_path / "t.dctwin"
    with Project.create(path) as p:
        for i in range(30):  # enough pages that a cut loses some
            p.save_layout(site, f"v{i}")
    data = path.read_bytes()
    assert len(data) > 8192
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ProjectFileError, match=r"t.dctwin: is damaged"):
        Project.open(path)


def test_corrupted_page_is_refused_as_damaged(tmp_path, site):
    path = tmp_path / "c.dctwin"
    with Project.create(path) as p:
        for i in range(30):
            p.save_layout(site, f"v{i}")
    data = bytearray(path.read_bytes())
    page = _pragma(path, "page_size")
    for k in range(2 * page, 6 * page):  # overwrite a few b-tree pages (keep the header intact)
        data[k] = 0xA5
    path.write_bytes(bytes(data))
    with pytest.raises(ProjectFileError, match=r"c.dctwin: is damaged"):
        Project.open(path)


def test_newer_version_is_refused(tmp_path):
    path = tmp_path / "new.dctwin"
    Project.create(path).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    with pytest.raises(ProjectFileError,
                       match=rf"new.dctwin: was written by a newer dctwin \(file schema version {SCHEMA_VERSION + 1}"):
        Project.open(path)


def test_missing_table_is_refused(tmp_path):
    path = tmp_path / "m.dctwin"
    Project.create(path).close()
    con = sqlite3.connect(path)
    con.execute("DROP TABLE alarms")
    con.commit()
    con.close()
    with pytest.raises(ProjectFileError, match="m.dctwin: is damaged: missing table.*alarms"):
        Project.open(path)


def test_layouts_are_versioned(project, site):
    a = project.save_layout(site, "as built")
    site2 = site.copy()
    site2.name = "changed"
    b = project.save_layout(site2, "renamed")
    assert b > a
    infos = project.layouts()
    assert [(i.id, i.note) for i in infos] == [(a, "as built"), (b, "renamed")]
    assert project.load_layout().name == "changed"
    assert project.load_layout(a).name == site.name
    assert project.layout_text(a) == dumps_layout(site)
    with pytest.raises(ProjectFileError, match="no layout version 99"):
        project.load_layout(99)


def test_save_as_writes_a_copy_and_continues_there(tmp_path, site):
    path = tmp_path / "a.dctwin"
    p = Project.create(path)
    p.save_layout(site, "v1")
    target = tmp_path / "b.dctwin"
    target.write_text("old content is replaced atomically")
    p.save_as(target)
    p.save_layout(site, "v2")
    p.close()
    with Project.open(path, read_only=True) as a, Project.open(target, read_only=True) as b:
        assert [i.note for i in a.layouts()] == ["v1"]
        assert [i.note for i in b.layouts()] == ["v1", "v2"]
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_save_as_into_missing_folder_fails_cleanly(tmp_path, site):
    with Project.create(tmp_path / "a.dctwin") as p:
        p.save_layout(site)
        with pytest.raises(ProjectFileError, match="does not exist"):
            p.save_as(tmp_path / "no" / "b.dctwin")
        assert p.layouts()  # still usable


def test_older_version_is_migrated_into_a_copy_never_in_place(tmp_path, monkeypatch, site):
    path = tmp_path / "old.dctwin"
    with Project.create(path) as p:
        p.save_layout(site, "v1")
    before = path.read_bytes()

    def add_column(con):  # a made-up schema step 1 -> 2
        con.execute("ALTER TABLE layouts ADD COLUMN author TEXT DEFAULT ''")

    monkeypatch.setattr(project_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(project_mod.MIGRATIONS, SCHEMA_VERSION, add_column)
    with Project.open(path) as p:
        assert p.migrated_from == path
        assert p.path == tmp_path / f"old.v{SCHEMA_VERSION + 1}.dctwin"
        assert [i.note for i in p.layouts()] == ["v1"]
    assert path.read_bytes() == before  # the original is untouched
    assert _pragma(path, "user_version") == SCHEMA_VERSION
    assert _pragma(tmp_path / f"old.v{SCHEMA_VERSION + 1}.dctwin", "user_version") == SCHEMA_VERSION + 1
    con = sqlite3.connect(tmp_path / f"old.v{SCHEMA_VERSION + 1}.dctwin")
    assert "author" in [r[1] for r in con.execute("PRAGMA table_info(layouts)")]
    con.close()
    # a second open makes a second copy rather than overwriting the first
    with Project.open(path) as p2:
        assert p2.path == tmp_path / f"old.v{SCHEMA_VERSION + 1}-2.dctwin"


def test_failed_migration_leaves_no_copy(tmp_path, monkeypatch):
    path = tmp_path / "old.dctwin"
    Project.create(path).close()

    def broken(con):
        con.execute("ALTER TABLE no_such_table ADD COLUMN x")

    monkeypatch.setattr(project_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(project_mod.MIGRATIONS, SCHEMA_VERSION, broken)
    with pytest.raises(ProjectFileError, match=rf"old.v{SCHEMA_VERSION + 1}.dctwin: could not be written \(no such table: "
                                               r"no_such_table\)"):
        Project.open(path)
    assert sorted(os.listdir(tmp_path)) == ["old.dctwin"]


def test_incidents_are_stored(project):
    i = project.save_incident("crah trip", '{"events": [{"t_s": 10, "kind": "fail", "target": "CRAH-1"}]}')
    assert project.incidents()[0][:2] == (i, "crah trip")
    assert "CRAH-1" in project.incident_text(i)


def test_file_left_with_a_hot_journal_is_recovered_to_its_last_commit(tmp_path, site):
    path = tmp_path / "hot.dctwin"
    with Project.create(path) as p:  # closed: journal_mode=DELETE
        for i in range(40):
            p.save_layout(site, f"v{i}")
    child = (
        "import os, sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('PRAGMA cache_size=2')\n"  # tiny cache: the change spills into the file mid-transaction
        "c.execute('BEGIN')\n"
        "c.execute(\"UPDATE layouts SET note = 'half-written', layout_json = layout_json || randomblob(2000)\")\n"
        "os.kill(os.getpid(), 9)\n")
    subprocess.run([sys.executable, "-c", child, str(path)])
    assert (tmp_path / "hot.dctwin-journal").exists()
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as exc:  # a read-only reader cannot roll it back itself
        con.execute("SELECT count(*) FROM layouts").fetchone()
    con.close()
    assert exc.value.sqlite_errorcode == 776  # SQLITE_READONLY_ROLLBACK
    check_file(path, full=True)
    with Project.open(path, read_only=True) as p:
        assert [i.note for i in p.layouts()] == [f"v{i}" for i in range(40)]


def test_foreign_file_needing_recovery_is_not_written(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("CREATE TABLE t (x)")
    con.executemany("INSERT INTO t VALUES (randomblob(2000))", [()] * 200)
    con.close()
    child = ("import os, sqlite3, sys\n"
             "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
             "c.execute('PRAGMA cache_size=2')\nc.execute('BEGIN')\n"
             "c.execute('UPDATE t SET x = randomblob(2000)')\nos.kill(os.getpid(), 9)\n")
    subprocess.run([sys.executable, "-c", child, str(path)])
    before = path.read_bytes(), (tmp_path / "other.db-journal").read_bytes()
    with pytest.raises(ProjectFileError, match="other.db: is not a dctwin project file"):
        Project.open(path)
    assert (path.read_bytes(), (tmp_path / "other.db-journal").read_bytes()) == before


def test_close_while_another_reader_has_it_open_is_quick_and_safe(tmp_path, site):
    path = tmp_path / "shared.dctwin"
    writer = Project.create(path)
    writer.save_layout(site, "v1")
    reader = Project.open(path, read_only=True)
    assert [i.note for i in reader.layouts()] == ["v1"]
    writer.close()  # cannot leave WAL while the reader is there: stays in WAL, no wait, no error
    assert [i.note for i in reader.layouts()] == ["v1"]
    reader.close()
    assert check_file(path).kind == "project"
