"""Identifiers and free text from files: what a layout or an incident may hold, and how a message shows it.

An identifier (an element or hall id, a rack's row) is 1 to :data:`MAX_ID_CHARS` printable
characters, at least one of which draws something: no control or format characters (direction
overrides, zero-width spaces), no line or paragraph separators, no unassigned code points or
noncharacters (U+FFFF), no private-use characters, no spaces other than the plain one, and not
only blanks (a Hangul filler or a braille blank looks like nothing). Python's
:meth:`str.isprintable` is exactly that first rule. Free text (a site's or incident's name and
description) is bounded and printable; a description may also hold line breaks and tabs.

:func:`show` and :func:`brief_json` put a value from a file into a message: escaped where it would
act on a terminal and cut short where it would flood it.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from dctwin.twin.errors import LayoutIssue

#: longest identifier (element, hall or row)
MAX_ID_CHARS = 64
#: longest name of a site or an incident
MAX_NAME_CHARS = 200
#: longest description
MAX_DESCRIPTION_CHARS = 20_000
#: longest file path written in a layout (a workload's or the outdoor profile's CSV)
MAX_PATH_CHARS = 4096

#: longest message of one issue (a value from a file is cut short long before)
MAX_MESSAGE_CHARS = 1000

#: letters and symbols that draw nothing: Hangul fillers, the braille blank, Khmer inherent vowels
BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5")


def _visible(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNPS" and ch not in BLANKS


def char_name(ch: str) -> str:
    """``U+2028 LINE SEPARATOR`` (``(unassigned)`` for a code point Unicode does not name)."""
    cp = ord(ch)
    if 0xFDD0 <= cp <= 0xFDEF or cp & 0xFFFE == 0xFFFE:
        return f"U+{cp:04X} (a noncharacter)"
    if unicodedata.category(ch) == "Cc":
        return f"U+{cp:04X} (a control character)"
    return f"U+{cp:04X} {unicodedata.name(ch, '(unassigned)')}"


def id_problem(text: Any, what: str = "an id") -> str:
    """What is wrong with ``text`` as an identifier ("" when nothing is)."""
    if not isinstance(text, str):
        return f"{what} must be a string, got {brief_json(text)}"
    if not text.strip():
        return f"{what} must be a non-empty string"
    if len(text) > MAX_ID_CHARS:
        return f"{what} must be at most {MAX_ID_CHARS} characters, got {len(text):,}"
    for k, ch in enumerate(text):
        if not ch.isprintable():
            return (f"{what} must not contain control or invisible characters "
                    f"({char_name(ch)} at position {k + 1})")
    if not any(_visible(ch) for ch in text):
        return f"{what} must hold a visible character (only blanks such as {char_name(text[0])})"
    return ""


def text_problem(text: Any, limit: int, multiline: bool = False) -> str:
    """What is wrong with ``text`` as free text of at most ``limit`` characters ("" when nothing is);
    ``multiline`` allows line breaks and tabs."""
    if not isinstance(text, str):
        return f"must be a string, got {brief_json(text)}"
    if len(text) > limit:
        return f"must be at most {limit:,} characters, got {len(text):,}"
    allowed = "\n\t" if multiline else ""
    for k, ch in enumerate(text):
        if not ch.isprintable() and ch not in allowed and not (ch == "\r" and multiline):
            return f"must not contain control or invisible characters ({char_name(ch)} at position {k + 1})"
    return ""


def printable(text: str) -> str:
    """``text`` with every character that is not printable escaped (``\\u2028``), safe in a message."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def show(text: Any, limit: int = 40) -> str:
    """A value from a file for a message: quoted, escaped, and cut after ``limit`` characters."""
    if not isinstance(text, str):
        return brief_json(text, limit)
    if len(text) > limit:
        return repr(printable(text[:limit])) + f"... ({len(text):,} characters)"
    return repr(printable(text))


def brief_json(value: Any, limit: int = 40) -> str:
    """A JSON value for a message, cut after ``limit`` characters (a 5 MB string or a list nested
    a thousand deep says what it is without printing it)."""
    if isinstance(value, str) and len(value) > limit:
        return json.dumps(value[:limit]) + f"... ({len(value):,} characters)"
    try:
        text = json.dumps(value, allow_nan=True, default=repr)
    except (RecursionError, ValueError, TypeError):
        return f"a {type(value).__name__} nested too deeply to show"
    return text if len(text) <= limit else text[:limit] + "..."


def label(text: Any, limit: int = 100) -> str:
    """An element or field name for a message (the part before the colon): escaped, cut after ``limit``."""
    text = text if isinstance(text, str) else str(text)
    if text and not any(_visible(ch) for ch in text):  # blanks only: shown as escapes, not as nothing
        return ascii(text[:limit])[1:-1]
    if len(text) > limit:
        return printable(text[:limit]) + "..."
    return printable(text)


def issue(element: str, field: str, message: str) -> LayoutIssue:
    """A :class:`LayoutIssue` safe to print: element and field labels escaped and cut short (they may
    come from the file: an id of 5 MB, an unknown key with control characters), the message bounded
    and escaped (it may quote another element's id, which may be the one at fault)."""
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + "..."
    return LayoutIssue(label(element), label(field), printable(message))
