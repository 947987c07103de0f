"""Read and write layout files: JSON ``{"format": "dctwin-layout", "version": 1, ...}``.

Reading is strict: an unknown field is an error that names it, a value of
the wrong type is an error that names element and field, and every problem
in the file is reported together in one :class:`~dctwin.twin.model.layout.LayoutError`.
Writing is atomic: a temporary file in the same folder, fsynced, then
renamed over the target, so a failed save never damages the original.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import stat
import typing
from pathlib import Path
from typing import Any, Optional

from dctwin.twin._files import atomic_write, refuse_special
from dctwin.twin.errors import FileWriteError, LayoutError, LayoutIssue
from dctwin.twin.model.text import brief_json, id_problem, issue
from dctwin.twin.model.layout import (
    FORMAT, VERSION, Chiller, Containment, CoolingUnit, Economizer, Element, Grille, Hall, Obstruction, Outdoor, Plant,
    Pump, PowerNode, Rack, Site, StorageTank, Tile, Workload,
)

#: Fields a file must give, per element type (others have defaults).
REQUIRED: dict[type, tuple[str, ...]] = {
    Hall: ("id", "width_m", "depth_m"),
    Rack: ("id", "x_m", "y_m", "it_kw"),
    CoolingUnit: ("id", "kind", "x_m", "y_m", "capacity_kw"),
    Tile: ("x_m", "y_m"),
    Grille: ("x_m", "y_m"),
    Containment: ("kind", "x_m", "y_m", "width_m", "depth_m"),
    Obstruction: ("x_m", "y_m", "width_m", "depth_m"),
    PowerNode: ("id", "kind"),
    Chiller: ("id", "capacity_kw"),
    Pump: ("id", "power_kw"),
    Workload: ("id", "kind"),
}

#: Elements whose id may be left out; one is made from this prefix.
AUTO_ID_PREFIX: dict[type, str] = {Tile: "TILE-", Grille: "GRILLE-", Containment: "AISLE-", Obstruction: "OBS-"}

_NESTED = {"storage_tank": StorageTank, "economizer": Economizer, "outdoor": Outdoor}


@functools.lru_cache(maxsize=None)
def field_types(cls: type) -> dict[str, Any]:
    """Resolved type of every field of a layout dataclass (cached: resolving is slow)."""
    return typing.get_type_hints(cls)


def read_value(cls: type, field: str, raw: Any, element: str) -> Any:
    """``raw`` as a value of ``cls.field``, checked and converted the way a file's value is (lists
    become tuples, numbers floats). Raises LayoutError naming ``element.field`` when it does not fit."""
    reader = _Reader()
    ok, out = reader.value(field_types(cls)[field], raw, element, field)
    if not ok:
        raise LayoutError(reader.issues)
    return out


@functools.lru_cache(maxsize=None)
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


@functools.lru_cache(maxsize=None)
def _without_default(cls: type) -> tuple[str, ...]:
    """Fields the dataclass cannot be built without (an element is never built short of one)."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.init and f.default is dataclasses.MISSING
                 and f.default_factory is dataclasses.MISSING)  # type: ignore[misc]


def finite_number(v: Any) -> bool:
    """``v`` is an int or float (not a bool) that is finite as a float (a 400-digit integer is not)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:  # an int too large for a float
        return False


def _short_number(v: Any) -> str:
    """A number for a message, without printing hundreds of digits."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10 ** 30:
        return f"an integer of {len(str(abs(v)))} digits"
    return str(v)


def _optional(tp: Any) -> bool:
    return typing.get_origin(tp) is typing.Union and type(None) in typing.get_args(tp)


