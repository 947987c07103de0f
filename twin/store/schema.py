"""Tables of a dctwin project file (SQLModel over SQLite).

One ``*.dctwin`` file is one SQLite database marked with
``PRAGMA application_id = 0x44435457`` ("DCTW") and
``PRAGMA user_version = SCHEMA_VERSION``.

Layout of the data, and why:

- ``layouts``: every save is a new row (a version) holding the layout JSON
  text written by :func:`dctwin.twin.model.layoutfile.dumps_layout`; nothing is updated in
  place, so every recording points at the exact layout it ran on.
- ``keyframes`` + ``keyframe_arrays``: one row per keyframe time, one row per
  state array with ``dtype`` (numpy ``dtype.str``, little-endian),
  ``shape`` (JSON list), its encoding ``codec`` and the bytes (last column, so
  reading the other columns never walks a large blob). Never pickle. Encodings
  (:mod:`dctwin.twin.store.arrays`): ``raw``, ``zstd``, ``shuffle`` (byte
  shuffle + zstd) and ``xor`` (XOR with the same array of an earlier keyframe,
  the row ``base_id``, stored in one of the others: decoding never chains).
  An array bit-identical to the one in the previous keyframe (the frozen flow
  field, most of a keyframe, between re-marches) is stored once: later rows
  carry ``ref_id``, the row that holds the bytes, and no data. A keyframe's
  arrays have consecutive ids from ``keyframes.first_array_id`` (``n_arrays``
  of them), so reading them never depends on an index.
- ``series``: decimated trends in chunks. One row holds ``n`` samples of one
  stream: ``t_data`` (float64[n], the sample times) and ``data``
  (float32[width, n]: column by column, so the ``n`` samples of one rack or
  metric are contiguous), each byte-shuffled and Zstandard-compressed
  (``codec = "shuffle"``; ``"raw"`` in files of format 1). Stream ``"hall"``
  has one column per hall metric (names in ``recordings.metric_names_json``);
  streams ``"rack_inlet_c"`` and ``"rack_power_w"`` have one column per rack
  (order in ``recordings.rack_ids_json``). A chunk is written with each
  keyframe batch. No per-sample rows: 86,400 x 1,000 rows would be slow to
  write and to read.
- ``events``: every event of the run (injected and automatic) with its cause.
- ``alarms``: append-only alarm state changes (raised / cleared) with cause.
- ``meta``: key/value (``kind`` = ``project`` or ``review``, ``file_id``,
  creator, export details). ``manifest``: per-table SHA-256 of a review export.

Damage is noticed (format 2): every row of ``layouts``, ``incidents``,
``recordings``, ``keyframes``, ``keyframe_arrays``, ``events``, ``series`` and
``alarms`` carries ``crc``, the CRC-32 of its other columns but ``id``
(:func:`row_crc`), written with the row and checked whenever the row is read:
a flipped bit anywhere in what a recording holds is found and named. Readers
of these tables do not trust SQLite's indexes (a damaged index entry could
hide or swap rows): they scan (``NOT INDEXED``) or look rows up by id.

Format 4 adds ``crc`` to the measured-data tables (telemetry sets, point maps, measured series, site
events, shadow runs and their series: :data:`MEASURED_TABLES`), checked by their readers
(:mod:`dctwin.twin.store.measured`), by ``dctwin verify`` (which checks every row's ``crc`` of every
table) and before a review export copies them. In files of format 3 those tables have no ``crc``: they
read unchecked (read-only, in place), and the migration to 4 checks what it can (blob sizes, JSON)
and gives every row its checksum.

Format 1 (``user_version = 1``) files have neither checksums nor encodings;
they open read-only as they always did, and ``dctwin compact`` rewrites one
in this format.

Adding a table (measured series, sweep results, ...): define it here as a
SQLModel class with ``table=True`` (subclass :class:`_OfRecording` if its
rows belong to a recording: review exports then keep only the exported
recording's rows, and ``crc`` (:class:`Checked`) to have its rows checked),
and register it with :func:`optional_table`. An optional table is created
the first time it is written (``Project.ensure_table``), files without it
open as before (the opening checks require only :data:`TABLES`), review
exports hash it like any table, ``compact`` copies it. Write rows with
``Project.insert_rows`` (which fills ``crc``) and read them with
``Project.read_rows`` (which checks it). Changing an existing table's columns
needs a new ``SCHEMA_VERSION`` and a migration (``project.MIGRATIONS``).
"""

