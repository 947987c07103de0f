"""Benchmarks of the physics core and of the project store (``dctwin bench``)."""
