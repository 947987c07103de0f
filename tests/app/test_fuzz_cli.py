"""Fuzzing the command line: argv drawn from the real parser's grammar, with hostile values.

The grammar is read from ``build_parser()`` itself (every command, positional and option, with
its type), so a new command or flag is fuzzed the day it is added. Values come from pools per
kind: numbers that break arithmetic (NaN, inf, 1e308, 1e-300, negative, huge integers), strings
that are no ids (empty, control characters, direction overrides, 5,000 characters), and paths
that are folders, devices, missing, garbage, damaged or the wrong kind of file. Every run must end
(within five minutes, a loaded machine's first solve included) with exit 0 or 2 (``verify`` may say 1: altered), and never print a traceback
or an internal error. Outputs go to a folder of their own so the inputs stay what they are.

Left out: ``gui`` (opens a window; tests/app/test_gui_attack.py attacks it), ``bench`` (valid
arguments run benchmarks for minutes) and ``import netbox --url/--token-file`` (the network).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dctwin.app.main import build_parser, main
from tests.app.attack_files import TINY, build
from tests.hostile import FUZZ, ends_within

SKIP_COMMANDS = {"gui", "bench"}
SKIP_OPTIONS = {"--url", "--token-file"}
FLOATS = ["nan", "inf", "-inf", "-1", "0", "1e308", "1e-300", "", "abc", "1", "2", "0.5", "1e9", "120.0000001"]
INTS = ["0", "-1", "1", "2", "99999999999999999999", "", "x", "1.5"]
NAMES = ["small", "ai-hall", "crah-failure", "nosuch", "", " ", "../demos/small", "H1", "HALL-1", "R-01",
         "\u202eH1", "\x1b[2J", "x" * 5000, "--json"]
OUTPUTS = ["out/a.json", "out/b.dctwin", "out/c.png", "out/d.pdf", "out/e.html", "out/csv", "out", "nodir/x.json",
           "", "out/\u202ex.json"]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    f = build(tmp_path_factory.mktemp("fuzzcli"))
    (f["dir"] / "out").mkdir()
    # the valid layout: the tiny hall shrunk and its unit doubled, so its air's residence time (and the
    # march of a solve at the default grid) is a seventh of tiny's (3 s of CPU instead of 34 s)
    quick = copy.deepcopy(TINY)
    quick["halls"][0].update(width_m=4.8, depth_m=4.8, height_m=2.4)
    quick["halls"][0]["cooling_units"][0]["airflow_m3s"] = 2.0
    f["quick.json"] = f["dir"] / "quick.json"
    f["quick.json"].write_text(json.dumps(quick), encoding="utf-8")
    f["inc_ok.json"] = f["dir"] / "inc_ok.json"
    f["inc_ok.json"].write_text(json.dumps({"format": "dctwin-incident", "version": 1, "name": "ok", "events": [
        {"t_s": 1.0, "kind": "fail", "target": "CRAH-1"}]}), encoding="utf-8")
    return f


def _inputs(files: dict[str, Path]) -> list[str]:
    d = files["dir"]
    names = ["quick.json", "garbage.json", "empty.json", "nan.json", "nested.json", "run.dctwin", "review.dctwin",
             "flip_middle.dctwin", "trigger.dctwin", "dt_text.dctwin", "rev_rows.dctwin", "inc_kind.json",
             "inc_nested.json", "other.dctwin"]
    return [str(files[n]) for n in names if n in files] + [str(d / "folder"), "/dev/zero", "/dev/null",
                                                          str(d / "missing.json"), "", "-", str(d / ("x" * 300))]


def _commands() -> dict[str, argparse.ArgumentParser]:
    """Every (sub)command's parser by its argv prefix ("solve", "import table", ...)."""
    out: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            out[prefix.strip()] = parser
        for sub in subs:
            for name, child in sub.choices.items():
                if name not in SKIP_COMMANDS:
                    walk(child, f"{prefix} {name}")

    walk(build_parser(), "")
    return out


def _values_for(action: argparse.Action, files: dict[str, Path]) -> tuple[list[str], list[str]]:
    """(values that make sense, hostile values) for an argument, by its name and type."""
    d = files["dir"]
    dest = action.dest
    if action.choices:
        return list(map(str, action.choices)), ["nosuch", ""]
    if dest in ("out", "csv", "png", "pdf", "html", "report", "screenshot"):
        outs = [str(d / o) if o else "" for o in OUTPUTS]
        return outs[:6], outs[6:] + [str(files["quick.json"]), str(files["run.dctwin"])]
    if dest in ("file", "layout", "source", "columns", "incident"):
        good = [str(files[n]) for n in ("quick.json", "run.dctwin", "review.dctwin")]
        if dest == "incident":
            good = [str(files["inc_ok.json"]), "crah-failure"]
        return good, _inputs(files) + ["no-such-incident"]
    if action.type is int:
        return ["1", "2"], INTS
    if action.type is float or dest in ("at", "recording"):
        return ["1", "2", "0.5", "5"], FLOATS + INTS
    return ["small", "H1", "crah-failure"], NAMES


def _draw_value(draw, action: argparse.Action, files: dict[str, Path]) -> str:
    good, hostile = _values_for(action, files)
    return draw(st.sampled_from(good if draw(st.booleans()) else hostile))


@st.composite
def argvs(draw, files: dict[str, Path]) -> list[str]:
    commands = _commands()
    name = draw(st.sampled_from(sorted(commands)))
    parser = commands[name]
    argv = name.split()
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or set(action.option_strings) & SKIP_OPTIONS:
            continue
        if not action.option_strings:  # a positional: nearly always given
            if action.nargs != "?" or draw(st.booleans()):
                argv.append(_draw_value(draw, action, files))
            continue
        if not (action.required or draw(st.integers(0, 3)) == 0):
            continue
        flag = draw(st.sampled_from(action.option_strings))
        if action.nargs == 0:
            argv.append(flag)
        else:
            count = draw(st.integers(1, 2)) if action.nargs == "+" else 1
            argv += [flag, *(_draw_value(draw, action, files) for _ in range(count))]
    if draw(st.integers(0, 9)) == 0:
        argv.insert(draw(st.integers(0, len(argv))), draw(st.sampled_from(["--frobnicate", "--json", "--", "-x"])))
    return argv


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: usage errors exit 2, --help 0
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def test_the_grammar_covers_the_commands():
    names = set(_commands())
    assert {"validate", "solve", "simulate", "replay", "export", "verify", "recordings", "demo", "new",
            "incidents", "import table", "import netbox"} <= names
    assert not names & SKIP_COMMANDS


@FUZZ
@given(data=st.data())
def test_any_command_line_ends_cleanly(files, data):
    argv = data.draw(argvs(files))
    cwd = os.getcwd()
    try:
        os.chdir(files["dir"])
        with ends_within(300, argv):
            code, out, err = run_cli(argv)
    finally:
        os.chdir(cwd)
    allowed = (0, 1, 2) if argv[0] == "verify" else (0, 2)
    assert code in allowed, f"{argv}: exit {code}\n{err[-2000:]}"
    assert "Traceback" not in err and "internal error" not in err, f"{argv}:\n{err[-2000:]}"
    if code == 2:  # why, on stderr (or in the JSON on stdout)
        assert err.strip() or ("--json" in argv and out.strip()), f"{argv}: refused without saying why"
