"""Validation keeps the answers of checks that depend on one frozen element (or one id) alone: an edit
copies the site and shares the elements it leaves alone, so they are not checked again. The answers
must be those of checking everything: on valid and broken layouts, on the first call and the next, after
edits that change an element or its id."""

from __future__ import annotations

import dataclasses

import pytest

import dctwin.twin.model.validate as v
from dctwin.twin.model.demos import load_demo, synthetic_site
from dctwin.twin.model.validate import validate


def _without_memo(site):
    """validate(site) with nothing kept (every check done again)."""
    saved = v._TYPES_SEEN, v._ID_PROBLEMS
    v._TYPES_SEEN, v._ID_PROBLEMS = v._Memo(True), v._Memo(False)
    v._TYPES_SEEN.get = v._ID_PROBLEMS.get = lambda value: None
    try:
        return validate(site)
    finally:
        v._TYPES_SEEN, v._ID_PROBLEMS = saved


def _broken_site():
    """A 37-rack hall with elements of wrong types, bad and duplicate ids and a bad row."""
    site = synthetic_site(37, racks_per_row=7)
    hall = site.halls[0]
    r = hall.racks
    r[0] = dataclasses.replace(r[0], it_kw="8")  # a string for a number
    r[1] = dataclasses.replace(r[1], id="R\x07BELL")
    r[2] = dataclasses.replace(r[2], id=r[3].id)  # a duplicate
    r[4] = dataclasses.replace(r[4], row="   ")
    r[5] = dataclasses.replace(r[5], feeds=("PDU-NOWHERE",))
    hall.tiles[0] = dataclasses.replace(hall.tiles[0], open_fraction=float("nan"))
    return site


@pytest.mark.parametrize("make", [lambda: synthetic_site(200), lambda: load_demo("small"), lambda: load_demo("ai-hall"),
                                  _broken_site], ids=["synthetic-200", "small", "ai-hall", "broken"])
def test_kept_answers_equal_checking_everything(make):
    site = make()
    want = _without_memo(site)
    assert validate(site) == want  # the first call fills the memo
    assert validate(site.copy()) == want  # the next, on a copy sharing every element, answers from it
    assert validate(site) == want


def test_an_edited_element_is_checked_again_and_the_others_answer_as_before():
    site = synthetic_site(37, racks_per_row=7)
    assert validate(site) == []
    edited = site.copy()
    hall = edited.halls[0]
    hall.racks[3] = dataclasses.replace(hall.racks[3], it_kw=None)  # the rack a person just broke
    issues = validate(edited)
    assert issues == _without_memo(edited)
    assert [(i.element, i.field) for i in issues] == [(hall.racks[3].id, "it_kw")]
    assert validate(site) == []  # the unedited site still answers as valid


def test_a_renamed_id_is_checked_for_its_own_spelling():
    site = synthetic_site(37, racks_per_row=7)
    validate(site)
    edited = site.copy()
    hall = edited.halls[0]
    hall.racks[0] = dataclasses.replace(hall.racks[0], id="bad\u200bid")  # an invisible character
    issues = validate(edited)
    assert issues == _without_memo(edited)
    assert any(i.field == "id" and "U+200B ZERO WIDTH SPACE" in i.message for i in issues)


def test_the_memo_starts_again_when_full(monkeypatch):
    memo = v._Memo(key_by_identity=False)
    monkeypatch.setattr(v._Memo, "LIMIT", 3)
    for k in range(3):
        memo.put(f"id{k}", (k,))
    assert memo.get("id2") == (2,)
    memo.put("id3", (3,))  # full: starts again
    assert memo.get("id0") is None and memo.get("id3") == (3,)
