"""State estimation: the temperatures between sensors are the model's, corrected by the sensors.

A Kalman filter over a few uncertain parameters of the hall (:mod:`~dctwin.twin.assimilate.params`),
a field of model error over the rack inlets and a slow bias per sensor, with the model's
sensitivities as its observation operator (a linearised, "extended" Kalman filter; the ensemble of an
EnKF replaced by the Jacobian, which costs one steady solve per parameter instead of one transient
run per member).

Why a field: parameters shared by the whole hall (leakage, a unit's airflow, a row's power) move
every inlet together, through the model. What they cannot say is where the model's air pattern is
locally wrong: a recirculation at the end of a row, a tile that blows differently, a rack that
breathes its neighbour's exhaust. Those errors are the largest ones at a hidden inlet (a steady
+1.3 K at one inlet of the small demo hall that no parameter removed), and they are shared by inlets
close together in the same aisle. The field ``e`` carries them: one value per rack inlet, correlated
over the distance between the inlets' faces, so a sensor corrects its neighbours (and the hidden
inlets between them) and not the far side of the hall.

The shadow replay runs the twin at the layout's parameters theta_0 (its *prediction* y_pred, an
honest "what the model expected"). The filter's state is ``x = [delta, e, b]``: ``delta = theta -
theta_0`` (p parameters), ``e`` the model error at the m rack inlets, ``b`` the biases of the s
assimilated sensors. At every sample time:

predict over the time step dt (parameters and biases walk; the field relaxes to zero with time
constant tau, an Ornstein-Uhlenbeck process whose stationary covariance is its prior)::

    a = exp(-dt / tau)
    delta <- delta,  b <- b,  e <- a e
    P <- F P F^T + Q,   F = diag(1, a, 1)
    Q = diag(q_theta^2 dt / 3600 s,  (1 - a^2) sigma_e^2 C,  q_b^2 dt / 3600 s)
    C_ij = exp(-|r_i - r_j| / L)                 r_i: the centre of rack i's intake face

update with the sensors that have a measurement z::

    h_k(x) = J_k delta + e_i(k) + b_k           J_k: sensor k's row of J = dy/dtheta (steady solves);
                                                e_i(k): the field at its rack (inlet sensors only)
    H = [J_s  G_s  E_s]                          G_s, E_s: 0/1 matrices selecting e_i(k) and b_k
    S = H P H^T + R,  R = diag(sigma_noise^2 + sigma_model^2)   (sigma_model: only where no field)
    K = P H^T S^-1
    x <- x + K (z - y_pred - h(x))
    P <- (I - K H) P (I - K H)^T + K R K^T     (Joseph form; for the optimal K it is P - K H P, used then)

estimate anywhere (every rack inlet i, every sensor k)::

    T_i = y_pred,i + J_i delta + e_i,           z_k = y_pred,k + J_k delta + e_i(k) + b_k

The hidden inlet between sensors thus gets, through ``P``'s cross-covariances, the share of each
nearby sensor's residual that the prior says is shared (the optimal interpolation, kriging, of the
residuals), on top of the parameters' hall-wide correction. A sensor's own bias ``b`` (a drifted or
badly placed probe) is what is *not* shared with its neighbours; it stays out of the inlet's estimate.

The Jacobian ``J`` belongs to a regime (which units run, the load): it is recomputed by steady
solves when the regime changes (:class:`~dctwin.twin.assimilate.model.SteadyModel`), or taken again
from a regime met before (the units back after a trip); ``x`` and ``P`` carry over. While the hall settles in the new regime the correction stays the old regime's
``J_prev delta`` and the parameters are held (the sensitivities are those of the steady state, the
innovations those of the transient): the update then uses ``H = [0 G E]`` and a gain with zero rows
for ``delta`` (a "consider" update; the Joseph form keeps ``P`` right for any gain). The field and
the biases keep tracking, which is what carries the estimate through a unit trip. Sensors held out
(``--holdout K``) are never assimilated: the estimate there is the filter's from the other sensors,
the honest measure of what it adds.

Defaults: prior sigma of each parameter from its group, walking 3 % of it per hour; field sigma
1 K, correlation length 2.5 m, relaxation 1 h; sensor bias prior 0.3 K, walk 0.1 K per hour; model
(representativeness) error 0.4 K for the temperature sensors without a field (exhaust, return).
After an update the parameters are clipped to their bounds (``theta_0 + delta`` within each
parameter's range; a projection, the simplest constrained Kalman filter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from dctwin.twin.assimilate.observe import Sensor

BIAS_SIGMA_K = 0.3
BIAS_WALK_K_PER_H = 0.1
MODEL_SIGMA_K = 0.4
PARAM_WALK_SHARE_PER_H = 0.03
FIELD_SIGMA_K = 1.0
FIELD_LENGTH_M = 2.5
FIELD_TAU_S = 3600.0


@dataclass
class InletField:
    """The model-error field over the rack inlets (module docstring): where each inlet is, and its prior."""

    points_m: np.ndarray  # (m, 2): the centre of each rack's intake face (x, y), in hall order
    sigma: float = FIELD_SIGMA_K
    length_m: float = FIELD_LENGTH_M
    tau_s: float = FIELD_TAU_S

    @property
    def size(self) -> int:
        return len(self.points_m)

    def correlation(self) -> np.ndarray:
        """``C_ij = exp(-|r_i - r_j| / L)`` (positive definite for any set of distinct points)."""
        r = np.asarray(self.points_m, float).reshape(-1, 2)
        d = np.sqrt(((r[:, None, :] - r[None, :, :]) ** 2).sum(axis=-1))
        return np.exp(-d / max(self.length_m, 1e-6))


def intake_points(racks: Sequence) -> np.ndarray:
    """The centre of each rack's intake face (the side ``facing`` looks to: N is +y, E is +x)."""
    out = np.zeros((len(racks), 2))
    for i, r in enumerate(racks):
        x0, y0, x1, y1 = r.footprint()
        xm, ym = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
        out[i] = {"N": (xm, y1), "S": (xm, y0), "E": (x1, ym), "W": (x0, ym)}.get(r.facing, (xm, ym))
    return out


