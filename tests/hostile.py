"""What the fuzz suites throw at dctwin: hostile values, and a guard that turns a hang into a failure.

The suites (tests/twin/model/test_fuzz_*.py, tests/twin/sim/test_fuzz_facility.py,
tests/app/test_fuzz_cli.py) draw from these pools with hypothesis, derandomized so CI runs the
same examples every time, in the same order. Each fuzz test runs for a time budget:
``DCTWIN_FUZZ_BUDGET_S`` seconds (default 5; the example running when it expires ends first), or
``MAX_EXAMPLES`` examples, whichever comes first. A faster machine runs more of the same sequence;
a longer budget (``DCTWIN_FUZZ_BUDGET_S=600``) is a deeper hunt.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import time
from typing import Any, Callable, Iterator

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: seconds each fuzz test draws new examples for
BUDGET_S = float(os.environ.get("DCTWIN_FUZZ_BUDGET_S", "5"))
#: examples at most, however fast the machine
MAX_EXAMPLES = 400

#: settings of every fuzz suite: reproducible, no per-example deadline (a first solve compiles kernels)
_SETTINGS = settings(derandomize=True, deadline=None, database=None, max_examples=MAX_EXAMPLES,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                            HealthCheck.filter_too_much])


def FUZZ(test: Callable) -> Callable:
    """Decorate a ``@given`` test (above ``@given``): fuzz settings, and a time budget of
    :data:`BUDGET_S`. Past the budget, every further example returns at once without running
    (hypothesis has no time limit of its own; rejecting them instead costs ten times the draws);
    after a failure the budget is lifted so hypothesis can shrink and replay it."""
    test = _SETTINGS(test)
    inner = test.hypothesis.inner_test
    state = {"start": None, "failed": False}

    @functools.wraps(inner)
    def budgeted(*args, **kwargs):
        now = time.monotonic()
        if state["start"] is None:
            state["start"] = now
        elif not state["failed"] and now - state["start"] > BUDGET_S:
            return None
        try:
            return inner(*args, **kwargs)
        except BaseException:
            state["failed"] = True
            raise

    test.hypothesis.inner_test = budgeted
    return test

#: numbers at and beyond every physical bound, and the ones that break arithmetic
NUMBERS = [0, -1, 1, 0.5, 2, 1e-308, 5e-324, -1e-308, 1e-9, 1e-3, 0.05, 0.1, 0.3, 1.5, 3, 10, 30, 45, 60,
           250, 1e3, 5e4, 1e5, 1e6, 1e9, 1e300, 1.7976931348623157e308, -1e308, 10 ** 30, 10 ** 400]
#: strings that are no ids: empty, blank, invisible, direction overrides, separators, noncharacters,
#: unassigned, fillers, control characters, very long
STRINGS = ["", " ", "\t", "x", "R-01", "N", "crah", "raised_floor", "\u2028", "R\u2029", "\uffff", "\u0378",
           "\u3164", "\u2800", "\u202eR", "A\u200bB", "\x00", "\x1b[2J", "\ud800", "\u00a0", "e\u0301",
           "x" * 65, "y" * 5000, "../../etc/passwd", "%s%n", "null", "NaN"]
#: JSON values of every type, for fields of any type
SCALARS = st.one_of(st.sampled_from(NUMBERS), st.sampled_from(STRINGS), st.booleans(), st.none(),
                    st.floats(allow_nan=False, allow_infinity=False, width=64))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(STRINGS), inner, max_size=3)),
                      max_leaves=6)


class Hang(BaseException):
    """A run that did not end within its time (a BaseException, so the code under test cannot
    catch it as one of its own faults and report it as "internal error")."""


@contextlib.contextmanager
def ends_within(seconds: float, what: Any) -> Iterator[None]:
    """Fail with :class:`Hang` naming ``what`` when the block runs longer than ``seconds`` (a hang
    detector for in-process runs: a compiled kernel returns within seconds, so the alarm lands)."""
    def alarm(signum, frame):
        raise Hang(f"did not end within {seconds:g} s: {what!r}")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and indices) into a JSON value, the value itself first."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, prefix + (i,))
    return out


def get(value: Any, path: tuple) -> Any:
    for p in path:
        value = value[p]
    return value


@st.composite
def mutated(draw, doc: Any, max_mutations: int = 3) -> tuple[Any, list]:
    """A deep copy of JSON ``doc`` with 1..``max_mutations`` hostile changes: a value replaced (by any
    type), a key removed or added, a list item removed or repeated. Returns (doc, what was done)."""
    import copy

    doc = copy.deepcopy(doc)
    done = []
    for _ in range(draw(st.integers(1, max_mutations))):
        where = draw(st.sampled_from(paths(doc)[1:]))
        parent, key = get(doc, where[:-1]), where[-1]
        op = draw(st.sampled_from(["replace", "replace", "replace", "remove", "add", "repeat"]))
        if op == "replace":
            parent[key] = draw(VALUES)
        elif op == "remove":
            del parent[key]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(STRINGS + ["id", "x_m", "racks", "inputs"]))] = draw(VALUES)
        elif op == "repeat" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        done.append((op, where))
    return doc, done
