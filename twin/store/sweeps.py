"""Contingency sweeps in a project file: one row per sweep, one per finished scenario.

Tables (created on first use, so files without a sweep are unchanged and every older file still
opens; a review export carries them and hashes them with the rest):

- ``sweeps``: the layout version it ran on, the hall, the settings (JSON), a ``token`` (digest of
  layout, settings and engine: :func:`dctwin.twin.sim.contingency.sweep_token`) that a later run
  with the same inputs finds to resume, the scenario count, the pairs pruned (JSON), the baseline
  run without failure (JSON), wall time summed over its runs, the workers of the last run,
  ``finished``.
- ``sweep_scenarios``: one row per finished scenario (unique per sweep and ``key``): its outcome as
  JSON (the keys of ``dctwin sweep --json``'s scenarios), its wall time, and the recording of its
  run when one was recorded (the top scenarios are, for replay).

Rows are written as results arrive (one transaction per batch), so an interrupted sweep keeps every
scenario that finished and a resumed one runs only the rest. Outcomes are read back ranked by
:func:`dctwin.twin.sim.contingency.rank`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from sqlalchemy import UniqueConstraint, inspect, insert, select, update
from sqlmodel import Field, SQLModel

from dctwin.twin.errors import InputError, ProjectFileError
from dctwin.twin.sim.contingency import SweepSettings, rank
from dctwin.twin.store.project import Project, now_iso


class SweepRow(SQLModel, table=True):
    __tablename__ = "sweeps"
    id: Optional[int] = Field(default=None, primary_key=True)
    layout_id: int = Field(foreign_key="layouts.id")
    hall_id: Optional[str] = None
    token: str = Field(index=True)
    created_at: str
    finished: bool = False
    settings_json: str = "{}"
    n_scenarios: int = 0
    pruned_json: str = "[]"
    baseline_json: str = "null"
    base_json: str = "{}"  # steady-state figures of the base (max inlet, preparation time)
    engine_version: str = ""
    wall_s: float = 0.0
    workers: int = 0


class SweepScenarioRow(SQLModel, table=True):
    __tablename__ = "sweep_scenarios"
    __table_args__ = (UniqueConstraint("sweep_id", "key"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    sweep_id: int = Field(foreign_key="sweeps.id")
    key: str
    n: int = 1
    outcome_json: str
    wall_s: float = 0.0
    cpu_s: float = 0.0
    recording_id: Optional[int] = None


SWEEP_TABLES = [SweepRow.__table__, SweepScenarioRow.__table__]


def has_sweeps(project: Project) -> bool:
    """The file holds the sweep tables (it has had a sweep)."""
    names = set(inspect(project.engine).get_table_names())
    return all(t.name in names for t in SWEEP_TABLES)


def ensure_tables(project: Project) -> None:
    """Create the sweep tables if the file lacks them."""
    project.require_writable()
    with project.engine.begin() as conn:
        for t in SWEEP_TABLES:
            t.create(conn, checkfirst=True)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=False, default=_plain)


def _plain(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON: {type(o).__name__}")


def finite(obj: Any) -> Any:
    """NaN and infinities as None (JSON has none)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


@dataclass
class SweepInfo:
    id: int
    layout_id: int
    hall_id: Optional[str]
    created_at: str
    finished: bool
    n_scenarios: int
    done: int
    settings: dict[str, Any]


@dataclass
class SweepResult:
    """A sweep read back: its settings, the ranked outcomes, the pruned pairs and the baseline."""

    id: int
    layout_id: int
    hall_id: Optional[str]
    settings: SweepSettings
    finished: bool
    n_scenarios: int
    scenarios: list[dict[str, Any]]
    pruned: list[dict[str, Any]] = field(default_factory=list)
    baseline: Optional[dict[str, Any]] = None
    base: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0
    workers: int = 0
    engine_version: str = ""

    def by_key(self) -> dict[str, dict[str, Any]]:
        return {o["key"]: o for o in self.scenarios}

    def to_json(self) -> dict[str, Any]:
        """The keys of ``dctwin sweep --json`` that the file holds."""
        return finite({"sweep_id": self.id, "n_scenarios": self.n_scenarios, "finished": self.finished,
                       "wall_s": self.wall_s, "workers": self.workers, "settings": self.settings.to_json(),
                       "steady_max_inlet_c": self.base.get("steady_max_inlet_c"), "baseline": self.baseline,
                       "pruned": self.pruned, "scenarios": self.scenarios})


