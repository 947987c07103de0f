"""dctwin core: layout model, physics, incidents and project files (no Qt)."""

__version__ = "0.1.0"