class _Reader:
    def __init__(self) -> None:
        self.issues: list[LayoutIssue] = []

    def err(self, element: str, field: str, message: str) -> None:
        self.issues.append(issue(element, field, message))

    # ---- scalar coercion
    def value(self, tp: Any, raw: Any, element: str, field: str) -> tuple[bool, Any]:
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Union:  # Optional[X]
            if raw is None:
                return True, None
            inner = [a for a in args if a is not type(None)][0]
            return self.value(inner, raw, element, field)
        if tp is float:
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                self.err(element, field, f"must be a number, got {brief_json(raw)}")
                return False, None
            if not finite_number(raw):
                self.err(element, field, f"must be a finite number, got {_short_number(raw)}")
                return False, None
            return True, float(raw)
        if tp is bool:
            if not isinstance(raw, bool):
                self.err(element, field, f"must be true or false, got {brief_json(raw)}")
                return False, None
            return True, raw
        if tp is str:
            if not isinstance(raw, str):
                self.err(element, field, f"must be a string, got {brief_json(raw)}")
                return False, None
            return True, raw
        if origin is tuple:
            if not isinstance(raw, list):
                self.err(element, field, f"must be a list, got {brief_json(raw)}")
                return False, None
            inner = args[0]
            out = []
            for k, item in enumerate(raw):
                ok, v = self.value(inner, item, element, f"{field}[{k}]")
                if not ok:
                    return False, None
                out.append(v)
            if len(args) == 2 and args[1] is Ellipsis:
                return True, tuple(out)
            if len(out) != len(args):
                self.err(element, field, f"must have {len(args)} items, got {len(out)}")
                return False, None
            return True, tuple(out)
        raise TypeError(f"unsupported field type {tp!r}")  # programming error, not bad input

    def element(self, cls: type, raw: Any, where: str, fixed: dict[str, Any] | None = None,
                auto_id: str | None = None) -> Any:
        """Build one dataclass from a JSON object; None (and issues) if it is broken."""
        if not isinstance(raw, dict):
            self.err(where, "", f"must be an object, got {brief_json(raw)}")
            return None
        hints = field_types(cls)
        names = _field_names(cls)
        ident = raw.get("id")
        label = ident if not id_problem(ident) else where  # a broken id is no name for the other issues
        kwargs: dict[str, Any] = dict(fixed or {})
        ok = True
        for key in raw:
            if key not in names or key in (fixed or {}):
                # reported, and the rest of the element is still checked
                self.err(label, key, f"unknown field for {cls.__name__.lower()}")
        for name in REQUIRED.get(cls, ()):
            if name not in raw and not (name == "id" and auto_id):
                self.err(label, name, "is required")
                ok = False
        for name in names:
            if name in raw and name not in (fixed or {}):
                if name in _NESTED:
                    if raw[name] is None and _optional(hints[name]):
                        kwargs[name] = None
                        continue
                    sub = self.element(_NESTED[name], raw[name], f"{label}.{name}")
                    if sub is None:
                        ok = False  # reported; a broken nested object never becomes None silently
                    else:
                        kwargs[name] = sub
                    continue
                good, v = self.value(hints[name], raw[name], label, name)
                if good:
                    kwargs[name] = v
                elif name in REQUIRED.get(cls, ()):
                    ok = False  # a bad optional value falls back to its default; still reported
        if "id" in names and "id" not in kwargs and auto_id and "id" not in raw:
            kwargs["id"] = auto_id
        # every value was checked above; a field the class needs that has no good value (an id of
        # true, null or a list, reported above) means no element, never a constructor's TypeError
        for name in _without_default(cls):
            if name not in kwargs:
                if name not in raw and name not in REQUIRED.get(cls, ()):
                    self.err(label, name, "is required")
                ok = False
        return cls(**kwargs) if ok else None


def _collect(reader: _Reader, cls: type, raw: Any, where: str, taken: set[str]) -> list:
    if raw is None:
        return []
    if not isinstance(raw, list):
        reader.err("layout", where, "must be a list")
        return []
    out = []
    prefix = AUTO_ID_PREFIX.get(cls)
    counter = 0
    for k, item in enumerate(raw):
        auto = None
        if prefix and isinstance(item, dict) and "id" not in item:
            while True:
                counter += 1
                auto = f"{prefix}{counter:03d}"
                if auto not in taken:
                    break
        el = reader.element(cls, item, f"{where}[{k}]", auto_id=auto)
        if el is not None:
            out.append(el)
            taken.add(el.id)
    return out


