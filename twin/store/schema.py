"""Tables of a dctwin project file (SQLModel over SQLite).

One ``*.dctwin`` file is one SQLite database marked with
``PRAGMA application_id = 0x44435457`` ("DCTW") and
``PRAGMA user_version = SCHEMA_VERSION``.

Layout of the data, and why:

- ``layouts``: every save is a new row (a version) holding the layout JSON
  text written by :func:`dctwin.twin.model.layoutfile.dumps_layout`; nothing is updated in
  place, so every recording points at the exact layout it ran on.
- ``keyframes`` + ``keyframe_arrays``: one row per keyframe time, one row per
  state array with ``dtype`` (numpy ``dtype.str``, explicit byte order),
  ``shape`` (JSON list) and the raw C-order bytes. Never pickle. An array
  bit-identical to the one in the previous keyframe (the frozen flow field,
  most of a keyframe, between re-marches) is stored once: later rows carry
  ``ref_id``, the row that holds the bytes, and no data.
- ``series``: decimated trends in chunks. One row holds ``n`` samples of one
  stream: ``t_data`` (float64[n], the sample times) and ``data``
  (float32[width, n]: column by column, so the ``n`` samples of one rack or
  metric are contiguous). Stream ``"hall"`` has one column per hall metric
  (names in ``recordings.metric_names_json``); streams ``"rack_inlet_c"`` and
  ``"rack_power_w"`` have one column per rack (order in
  ``recordings.rack_ids_json``). A chunk is written with each keyframe batch
  (a 24 h recording at 1 Hz is ~1,440 rows per stream). No per-sample rows:
  86,400 x 1,000 rows would be slow to write and to read. One rack's trend
  over 24 h reads only its slice of each chunk (incremental blob I/O, a few
  tens of ms), and every rack at one time is one chunk of ~24 kB.
- ``events``: every event of the run (injected and automatic) with its cause.
- ``alarms``: append-only alarm state changes (raised / cleared) with cause.
- ``meta``: key/value (``kind`` = ``project`` or ``review``, creator, export
  details). ``manifest``: per-table SHA-256 of a review export.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import Index, LargeBinary, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

#: ``PRAGMA application_id`` of a dctwin file: "DCTW"
APPLICATION_ID = 0x44435457
#: ``PRAGMA user_version``: the schema version this code writes and reads
SCHEMA_VERSION = 1


class _OfRecording(SQLModel):
    """The columns every per-recording table starts with: its own id and the recording it belongs to."""

    id: Optional[int] = Field(default=None, primary_key=True)
    recording_id: int = Field(foreign_key="recordings.id")


class Meta(SQLModel, table=True):
    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str = ""


class LayoutVersion(SQLModel, table=True):
    __tablename__ = "layouts"
    id: Optional[int] = Field(default=None, primary_key=True)
    saved_at: str  # ISO 8601, UTC
    note: str = ""
    layout_json: str


class Incident(SQLModel, table=True):
    __tablename__ = "incidents"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str
    saved_at: str
    note: str = ""
    incident_json: str


class Recording(SQLModel, table=True):
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


class Keyframe(_OfRecording, table=True):
    __tablename__ = "keyframes"
    __table_args__ = (UniqueConstraint("recording_id", "t_s"),)
    t_s: float
    #: highest event ``seq`` already applied to this state (replay re-injects the later injected events)
    last_event_seq: int = 0


class KeyframeArray(SQLModel, table=True):
    __tablename__ = "keyframe_arrays"
    __table_args__ = (UniqueConstraint("keyframe_id", "name"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    keyframe_id: int = Field(foreign_key="keyframes.id")
    name: str
    dtype: str
    shape: str  # JSON list of ints
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # empty when ref_id is set
    #: the row holding the same bytes (an array unchanged since an earlier keyframe of the recording)
    ref_id: Optional[int] = None


class EventRow(_OfRecording, table=True):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("recording_id", "seq"), Index("ix_events_rec_t", "recording_id", "t_s"))
    seq: int
    t_s: float
    kind: str
    target: str
    cause: Optional[int] = None
    condition: str = ""
    details_json: str = "{}"


class SeriesChunk(_OfRecording, table=True):
    __tablename__ = "series"
    __table_args__ = (Index("ix_series_rec_name_t", "recording_id", "name", "t0_s"),)
    name: str
    t0_s: float
    t1_s: float
    n: int
    width: int
    t_data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float64[n], little-endian
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float32[width, n] (column-major), little-endian


class AlarmRow(_OfRecording, table=True):
    __tablename__ = "alarms"
    __table_args__ = (Index("ix_alarms_rec_t", "recording_id", "t_s"),)
    t_s: float
    target: str
    kind: str
    severity: str = "warning"
    active: bool = True
    message: str = ""
    cause: Optional[int] = None  # seq of the event that led to it


class ManifestRow(SQLModel, table=True):
    __tablename__ = "manifest"
    table_name: str = Field(primary_key=True)
    rows: int
    sha256: str


#: every table of a project file, in creation order
TABLES = [t.__table__ for t in (Meta, LayoutVersion, Incident, Recording, Keyframe, KeyframeArray,
                                 EventRow, SeriesChunk, AlarmRow, ManifestRow)]
TABLE_NAMES = tuple(t.name for t in TABLES)