def start_sweep(project: Project, site: Any, settings: SweepSettings, token: str, n_scenarios: int,
                pruned: Iterable[Any], engine_version: str, resume: bool = True) -> tuple[int, set[str]]:
    """The sweep to write into: the latest one with the same token (``resume``), else a new one.
    Returns ``(sweep id, keys of the scenarios it has already)``."""
    from dctwin.twin.model.layoutfile import dumps_layout

    ensure_tables(project)
    if resume:
        with project.engine.connect() as conn:
            sid = conn.execute(select(SweepRow.id).where(SweepRow.token == token).order_by(SweepRow.id.desc())
                               ).scalar()
        if sid is not None:
            return int(sid), done_keys(project, int(sid))
    text = dumps_layout(site)
    latest = project.latest_layout_id()
    layout_id = latest if latest is not None and project.layout_text(latest) == text else \
        project.save_layout(site, note="contingency sweep")
    with project.engine.begin() as conn:
        res = conn.execute(insert(SweepRow.__table__).values(
            layout_id=layout_id, hall_id=settings.hall_id, token=token, created_at=now_iso(), finished=False,
            settings_json=_json(settings.to_json()), n_scenarios=int(n_scenarios),
            pruned_json=_json([p.to_json() for p in pruned]), engine_version=engine_version))
        return int(res.inserted_primary_key[0]), set()


def done_keys(project: Project, sweep_id: int) -> set[str]:
    with project.engine.connect() as conn:
        return {str(r[0]) for r in conn.execute(select(SweepScenarioRow.key)
                                                .where(SweepScenarioRow.sweep_id == sweep_id))}


def add_outcomes(project: Project, sweep_id: int, outcomes: Iterable[dict[str, Any]]) -> int:
    """Store finished scenarios (one transaction); returns how many were new. Errors are not stored."""
    rows = []
    for o in outcomes:
        if "error" in o:
            continue
        body = {k: v for k, v in o.items() if k not in ("wall_s", "cpu_s")}
        rows.append({"sweep_id": sweep_id, "key": o["key"], "n": int(o.get("n", 1)),
                     "outcome_json": _json(finite(body)), "wall_s": float(o.get("wall_s", 0.0)),
                     "cpu_s": float(o.get("cpu_s", 0.0))})
    if not rows:
        return 0
    have = done_keys(project, sweep_id)
    rows = [r for r in rows if r["key"] not in have]
    if rows:
        with project.engine.begin() as conn:
            conn.execute(insert(SweepScenarioRow.__table__), rows)
    return len(rows)


def update_sweep(project: Project, sweep_id: int, **values: Any) -> None:
    """Set columns of the sweep row (``baseline``/``base`` are given as values and stored as JSON)."""
    cols: dict[str, Any] = {}
    for k, v in values.items():
        if k in ("baseline", "base"):
            cols[f"{k}_json"] = _json(finite({kk: vv for kk, vv in v.items() if kk not in ("wall_s", "cpu_s")})
                                      if isinstance(v, dict) else v)
        else:
            cols[k] = v
    with project.engine.begin() as conn:
        conn.execute(update(SweepRow.__table__).where(SweepRow.__table__.c.id == sweep_id).values(**cols))


def add_wall(project: Project, sweep_id: int, wall_s: float, workers: int, finished: bool) -> None:
    with project.engine.begin() as conn:
        t = SweepRow.__table__
        conn.execute(update(t).where(t.c.id == sweep_id).values(wall_s=t.c.wall_s + float(wall_s),
                                                               workers=int(workers), finished=bool(finished)))


