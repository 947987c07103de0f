"""Alarms an operator can work with: grouped by cause, a flood held back, acknowledged and shelved;
a rack that shut down names the critical-inlet alarm it passed through."""

from __future__ import annotations

import pytest

from dctwin.twin.model import demos
from dctwin.twin.model.events import Event
from dctwin.twin.model.incidents import load_library_incident
from dctwin.twin.sim.alarm_board import (EARLY_WARNING_KINDS, FLOOD_ALARMS, OperatorAction, alarm_key, build_board,
                                         operator_name)
from dctwin.twin.sim.engine import Simulation


@pytest.fixture(scope="module")
def crah_run():
    """The small hall's CRAH failure (CRAH-2 at 60 s), 15 simulated minutes on the 0.6 m grid."""
    inc = load_library_incident("crah-failure")
    site = demos.load_demo(inc.layout)
    inc = load_library_incident("crah-failure", site)
    sim = Simulation(site, grid_m=0.6)
    sim.solve_steady()
    inc.schedule_on(sim)
    sim.run(900.0, dt_s=2.0)
    return sim


def test_one_cause_is_one_group_naming_it_and_what_it_reached(crah_run):
    sim = crah_run
    raised = [a for a in sim.alarms if a["active"]]
    racks = {a["id"] for a in raised if a["kind"] != "unit_failed"}
    assert len(raised) >= FLOOD_ALARMS and len(racks) >= 5
    board = build_board(sim.alarms, {e.seq: e for e in sim.events})
    assert len(board.groups) == 1
    g = board.groups[0]
    assert g.root is not None and (g.root.kind, g.root.target) == ("fail", "CRAH-2")
    assert g.title == f"CRAH-2 failed at 00:01:00: {len(racks)} racks, 1 cooling unit affected"
    # one line per element, its worst alarm standing first; every raised alarm is on the board once
    assert sorted(a.index for a in g.alarms) == sorted(i for i, a in enumerate(sim.alarms) if a["active"])
    lines = g.targets + g.suppressed
    assert len({t.target for t in lines}) == len(lines) == len(racks) + 1
    rank = {"warning": 1, "major": 2, "critical": 3}
    for t in g.targets:
        assert not t.head.suppressed
        assert all((o.suppressed or (not o.standing, -rank[o.severity]) >= (not t.head.standing, -rank[t.head.severity]))
                   for o in t.others)


def test_a_flood_holds_its_early_warnings_back(crah_run):
    sim = crah_run
    board = build_board(sim.alarms, {e.seq: e for e in sim.events})
    g = board.groups[0]
    assert g.flood
    early = [a for a in g.alarms if a.kind in EARLY_WARNING_KINDS]
    assert early and all(a.suppressed for a in early)
    assert all(a.kind not in EARLY_WARNING_KINDS for a in g.alarms if not a.suppressed)
    assert g.n_suppressed == len(early) and f"{len(early)} held back (flood)" in g.summary()
    # an element with early warnings only has no line of its own: it is listed as held back
    for t in g.suppressed:
        assert all(a.kind in EARLY_WARNING_KINDS for a in t.alarms)
    # below the flood threshold nothing is held back
    calm = build_board(sim.alarms, {e.seq: e for e in sim.events}, flood_alarms=10_000)
    assert not calm.groups[0].flood and calm.groups[0].n_suppressed == 0 and not calm.groups[0].suppressed


def test_acknowledge_and_shelve_follow_the_actions_in_order(crah_run):
    sim = crah_run
    by_seq = {e.seq: e for e in sim.events}
    g = build_board(sim.alarms, by_seq).groups[0]
    first = g.targets[0].head
    ack = OperatorAction(300.0, "acknowledge", "CRAH-2", tuple(g.keys), "alice", "2026-05-01T10:00:00+00:00")
    shelve = OperatorAction(310.0, "shelve", first.target, (first.key,), "bob", "2026-05-01T10:01:00+00:00")
    board = build_board(sim.alarms, by_seq, [ack, shelve])
    g2 = board.groups[0]
    assert g2.unacknowledged == 0 and "all acknowledged" in g2.summary()
    assert [a.key for a in board.shelved] == [first.key] and board.shelved[0].shelved.by == "bob"
    assert first.key not in g2.keys
    back = build_board(sim.alarms, by_seq, [ack, shelve, OperatorAction(320.0, "unshelve", first.target, (first.key,),
                                                                         "bob", "2026-05-01T10:02:00+00:00")])
    assert not back.shelved and first.key in back.groups[0].keys
    assert ack.text() == (f"acknowledged {len(g.keys)} alarms of CRAH-2 at 00:05:00 by alice "
                          f"(2026-05-01T10:00:00+00:00)")
    with pytest.raises(ValueError, match="unknown operator action"):
        OperatorAction(1.0, "silence", "x", (), "a", "b")


