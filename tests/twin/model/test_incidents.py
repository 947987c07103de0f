"""Incident files: the format's optional layout / duration fields, refusals with clear messages,
the library, and `dctwin simulate --incident --json` with its alarms."""

from __future__ import annotations

import json

import pytest

from dctwin.app.main import main
from dctwin.twin.model import demos
from dctwin.twin.model.incidents import incident_from_dict, load_incident, load_library_incident
from dctwin.twin.errors import LayoutError
from dctwin.twin.model.layoutfile import save_layout


def _doc(**extra):
    d = {"format": "dctwin-incident", "version": 1, "name": "x", "description": "",
         "events": [{"t_s": 5, "kind": "fail", "target": "CRAH-2"}]}
    d.update(extra)
    return d


def test_layout_and_duration_round_trip():
    inc = incident_from_dict(_doc(layout="small", duration_s=300), demos.load_demo("small"))
    assert inc.layout == "small" and inc.duration_s == 300.0
    again = incident_from_dict(inc.to_dict())
    assert again.to_dict() == inc.to_dict()
    plain = incident_from_dict(_doc())
    assert plain.layout == "" and plain.duration_s is None and "layout" not in plain.to_dict()


@pytest.mark.parametrize("extra, field, needle", [
    ({"layout": 3}, "layout", "must be the name of a demo layout"),
    ({"duration_s": -5}, "duration_s", "must be a positive number of seconds"),
    ({"duration_s": True}, "duration_s", "must be a positive number of seconds"),
    ({"colour": "red"}, "colour", "unknown field"),
])
def test_bad_top_level_fields_are_refused(extra, field, needle):
    with pytest.raises(LayoutError) as exc:
        incident_from_dict(_doc(**extra))
    text = str(exc.value)
    assert field in text and needle in text


def test_malformed_incident_file_is_refused_with_a_clear_message(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "dctwin-incident", "version": 1, "events": [\n  {"t_s": 1,}\n]}', encoding="utf-8")
    with pytest.raises(LayoutError) as exc:
        load_incident(bad)
    text = str(exc.value)
    assert "malformed JSON at line 2" in text and "bad.json" in text
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(_doc(events=[{"t_s": -1, "kind": "explode", "target": "CRAH-9"},
                                             {"t_s": 3, "kind": "fail", "target": "CRAH-9"}])), encoding="utf-8")
    with pytest.raises(LayoutError) as exc:
        load_incident(wrong, demos.load_demo("small"))
    text = str(exc.value)
    # every problem at once, each naming the event and field
    assert "events[0]" in text and "must not be negative" in text and "unknown kind \"explode\"" in text
    assert "events[1]" in text and "'CRAH-9' is not in the layout" in text


def test_unknown_library_incident_names_the_known_ones():
    with pytest.raises(LayoutError) as exc:
        load_library_incident("meteor-strike")
    assert "no built-in incident named 'meteor-strike'" in str(exc.value) and "crah-failure" in str(exc.value)


def test_library_incident_for_the_wrong_hall_is_refused():
    with pytest.raises(LayoutError) as exc:
        load_library_incident("cdu-pump-failure", demos.load_demo("small"))
    assert "CDU-1" in str(exc.value)


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("inc") / "small.json"
    save_layout(demos.load_demo("small"), path)
    return path


def test_simulate_json_has_alarms_with_their_explanations(small_file, tmp_path, capsys):
    inc = tmp_path / "crah.json"
    inc.write_text(json.dumps(load_library_incident("crah-failure").to_dict()), encoding="utf-8")
    code = main(["simulate", str(small_file), "--grid", "0.6", "--duration", "200", "--dt", "2",
                 "--incident", str(inc), "--json", "--no-progress"])
    assert code == 0
    s = json.loads(capsys.readouterr().out)
    assert "first_over_allowable_s" in s
    assert s["alarms"]
    for a in s["alarms"]:
        for key in ("t_s", "id", "severity", "message", "causes"):
            assert key in a
        assert a["severity"] in ("warning", "major", "critical")
        assert a["message"].endswith(".")
    unit = [a for a in s["alarms"] if a["id"] == "CRAH-2" and a["active"]]
    assert unit and unit[0]["message"] == "CRAH-2 not running at 00:01:02: CRAH-2 failed at 00:01:00 (injected)."
    over = [a for a in s["alarms"] if a["kind"] == "inlet_allowable"]
    if s["first_over_allowable_s"] is None:
        assert not over
    else:
        assert min(a["t_s"] for a in over) == s["first_over_allowable_s"]


def test_simulate_refuses_a_malformed_incident_without_a_traceback(small_file, tmp_path, capsys):
    inc = tmp_path / "bad.json"
    inc.write_text(json.dumps(_doc(layout=["small"])), encoding="utf-8")
    code = main(["simulate", str(small_file), "--grid", "0.6", "--duration", "10", "--incident", str(inc)])
    err = capsys.readouterr().err
    assert code == 2 and "layout" in err and "Traceback" not in err
