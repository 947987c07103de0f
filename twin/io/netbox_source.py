"""NetBox data from its three usual forms, in one shape.

- a database dump as a Django fixture (``manage.py dumpdata``: a JSON list of
  ``{"model": "dcim.rack", "pk": 14, "fields": {...}}``);
- a folder of REST API responses (``dcim/racks.json``, ...: each one page ``{"count", "next",
  "results"}`` or a list of pages);
- a live NetBox through ``pynetbox`` (read-only list calls, paginated).

Each becomes a :class:`NetBoxData`: per kind of object (``racks``, ``devices``, ...) a dict from
primary key to a flat record whose foreign keys are ids, whose choices are their values and whose
custom fields are under ``custom_fields``. So the mapping (:mod:`dctwin.twin.io.netbox`) sees the
same data whatever the source, and NetBox 3.6 and 4.x differ only in field names it handles there.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

from dctwin.twin.io.report import SourceError, nb_label

#: kind -> (fixture model label, REST path under /api/, NetBox version that introduced it)
KINDS: dict[str, tuple[str, str, tuple[int, int]]] = {
    "sites": ("dcim.site", "dcim/sites", (0, 0)),
    "locations": ("dcim.location", "dcim/locations", (0, 0)),
    "rack_groups": ("dcim.rackgroup", "dcim/rack-groups", (4, 6)),
    "rack_types": ("dcim.racktype", "dcim/rack-types", (4, 1)),
    "racks": ("dcim.rack", "dcim/racks", (0, 0)),
    "device_types": ("dcim.devicetype", "dcim/device-types", (0, 0)),
    "devices": ("dcim.device", "dcim/devices", (0, 0)),
    "power_ports": ("dcim.powerport", "dcim/power-ports", (0, 0)),
    "power_port_templates": ("dcim.powerporttemplate", "dcim/power-port-templates", (0, 0)),
    "power_panels": ("dcim.powerpanel", "dcim/power-panels", (0, 0)),
    "power_feeds": ("dcim.powerfeed", "dcim/power-feeds", (0, 0)),
    "cables": ("dcim.cable", "dcim/cables", (0, 0)),
    "cooling_sources": ("dcim.coolingsource", "dcim/cooling-sources", (4, 7)),
    "cooling_feeds": ("dcim.coolingfeed", "dcim/cooling-feeds", (4, 7)),
    "floorplans": ("netbox_floorplan.floorplan", "plugins/floorplan/floorplans", (0, 0)),
}
_BY_MODEL = {model: kind for kind, (model, _, _) in KINDS.items()}
#: the NetBox releases whose field names this importer knows (major, minor)
KNOWN_VERSIONS = ((3, 6), (3, 7), (4, 0), (4, 1), (4, 2), (4, 3), (4, 4), (4, 5), (4, 6), (4, 7))
#: largest dump or API page file read (a 100,000-device dump is about 150 MB)
MAX_SOURCE_BYTES = 2 * 1024 ** 3


@dataclass
class NetBoxData:
    """NetBox objects by kind: ``tables["racks"][14] = {"id": 14, "name": "A01", "site": 1, ...}``."""

    source: str
    source_kind: str
    version: str = ""
    tables: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    #: cables as (A ends, B ends), each end ``(model label, id)`` such as ``("dcim.powerfeed", 3)``
    cable_links: list[tuple[list[tuple[str, int]], list[tuple[str, int]]]] = field(default_factory=list)

    def table(self, kind: str) -> dict[int, dict[str, Any]]:
        return self.tables.setdefault(kind, {})

    def label(self, kind: str, pk: int) -> str:
        rec = self.tables.get(kind, {}).get(pk, {})
        return nb_label(KINDS[kind][0], pk, rec.get("name") or rec.get("model"))


# --------------------------------------------------------------------------- records


def _flat_api(rec: dict[str, Any]) -> dict[str, Any]:
    """A REST record flattened: nested objects -> their id, choices -> their value."""
    out: dict[str, Any] = {}
    for k, v in rec.items():
        if type(v) is dict and k not in ("custom_fields", "canvas"):
            if "id" in v:
                v = v["id"]
            elif "value" in v:
                v = v["value"]
        out[k] = v
    cf = out.get("custom_fields")
    out["custom_fields"] = cf if isinstance(cf, dict) else {}
    return out


def _flat_fixture(pk: Any, fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    out["id"] = pk
    cf = out.pop("custom_field_data", None)
    out["custom_fields"] = cf if isinstance(cf, dict) else {}
    return out


def _pk(raw: Any, where: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise SourceError(f"{where}: the primary key must be an integer, got {json.dumps(raw)[:40]}")
    return raw


# --------------------------------------------------------------------------- files


def _read_json(path: Path, what: str) -> Any:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SourceError(f"{path}: not found") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise SourceError(f"{path}: is not a regular file")
    if st.st_size > MAX_SOURCE_BYTES:
        raise SourceError(f"{path}: is {st.st_size / 1e9:.1f} GB; {what} files are at most "
                          f"{MAX_SOURCE_BYTES / 1e9:.1f} GB")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if raw.startswith(b"SQLite format 3\x00"):
        raise SourceError(f"{path}: is an SQLite database, not a {what} (JSON)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not UTF-8 text (byte {exc.start}); is this a {what}?") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{path}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        raise SourceError(f"{path}: malformed JSON: {exc}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def read_fixture(path: str | os.PathLike) -> NetBoxData:
    """A NetBox ``manage.py dumpdata`` fixture: a JSON list of ``{"model", "pk", "fields"}``."""
    p = Path(path)
    items = _read_json(p, "NetBox dump")
    if not isinstance(items, list):
        raise SourceError(f"{p}: a NetBox dump (manage.py dumpdata) is a JSON list of objects, "
                          f"got a JSON {type(items).__name__}")
    data = NetBoxData(str(p), "netbox-fixture")
    content_types: dict[int, str] = {}
    terminations: list[tuple[int, str, Any, Any, str]] = []
    by_model = _BY_MODEL
    tables = {kind: data.table(kind) for kind in KINDS}
    for k, item in enumerate(items):
        if type(item) is not dict or not isinstance(item.get("model"), str) or type(item.get("fields")) is not dict:
            raise SourceError(f"{p}: item {k} is not a Django fixture object ({{\"model\", \"pk\", \"fields\"}})")
        model = item["model"]
        kind = by_model.get(model)
        if kind is not None:
            pk = _pk(item.get("pk"), f"{p}: {model} (item {k})")
            tables[kind][pk] = _flat_fixture(pk, item["fields"])
        elif model == "contenttypes.contenttype":
            f = item["fields"]
            content_types[item.get("pk")] = f"{f.get('app_label')}.{f.get('model')}"
        elif model == "dcim.cabletermination":
            f = item["fields"]
            terminations.append((f.get("cable"), f.get("cable_end"), f.get("termination_type"),
                                 f.get("termination_id"), f"dcim.cabletermination {item.get('pk')}"))
    ends: dict[Any, tuple[list, list]] = {}
    for cable, end, ctype, obj_id, where in terminations:
        if isinstance(ctype, list) and len(ctype) == 2:  # a natural key: ["dcim", "powerfeed"]
            model = f"{ctype[0]}.{ctype[1]}"
        else:
            model = content_types.get(ctype)
        if model is None or not isinstance(obj_id, int):
            continue  # a termination we cannot resolve names nothing we import
        a, b = ends.setdefault(cable, ([], []))
        (a if end == "A" else b).append((model, obj_id))
    data.cable_links = list(ends.values())
    data.version = infer_version(data)
    return data


def _pages(raw: Any, where: str) -> list[dict[str, Any]]:
    """The records of an API response file: one page, a list of pages, or a plain list of records."""
    pages = raw if isinstance(raw, list) and raw and isinstance(raw[0], dict) and "results" in raw[0] else None
    if pages is None:
        if isinstance(raw, dict) and "results" in raw:
            pages = [raw]
        elif isinstance(raw, list):
            return _records(raw, where)
        else:
            raise SourceError(f"{where}: expected an API page ({{\"count\", \"next\", \"results\"}}), "
                              f"a list of pages or a list of objects")
    out: list[dict[str, Any]] = []
    count = None
    for k, page in enumerate(pages):
        if not isinstance(page, dict) or not isinstance(page.get("results"), list):
            raise SourceError(f"{where}: page {k} has no \"results\" list")
        out += _records(page["results"], f"{where} page {k}")
        if isinstance(page.get("count"), int):
            count = page["count"]
    if count is not None and count != len(out):
        raise SourceError(f"{where}: the pages say there are {count} objects but hold {len(out)} "
                          f"(is a page missing? save every page, following \"next\")")
    return out


def _records(items: list, where: str) -> list[dict[str, Any]]:
    for k, rec in enumerate(items):
        if type(rec) is not dict or "id" not in rec:
            raise SourceError(f"{where}: result {k} is not a NetBox object (an object with an \"id\")")
    return items


def read_api_folder(path: str | os.PathLike) -> NetBoxData:
    """A folder of saved REST API responses: ``dcim/racks.json``, ``dcim/devices.json``, ... and
    optionally ``status.json`` (``/api/status/``, for the NetBox version)."""
    root = Path(path)
    if not root.is_dir():
        raise SourceError(f"{root}: is not a folder of NetBox API responses")
    data = NetBoxData(str(root), "netbox-api-folder")
    found = False
    for kind, (_, rest, _) in KINDS.items():
        f = root / f"{rest}.json"
        if not f.exists():
            continue
        found = True
        records = _pages(_read_json(f, "NetBox API response"), str(f))
        _add_api_records(data, kind, records, str(f))
    if not found:
        raise SourceError(f"{root}: holds none of the NetBox API responses this importer reads "
                          f"(dcim/sites.json, dcim/racks.json, ...)")
    status = root / "status.json"
    if status.exists():
        st = _read_json(status, "NetBox status response")
        if isinstance(st, dict) and isinstance(st.get("netbox-version"), str):
            data.version = st["netbox-version"]
    if not data.version:
        data.version = infer_version(data)
    check_version(data.version, str(root))
    return data


def _add_api_records(data: NetBoxData, kind: str, records: Iterable[dict[str, Any]], where: str) -> None:
    table = data.table(kind)
    for rec in records:
        pk = _pk(rec.get("id"), f"{where}: {KINDS[kind][0]}")
        if kind == "cables":
            data.cable_links.append((_api_ends(rec.get("a_terminations")), _api_ends(rec.get("b_terminations"))))
        table[pk] = _flat_api(rec)


def _api_ends(raw: Any) -> list[tuple[str, int]]:
    out = []
    for t in raw or ():
        if isinstance(t, dict) and isinstance(t.get("object_type"), str) and isinstance(t.get("object_id"), int):
            out.append((t["object_type"], t["object_id"]))
    return out


# --------------------------------------------------------------------------- versions


def infer_version(data: NetBoxData) -> str:
    """The NetBox release a dump's field names belong to, when the source does not say it."""
    if data.tables.get("cooling_sources"):
        return "4.7"
    if data.tables.get("rack_groups"):
        return "4.6"
    racks = data.tables.get("racks") or {}
    first = next(iter(racks.values()), None)
    if first is not None and ("rack_type" in first or "form_factor" in first):
        return "4.1"
    return "3.6"


