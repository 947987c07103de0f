"""Project files: SQLite tables, recordings, replay and review exports (no Qt).

Public API::

    from twin.store import Project, Recorder
    with Project.create("run.dctwin") as project:          # or Project.open(path)
        layout_id = project.save_layout(site, note="as built")
        rec = Recorder(project, layout_id, sim.dt_s)
        ...rec.on_step(sim.t_s, sim) after each step...
        rec.close()
    reader = project.recording()        # latest recording: seek, events, series
"""

from twin.store.project import Project, check_file, migrate_copy
from twin.store.recorder import Recorder
from twin.store.recording import RecordingReader
from twin.store.schema import APPLICATION_ID, SCHEMA_VERSION

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "Project", "Recorder", "RecordingReader", "check_file",
           "migrate_copy"]