@dataclass
class KalmanEstimator:
    """The filter of the module docstring over ``p`` parameters, the inlet field and the ``assimilated``
    sensors."""

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
    #: the model-error field over the rack inlets (None: parameters and biases only)
    inlets: Optional[InletField] = None
    #: per sensor, its rack's index in the field (-1: none; inlet sensors of the field's racks)
    field_of: Optional[np.ndarray] = None
    x: np.ndarray = field(init=False)
    P: np.ndarray = field(init=False)
    updates: int = 0

    def __post_init__(self) -> None:
        p = len(self.param_sigma)
        m = self.inlets.size if self.inlets is not None else 0
        self.n_field = m
        if self.field_of is None or m == 0:
            self.field_of = np.full(len(self.sensors), -1, np.int64)
        self.field_of = np.asarray(self.field_of, np.int64)
        self.bias_index = {k: p + m + i for i, k in enumerate(np.flatnonzero(self.assimilated))}
        n = p + m + len(self.bias_index)
        self.x = np.zeros(n)
        self.P = np.zeros((n, n))
        self.P[:p, :p] = np.diag(np.asarray(self.param_sigma, float) ** 2)
        self.C = self.inlets.correlation() if m else np.zeros((0, 0))
        if m:
            self.P[p:p + m, p:p + m] = self.inlets.sigma ** 2 * self.C
        b = slice(p + m, n)
        self.P[b, b] = np.diag(np.full(len(self.bias_index), self.bias_sigma ** 2))
        self.q_walk = np.concatenate([(self.param_walk * np.asarray(self.param_sigma, float)) ** 2,
                                      np.zeros(m), np.full(len(self.bias_index), self.bias_walk ** 2)]) / 3600.0

    @property
    def n_params(self) -> int:
        return len(self.param_sigma)

    @property
    def delta(self) -> np.ndarray:
        return self.x[:self.n_params]

    @property
    def delta_sigma(self) -> np.ndarray:
        return np.sqrt(np.maximum(np.diag(self.P)[:self.n_params], 0.0))

    @property
    def field_error(self) -> np.ndarray:
        """The model error ``e`` at every rack inlet of the field (K; empty without a field)."""
        p = self.n_params
        return self.x[p:p + self.n_field]

    def set_jacobian(self, J: Optional[np.ndarray], transition: bool = False) -> None:
        """The sensitivities of the regime now (None: unknown; only the field and biases are estimated then).
        With ``transition`` the previous regime's are kept until :meth:`settled` (see :meth:`correction`)."""
        self.J_prev = self.J if (transition and self.J is not None) else None
        self.J = None if J is None else np.asarray(J, float)

    def settled(self) -> None:
        """The hall has settled in the present regime: forget the previous one."""
        self.J_prev = None

    @property
    def settling(self) -> bool:
        return self.J_prev is not None

    def predict(self, dt_s: float) -> None:
        dt = max(float(dt_s), 0.0)
        self.P[np.diag_indices_from(self.P)] += self.q_walk * dt
        if self.n_field and dt > 0:
            p, m = self.n_params, self.n_field
            a = math.exp(-dt / max(self.inlets.tau_s, 1e-9))
            f = slice(p, p + m)
            self.x[f] *= a
            self.P[f, :] *= a
            self.P[:, f] *= a
            self.P[f, f] += (1.0 - a * a) * self.inlets.sigma ** 2 * self.C

    def _sigma(self, k: int, level: float) -> float:
        s = self.sensors[k]
        model = self.model_sigma if (s.temperature and self.field_of[k] < 0) else 0.0
        return math.hypot(s.noise(level), model)

    def update(self, y_pred: np.ndarray, measured: np.ndarray) -> int:
        """Assimilate one sample: ``measured`` per sensor (NaN: none now), ``y_pred`` the model's output
        vector. While the hall settles after a regime change the parameters are held (module
        docstring). Returns how many sensors were used."""
        p = self.n_params
        use = [k for k, s in enumerate(self.sensors)
               if self.assimilated[k] and math.isfinite(measured[k]) and math.isfinite(y_pred[s.row])]
        if not use:
            return 0
        hold = self.settling
        rows = np.array([self.sensors[k].row for k in use], dtype=np.int64)
        n = len(self.x)
        H = np.zeros((len(use), n))
        if self.J is not None and p and not hold:
            H[:, :p] = self.J[rows]
        r = np.zeros(len(use))
        for i, k in enumerate(use):
            if self.field_of[k] >= 0:
                H[i, p + self.field_of[k]] = 1.0
            H[i, self.bias_index[k]] = 1.0
            r[i] = self._sigma(k, measured[k]) ** 2
        # the innovation against the estimate now (the held regime's correction while settling)
        d = measured[use] - y_pred[rows] - self.correction(rows) - (H[:, p:] @ self.x[p:])
        PHt = self.P @ H.T
        S = H @ PHt
        S[np.diag_indices_from(S)] += r
        try:
            K = cho_solve(cho_factor(S), PHt.T).T
        except np.linalg.LinAlgError:
            return 0
        if hold:
            K[:p] = 0.0
        self.x = self.x + K @ d
        if hold:  # a gain with the parameters' rows zeroed is not the optimal one: the Joseph form keeps P right
            IKH = np.eye(n) - K @ H
            self.P = IKH @ self.P @ IKH.T + (K * r) @ K.T
        else:  # the optimal gain: the Joseph form reduces to P - K H P (a third of its cost on ai-hall's 600 states)
            self.P = self.P - K @ PHt.T
            self.P = 0.5 * (self.P + self.P.T)
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

    def at_inlets(self, y_pred: np.ndarray, inlet_rows: np.ndarray) -> np.ndarray:
        """The estimated inlet of every rack (``inlet_rows``: their rows in ``y_pred``, in the field's order):
        ``y_pred + J delta + e`` (module docstring)."""
        est = y_pred[inlet_rows] + self.correction(inlet_rows)
        if self.n_field == len(inlet_rows):
            est = est + self.field_error
        return est

    def at_sensors(self, y_pred: np.ndarray) -> np.ndarray:
        """The estimate at every sensor: y_pred + J delta, plus the field at its rack and its own bias
        where it is assimilated."""
        rows = np.array([s.row for s in self.sensors], dtype=np.int64)
        est = y_pred[rows] + self.correction(rows)
        at = self.field_of >= 0
        est[at] += self.field_error[self.field_of[at]]
        for k, j in self.bias_index.items():
            est[k] += self.x[j]
        return est

    def settings(self) -> dict:
        out = {"method": "extended Kalman filter over parameters, an inlet error field and sensor biases",
               "bias_sigma_k": self.bias_sigma, "bias_walk_k_per_h": self.bias_walk,
               "model_sigma_k": self.model_sigma, "param_walk_share_per_h": self.param_walk,
               "updates": self.updates}
        if self.inlets is not None:
            out.update(field_sigma_k=self.inlets.sigma, field_length_m=self.inlets.length_m,
                       field_tau_s=self.inlets.tau_s, field_points=self.n_field)
        return out
