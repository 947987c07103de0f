"""``dctwin telemetry import``: a layout, its measured series, point map and event log into a project file.

:func:`import_telemetry` reads and checks everything first (the layout, the point map against it,
the measurement files or a Prometheus pull, the event log), then writes the project file whole:
a new file is built in a temporary file beside ``out`` and renamed into place; an existing dctwin
project is copied (SQLite backup API; a file of an older format migrated, as ``dctwin compact`` does)
into the temporary file, the new layout version (unless the project's latest equals it) and the
telemetry set added, and the copy renamed over it. A failure at any point leaves ``out`` as it was.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from dctwin.twin._files import FolderNotWritable, write_atomically
from dctwin.twin.errors import InputError, ProjectFileError
from dctwin.twin.io.points import read_point_map
from dctwin.twin.io.report import SourceError
from dctwin.twin.io.site_events import event_counts, read_event_log
from dctwin.twin.io.telemetry import DEFAULT_SENTINELS, MeasuredData, TelemetryReport, load_measurements
from dctwin.twin.model.layout import Site
from dctwin.twin.model.layoutfile import dumps_layout, load_layout
from dctwin.twin.store.measured import save_telemetry
from dctwin.twin.store.project import Project, check_file, file_uri, migrate_copy
from dctwin.twin.store.schema import SCHEMA_VERSION


def read_site_data(site: Site, data: Sequence[str | Path], points: str | Path, events: Optional[str | Path] = None,
                   event_map: Optional[str | Path] = None, sentinels: Sequence[float] = DEFAULT_SENTINELS,
                   prometheus: Optional[dict[str, Any]] = None,
                   progress: Optional[Callable[[str], None]] = None) -> MeasuredData:
    """Read and clean everything for ``site`` (nothing is written). ``prometheus``: ``{url, start_s, end_s,
    step_s, token}`` to pull the points live instead of (or besides) files."""
    say = progress or (lambda _m: None)
    point_map = read_point_map(points, site)
    if not data and not prometheus:
        raise InputError("give measurement files (--data) or a Prometheus address (--prometheus)")
    pulled = None
    if prometheus:
        from dctwin.twin.io.prometheus import pull

        say(f"pulling {len(point_map)} points from {prometheus['url']}")
        pulled = pull(prometheus["url"], point_map, prometheus["start_s"], prometheus["end_s"],
                      prometheus.get("step_s", 60.0), token=prometheus.get("token"), progress=say)
    say(f"reading {', '.join(str(d) for d in data)}" if data else "cleaning the pulled samples")
    md = load_measurements(data, point_map, sentinels, TelemetryReport(), pulled,
                           prometheus["url"] if prometheus else "")
    if events:
        t0 = time.perf_counter()
        md.events = read_event_log(events, site, event_map)
        md.report.events = event_counts(md.events)
        md.report.sources.append(str(events))
        md.report.timings_s["events"] = time.perf_counter() - t0
    elif event_map:
        raise InputError("--event-map needs --events")
    if not md.series:
        source = ", ".join(str(d) for d in data) or (prometheus or {}).get("url", "")
        raise SourceError(f"{points}: no point of this map ({len(point_map)} mapped) has data in {source}: check "
                          "that the point names in the map are the ones in the data"
                          + (f" (the data has {md.report.unmapped[0]['point']!r}, ...)" if md.report.unmapped
                             else ""))
    return md


def import_telemetry(layout: str | Path, out: str | Path, data: Sequence[str | Path], points: str | Path,
                     events: Optional[str | Path] = None, event_map: Optional[str | Path] = None,
                     sentinels: Sequence[float] = DEFAULT_SENTINELS, prometheus: Optional[dict[str, Any]] = None,
                     note: str = "", progress: Optional[Callable[[str], None]] = None) -> dict[str, Any]:
    """Import site data into project ``out`` (module docstring). Returns ``{"out", "set_id", "layout_id",
    "report"}``."""
    say = progress or (lambda _m: None)
    site = load_layout(layout)
    md = read_site_data(site, data, points, events, event_map, sentinels, prometheus, progress)
    out_p = Path(out)
    existing = out_p.exists()
    if existing:
        if not out_p.is_file():
            raise InputError(f"{out_p}: is not a file")
        try:
            info = check_file(out_p)
        except ProjectFileError as exc:
            raise InputError(f"{out_p}: exists and is not a dctwin project ({exc}); it is not replaced") from None
        if info.kind != "project":
            raise InputError(f"{out_p}: is a review export; telemetry goes into a project file")
    result: dict[str, Any] = {}
    t_write = time.perf_counter()

    def build(tmp: str) -> None:
        if existing and info.user_version < SCHEMA_VERSION:  # the whole file is rewritten: in the current format
            os.unlink(tmp)
            migrate_copy(out_p, tmp)
            project = Project.open(tmp)
        elif existing:
            src = sqlite3.connect(file_uri(out_p, "ro"), uri=True)
            dst = sqlite3.connect(tmp)
            try:
                src.execute("PRAGMA trusted_schema=OFF")
                src.backup(dst)
            finally:
                dst.close()
                src.close()
            project = Project.open(tmp)
        else:
            os.unlink(tmp)  # Project.create makes the file itself (and refuses to replace one)
            project = Project.create(tmp)
        try:
            # a temporary file, fsynced before the rename and removed on failure: no WAL (which would write
            # every page twice) and no syncs while the series go in
            con = project.raw_connection()
            con.execute("PRAGMA journal_mode=DELETE").fetchall()
            con.execute("PRAGMA synchronous=OFF")
            text = dumps_layout(site)
            latest = project.latest_layout_id()
            layout_id = latest if latest is not None and project.layout_text(latest) == text else \
                project.save_layout(site, note=note or f"imported with telemetry from {Path(layout).name}")
            say(f"writing {sum(len(s) for s in md.series.values()):,} samples")
            series = {name: (s.t_s, s.value) for name, s in md.series.items()}
            rows = [dict(p.to_dict(), si_unit=p.si_unit) for p in md.points.points.values()]
            md.report.timings_s["write"] = 0.0
            sid = save_telemetry(project, layout_id, series, rows, [e.to_dict() for e in md.events],
                                 md.report.to_dict(), list(md.report.sources), note)
            result.update(set_id=sid, layout_id=layout_id)
        finally:
            project.close()

    try:
        write_atomically(out_p, build)
    except FolderNotWritable as exc:
        raise InputError(f"{out_p}: cannot write in {out_p.resolve().parent}: {exc.strerror}") from None
    except (OSError, sqlite3.Error) as exc:
        raise InputError(f"{out_p}: could not be written ({exc}); nothing was changed there") from None
    md.report.timings_s["write"] = time.perf_counter() - t_write
    result.update(out=str(out_p), report=md.report.to_dict(), updated=existing)
    return result