from __future__ import annotations

import zlib
from typing import Any, Mapping, Optional

from sqlalchemy import Index, LargeBinary, Table, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

#: ``PRAGMA application_id`` of a dctwin file: "DCTW"
APPLICATION_ID = 0x44435457
#: ``PRAGMA user_version``: the schema version this code writes and reads. 3: the tables of 2, but keyframes
#: written by ``record_run`` may lack the engine's air history (the run forgot it there), which a replay must
#: then restore at each keyframe second rather than step over it: dctwin before 3 would not. 4: the measured-data
#: tables (:data:`MEASURED_TABLES`) carry ``crc`` too (format 3 files gain it by migration, ``compact.v3_to_v4``)
SCHEMA_VERSION = 4
#: the oldest format this version still reads (read-only, in place) and compacts into the current one
OLDEST_READABLE = 1


class Checked(SQLModel):
    """A ``crc`` column: the CRC-32 of the row's other columns but ``id`` (:func:`row_crc`)."""

    crc: Optional[int] = None


class _OfRecording(SQLModel):
    """The columns every per-recording table starts with: its own id and the recording it belongs to."""

    id: Optional[int] = Field(default=None, primary_key=True)
    recording_id: int = Field(foreign_key="recordings.id")


class Meta(SQLModel, table=True):
    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str = ""


class LayoutVersion(Checked, table=True):
    __tablename__ = "layouts"
    id: Optional[int] = Field(default=None, primary_key=True)
    saved_at: str  # ISO 8601, UTC
    note: str = ""
    layout_json: str


class Incident(Checked, table=True):
    __tablename__ = "incidents"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str
    saved_at: str
    note: str = ""
    incident_json: str


class Recording(Checked, table=True):
    __tablename__ = "recordings"
    id: Optional[int] = Field(default=None, primary_key=True)
    layout_id: int = Field(foreign_key="layouts.id")
    incident_id: Optional[int] = Field(default=None, foreign_key="incidents.id")
    hall_id: Optional[str] = None
    dt_s: float
    duration_s: float = 0.0
    engine_version: str
    started_at: str
    finished: bool = False
    keyframe_every_s: float
    metrics_every_s: float
    rack_series_every_s: float
    rack_ids_json: str = "[]"
    unit_ids_json: str = "[]"
    metric_names_json: str = "[]"
    params_json: str = "{}"
    note: str = ""
    #: rows this recording has in keyframes, events, alarms and series (format 2): a row lost or moved to
    #: another recording by damage is noticed
    n_keyframes: int = 0
    n_events: int = 0
    n_alarms: int = 0
    n_chunks: int = 0


#: the row counts a recording keeps, and the tables they count
COUNTED = {"n_keyframes": "keyframes", "n_events": "events", "n_alarms": "alarms", "n_chunks": "series"}


class Keyframe(_OfRecording, Checked, table=True):
    __tablename__ = "keyframes"
    __table_args__ = (UniqueConstraint("recording_id", "t_s"),)
    t_s: float
    #: highest event ``seq`` already applied to this state (replay re-injects the later injected events)
    last_event_seq: int = 0
    #: the keyframe's arrays are the keyframe_arrays rows with ids first_array_id .. first_array_id + n_arrays - 1
    first_array_id: int = 0
    n_arrays: int = 0


