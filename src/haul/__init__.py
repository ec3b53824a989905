"""haul: a data-movement work queue for research data."""

__version__ = "0.1.0"
