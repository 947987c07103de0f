"""The running twin: compile, engine, alarms, metrics, capacity."""
