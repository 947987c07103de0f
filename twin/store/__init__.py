"""Project files: SQLite tables, recordings, replay and review exports (no Qt).

Public API::

    from dctwin.twin.store import Project, Recorder, record_run
    with Project.create("plan.dctwin") as project:          # or Project.open(path[, read_only=True])
        layout_id = project.save_layout(site, note="as built")
    rr = record_run("run.dctwin", site, sim)                 # dctwin simulate --out
    sim.run(3600, on_step=rr.on_step); rr.close(sim)
    with Project.open("run.dctwin", read_only=True) as project:
        reader = project.recording()                         # latest: seek, events, alarms, series
        sim = replay_to(reader, 1234.0)                      # bit-identical state at t = 1234 s
    export_review("run.dctwin", "review.dctwin", at_s=1234.0); verify_file("review.dctwin").intact
    export_review("run.dctwin", "incident.dctwin", around_incident=True)   # or from_s=..., to_s=...
    compact("old.dctwin", "new.dctwin")                      # a file of format 1 into the current format
"""

from dctwin.twin.store.compact import compact
from dctwin.twin.store.export import export_csv, export_review, verify_file
from dctwin.twin.store.project import Project, check_file, migrate_copy
from dctwin.twin.store.recorder import Recorder, RunRecorder, record_run
from dctwin.twin.store.recording import RecordingReader
from dctwin.twin.store.replay import Replayer, replay_to, summary_at
from dctwin.twin.store.schema import APPLICATION_ID, SCHEMA_VERSION

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "Project", "Recorder", "RecordingReader", "Replayer", "RunRecorder",
           "check_file", "compact", "export_csv", "export_review", "migrate_copy", "record_run", "replay_to", "summary_at",
           "verify_file"]