class KeyframeArray(Checked, table=True):
    __tablename__ = "keyframe_arrays"
    __table_args__ = (UniqueConstraint("keyframe_id", "name"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    keyframe_id: int = Field(foreign_key="keyframes.id")
    name: str
    dtype: str
    shape: str  # JSON list of ints
    codec: str = "raw"  # arrays.CODECS
    #: the row holding the same bytes (an array unchanged since an earlier keyframe of the recording)
    ref_id: Optional[int] = None
    #: codec "xor": the row (an earlier keyframe's same array, not itself "xor") the data is XORed with
    base_id: Optional[int] = None
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # empty when ref_id is set


class EventRow(_OfRecording, Checked, table=True):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("recording_id", "seq"), Index("ix_events_rec_t", "recording_id", "t_s"))
    seq: int
    t_s: float
    kind: str
    target: str
    cause: Optional[int] = None
    condition: str = ""
    details_json: str = "{}"


class SeriesChunk(_OfRecording, Checked, table=True):
    __tablename__ = "series"
    __table_args__ = (Index("ix_series_rec_name_t", "recording_id", "name", "t0_s"),)
    name: str
    t0_s: float
    t1_s: float
    n: int
    width: int
    codec: str = "shuffle"  # "shuffle": both blobs byte-shuffled + zstd; "raw" (format 1)
    t_data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float64[n], little-endian
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float32[width, n] (column-major), little-endian


class AlarmRow(_OfRecording, Checked, table=True):
    __tablename__ = "alarms"
    __table_args__ = (Index("ix_alarms_rec_t", "recording_id", "t_s"),)
    t_s: float
    target: str
    kind: str
    severity: str = "warning"
    active: bool = True
    message: str = ""
    cause: Optional[int] = None  # seq of the event that led to it


# --------------------------------------------------------------------------- measured data (format 4: with crc)
# Written and read by dctwin.twin.store.measured (which describes them); defined here so that opening a file
# knows their columns in every format.


class TelemetrySet(Checked, table=True):
    __tablename__ = "telemetry_sets"
    id: Optional[int] = Field(default=None, primary_key=True)
    layout_id: int = Field(foreign_key="layouts.id")
    imported_at: str
    t0_s: float  # epoch seconds of the first sample
    t1_s: float
    sources_json: str = "[]"
    report_json: str = "{}"
    note: str = ""


class TelemetryPoint(Checked, table=True):
    __tablename__ = "telemetry_points"
    __table_args__ = (UniqueConstraint("set_id", "point"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    set_id: int = Field(foreign_key="telemetry_sets.id")
    point: str
    element: str = ""
    quantity: str
    unit: str = ""  # as imported
    si_unit: str = ""  # of the stored values
    n: int = 0


class TelemetryChunk(Checked, table=True):
    __tablename__ = "telemetry_series"
    __table_args__ = (Index("ix_telemetry_series_point_t", "point_id", "t0_s"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    point_id: int = Field(foreign_key="telemetry_points.id")
    t0_s: float
    t1_s: float
    n: int
    t_data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # int32[n] ms after t0_s
    v_data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float32[n]


class SiteEventRow(Checked, table=True):
    __tablename__ = "site_events"
    __table_args__ = (Index("ix_site_events_set_t", "set_id", "t_s"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    set_id: int = Field(foreign_key="telemetry_sets.id")
    t_s: float  # epoch seconds
    source: str = ""
    raw_kind: str = ""
    message: str = ""
    kind: str
    target: str = ""
    details_json: str = "{}"
    line: int = 0


class ShadowRun(Checked, table=True):
    __tablename__ = "shadow_runs"
    id: Optional[int] = Field(default=None, primary_key=True)
    recording_id: int = Field(foreign_key="recordings.id", unique=True)
    set_id: int = Field(foreign_key="telemetry_sets.id")
    t0_epoch_s: float
    points_json: str = "[]"
    holdout_json: str = "[]"
    estimator_json: str = "{}"
    summary_json: str = "{}"


class ShadowChunk(Checked, table=True):
    __tablename__ = "shadow_series"
    __table_args__ = (Index("ix_shadow_series_rec_name_t", "recording_id", "name", "t0_s"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    recording_id: int = Field(foreign_key="recordings.id")
    name: str
    t0_s: float
    t1_s: float
    n: int
    width: int
    t_data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float64[n]
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float32[width, n]


#: the measured-data tables (optional: created when a file first receives telemetry), parents first
MEASURED_TABLES = [t.__table__ for t in (TelemetrySet, TelemetryPoint, TelemetryChunk, SiteEventRow, ShadowRun,
                                          ShadowChunk)]
MEASURED_TABLE_NAMES = tuple(t.name for t in MEASURED_TABLES)
#: the format from which the measured-data tables carry ``crc``
MEASURED_CRC_SINCE = 4


class ManifestRow(SQLModel, table=True):
    __tablename__ = "manifest"
    table_name: str = Field(primary_key=True)
    rows: int
    sha256: str


#: every table of a project file, in creation order
TABLES = [t.__table__ for t in (Meta, LayoutVersion, Incident, Recording, Keyframe, KeyframeArray,
                                 EventRow, SeriesChunk, AlarmRow, ManifestRow)]
TABLE_NAMES = tuple(t.name for t in TABLES)

#: tables registered by :func:`optional_table` (created when first written), by name
OPTIONAL_TABLES: dict[str, Table] = {}


def optional_table(model: type) -> type:
    """Register a SQLModel table class as an optional table of project files (usable as a decorator)."""
    table = model.__table__  # type: ignore[attr-defined]
    if table.name in TABLE_NAMES:
        raise ValueError(f"{table.name} is a table every project file has")
    OPTIONAL_TABLES[table.name] = table
    return model


for _t in (TelemetrySet, TelemetryPoint, TelemetryChunk, SiteEventRow, ShadowRun, ShadowChunk):
    optional_table(_t)


def checked_columns(table: Table) -> tuple[str, ...]:
    """The columns :func:`row_crc` covers: all but ``id`` and ``crc``, in the table's order."""
    return tuple(c.name for c in table.columns if c.name not in ("id", "crc"))


def has_crc(table: Table) -> bool:
    return "crc" in table.columns


def _kind(col: Any) -> type:
    try:
        return col.type.python_type
    except NotImplementedError:  # pragma: no cover - every column here has one
        return bytes


def _canon(kind: type, v: Any) -> bytes:
    """One value in the form its CRC is taken of (a float by its exact hex, text by its UTF-8 bytes)."""
    if v is None:
        return b"N;"
    if kind is float:
        return b"F" + float(v).hex().encode() + b";"
    if kind is int or kind is bool:
        if isinstance(v, float) and not v.is_integer():
            raise ValueError(v)
        return b"I%d;" % int(v)
    if isinstance(v, str):
        b = v.encode("utf-8", "surrogatepass")
        return (b"S%d:" % len(b)) + b
    b = bytes(v)
    return (b"B%d:" % len(b)) + b


def row_crc(table: Table, row: Mapping[str, Any]) -> Optional[int]:
    """CRC-32 of ``row``'s :func:`checked_columns` (None if a value cannot be what its column holds:
    text in a number column is damage, and no CRC matches it)."""
    v = 0
    try:
        for name in checked_columns(table):
            kind, x = _kind(table.c[name]), row.get(name)
            if kind is bytes and isinstance(x, (bytes, bytearray, memoryview)):
                # the CRC of (header + bytes), without copying a large blob to prepend its header
                v = zlib.crc32(x, zlib.crc32(b"B%d:" % len(x), v))
            else:
                v = zlib.crc32(_canon(kind, x), v)
    except (TypeError, ValueError, OverflowError):
        return None
    return v


def with_crc(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its ``crc`` filled in (for inserts and updates)."""
    row["crc"] = row_crc(table, row)
    return row
