"""microturn: open interaction models that listen and speak at once, in 200 ms micro-turns."""

__version__ = "0.1.0"
