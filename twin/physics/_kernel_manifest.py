"""The physics kernels and the argument types the engine calls them with, by what needs them
(written by ``python -m dctwin.twin.sim.kernel_manifest``; see
:mod:`dctwin.twin.physics.kernels`)."""

SIGNATURES = {
    'solve': {
        '_airflow_numba._diffuse_x': (
            "(Array(float64, 3, 'A', False, aligned=True), Array(float64, 3, 'A', False, aligned=True), Array(float64, 3, 'A', False, aligned=True), Array(bool, 3, 'A', False, aligned=True), Array(float64, 3, 'A', False, aligned=True), float64, float64, float64, float64, float64, Array(float64, 2, 'A', False, aligned=True), Array(float64, 3, 'A', False, aligned=True))",
        ),
        '_airflow_numba._wall_distance_line': (
            "(Array(bool, 1, 'A', False, aligned=True), float64, Array(float64, 1, 'A', False, aligned=True))",
        ),
        '_airflow_numba.advect_component': (
            "(Array(float64, 3, 'C', False, aligned=True), float64, float64, float64, Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), float64, float64, float64, float64, bool, Array(float64, 3, 'C', False, aligned=True))",
        ),
        '_airflow_numba.chen_viscosity': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(bool, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), float64, float64, Array(float64, 3, 'C', False, aligned=True))",
        ),
        '_airflow_numba.components': (
            "(Array(bool, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(int64, 3, 'C', False, aligned=True))",
        ),
        '_airflow_numba.diffuse': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(bool, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), float64, float64, float64, float64, float64, Array(float64, 2, 'C', False, aligned=True), int64, Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True))",
        ),
        '_airflow_numba.divergence': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(bool, 3, 'C', False, aligned=True), float64, float64, float64, Array(float64, 3, 'C', False, aligned=True))",
        ),
        '_airflow_numba.line_gs': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), bool, Array(float64, 1, 'C', False, aligned=True))",
        ),
        '_airflow_numba.mg_coarsen': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(bool, 3, 'C', False, aligned=True), float64, Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(bool, 3, 'C', False, aligned=True))",
        ),
        '_airflow_numba.mg_factor': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(bool, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True))",
        ),
        '_airflow_numba.mg_pcg': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(bool, 3, 'C', False, aligned=True), float64, float64, float64, Array(int64, 2, 'C', False, aligned=True), Array(int64, 2, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(bool, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), int64, int64, float64, int64)",
        ),
        '_airflow_numba.remove_region_mean': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(int64, 3, 'C', False, aligned=True), int64)",
        ),
        '_airflow_numba.subtract_gradient': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), float64, float64, float64)",
        ),
        '_airflow_numba.wall_distance': (
            "(Array(bool, 3, 'C', False, aligned=True), float64, float64, float64, Array(float64, 3, 'C', False, aligned=True))",
        ),
        '_cooling_air_numba.cdu_kernel': (
            "(Array(float64, 1, 'C', False, aligned=True), Array(int32, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(int8, 1, 'C', False, aligned=True))",
        ),
        '_cooling_air_numba.coil_kernel': (
            "(Array(float64, 1, 'C', True, aligned=True), Array(float64, 1, 'C', True, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(int8, 1, 'C', False, aligned=True), Array(int8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), float64, float64, Array(float64, 1, 'C', False, aligned=True))",
        ),
        '_cooling_air_numba.fan_power_kernel': (
            "(Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True))",
        ),
        '_cooling_air_numba.fan_speed_kernel': (
            "(Array(int8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(int8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), float64, float64, float64, float64, Array(float64, 1, 'C', False, aligned=True))",
        ),
        '_it_numba.power_airflow_kernel': (
            "(Array(float64, 1, 'C', True, aligned=True), Array(float64, 1, 'C', True, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(int8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True))",
        ),
        '_it_numba.server_steady_kernel': (
            "(Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', True, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True))",
        ),
        '_it_numba.throttle_kernel': (
            "(Array(float64, 1, 'C', True, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(int8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True))",
        ),
        '_plant_numba.plant_step': (
            "(float64, float64, float64, float64, float64, Array(int8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(uint8, 1, 'C', False, aligned=True), Array(int8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(uint8, 1, 'C', False, aligned=True), int64, float64, float64, Array(float64, 1, 'C', False, aligned=True), Array(uint8, 1, 'C', False, aligned=True), Array(uint8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(uint8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(uint8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True))",
        ),
        '_power_numba._emit': (
            "(Array(int64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), int64, int64, int64, int64, float64, float64)",
        ),
        '_power_numba.newest_cause': (
            '(int64, int64)',
        ),
        '_power_numba.power_step': (
            "(float64, float64, Array(int8, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(uint8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(uint8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(uint8, 1, 'C', False, aligned=True), Array(uint8, 1, 'C', False, aligned=True), Array(uint8, 1, 'C', False, aligned=True), Array(uint8, 1, 'C', False, aligned=True), Array(uint8, 1, 'C', False, aligned=True), Array(int8, 1, 'C', False, aligned=True), Array(int8, 1, 'C', False, aligned=True), Array(uint8, 1, 'C', False, aligned=True), Array(int8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(uint8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(uint8, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True))",
        ),
        '_thermal_numba._gs_sweep': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(bool, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), float64, bool)",
        ),
        '_thermal_numba.column_order': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True))",
        ),
        '_thermal_numba.fluid_mean': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(bool, 3, 'C', False, aligned=True), float64)",
        ),
        '_thermal_numba.line_coefficients': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(bool, 3, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 4, 'C', False, aligned=True))",
        ),
        '_thermal_numba.line_factor': (
            "(Array(float64, 4, 'C', False, aligned=True), Array(bool, 3, 'C', False, aligned=True), float64, Array(float64, 4, 'C', False, aligned=True))",
        ),
        '_thermal_numba.outflow_rate': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True))",
        ),
        '_thermal_numba.port_face_means': (
            "(Array(float64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), float64, Array(float64, 1, 'C', False, aligned=True))",
        ),
        '_thermal_numba.steady_lines': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(bool, 3, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), int64, Array(float64, 4, 'C', False, aligned=True), Array(float64, 4, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), float64, float64, int64)",
        ),
        '_workloads_numba.utilization_kernel': (
            "(float64, Array(int32, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(int32, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), float64)",
        ),
    },
    'simulate': {
        '_cooling_air_numba.coil_kernel': (
            "(Array(float64, 1, 'C', True, aligned=True), Array(float64, 1, 'C', True, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(int8, 1, 'C', False, aligned=True), Array(int8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', True, aligned=True), float64, float64, Array(float64, 1, 'C', False, aligned=True))",
        ),
        '_cooling_air_numba.fan_speed_kernel': (
            "(Array(int8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', True, aligned=True), Array(int8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), float64, float64, float64, float64, Array(float64, 1, 'C', False, aligned=True))",
        ),
        '_it_numba._throttle': (
            '(float64, float64, float64, float64)',
        ),
        '_it_numba.coldplate_kernel': (
            "(Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(int8, 1, 'C', True, aligned=True), Array(float64, 1, 'C', True, aligned=True), float64)",
        ),
        '_it_numba.protection_kernel': (
            "(Array(float64, 1, 'C', True, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(int8, 1, 'C', True, aligned=True), Array(int8, 1, 'C', False, aligned=True), Array(int8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(int8, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(int8, 1, 'C', False, aligned=True), float64, Array(float64, 1, 'C', False, aligned=True))",
        ),
        '_it_numba.server_mass_kernel': (
            "(Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', True, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), float64, Array(float64, 1, 'C', False, aligned=True))",
        ),
        '_thermal_numba.extrapolate': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float32, 3, 'C', False, aligned=True), Array(float32, 3, 'C', False, aligned=True), float64, float64, Array(float64, 3, 'C', False, aligned=True))",
        ),
        '_thermal_numba.rate': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), float64, Array(float32, 3, 'C', False, aligned=True))",
        ),
        '_thermal_numba.steady_tracer': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(bool, 3, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), float64, float64, int64, bool)",
        ),
        '_thermal_numba.step': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(bool, 3, 'C', False, aligned=True), float64, float64, int64)",
        ),
        '_thermal_numba.step_implicit': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(bool, 3, 'C', False, aligned=True), float64, float64, Array(float64, 4, 'C', False, aligned=True), Array(float64, 4, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), float64, float64, float64, int64, int64, int64)",
        ),
        '_thermal_numba.step_implicit_blocks': (
            "(Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(float64, 3, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(float64, 1, 'C', False, aligned=True), Array(bool, 3, 'C', False, aligned=True), float64, float64, Array(float64, 4, 'C', False, aligned=True), Array(float64, 4, 'C', False, aligned=True), Array(int64, 1, 'C', False, aligned=True), float64, float64, float64, int64, int64, int64, int64, int64)",
        ),
    },
}