def _explicit_ids(data: Any) -> set[str]:
    """Every id written in the file, so generated ids never collide with them."""
    found: set[str] = set()
    todo = [data]  # a stack, not recursion: a file may nest as deep as the JSON parser allows
    while todo:
        x = todo.pop()
        if isinstance(x, dict):
            if isinstance(x.get("id"), str):
                found.add(x["id"])
            todo.extend(x.values())
        elif isinstance(x, list):
            todo.extend(x)
    return found


_HALL_LISTS = {"racks": Rack, "cooling_units": CoolingUnit, "tiles": Tile, "grilles": Grille,
               "containments": Containment, "obstructions": Obstruction}
#: hall lists written only when they hold something, so a file without them reads as before
_WRITTEN_WHEN_USED = ("obstructions",)
_TOP_KEYS = {"format", "version", "name", "description", "halls", "hall", "power_nodes", "power",
             "chillers", "pumps", "workloads", "plant"} | set(_HALL_LISTS)
_PLANT_KEYS = {f.name for f in dataclasses.fields(Plant)} | {"chillers", "pumps"}


def site_from_dict(data: Any, source: str = "", issues: Optional[list[LayoutIssue]] = None) -> Site:
    """Build and validate a site from parsed JSON. Raises LayoutError with every problem.

    ``issues`` found while parsing (such as keys given twice) are reported with the rest.
    """
    from dctwin.twin.model.validate import validate  # late import: validate imports this module's neighbours

    r = _Reader()
    r.issues.extend(issues or ())
    if not isinstance(data, dict):
        raise LayoutError([LayoutIssue("layout", "", "the file must hold a JSON object")], source)
    fmt = data.get("format")
    if fmt != FORMAT:
        raise LayoutError([LayoutIssue("layout", "format",
                                       f"unsupported format {brief_json(fmt)}; expected \"{FORMAT}\"")], source)
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise LayoutError([LayoutIssue("layout", "version", f"must be an integer, got {brief_json(version)}")],
                          source)
    if version != VERSION:
        newer = " (written by a newer dctwin)" if version > VERSION else ""
        raise LayoutError([LayoutIssue("layout", "version",
                                       f"unsupported version {version}{newer}; this dctwin reads version {VERSION}")],
                          source)
    for key in data:
        if key not in _TOP_KEYS:
            r.err("layout", key, "unknown field")
    taken = _explicit_ids(data)

    halls_raw = data.get("halls")
    if "hall" in data:
        if halls_raw is not None:
            r.err("layout", "hall", "give either \"hall\" or \"halls\", not both")
        halls_raw = [data["hall"]]
    if halls_raw is None:
        halls_raw = []
    if not isinstance(halls_raw, list):
        r.err("layout", "halls", "must be a list of halls")
        halls_raw = []
    top_lists = {k: data[k] for k in _HALL_LISTS if k in data}
    if top_lists and len(halls_raw) != 1:
        for k in top_lists:
            r.err("layout", k, "top-level element lists need exactly one hall; put them inside the hall")
        top_lists = {}

    halls: list[Hall] = []
    for k, hraw in enumerate(halls_raw):
        if not isinstance(hraw, dict):
            r.err(f"halls[{k}]", "", "must be an object")
            continue
        hraw = dict(hraw)
        lists = {name: hraw.pop(name, None) for name in _HALL_LISTS}
        if k == 0:
            for name, v in top_lists.items():
                if lists[name] is not None:
                    r.err("layout", name, "given both at top level and inside the hall")
                lists[name] = v
        hall = r.element(Hall, hraw, f"halls[{k}]")
        label = hall.id if hall else f"halls[{k}]"
        parsed = {name: _collect(r, cls, lists[name], f"{label}.{name}", taken)
                  for name, cls in _HALL_LISTS.items()}
        if hall is not None:
            halls.append(dataclasses.replace(hall, **parsed))

    power_raw = data.get("power_nodes")
    if "power" in data:
        if power_raw is not None:
            r.err("layout", "power", "give either \"power\" or \"power_nodes\", not both")
        power_raw = data["power"]
    power_nodes = _collect(r, PowerNode, power_raw, "power_nodes", taken)

    plant_raw = data.get("plant")
    if plant_raw is None:
        plant_raw = {}
    chillers_raw = data.get("chillers")
    pumps_raw = data.get("pumps")
    plant = Plant()
    if not isinstance(plant_raw, dict):
        r.err("plant", "", "must be an object")
    else:
        plant_raw = dict(plant_raw)
        for key in plant_raw:
            if key not in _PLANT_KEYS:
                r.err("plant", key, "unknown field")
        for name, var in (("chillers", "chillers_raw"), ("pumps", "pumps_raw")):
            if name in plant_raw:
                if (chillers_raw if name == "chillers" else pumps_raw) is not None:
                    r.err("plant", name, "given both at top level and inside the plant")
                if name == "chillers":
                    chillers_raw = plant_raw[name]
                else:
                    pumps_raw = plant_raw[name]
        body = {k: v for k, v in plant_raw.items() if k in _PLANT_KEYS and k not in ("chillers", "pumps")}
        parsed_plant = r.element(Plant, body, "plant")
        if parsed_plant is not None:
            plant = parsed_plant
    chillers = _collect(r, Chiller, chillers_raw, "chillers", taken)
    pumps = _collect(r, Pump, pumps_raw, "pumps", taken)
    workloads = _collect(r, Workload, data.get("workloads"), "workloads", taken)

    name = data.get("name", "site")
    if not isinstance(name, str):
        r.err("layout", "name", "must be a string")
        name = "site"
    desc = data.get("description", "")
    if not isinstance(desc, str):
        r.err("layout", "description", "must be a string")
        desc = ""
    site = Site(name=name, halls=halls, power_nodes=power_nodes, chillers=chillers, pumps=pumps,
                workloads=workloads, plant=plant, description=desc)
    issues = r.issues + validate(site)
    if issues:
        raise LayoutError(issues, source)
    return site


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return dataclasses.MISSING