def parse_version(text: str) -> Optional[tuple[int, int]]:
    m = re.match(r"\s*v?(\d+)\.(\d+)", text or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def check_version(version: str, where: str) -> tuple[int, int]:
    """(major, minor) of a NetBox version this importer knows; SourceError otherwise."""
    v = parse_version(version)
    known = f"{KNOWN_VERSIONS[0][0]}.{KNOWN_VERSIONS[0][1]} to {KNOWN_VERSIONS[-1][0]}.{KNOWN_VERSIONS[-1][1]}"
    if v is None:
        raise SourceError(f"{where}: cannot tell the NetBox version ({version!r}); this importer reads {known}")
    if v not in KNOWN_VERSIONS:
        raise SourceError(f"{where}: NetBox {version} is not a version this importer knows ({known}); its "
                          f"field names may differ, so nothing was imported")
    return v


# --------------------------------------------------------------------------- live


def read_live(url: str, token: str, progress: Optional[Callable[[str], None]] = None,
              api_factory: Optional[Callable[..., Any]] = None) -> NetBoxData:
    """Everything the importer needs from a running NetBox, by read-only list calls through pynetbox.

    Raises :class:`SourceError` for an unreachable host, a refused token, a URL that is no NetBox
    API, and a NetBox version this importer does not know.
    """
    import pynetbox
    import requests
    from pynetbox.core.query import Request, RequestError

    if not re.match(r"https?://", url or ""):
        raise SourceError(f"{url!r}: a NetBox URL starts with http:// or https://")
    nb = (api_factory or pynetbox.api)(url.rstrip("/"), token=token)
    say = progress or (lambda _text: None)
    try:
        version = nb.version
    except requests.exceptions.RequestException as exc:
        raise SourceError(f"{url}: cannot reach NetBox: {_reason(exc)}") from None
    except RequestError as exc:
        raise SourceError(f"{url}: the NetBox API did not answer: {exc}") from None
    if not version:
        raise SourceError(f"{url}: is not a NetBox API (no API-Version header); give the NetBox address, "
                          f"such as https://netbox.example.com")
    v = check_version(version, url)
    data = NetBoxData(url, "netbox-live", version=version)
    for kind, (model, rest, since) in KINDS.items():
        if v < since:
            continue
        say(f"reading {rest}")
        req = Request(base=f"{nb.base_url}/{rest}/", token=nb.token, http_session=nb.http_session)
        try:
            records = list(req.get())
        except requests.exceptions.RequestException as exc:
            raise SourceError(f"{url}: reading {rest} failed: {_reason(exc)}") from None
        except RequestError as exc:
            status = getattr(getattr(exc, "req", None), "status_code", None)
            if status in (401, 403):
                raise SourceError(f"{url}: NetBox refused the token ({status}: {_detail(exc)}); check the "
                                  f"token file and that the token may read {rest}") from None
            if status == 404 and kind == "floorplans":
                continue  # the floorplan plugin is not installed: no plans to read
            raise SourceError(f"{url}: reading {rest} failed: {exc}") from None
        _add_api_records(data, kind, records, f"{url} {rest}")
    return data


def _reason(exc: Exception) -> str:
    text = str(exc)
    m = re.search(r"\[Errno -?\d+\] ([^'\")]+)|Connection refused|timed out|Name or service not known", text)
    return m.group(1) if m and m.group(1) else (m.group(0) if m else type(exc).__name__)


def _detail(exc: Exception) -> str:
    try:
        return str(exc.req.json().get("detail", ""))  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - an error page that is not JSON
        return "no detail"


def read_token_file(path: str | os.PathLike) -> str:
    """The API token in ``path`` (the first non-empty line), never echoed in messages."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(f"{p}: token file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{p}: cannot read the token file: {getattr(exc, 'strerror', None) or exc}") from None
    token = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not token or any(ch.isspace() for ch in token):
        raise SourceError(f"{p}: the token file must hold one NetBox API token on its first line")
    return token


# --------------------------------------------------------------------------- dispatch


def read_source(source: str, token: Optional[str] = None,
                progress: Optional[Callable[[str], None]] = None) -> NetBoxData:
    """A URL (with ``token``), a folder of API responses, or a dump file."""
    if re.match(r"https?://", source):
        if token is None:
            raise SourceError(f"{source}: a live NetBox needs a token (--token-file FILE)")
        return read_live(source, token, progress)
    p = Path(source)
    if p.is_dir():
        return read_api_folder(p)
    data = read_fixture(p)
    check_version(data.version, str(p))
    return data


def iter_custom(rec: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The custom fields of a record, names lower-cased."""
    for k, v in (rec.get("custom_fields") or {}).items():
        yield str(k).lower(), v
