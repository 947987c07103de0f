"""The shadow's cheap paths: a nearby regime takes the sensitivities met before, and the Kalman update's
covariance with the optimal gain equals the Joseph form's (it is only cheaper)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from dctwin.twin.assimilate.estimate import InletField, KalmanEstimator
from dctwin.twin.assimilate.observe import Sensor
from dctwin.twin.assimilate.shadow import NEAR_REGIME_AIRFLOW_SHARE, _Shadow


def _shadow_with(v_des: list[float], jacobians: list) -> SimpleNamespace:
    return SimpleNamespace(sim=SimpleNamespace(ua=SimpleNamespace(v_des_m3s=np.array(v_des))), jacobians=jacobians)


def test_nearby_regime_reuses_sensitivities_only_when_little_airflow_changed():
    J_all, J_other = np.ones((3, 2)), np.zeros((3, 2))
    # 40 in-row coolers of 1 m3/s and 2 CRAHs of 10: one cooler is 1/60 of the airflow
    v = [1.0] * 40 + [10.0, 10.0]
    everyone = (1,) * 42
    fake = _shadow_with(v, [(everyone, 1000.0, J_all)])
    one_off = (0,) + (1,) * 41
    J, share = _Shadow._known_regime(fake, one_off, 1000.0)
    assert J is J_all and share == pytest.approx(1 / 60) and share <= NEAR_REGIME_AIRFLOW_SHARE
    assert _Shadow._known_regime(fake, everyone, 1000.0)[1] == 0.0  # the same regime
    # a CRAH (a sixth of the airflow) stopped is a regime of its own
    assert _Shadow._known_regime(fake, (1,) * 41 + (0,), 1000.0) is None
    # so is the same units at a rack power 30 % off
    assert _Shadow._known_regime(fake, one_off, 1300.0) is None
    # the nearest of several: the exact one wins over a near one
    fake.jacobians.append((one_off, 1000.0, J_other))
    J, share = _Shadow._known_regime(fake, one_off, 1000.0)
    assert J is J_other and share == 0.0
    # a small hall's two CRAHs: one stopped is half the airflow, never near
    small = _shadow_with([5.0, 5.0], [((1, 1), 100.0, J_all)])
    assert _Shadow._known_regime(small, (0, 1), 100.0) is None


def _filter(seed: int = 3) -> tuple[KalmanEstimator, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    m = 6
    sensors = [Sensor(f"p{i}", f"R{i}", "inlet_c", i) for i in range(m)]
    pts = np.column_stack([np.arange(m) * 1.2, np.zeros(m)])
    est = KalmanEstimator(np.array([0.2, 0.1]), sensors, np.array([True] * 5 + [False]),
                          inlets=InletField(pts), field_of=np.arange(m))
    est.set_jacobian(rng.normal(size=(m, 2)))
    return est, rng.normal(20, 1, size=m), rng.normal(20.5, 1, size=m)


def _joseph(est: KalmanEstimator, y: np.ndarray, z: np.ndarray, hold: bool) -> tuple[np.ndarray, np.ndarray]:
    """The update of the module docstring written out plainly (Joseph form, general solve)."""
    p = est.n_params
    use = [k for k in range(len(z)) if est.assimilated[k]]
    n = len(est.x)
    H = np.zeros((len(use), n))
    if not hold:
        H[:, :p] = est.J[use]
    r = np.array([est._sigma(k, z[k]) ** 2 for k in use])
    for i, k in enumerate(use):
        H[i, p + est.field_of[k]] = 1.0
        H[i, est.bias_index[k]] = 1.0
    d = z[use] - y[use] - est.correction(np.array(use)) - H[:, p:] @ est.x[p:]
    S = H @ est.P @ H.T + np.diag(r)
    K = np.linalg.solve(S, H @ est.P).T
    if hold:
        K[:p] = 0.0
    IKH = np.eye(n) - K @ H
    return est.x + K @ d, IKH @ est.P @ IKH.T + (K * r) @ K.T


@pytest.mark.parametrize("hold", [False, True])
def test_kalman_update_matches_the_joseph_form(hold):
    est, y, z = _filter()
    est.update(y, z)  # a first update so that P has cross-covariances
    if hold:
        est.set_jacobian(est.J * 1.5, transition=True)
        assert est.settling
    est.predict(60.0)
    x_ref, P_ref = _joseph(est, y, z + 0.3, hold)
    est.update(y, z + 0.3)
    assert np.allclose(est.x, x_ref, atol=1e-10)
    assert np.allclose(est.P, P_ref, atol=1e-10)
    assert np.allclose(est.P, est.P.T)
