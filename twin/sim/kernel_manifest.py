"""Write :mod:`dctwin.twin.physics._kernel_manifest`: the kernels, and the argument types the engine
calls them with, that reference runs compile (a steady solve of the demo halls: section "solve"; then
their built-in incidents for two minutes: section "simulate"). Run it after changing a kernel's
arguments: ``python -m dctwin.twin.sim.kernel_manifest``. (Here, not in twin.physics: it runs the engine.)
"""

from __future__ import annotations

import os
from typing import Optional

from dctwin.twin.physics import kernels


def _signatures_now() -> dict[str, list[str]]:
    return {name: [str(tuple(sig)) if len(sig) != 1 else f"({sig[0]},)" for sig in d.signatures]
            for name, d in kernels.kernel_dispatchers().items() if d.signatures}


def record_manifest() -> dict[str, dict[str, list[str]]]:
    """Run the reference workloads (a steady solve of the demo halls, then a transient with an incident)
    and return the signatures each compiled, by section."""
    from dctwin.twin.model.demos import load_demo
    from dctwin.twin.sim import solved
    from dctwin.twin.sim.engine import Simulation

    os.environ[solved.ENV] = "off"  # every solve from rest: a stored solution would compile no march kernel

    # small at its default grid and ai-hall coarse: the transient's temperature step is explicit on a
    # coarse grid and implicit on a fine one, and a warm-up must compile both
    grids = {"small": None, "ai-hall": 1.2}
    for demo, grid in grids.items():
        Simulation(load_demo(demo), grid_m=grid).solve_steady()
    solve = _signatures_now()
    from dctwin.twin.errors import DctwinError
    from dctwin.twin.model.incidents import list_incidents, load_library_incident

    for demo, grid in grids.items():
        site = load_demo(demo)
        for inc_name in list_incidents():
            try:
                incident = load_library_incident(inc_name, site)
            except DctwinError:  # an incident made for another hall
                continue
            sim = Simulation(site, grid_m=grid)
            sim.solve_steady()
            incident.schedule_on(sim)
            sim.run(120.0, 1.0 if grid else None)
        sim = Simulation(site, grid_m=grid)  # an adaptive run's temperature solve corrects blocks (thermal.step)
        sim.solve_steady()
        sim.run(120.0, 1.0 if grid else None, adaptive=True)
    every = _signatures_now()
    simulate = {n: [s for s in sigs if s not in solve.get(n, [])] for n, sigs in every.items()}
    return {"solve": solve, "simulate": {n: s for n, s in simulate.items() if s}}


def write_manifest(path: Optional[str] = None) -> str:
    """Write the manifest (default: beside :mod:`dctwin.twin.physics.kernels`); returns its path.
    Signatures with a literal argument are left out: only kernels call kernels with literals, and
    compiling the caller compiles them (a warm-up compiles what Python calls)."""
    sections = record_manifest()
    for section in sections.values():
        for name in list(section):
            section[name] = [s for s in section[name] if "Literal" not in s and "omitted" not in s]
            if not section[name]:
                del section[name]
    path = path or os.path.join(os.path.dirname(kernels.__file__), "_kernel_manifest.py")
    lines = ['"""The physics kernels and the argument types the engine calls them with, by what needs them',
             "(written by ``python -m dctwin.twin.sim.kernel_manifest``; see",
             ':mod:`dctwin.twin.physics.kernels`)."""', "", "SIGNATURES = {"]
    for section, found in sections.items():
        lines.append(f"    {section!r}: {{")
        for name in sorted(found):
            lines.append(f"        {name!r}: (")
            lines.extend(f"            {s!r}," for s in found[name])
            lines.append("        ),")
        lines.append("    },")
    lines.append("}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


if __name__ == "__main__":
    print(write_manifest())