#: fields left out when empty, false or 0 (nothing assumed, airflow not fixed, every rack unit blanked: the
#: usual case), so layouts that never set them stay byte-identical
_OMIT_WHEN_FALSY = frozenset({"assumed", "airflow_fixed", "open_u"})


def _plain(value: Any, compact: bool = False) -> Any:
    """JSON-ready form of a value; ``compact`` leaves out fields equal to their default."""
    if isinstance(value, tuple):
        return [_plain(v, compact) for v in value]
    if dataclasses.is_dataclass(value):
        keep = REQUIRED.get(type(value), ())
        out = {}
        for f in dataclasses.fields(value):
            if f.name in _HALL_LISTS:
                continue
            v = getattr(value, f.name)
            if v is None or (f.name in _OMIT_WHEN_FALSY and not v):  # the usual case, left out
                continue
            if compact and f.name not in keep and f.name != "id" and v == _default_of(f):
                continue
            out[f.name] = _plain(v, compact)
        return out
    return value


def site_to_dict(site: Site, compact: bool = False) -> dict[str, Any]:
    """The canonical JSON form of a site (None-valued optional fields left out).

    With ``compact`` every field that equals its default is left out too (the
    reader fills it back in), which keeps hand-read files such as the demos short.
    """
    halls = []
    for h in site.halls:
        d = _plain(h)  # hall settings always written in full: they are few and worth reading
        for name in _HALL_LISTS:
            if getattr(h, name) or name not in _WRITTEN_WHEN_USED:
                d[name] = [_plain(e, compact) for e in getattr(h, name)]
        halls.append(d)
    plant = _plain(site.plant, compact)
    plant["chillers"] = [_plain(c, compact) for c in site.chillers]
    plant["pumps"] = [_plain(p, compact) for p in site.pumps]
    return {
        "format": FORMAT,
        "version": VERSION,
        "name": site.name,
        "description": site.description,
        "halls": halls,
        "power_nodes": [_plain(n, compact) for n in site.power_nodes],
        "workloads": [_plain(w, compact) for w in site.workloads],
        "plant": plant,
    }