def test_recorded_rows_and_engine_records_give_the_same_board(crah_run):
    """A recording stores an alarm's nearest cause as ``cause`` and its element as ``target``."""
    from dctwin.twin.store.recorder import _alarm_row

    sim = crah_run
    by_seq = {e.seq: e for e in sim.events}
    live = build_board(sim.alarms, by_seq)
    recorded = build_board([_alarm_row(a) for a in sim.alarms], by_seq)
    assert [(g.title, g.keys, g.n_suppressed) for g in live.groups] == \
        [(g.title, g.keys, g.n_suppressed) for g in recorded.groups]


def test_alarms_without_a_recorded_cause_form_one_group():
    alarms = [{"t_s": 5.0, "target": "R-1", "kind": "inlet_recommended", "severity": "warning", "cause": None},
              {"t_s": 9.0, "target": "R-1", "kind": "inlet_allowable", "severity": "major", "cause": None},
              {"t_s": 12.0, "target": "R-1", "kind": "inlet_allowable", "active": False, "severity": "major"},
              {"t_s": 20.0, "target": "R-2", "kind": "inlet_recommended", "severity": "warning", "cause": 7}]
    by_seq = {7: Event(7, 1.0, "fail", "CRAH-9"), }
    board = build_board(alarms, by_seq)
    titles = [g.title for g in board.groups]
    assert titles == ["CRAH-9 failed at 00:00:01: 1 rack affected", "No recorded cause: 1 rack affected"]
    t = board.groups[1].targets[0]
    # the allowable alarm cleared at 12 s: the standing warning heads the line, the cleared one sits under it
    assert t.head.kind == "inlet_recommended" and t.others[0].cleared_s == 12.0
    assert alarm_key(alarms[0]) == "R-1|inlet_recommended|5.000"


def test_the_operator_is_named(monkeypatch):
    monkeypatch.setenv("DCTWIN_OPERATOR", "alice")
    assert operator_name() == "alice"
    monkeypatch.delenv("DCTWIN_OPERATOR")
    assert operator_name()


def test_a_rack_that_shut_down_names_the_critical_alarm_it_passed_through():
    """Both CRAHs of the small hall fail: the inlets pass critical, the racks shut down after the
    dwell, and each shutdown's alarm reads back through its critical-inlet alarm to the failures."""
    site = demos.load_demo("small")
    sim = Simulation(site, grid_m=0.6)
    sim.solve_steady()
    sim.schedule(10.0, "fail", "CRAH-1")
    sim.schedule(10.0, "fail", "CRAH-2")
    sim.run(900.0, dt_s=2.0)
    down = [a for a in sim.alarms if a["active"] and a["kind"] == "rack_down"]
    assert down, "with no cooling the racks shut down"
    for a in down:
        crit = [c for c in sim.alarms if c["active"] and c["kind"] == "inlet_critical" and c["id"] == a["id"]]
        assert crit and crit[0]["t_s"] <= a["t_s"]
        kinds = [c["kind"] for c in a["causes"]]
        assert "inlet_critical" in kinds and kinds.index("inlet_critical") < kinds.index("fail")
        assert f"{a['id']} inlet over critical" in a["message"] and a["message"].endswith("(injected).")
    # and the review's chain of a recorded rack_down row, which holds only the nearest event, finds it too
    from dctwin.twin.review import chain_steps
    from dctwin.twin.store.recorder import _alarm_row

    rows = [_alarm_row(a) for a in sim.alarms]
    row = next(r for r in rows if r["kind"] == "rack_down")
    steps = chain_steps(row, {e.seq: e for e in sim.events}, rows)
    assert steps[1]["kind"] == "inlet_critical" and steps[1]["target"] == row["target"]
    assert steps[-1]["kind"] == "fail"
