"""Importers: a real site enters dctwin from NetBox (a dump, saved API pages or a live server) or from
a rack spreadsheet, as a validated layout whose every assumed value is marked and reported.

Headless (no Qt): the CLI (``dctwin import``) and the GUI (File > Import) are thin front ends.
"""

from __future__ import annotations

from typing import Any, Callable, Optional


def import_site(kind: str, source: Optional[str] = None, *, site: Optional[str] = None, url: Optional[str] = None,
                token: Optional[str] = None, columns: Optional[dict[str, Any]] = None, sheet: Optional[str] = None,
                base: Any = None, progress: Optional[Callable[[str], None]] = None) -> tuple[Any, Any]:
    """Import a site: ``kind`` "netbox" (``source`` a dump file or API folder, or ``url`` + ``token``) or
    "table" (``source`` a CSV/XLSX rack list). With ``base`` (the layout being edited) the import is
    laid over it, keeping its positions (:func:`dctwin.twin.io.merge.merge_into`).

    Returns (site, report); raises a :class:`~dctwin.twin.errors.DctwinError` naming what is wrong.
    """
    from dctwin.twin.io.merge import merge_into
    from dctwin.twin.io.report import SourceError

    say = progress or (lambda _text: None)
    if kind == "netbox":
        from dctwin.twin.io.netbox import import_netbox
        from dctwin.twin.io.netbox_source import read_source

        target = url or source
        if not target:
            raise SourceError("give a NetBox dump, a folder of API responses, or --url with --token-file")
        say(f"reading {target}")
        data = read_source(target, token, say)
        new, report = import_netbox(data, site, say)
    elif kind == "table":
        from dctwin.twin.io.table import import_table

        if not source:
            raise SourceError("give a rack list (.csv or .xlsx)")
        say(f"reading {source}")
        new, report = import_table(source, columns, sheet, site)
    else:
        raise SourceError(f"unknown import kind {kind!r} (netbox or table)")
    if base is not None:
        say("keeping the positions of the layout being updated")
        new = merge_into(new, base, report)
    return new, report
