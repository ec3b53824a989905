"""Bounds of one claim, known to the server that grants it and the worker that asks."""

MAX_BATCH = 5000  # elements in one claim's answer