def loads_layout(text: str, source: str = "") -> Site:
    """Parse layout JSON text. Malformed JSON is reported with line and column."""
    duplicates: list[LayoutIssue] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        # json keeps the last of two equal keys; a value must never vanish silently
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                ident = next((v for k, v in pairs if k == "id" and isinstance(v, str)), "layout")
                duplicates.append(issue(ident, key, "given twice in the same object"))
            out[key] = value
        return out

    data = parse_json_strict(text, source, "layout", object_pairs_hook=pairs_hook)
    return site_from_dict(data, source, duplicates)


class JsonObject(dict):
    """A JSON object as :func:`json_object` reads it: a dict that remembers the keys given twice in it
    (``twice``; json keeps the last of two equal keys, and a value must never vanish silently)."""

    twice: tuple[str, ...] = ()


def json_object(pairs: list[tuple[str, Any]]) -> JsonObject:
    """``object_pairs_hook`` for :func:`parse_json_strict`: a :class:`JsonObject` of ``pairs``."""
    out = JsonObject(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        out.twice = tuple(dict.fromkeys(k for k, _ in pairs if k in seen or seen.add(k)))
    return out


def parse_json_strict(text: str, source: str, what: str, **kwargs: Any) -> Any:
    """``json.loads`` that turns every way JSON text can be bad into a :class:`LayoutError` naming ``source``.

    Malformed text (with line and column), NaN/Infinity (not JSON), nesting
    too deep to parse, and integers too long to read all become one issue on
    ``what`` (``"layout"``, ``"incident"``).
    """
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int, **kwargs)
    except json.JSONDecodeError as exc:
        raise LayoutError([LayoutIssue(what, "", f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")],
                          source) from None
    except RecursionError:
        raise LayoutError([LayoutIssue(what, "", "malformed JSON: nested too deeply")], source) from None
    except ValueError as exc:
        raise LayoutError([LayoutIssue(what, "", str(exc))], source) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"malformed JSON: {name} is not a number JSON allows")


def _parse_int(digits: str) -> int:
    if len(digits.lstrip("-")) > 300:  # beyond any float; Python refuses > 4300 digits with a confusing message
        raise ValueError(f"malformed JSON: an integer of {len(digits.lstrip('-'))} digits is not a usable number")
    return int(digits)


#: byte-order marks of the text encodings a layout or incident file may arrive in (JSON wants UTF-8)
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_SQLITE_MAGIC = b"SQLite format 3\x00"


def decode_text_file(raw: bytes, source: str, what: str) -> str:
    """The text of a JSON file's bytes: UTF-8 (with or without BOM), or UTF-16/32 with a BOM.

    A project file or other binary data raises a :class:`LayoutError` saying what it looks like.
    """
    if raw.startswith(_SQLITE_MAGIC):
        hint = (" (a dctwin project or review file: use `dctwin recordings`, `replay`, `export` or the window)"
                if what == "layout" else "")
        raise LayoutError([LayoutIssue(what, "", f"is an SQLite database{hint}, not a {what} JSON file")],
                          source)
    encoding = next((enc for bom, enc in _BOMS if raw.startswith(bom)), "utf-8")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        article = "an" if what[:1] in "aeiou" else "a"
        raise LayoutError([LayoutIssue(what, "", f"not UTF-8 text (byte {exc.start}); is this {article} {what} file?")],
                          source) from None


def load_layout(path: str | os.PathLike) -> Site:
    """Read a layout file. Raises LayoutError naming every problem (and the file)."""
    p = Path(path)
    raw = read_json_bytes(p, "layout")
    return loads_layout(decode_text_file(raw, str(p), "layout"), str(p))


#: largest layout or incident file read (a 10,000-rack hall is about 5 MB)
MAX_JSON_BYTES = 200 * 1024 * 1024


def read_json_bytes(p: Path, what: str) -> bytes:
    """The bytes of a layout or incident file; a missing file, a folder, a device or pipe (which could
    block or never end) and a file too large to be one are :class:`LayoutError` naming the path."""
    def fail(message: str) -> LayoutError:
        return LayoutError([LayoutIssue(what, "", message)], str(p))

    try:
        st = p.stat()
    except FileNotFoundError:
        raise fail("file not found") from None
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise fail(f"is a folder, not {'an' if what[:1] in 'aeiou' else 'a'} {what} file")
    if not stat.S_ISREG(st.st_mode):
        raise fail("is not a regular file (a device, pipe or socket)")
    if st.st_size > MAX_JSON_BYTES:
        raise fail(f"is {st.st_size / 1e6:.0f} MB; {what} files are at most {MAX_JSON_BYTES / 1e6:.0f} MB")
    try:
        with open(p, "rb") as fh:
            return fh.read(MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or exc}") from None


def dumps_layout(site: Site, compact: bool = False) -> str:
    """Layout JSON text. ``compact``: defaults left out, one element per line."""
    if compact:
        return _format_compact(site_to_dict(site, compact=True)) + "\n"
    return json.dumps(site_to_dict(site), indent=1, allow_nan=False) + "\n"


def _format_compact(value: Any, indent: int = 0) -> str:
    """JSON with objects that hold lists of objects spread over lines, everything else on one line."""
    pad = " " * (indent + 1)
    if isinstance(value, dict) and any(_holds_objects(v) for v in value.values()):
        items = [f"{pad}{json.dumps(k)}: {_format_compact(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    if isinstance(value, list) and value and any(isinstance(v, dict) for v in value):
        items = [pad + _format_compact(v, indent + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    return json.dumps(value, allow_nan=False)


def _holds_objects(v: Any) -> bool:
    if isinstance(v, list):
        return any(isinstance(x, dict) for x in v)
    return isinstance(v, dict) and any(_holds_objects(x) for x in v.values())


def save_layout(site: Site, path: str | os.PathLike, compact: bool = False) -> None:
    """Write a layout atomically (temporary file, fsync, rename).

    Raises :class:`~dctwin.twin.errors.FileWriteError` naming the path when it cannot be
    written (missing folder, a folder in the way, no permission); an existing
    file at ``path`` is then left untouched.
    """
    text = dumps_layout(site, compact)  # fails before touching the disk if the site cannot be written
    write_json_file(path, text, "layout")


def write_json_file(path: str | os.PathLike, text: str, what: str) -> None:
    """Write a JSON file atomically, refusing what would lose data: a folder, or an existing database
    (a project file) at ``path``. Errors are :class:`~dctwin.twin.errors.FileWriteError` naming the path."""
    p = check_json_target(path, what)
    try:
        atomic_write(p, text)
    except OSError as exc:
        raise FileWriteError(f"{p}: cannot write: {exc.strerror or exc}") from None


def check_json_target(path: str | os.PathLike, what: str) -> Path:
    """The checks of :func:`write_json_file` before it writes, for a command to make on each of its outputs
    before writing the first (so a refused second output leaves no first one behind): no name, a folder, a
    device or pipe, an existing project file, a folder that does not exist. Returns the path."""
    p = Path(path)
    if not str(path):
        raise FileWriteError(f"no file name given to write the {what} to")
    if p.is_dir():
        raise FileWriteError(f"{p}: is a folder; give a file name to write the {what} to")
    try:
        refuse_special(p)  # before opening it: a pipe would block the read below
    except OSError as exc:
        raise FileWriteError(f"{p}: {exc.strerror}") from None
    try:
        with open(p, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError:
        head = b""
    if head == _SQLITE_MAGIC:
        article = "an" if what[:1] in "aeiou" else "a"
        raise FileWriteError(f"{p}: is a project file (an SQLite database); {article} {what} is not written over it "
                             f"(choose another name)")
    try:
        folder = p.resolve().parent
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise FileWriteError(f"{p}: cannot write: {exc}") from None
    if not folder.is_dir():
        raise FileWriteError(f"{p}: cannot write: folder {folder} does not exist")
    return p
