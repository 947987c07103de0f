"""Operator actions on a recording's alarms (acknowledge, shelve, unshelve), kept beside it.

A table of its own, ``operator_events`` (created the first time an action is recorded; files
without it hold no actions): one row per :class:`~dctwin.twin.sim.alarm_board.OperatorAction`
with the recording's time it was taken at, the alarms it covers, who took it and when (wall
clock, UTC). The recording's own rows are never touched, so a replay stays bit for bit what was
recorded; a review export copies the table with the recording (and hashes it like any table), so
the review shows who acknowledged and shelved what. A review export itself takes no actions: it
opens read-only.
"""

from __future__ import annotations

import json
import os
from typing import Optional


from dctwin.twin.errors import ProjectFileError
from dctwin.twin.sim.alarm_board import OperatorAction
from dctwin.twin.store.project import Project
from dctwin.twin.store.schema import Checked, _OfRecording, optional_table


@optional_table
class OperatorEventRow(_OfRecording, Checked, table=True):
    __tablename__ = "operator_events"
    t_s: float
    kind: str
    target: str = ""
    alarms_json: str = "[]"  # the alarm keys (twin.sim.alarm_board.alarm_key) it covers
    by: str = ""
    at: str = ""  # wall clock, ISO 8601 UTC
    note: str = ""


_TABLE = OperatorEventRow.__table__


def record_action(path: str | os.PathLike, recording_id: int, action: OperatorAction) -> None:
    """Add ``action`` to recording ``recording_id`` of project file ``path`` (one transaction).

    Raises :class:`ProjectFileError` for a review export (read-only) or a recording that is not there.
    """
    with Project.open(path) as project:
        if project.is_review:
            raise ProjectFileError(f"{path} is a review export: it cannot be changed, so actions on its alarms "
                                   f"are not recorded")
        project.recording(recording_id)  # raises, naming it, when there is no such recording
        project.ensure_table(_TABLE)
        project.insert_rows(_TABLE, [{
            "recording_id": int(recording_id), "t_s": float(action.t_s), "kind": action.kind,
            "target": action.target, "alarms_json": json.dumps(list(action.alarms)), "by": action.by,
            "at": action.at, "note": action.note}])


def read_actions(project: Project, recording_id: int, until_s: Optional[float] = None) -> list[OperatorAction]:
    """The actions taken on recording ``recording_id``, in the order taken (up to ``until_s`` of the
    run: a moment export holds nothing after its moment); [] for a file without the table."""
    rows = sorted(project.read_rows(_TABLE, _TABLE.c.recording_id == int(recording_id),
                                    f"operator actions of recording {recording_id}"), key=lambda r: r["id"])
    out = []
    for r in rows:
        if until_s is not None and r["t_s"] > until_s + 1e-9:
            continue
        try:
            keys = tuple(str(k) for k in json.loads(r["alarms_json"]))
            out.append(OperatorAction(float(r["t_s"]), str(r["kind"]), str(r["target"]), keys, str(r["by"]),
                                      str(r["at"]), str(r["note"] or "")))
        except (TypeError, ValueError) as exc:
            raise ProjectFileError(f"{project.path}: operator action {r['id']} is damaged ({exc})") from None
    return out
