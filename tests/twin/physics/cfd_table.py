"""Every CFD reference room through ``dctwin solve``, with both air models: the table of
docs/validation.md ("Rack inlets per room, both models").

    python3 tests/twin/physics/cfd_table.py [ROOM ...]
    python3 tests/twin/physics/cfd_table.py --attempts [--variants NAME,NAME] [ROOM ...]
    python3 tests/twin/physics/cfd_table.py --racks NAME,NAME [ROOM ...]

For each room (B1 and tests/data/cfd/*.json) and power case it writes the room as a layout
(air_cases.cfd_site: racks ``airflow_fixed`` at the CFD's airflow and power), runs
``dctwin solve --json --air-model fast|validated`` in this process and prints one markdown row: rack
inlet RMS and worst |error| against the CFD (K) per model, and each solve's CPU time (process time
around the command, after one warm-up solve per model so numba compiles are not counted) with the
ratio validated / fast. Then the summary of the rooms the choices were made on and of the rooms
held out of them (test_cfd_rooms.HELD_OUT). test_cfd_cli.py holds the same figures as
bounds; this prints them.

``--attempts``: the record of the row-end attempts of issue 18, room by room: every room/case solved
(``Simulation.solve_steady``, what ``dctwin solve`` runs) with each air model variant of
:data:`ATTEMPTS`, RMS (worst rack) per variant; ``--variants`` only the named ones (comma-separated).
``--racks``: every rack's error (model minus CFD, K) with each named variant, one line per room/case/variant.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from air_cases import cfd_site  # noqa: E402
from dctwin.app.main import main  # noqa: E402
from dctwin.twin.model.layoutfile import save_layout  # noqa: E402
from dctwin.twin.physics.turbulence import OneEquation  # noqa: E402
from dctwin.twin.sim.air_models import AIR_MODELS, AirModel  # noqa: E402
from dctwin.twin.sim.engine import Simulation  # noqa: E402
from test_cfd_rooms import HELD_OUT, ROOMS, load_room  # noqa: E402

MODELS = ("fast", "validated")
#: the air model variants tried on the row ends (docs/validation.md, "Row ends"), reproducible as an
#: AirModel: advection scheme ("sl" semi-Lagrangian, "mcl" limited MacCormack), every march from
#: rest, TVD temperature transport, diffusivity floor (m2/s)
ATTEMPTS = {
    "fast": AIR_MODELS["fast"],
    # "fast" before session 26 (the rack-front jets' free edge off): the "fast" of the tables before it
    "fast edge off": AirModel(),
    "mcl rest": AirModel(scheme="mcl", cold_start=True),
    "floor 0.01": AirModel(alpha_floor=0.01),
    "TVD": AirModel(tvd=True),
    "TVD floor 0.01": AirModel(tvd=True, alpha_floor=0.01),
    "mcl rest TVD": AirModel(scheme="mcl", cold_start=True, tvd=True),
    "validated": AIR_MODELS["validated"],
    "validated floor 0.005": AirModel(scheme="mcl", cold_start=True, tvd=True, alpha_floor=0.005),
    # session 21: the one-equation eddy viscosity (k carried with the flow), "k1 l0.4" = largest mixing
    # length 0.4 m; "floor": the temperature diffusivity floor, under which nu_t / Pr_t sets it
    "k1 l0.1": AirModel(turbulence=OneEquation(l_max=0.1)),
    "k1 l0.2": AirModel(turbulence=OneEquation(l_max=0.2)),
    "k1 l0.4": AirModel(turbulence=OneEquation(l_max=0.4)),
    "k1 l0.2 floor 0.01": AirModel(turbulence=OneEquation(l_max=0.2), alpha_floor=0.01),
    "k1 l0.2 floor 0.005": AirModel(turbulence=OneEquation(l_max=0.2), alpha_floor=0.005),
    "one_equation": AIR_MODELS["one_equation"],
    "k1 l0.6 floor 0.005": AirModel(turbulence=OneEquation(l_max=0.6), alpha_floor=0.005),
    "k1 l0.4 floor 0.002": AirModel(turbulence=OneEquation(l_max=0.4), alpha_floor=0.002),
    "one_equation I 0.2": AirModel(turbulence=OneEquation(l_max=0.4, intensity=0.2), alpha_floor=0.005),
    "one_equation TVD": AirModel(turbulence=OneEquation(l_max=0.4), alpha_floor=0.005, tvd=True),
    "validated k1 l0.2": AirModel(scheme="mcl", cold_start=True, tvd=True, alpha_floor=0.01, runs=False,
                                  turbulence=OneEquation(l_max=0.2)),
    # k1 for the temperature's diffusivity only (momentum keeps Chen's eddy viscosity)
    "one_equation T only": AirModel(alpha_floor=0.005, turbulence=OneEquation(l_max=0.4, momentum=False)),
    "mcl rest one_equation": AirModel(scheme="mcl", cold_start=True, alpha_floor=0.005,
                                      turbulence=OneEquation(l_max=0.4)),
    "mcl rest one_equation TVD": AirModel(scheme="mcl", cold_start=True, tvd=True, alpha_floor=0.005, runs=False,
                                          turbulence=OneEquation(l_max=0.4)),
    "validated T only k1": AirModel(scheme="mcl", cold_start=True, tvd=True, alpha_floor=0.005, runs=False,
                                    turbulence=OneEquation(l_max=0.4, momentum=False)),
    "one_equation sigma_k 0.5": AirModel(alpha_floor=0.005, turbulence=OneEquation(l_max=0.4, sigma_k=0.5)),
    "one_equation sigma_k 2": AirModel(alpha_floor=0.005, turbulence=OneEquation(l_max=0.4, sigma_k=2.0)),
    "one_equation I 0.05": AirModel(alpha_floor=0.005, turbulence=OneEquation(l_max=0.4, intensity=0.05)),
    "one_equation 1 sweep": AirModel(alpha_floor=0.005, turbulence=OneEquation(l_max=0.4, sweeps=1)),
    # production nu_t S Omega (Kato-Launder): no k made where jets turn without rotating
    "one_equation Kato": AirModel(alpha_floor=0.005, turbulence=OneEquation(l_max=0.4, kato=True)),
    "k1 l0.6 floor 0.005 Kato": AirModel(alpha_floor=0.005, turbulence=OneEquation(l_max=0.6, kato=True)),
}


def solve(path: Path, model: str) -> tuple[dict, float]:
    """``dctwin solve PATH --json --air-model MODEL``: its JSON and the CPU seconds it took."""
    out = io.StringIO()
    t0 = time.process_time()
    with contextlib.redirect_stdout(out):
        rc = main(["solve", str(path), "--json", "--air-model", model])
    cpu = time.process_time() - t0
    if rc != 0:
        raise SystemExit(f"dctwin solve {path} --air-model {model} failed ({rc})")
    return json.loads(out.getvalue()), cpu


def inlet_errors(out: dict, site, case: dict, power_case: str) -> np.ndarray:
    """Model minus CFD rack inlet temperature (K), rack by rack (``out``: the solve's JSON)."""
    tin = np.array([out["racks"][r.id]["inlet_c"] for r in site.halls[0].racks])
    return tin - np.array(case["temperatures"]["cases"][power_case]["T_inlet_C"])


def record(err: np.ndarray, rms: list, worst: list) -> str:
    """Append the RMS and worst |error| of ``err`` to the lists; the table cell "RMS (worst)"."""
    rms.append(float(np.sqrt(np.mean(err ** 2))))
    worst.append(float(np.abs(err).max()))
    return f"{rms[-1]:.2f} ({worst[-1]:.1f})"


def main_table(rooms: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="dctwin-cfd-") as tmp:
        warm = Path(tmp) / "warm.json"
        save_layout(cfd_site(load_room("case_B1"), "uniform_4kW"), warm)
        for m in MODELS:
            solve(warm, m)
        print("| room | case | fast RMS (worst) K | validated RMS (worst) K | CPU s fast / validated | ratio |")
        print("|---|---|---|---|---|---|")
        rms = {m: [] for m in MODELS}
        worst = {m: [] for m in MODELS}
        cpu = {m: [] for m in MODELS}
        held = []
        for name in sorted(rooms, key=lambda r: r in HELD_OUT):
            case = load_room(name)
            for pc in case["temperatures"]["cases"]:
                site = cfd_site(case, pc)
                path = Path(tmp) / f"{name}-{pc}.json"
                save_layout(site, path)
                cells = []
                held.append(name in HELD_OUT)
                for m in MODELS:
                    out, c = solve(path, m)
                    cpu[m].append(c)
                    cells.append(record(inlet_errors(out, site, case, pc), rms[m], worst[m]))
                print(f"| {name} | {pc} | {cells[0]} | {cells[1]} | {cpu['fast'][-1]:.2f} / "
                      f"{cpu['validated'][-1]:.2f} | {cpu['validated'][-1] / cpu['fast'][-1]:.1f} |", flush=True)
        held_out = np.array(held)
        for group, sel in (("tuned", ~held_out), ("held out", held_out)):
            if not sel.any():
                continue
            for m in MODELS:
                r, w = np.array(rms[m])[sel], np.array(worst[m])[sel]
                print(f"{group}, {m}: {len(r)} room/cases, RMS mean {r.mean():.2f} K, range {r.min():.2f}..{r.max():.2f} K, "
                      f"worst rack {w.max():.2f} K, cases within 1.5 K RMS and 3 K worst: "
                      f"{int(((r <= 1.5) & (w <= 3.0)).sum())}; CPU {np.array(cpu[m])[sel].sum():.1f} s")
        ratio = np.array(cpu["validated"]) / np.array(cpu["fast"])
        print(f"CPU validated / fast: {ratio.min():.1f}..{ratio.max():.1f}, total {sum(cpu['validated']) / sum(cpu['fast']):.1f}")


def attempts_table(rooms: list[str], names: list[str]) -> None:
    attempts = {k: ATTEMPTS[k] for k in names}
    AIR_MODELS.update({k: v for k, v in attempts.items() if k not in AIR_MODELS})
    print("| room | case | " + " | ".join(attempts) + " |")
    print("|---|---|" + "---|" * len(attempts))
    rms = {k: [] for k in attempts}
    worst = {k: [] for k in attempts}
    for name in rooms:
        case = load_room(name)
        for pc in case["temperatures"]["cases"]:
            site = cfd_site(case, pc)
            cells = []
            for k in attempts:
                out = Simulation(site, air_model=k).solve_steady().to_json()
                cells.append(record(inlet_errors(out, site, case, pc), rms[k], worst[k]))
            print(f"| {name} | {pc} | " + " | ".join(cells) + " |", flush=True)
    print("| **mean / worst RMS / worst rack** | | " + " | ".join(
        f"{np.mean(rms[k]):.2f} / {max(rms[k]):.2f} / {max(worst[k]):.1f}" for k in attempts) + " |")


def racks_table(rooms: list[str], names: list[str]) -> None:
    AIR_MODELS.update({k: ATTEMPTS[k] for k in names if k not in AIR_MODELS})
    for name in rooms:
        case = load_room(name)
        for pc in case["temperatures"]["cases"]:
            site = cfd_site(case, pc)
            for k in names:
                err = inlet_errors(Simulation(site, air_model=k).solve_steady().to_json(), site, case, pc)
                print(f"{name} {pc} {k}: " + " ".join(f"{e:+.1f}" for e in err), flush=True)


def _variants(arg: str) -> list[str]:
    names = arg.split(",")
    unknown = [n for n in names if n not in ATTEMPTS]
    if unknown:
        raise SystemExit(f"unknown variant(s) {', '.join(unknown)}; one of: {', '.join(ATTEMPTS)}")
    return names


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--attempts"]:
        names = list(ATTEMPTS)
        if args[1:2] == ["--variants"]:
            names = _variants(args[2])
            args = args[2:]
        attempts_table(args[1:] or ["case_B1"] + ROOMS, names)
    elif args[:1] == ["--racks"]:
        racks_table(args[2:] or ["case_B1"] + ROOMS, _variants(args[1]))
    else:
        main_table(args or ["case_B1"] + ROOMS)
