"""A short shadow replay of the synthetic small hall (1.5 h, air grid 0.6 m), for GUI and report tests."""

from __future__ import annotations

from pathlib import Path


def make_shadow(folder: Path, estimate: bool = False, holdout: int = 0) -> tuple[Path, dict]:
    from dctwin.twin.assimilate.shadow import ShadowOptions, run_shadow
    from dctwin.twin.assimilate.synth import SynthOptions, synthesize
    from dctwin.twin.io.import_telemetry import import_telemetry
    from dctwin.twin.model.demos import load_demo

    synthesize(load_demo("small"), folder, SynthOptions(grid_m=0.6, hours=1.5))
    path = folder / "site.dctwin"
    import_telemetry(folder / "layout.json", path, [folder / "measurements.csv"], folder / "points.csv",
                     folder / "events.csv", folder / "event-map.json")
    return path, run_shadow(str(path), ShadowOptions(grid_m=0.6, estimate=estimate, holdout=holdout))
