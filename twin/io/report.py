"""What an import did: counts, every assumption with the objects it touched, what was skipped and why.

An :class:`ImportReport` is filled while a source is mapped to a layout, printed as a summary by the
CLI and the GUI, and written as JSON with ``--report``. Its JSON keys are a contract (add, never rename).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dctwin.twin.errors import InputError


class SourceError(InputError):
    """The source cannot be imported as it is: a file that is not what it claims, a NetBox object whose
    data is broken (named by model, id and name), a server that refuses or cannot be reached."""


def nb_label(model: str, pk: Any, name: Any = None) -> str:
    """How a NetBox object is named in messages: ``dcim.rack 14 "A01"``."""
    return f"{model} {pk}" + (f" {str(name)!r}".replace("'", '"') if name not in (None, "") else "")


@dataclass
class ImportReport:
    """Everything a person needs to trust (or correct) an imported layout."""

    source: str = ""
    #: "netbox-fixture", "netbox-api-folder", "netbox-live" or "table"
    source_kind: str = ""
    netbox_version: str = ""
    site: str = ""
    #: how many of each thing came in (racks, devices, power_panels, ...)
    counts: dict[str, int] = field(default_factory=dict)
    #: assumption (what was assumed and why) -> the objects (layout ids) it touched
    assumptions: dict[str, list[str]] = field(default_factory=dict)
    #: what was left out: {"object": ..., "reason": ...}
    skipped: list[dict[str, str]] = field(default_factory=list)
    #: how racks were placed: "floorplan", "custom_fields", "table", "auto", "kept" -> rack ids
    placement: dict[str, list[str]] = field(default_factory=dict)
    #: where each device's power came from: "allocated_draw", "maximum_draw", "port_template",
    #: "default_per_u", "no_draw" -> device count
    power_sources: dict[str, int] = field(default_factory=dict)
    #: against the layout it updated (re-import): added, removed, updated element ids
    changes: dict[str, list[str]] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def assume(self, text: str, *objects: str) -> None:
        """Record that ``text`` was assumed for ``objects`` (layout ids; the list keeps their order)."""
        self.assumptions.setdefault(text, []).extend(objects)

    def skip(self, obj: str, reason: str) -> None:
        self.skipped.append({"object": obj, "reason": reason})

    def placed(self, how: str, rack_id: str) -> None:
        self.placement.setdefault(how, []).append(rack_id)

    def power_source(self, how: str, n: int = 1) -> None:
        self.power_sources[how] = self.power_sources.get(how, 0) + n

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "source_kind": self.source_kind, "netbox_version": self.netbox_version,
            "site": self.site, "counts": dict(self.counts),
            "assumptions": [{"assumption": k, "objects": list(v), "count": len(v)}
                            for k, v in self.assumptions.items()],
            "skipped": list(self.skipped),
            "placement": {k: list(v) for k, v in self.placement.items()},
            "power_sources": dict(self.power_sources),
            "changes": {k: list(v) for k, v in self.changes.items()},
        }

    def summary(self, max_items: int = 6) -> str:
        """Plain text for the terminal and the report dialog: counts, assumptions, skipped, changes."""
        lines = [f"Imported {self.source_kind} {self.source}" + (f" (NetBox {self.netbox_version})"
                                                                  if self.netbox_version else "")]
        if self.site:
            lines[0] += f", site {self.site}"
        lines.append("  " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in self.counts.items()))
        if self.placement:
            lines.append("Placement: " + ", ".join(f"{len(v)} by {k.replace('_', ' ')}"
                                                   for k, v in self.placement.items()))
        if self.power_sources:
            lines.append("Device power from: " + ", ".join(f"{k.replace('_', ' ')} {n}"
                                                           for k, n in self.power_sources.items()))
        if self.changes:
            lines.append("Changes: " + ", ".join(f"{len(v)} {k}" for k, v in self.changes.items()))
            for k, v in self.changes.items():
                if v:
                    lines.append(f"  {k}: {_some(v, max_items)}")
        lines.append(f"Assumptions ({len(self.assumptions)}):" if self.assumptions else "Assumptions: none")
        for text, objs in self.assumptions.items():
            lines.append(f"  - {text}: {_some(objs, max_items)}")
        lines.append(f"Skipped ({len(self.skipped)}):" if self.skipped else "Skipped: nothing")
        for item in self.skipped[:max_items * 3]:
            lines.append(f"  - {item['object']}: {item['reason']}")
        if len(self.skipped) > max_items * 3:
            lines.append(f"  ... and {len(self.skipped) - max_items * 3} more (see the JSON report)")
        return "\n".join(lines)


def _some(items: list[str], n: int) -> str:
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return f"{len(items)} ({', '.join(items[:n])}{more})"


def read_source_text(p: Path, what: str) -> str:
    """The UTF-8 text (a byte-order mark dropped) of source file ``p``, ``what`` saying what it should be
    (e.g. "a point map: point,element,quantity,unit"); a :class:`SourceError` naming the file when it
    is missing, not UTF-8 or unreadable."""
    try:
        return p.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise SourceError(f"{p}: not found ({what})") from None
    except UnicodeDecodeError as exc:
        raise SourceError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise SourceError(f"{p}: cannot be read: {exc.strerror or exc}") from None
