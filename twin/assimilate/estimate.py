"""State estimation: the temperatures between sensors are the model's, corrected by the sensors.

A Kalman filter over a few uncertain parameters of the hall (:mod:`~dctwin.twin.assimilate.params`)
and a slow bias per sensor, with the model's sensitivities as its observation operator (a
linearised, "extended" Kalman filter; the ensemble of an EnKF replaced by the Jacobian, which
costs one steady solve per parameter instead of one transient run per member).

The shadow replay runs the twin at the layout's parameters theta_0 (its *prediction* y_pred, an
honest "what the model expected"). The filter's state is ``x = [delta, b]``: ``delta = theta -
theta_0`` (p parameters) and ``b`` the biases of the s assimilated sensors. At every sample time:

predict (random walk over the time step dt)::

    P <- P + Q dt,   Q = diag(q_theta^2, q_b^2) / 3600 s      (variance growth per hour)

update with the sensors that have a measurement z (innovation d = z - y_pred)::

    H = [J_s  E_s]                        J_s: the sensors' rows of J = dy/dtheta; E_s selects b
    S = H P H^T + R,  R = diag(sigma_noise^2 + sigma_model^2)
    K = P H^T S^-1
    x <- x + K (d - H x)
    P <- (I - K H) P (I - K H)^T + K R K^T                          (Joseph form)

estimate anywhere (every rack inlet, every sensor)::

    y_est = y_pred + J delta  (+ b at an assimilated sensor's own row)

The Jacobian ``J`` belongs to a regime (which units run, the load): it is recomputed by steady
solves when the regime changes (:class:`~dctwin.twin.assimilate.model.SteadyModel`); ``delta``,
``b`` and ``P`` carry over; while the hall settles in the new regime the correction stays the old
regime's ``J_prev delta`` and no update is made. Sensors held out (``--holdout K``) are never assimilated: the estimate
there is the filter's prediction from the other sensors, the honest measure of what it adds.

Defaults: prior sigma of each parameter from its group; sensor bias prior 0.5 K, walk 0.2 K per
hour; model (representativeness) error 0.4 K for temperatures; parameters walk 3 % of their prior
per hour. After an update the parameters are clipped to their bounds (``theta_0 + delta`` within
each parameter's range; a projection, the simplest constrained Kalman filter). The shadow does not
update while the hall settles after a regime change (the sensitivities are those of the steady
state, the innovations then those of the transient), only predicts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from dctwin.twin.assimilate.observe import Sensor

BIAS_SIGMA_K = 0.5
BIAS_WALK_K_PER_H = 0.2
MODEL_SIGMA_K = 0.4
PARAM_WALK_SHARE_PER_H = 0.03


@dataclass
class KalmanEstimator:
    """The filter of the module docstring over ``p`` parameters and the ``assimilated`` sensors."""

    param_sigma: np.ndarray  # prior sigma per parameter
    sensors: Sequence[Sensor]  # every sensor (assimilated and held out)
    assimilated: np.ndarray  # bool per sensor
    bias_sigma: float = BIAS_SIGMA_K
    bias_walk: float = BIAS_WALK_K_PER_H
    model_sigma: float = MODEL_SIGMA_K
    param_walk: float = PARAM_WALK_SHARE_PER_H
    J: Optional[np.ndarray] = None  # dy/dtheta of the present regime (outputs x p)
    #: the range of delta (theta - theta_0) per parameter: (lower, upper)
    delta_bounds: Optional[tuple[np.ndarray, np.ndarray]] = None
    J_prev: Optional[np.ndarray] = None  # the previous regime's, while the hall moves between them
    x: np.ndarray = field(init=False)
    P: np.ndarray = field(init=False)
    updates: int = 0

    def __post_init__(self) -> None:
        p = len(self.param_sigma)
        self.bias_index = {k: p + i for i, k in enumerate(np.flatnonzero(self.assimilated))}
        n = p + len(self.bias_index)
        self.x = np.zeros(n)
        self.P = np.diag(np.concatenate([np.asarray(self.param_sigma, float) ** 2,
                                         np.full(len(self.bias_index), self.bias_sigma ** 2)]))
        self.Q = np.concatenate([(self.param_walk * np.asarray(self.param_sigma, float)) ** 2,
                                 np.full(len(self.bias_index), self.bias_walk ** 2)]) / 3600.0

    @property
    def n_params(self) -> int:
        return len(self.param_sigma)

    @property
    def delta(self) -> np.ndarray:
        return self.x[:self.n_params]

    @property
    def delta_sigma(self) -> np.ndarray:
        return np.sqrt(np.maximum(np.diag(self.P)[:self.n_params], 0.0))

    def set_jacobian(self, J: Optional[np.ndarray], transition: bool = False) -> None:
        """The sensitivities of the regime now (None: unknown; only the biases are estimated then). With
        ``transition`` the previous regime's are kept until :meth:`settled` (see :meth:`correction`)."""
        self.J_prev = self.J if (transition and self.J is not None) else None
        self.J = None if J is None else np.asarray(J, float)

    def settled(self) -> None:
        """The hall has settled in the present regime: forget the previous one."""
        self.J_prev = None

    def predict(self, dt_s: float) -> None:
        self.P[np.diag_indices_from(self.P)] += self.Q * max(float(dt_s), 0.0)

    def _sigma(self, s: Sensor, level: float) -> float:
        model = self.model_sigma if s.temperature else 0.0
        return math.hypot(s.noise(level), model)

    def update(self, y_pred: np.ndarray, measured: np.ndarray) -> int:
        """Assimilate one sample: ``measured`` per sensor (NaN: none now), ``y_pred`` the model's output
        vector. Returns how many sensors were used."""
        p = self.n_params
        use = [k for k, s in enumerate(self.sensors)
               if self.assimilated[k] and math.isfinite(measured[k]) and math.isfinite(y_pred[s.row])]
        if not use:
            return 0
        n = len(self.x)
        H = np.zeros((len(use), n))
        d = np.zeros(len(use))
        r = np.zeros(len(use))
        for i, k in enumerate(use):
            s = self.sensors[k]
            if self.J is not None and p:
                H[i, :p] = self.J[s.row]
            H[i, self.bias_index[k]] = 1.0
            d[i] = measured[k] - y_pred[s.row]
            r[i] = self._sigma(s, measured[k]) ** 2
        S = H @ self.P @ H.T + np.diag(r)
        PHt = self.P @ H.T
        try:
            K = np.linalg.solve(S, PHt.T).T
        except np.linalg.LinAlgError:
            return 0
        self.x = self.x + K @ (d - H @ self.x)
        IKH = np.eye(n) - K @ H
        self.P = IKH @ self.P @ IKH.T + K @ np.diag(r) @ K.T
        if self.delta_bounds is not None and p:
            self.x[:p] = np.clip(self.x[:p], self.delta_bounds[0], self.delta_bounds[1])
        self.updates += 1
        return len(use)

    def correction(self, rows: np.ndarray) -> np.ndarray:
        """``J delta`` on output ``rows`` (an index array; 0 without a Jacobian). While the hall settles
        after a regime change, the previous regime's ``J_prev delta``: the parameters were estimated
        there, and their effect through the new regime's sensitivities only holds once the hall is
        there (extrapolated at once, a parameter that also absorbed model error on the small demo hall
        put 3 K on an inlet during a unit trip)."""
        rows = np.asarray(rows, np.int64)
        J = self.J_prev if self.J_prev is not None else self.J
        if J is None or not self.n_params:
            return np.zeros(len(rows))
        return J[rows] @ self.delta

    def at_sensors(self, y_pred: np.ndarray) -> np.ndarray:
        """The estimate at every sensor: y_pred + J delta, plus its bias where it is assimilated."""
        rows = np.array([s.row for s in self.sensors], dtype=np.int64)
        est = y_pred[rows] + self.correction(rows)
        for k, j in self.bias_index.items():
            est[k] += self.x[j]
        return est

    def settings(self) -> dict:
        return {"method": "extended Kalman filter over parameters and sensor biases",
                "bias_sigma_k": self.bias_sigma, "bias_walk_k_per_h": self.bias_walk,
                "model_sigma_k": self.model_sigma, "param_walk_share_per_h": self.param_walk,
                "updates": self.updates}
