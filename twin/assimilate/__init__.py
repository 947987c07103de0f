"""The twin beside the site: estimation (shadow replays) and calibration against measured data (no Qt).

- :mod:`~dctwin.twin.assimilate.params`: the uncertain parameters (leakage, unit airflow, tile flow,
  rack power, rack airflow) and how they change a layout;
- :mod:`~dctwin.twin.assimilate.observe`: the model's value at each sensor;
- :mod:`~dctwin.twin.assimilate.model`: steady outputs as a function of the parameters, and their
  sensitivities;
- :mod:`~dctwin.twin.assimilate.estimate`: the Kalman filter over the parameters that corrects the
  temperatures between sensors;
- :mod:`~dctwin.twin.assimilate.shadow`: ``dctwin shadow``, the twin driven by measured boundary
  conditions, predicted and estimated beside measured;
- :mod:`~dctwin.twin.assimilate.calibrate`: ``dctwin calibrate``, least squares over steady windows;
- :mod:`~dctwin.twin.assimilate.synth`: a synthetic site (hidden truth, noisy sensors, defects).
"""
