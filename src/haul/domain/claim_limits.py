"""Bounds of one claim, known to the server that grants it and the worker that asks."""

MAX_BATCH = 5000  # elements in one claim's answer
DEFAULT_LIMIT = 20  # BY_NUMBER: elements in a claim that names no limit
DEFAULT_SIZE = 150_000_000  # BY_SIZE: bytes in a claim that names no size