def update_outcome(project: Project, sweep_id: int, key: str, recording_id: Optional[int] = None,
                   **extra: Any) -> None:
    """Add fields to a stored outcome (``hints``) and/or set its recording."""
    t = SweepScenarioRow.__table__
    with project.engine.begin() as conn:
        row = conn.execute(select(t.c.outcome_json).where(t.c.sweep_id == sweep_id).where(t.c.key == key)).first()
        if row is None:
            raise InputError(f"sweep {sweep_id} has no scenario {key!r}")
        values: dict[str, Any] = {}
        if extra:
            body = json.loads(row[0])
            body.update(finite(extra))
            values["outcome_json"] = _json(body)
        if recording_id is not None:
            values["recording_id"] = int(recording_id)
        if values:
            conn.execute(update(t).where(t.c.sweep_id == sweep_id).where(t.c.key == key).values(**values))


def sweeps(project: Project) -> list[SweepInfo]:
    """Every sweep of the file, oldest first ([] for a file without sweeps)."""
    if not has_sweeps(project):
        return []
    t, s = SweepRow.__table__, SweepScenarioRow.__table__
    out = []
    with project.engine.connect() as conn:
        for r in conn.execute(select(t.c.id, t.c.layout_id, t.c.hall_id, t.c.created_at, t.c.finished,
                                     t.c.n_scenarios, t.c.settings_json).order_by(t.c.id)):
            n_done = len(conn.execute(select(s.c.id).where(s.c.sweep_id == r[0])).all())
            out.append(SweepInfo(int(r[0]), int(r[1]), r[2], str(r[3]), bool(r[4]), int(r[5]), n_done,
                                 _loads(project, r[6], f"sweep {r[0]} settings", dict)))
    return out


def _loads(project: Project, text: Any, what: str, kind: type) -> Any:
    try:
        v = json.loads(text)
    except (TypeError, ValueError):
        raise ProjectFileError(f"{project.path}: is damaged: {what} is not JSON") from None
    if kind is not type(None) and v is not None and not isinstance(v, kind):
        raise ProjectFileError(f"{project.path}: is damaged: {what} is not a JSON {kind.__name__}")
    return v


def load_sweep(project: Project, sweep_id: Optional[int] = None) -> SweepResult:
    """Sweep ``sweep_id`` (default: the latest) with its outcomes ranked, each with ``recording_id``
    (None when its run was not recorded)."""
    infos = sweeps(project)
    if not infos:
        raise InputError(f"{project.path}: holds no contingency sweep (run dctwin sweep LAYOUT --out FILE)")
    sid = infos[-1].id if sweep_id is None else int(sweep_id)
    t, s = SweepRow.__table__, SweepScenarioRow.__table__
    with project.engine.connect() as conn:
        r = conn.execute(select(t).where(t.c.id == sid)).mappings().first()
        if r is None:
            raise InputError(f"{project.path}: has no sweep {sid} (sweeps: {', '.join(str(i.id) for i in infos)})")
        rows = conn.execute(select(s.c.key, s.c.outcome_json, s.c.recording_id, s.c.wall_s)
                            .where(s.c.sweep_id == sid)).all()
    outcomes = []
    for key, text, rec, wall in rows:
        o = _loads(project, text, f"sweep {sid} scenario {key!r}", dict)
        o["recording_id"] = None if rec is None else int(rec)
        outcomes.append(o)
    baseline = _loads(project, r["baseline_json"], f"sweep {sid} baseline", type(None))
    settings = SweepSettings.from_json(_loads(project, r["settings_json"], f"sweep {sid} settings", dict))
    return SweepResult(
        id=sid, layout_id=int(r["layout_id"]), hall_id=r["hall_id"], settings=settings, finished=bool(r["finished"]),
        n_scenarios=int(r["n_scenarios"]), scenarios=rank(outcomes, baseline),
        pruned=_loads(project, r["pruned_json"], f"sweep {sid} pruned pairs", list), baseline=baseline,
        base=_loads(project, r["base_json"], f"sweep {sid} base", dict), wall_s=float(r["wall_s"]),
        workers=int(r["workers"]), engine_version=str(r["engine_version"]))


def scenario_costs(project: Project, sweep_id: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each finished scenario, for the cost per scenario."""
    s = SweepScenarioRow.__table__
    with project.engine.connect() as conn:
        return [(float(w), float(c)) for w, c in conn.execute(select(s.c.wall_s, s.c.cpu_s)
                                                               .where(s.c.sweep_id == sweep_id))]
