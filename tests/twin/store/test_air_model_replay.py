"""A recording stores the air model it was made with, and replay builds the simulation with it.

"fast" draws room air into the rack-front jets at row ends and gaps (``AirModel.front_jet_edge`` 0.3,
session 26); recordings made before it store no air model and replay with the edge off
(tests/app/test_saved_outputs.py: the baseline ``rec_tiny.dctwin``, bit for bit). Here a recording made
now, of the baseline's tiny hall (6 racks, free edges at both row ends) and its incident, replays bit
for bit too, also after "fast" has moved on, and the edge is what it stores: replayed without it, the
keyframes come out different.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from dctwin.twin.errors import ProjectFileError
from dctwin.twin.model.incidents import load_incident
from dctwin.twin.model.layoutfile import load_layout
from dctwin.twin.sim import air_models
from dctwin.twin.sim.air_models import AIR_MODELS, BEFORE_STORED, AirModel, from_params, to_params
from dctwin.twin.store import Project, Replayer
from dctwin.twin.store.recorder import record_run
from dctwin.twin.store.replay import engine_simulation

BASE = Path(__file__).resolve().parents[2] / "data" / "baseline"
GRID_M = 0.6
DURATION_S = 100.0


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """The baseline's tiny run (``dctwin simulate tiny.json --grid 0.6 --incident tiny-incident.json
    --out``), recorded by today's code for 100 s with a keyframe every 20 s."""
    from dctwin.twin.sim.engine import Simulation

    site = load_layout(BASE / "tiny.json")
    incident = load_incident(BASE / "tiny-incident.json")
    sim = Simulation(site, grid_m=GRID_M, dt_s=1.0)
    assert sim.system.air_model == AIR_MODELS["fast"] and sim.system.air_model.front_jet_edge == 0.3
    sim.start()
    incident.schedule_on(sim)
    path = tmp_path_factory.mktemp("edge") / "rec.dctwin"
    rr = record_run(path, site, sim, incident=incident, dt_s=1.0, duration_s=DURATION_S, keyframe_every_s=20.0,
                    grid_m=GRID_M, seek_budget_s=None)
    sim.run(DURATION_S, 1.0, on_step=rr.on_step)
    rr.close(sim)
    return path


def _keyframe_to_keyframe(reader, replayer) -> list[str]:
    """Each keyframe restored and stepped to the next, against the next: the arrays that differ."""
    frames = reader.keyframes()
    assert len(frames) == 6
    sim, out = replayer.sim, []
    for before, after in zip(frames, frames[1:]):
        sim.restore(reader.load_keyframe(before))
        while sim.t_s < after.t_s - 1e-9:
            sim.step()
        got = sim.keyframe()
        for name, arr in reader.load_keyframe(after).items():
            if name not in got:
                out.append(f"{name} at {after.t_s:g} s (missing)")
                continue
            mine = np.asarray(got[name])
            if mine.shape != arr.shape or mine.dtype != arr.dtype or mine.tobytes() != arr.tobytes():
                out.append(f"{name} at {after.t_s:g} s")
    return out


def test_the_recording_stores_the_air_model(recorded):
    with Project.open(recorded, read_only=True) as p:
        params = p.recording().params
    assert params["air_model"] == to_params("fast", AIR_MODELS["fast"])
    assert params["air_model"]["name"] == "fast" and params["air_model"]["front_jet_edge"] == 0.3


def test_a_recording_with_the_edge_replays_bit_for_bit(recorded):
    with Project.open(recorded, read_only=True) as p:
        reader = p.recording()
        replayer = Replayer(reader)
        assert replayer.sim.system.air_model.front_jet_edge == 0.3
        assert _keyframe_to_keyframe(reader, replayer) == []


def test_it_replays_as_recorded_after_the_default_moves(recorded, monkeypatch):
    """A later "fast" (here: the edge off again) does not change what an earlier recording replays."""
    monkeypatch.setitem(AIR_MODELS, "fast", dataclasses.replace(AIR_MODELS["fast"], front_jet_edge=0.0))
    with Project.open(recorded, read_only=True) as p:
        reader = p.recording()
        replayer = Replayer(reader)
        assert replayer.sim.system.air_model.front_jet_edge == 0.3
        assert replayer.sim.system.air_model_name == "custom"  # no longer one of AIR_MODELS
        assert _keyframe_to_keyframe(reader, replayer) == []


def test_replayed_without_the_stored_edge_it_differs(recorded):
    """The edge matters in this recording: a replay that left it out would not be bit for bit."""
    def without_edge(reader):
        params = dict(reader.params)
        params["air_model"] = dict(params["air_model"], front_jet_edge=0.0)
        reader.params = params
        return engine_simulation(reader)

    with Project.open(recorded, read_only=True) as p:
        reader = p.recording()
        replayer = Replayer(reader, without_edge)
        assert replayer.sim.system.air_model.front_jet_edge == 0.0
        differ = _keyframe_to_keyframe(reader, replayer)
        assert any(d.startswith("air_T at") for d in differ), differ


def test_a_review_export_and_a_compacted_copy_keep_the_air_model(recorded, tmp_path):
    """What a reviewer replays (``dctwin export --review``, a window of the run) and a compacted copy are
    replayed with the model the run had."""
    from dctwin.twin.store import compact, export_review

    review, small = tmp_path / "review.dctwin", tmp_path / "compact.dctwin"
    export_review(recorded, review, from_s=40.0, to_s=80.0)
    compact(recorded, small)
    for path in (review, small):
        with Project.open(path, read_only=True) as p:
            reader = p.recording()
            assert reader.params["air_model"] == to_params("fast", AIR_MODELS["fast"])
            assert Replayer(reader).sim.system.air_model.front_jet_edge == 0.3


def test_a_recording_without_an_air_model_replays_with_the_edge_off():
    """Every recording made before session 26: "fast" as it was then."""
    with Project.open(BASE / "rec_tiny.dctwin", read_only=True) as p:
        reader = p.recording()
        assert "air_model" not in reader.params
        sim = engine_simulation(reader)
    assert sim.system.air_model == BEFORE_STORED == dataclasses.replace(AIR_MODELS["fast"], front_jet_edge=0.0)


@pytest.mark.parametrize("name", sorted(AIR_MODELS))
def test_every_air_model_survives_json(name):
    stored = json.loads(json.dumps(to_params(name, AIR_MODELS[name])))
    assert from_params(stored) == AIR_MODELS[name]
    assert air_models.model_name(from_params(stored)) == name


def test_a_field_the_recording_lacks_takes_its_plain_default():
    """A field added after a recording was made defaults to what the solve did before it (off)."""
    stored = to_params("fast", AIR_MODELS["fast"])
    del stored["front_jet_edge"]
    assert from_params(stored).front_jet_edge == AirModel().front_jet_edge == 0.0


@pytest.mark.parametrize("bad", [{"name": "fast", "front_jet_edge": "0.3"}, {"name": "fast", "front_jet_edge": -1.0},
                                 {"name": "fast", "wind": 1.0}, {"name": "fast", "turbulence": {"l_max": 0.0}},
                                 {"name": "fast", "turbulence": {"mixing": 1}}, {"name": 3}, [0.3]])
def test_a_damaged_air_model_is_named_not_replayed(recorded, bad):
    with Project.open(recorded, read_only=True) as p:
        reader = p.recording()
        reader.params = dict(reader.params, air_model=bad)
        with pytest.raises(ProjectFileError, match="stores an air model this dctwin cannot rebuild"):
            Replayer(reader)
