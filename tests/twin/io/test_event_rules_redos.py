"""An event mapping's regular expressions cannot hang an import: a repeat inside an unbounded repeat (the shape
whose backtracking is exponential, e.g. ``(a+)+$`` against a long line of a's ending in b: hours) is refused when
the mapping is read, naming the file and the rule; the usual shapes of a rule are accepted."""

from __future__ import annotations

import json
import re

import pytest

from dctwin.twin.io.report import SourceError
from dctwin.twin.io.site_events import read_rules


def mapping(tmp_path, message: str):
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"rules": [{"event": "fail", "message": "trip", "target": "CRAH-01"},
                                          {"event": "fail", "message": message, "target": "CRAH-02"}]}))
    return path


@pytest.mark.parametrize("message", [r"(a+)+$", r"(a*b?)*c", r"((ab)*)+", r"(x{1,5000})*y", r"(?=(a+)+)b",
                                     r"(?i)(fan|pump)\s+(\w+\s*)+failed"])
def test_a_nested_repeat_is_refused_naming_the_file_and_the_rule(tmp_path, message):
    path = mapping(tmp_path, message)
    with pytest.raises(SourceError) as err:
        read_rules(path)
    text = str(err.value)
    assert f"{path}, rule 2" in text and "repeats a repetition" in text and repr(message) in text


@pytest.mark.parametrize("message", [r"\b(crah|cooling)\s*-?\d+\b.*trip", r"set ?point", r"(ab){2,5}x",
                                     r"(-?[0-9]+(?:\.[0-9]+)?) ?°?C\b", r"(a+b)?c+", r"\b(reset|restored)\b.*(x|y)+"])
def test_the_usual_shapes_of_a_rule_are_accepted(tmp_path, message):
    rules = read_rules(mapping(tmp_path, message))
    assert [r.target for r in rules] == ["CRAH-01", "CRAH-02"] and rules[1].message.pattern == message


@pytest.mark.parametrize("rule, names", [({"message": "^CB-(\\S+) open", "target": "PDU-{2}"}, "names group 2, but the "
                                                                                            "message pattern has 1"),
                                         ({"source": "EPMS", "target": "PDU-{1}"}, "names group 1, but the message "
                                                                                   "pattern has 0 group(s) (there is")])
def test_a_target_naming_a_group_the_message_lacks_is_refused(tmp_path, rule, names):
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"rules": [dict(rule, event="breaker_trip")]}))
    with pytest.raises(SourceError, match=re.escape(f"rule 1: target {rule['target']!r} {names}")):
        read_rules(path)
    good = {"message": "^CB-(\\S+) open", "target": "PDU-{1}", "event": "breaker_trip"}
    path.write_text(json.dumps({"rules": [good]}))
    assert read_rules(path)[0].target == "PDU-{1}"
