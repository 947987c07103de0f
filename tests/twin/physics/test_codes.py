"""The codes shared by kernels and references: one module, no numba, the old names still importable."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from dctwin.twin.physics import codes


def test_numpy_references_import_without_numba():
    """A Python without numba still has the plain references (and the codes and constants they use)."""
    script = (
        "import sys\n"
        "class NoNumba:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'numba' or name.startswith('numba.'):\n"
        "            raise ImportError('numba is not installed here')\n"
        "sys.meta_path.insert(0, NoNumba())\n"
        "from dctwin.twin.physics import _it_numpy, _cooling_air_numpy, _power_numpy, _plant_numpy, _workloads_numpy\n"
        "from dctwin.twin.physics import codes, constants\n"
        "assert 'numba' not in sys.modules\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_old_names_stay_importable_from_the_public_modules():
    from dctwin.twin.physics import cooling_air, it, plant, power, workloads

    assert it.MODE_SHUTDOWN == codes.MODE_SHUTDOWN and it.TRANSITION_KINDS[codes.TR_POWER_LOST] == "rack_down"
    assert cooling_air.KIND_CODES["cdu"] == cooling_air.KIND_CDU == codes.KIND_CDU
    assert cooling_air.CONTROL_CODES["inlet_target"] == codes.CONTROL_INLET
    assert power.KIND_CODES["ups"] == power.K_UPS == codes.K_UPS
    assert power.TRANSITION_KINDS[codes.T_GENERATOR_FAILED] == ("generator_stop", "failed to start")
    assert plant.CHILLER_AIR == codes.CHILLER_AIR and plant.LOOP_CODES["tcs"] == codes.LOOP_TCS
    assert workloads.KIND_CODES["ai_training"] == workloads.KIND_AI_TRAINING == codes.KIND_AI_TRAINING


def test_codes_are_distinct_within_each_family():
    families = {
        "rack modes": (codes.MODE_ON, codes.MODE_SHUTDOWN, codes.MODE_UNPOWERED),
        "rack transitions": (codes.TR_NONE, codes.TR_THROTTLE, codes.TR_UNTHROTTLE, codes.TR_SHUTDOWN,
                             codes.TR_RESTART, codes.TR_POWER_LOST),
        "unit kinds": tuple(codes.UNIT_KIND_CODES.values()),
        "power kinds": tuple(codes.POWER_KIND_CODES.values()),
        "workload kinds": tuple(codes.WORKLOAD_KIND_CODES.values()),
        "loops": tuple(codes.LOOP_CODES.values()),
    }
    for name, values in families.items():
        assert len(set(values)) == len(values), name
    # one (kind, condition) per power transition code, in code order
    assert len(codes.POWER_TRANSITION_KINDS) == codes.T_GENERATOR_FAILED + 1


def test_parameter_arrays_have_their_layout_filled():
    for prm, n in ((codes.rack_params(), codes.RACK_N_PARAMS), (codes.unit_params(), codes.UNIT_N_PARAMS),
                   (codes.power_params(), codes.POWER_N_PARAMS)):
        assert prm.shape == (n,)
        assert np.isfinite(prm).all()  # every slot set (an unset one is NaN)
