"""Counting TCP connection attempts, by address, through Python's own audit hook (`socket.connect` events,
PEP 578): how a test proves that a send made one attempt and no hidden retries, without timing it."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

_attempts: list[tuple[str, int]] | None = None


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect" and _attempts is not None:
        address = args[1]
        if isinstance(address, tuple) and len(address) >= 2:
            _attempts.append((str(address[0]), int(address[1])))


sys.addaudithook(_hook)  # audit hooks stay for the life of the process: it records only inside `counting`


@contextlib.contextmanager
def counting() -> Iterator[list[tuple[str, int]]]:
    """The (host, port) of every connection attempt made inside the block, in order."""
    global _attempts
    _attempts = []
    try:
        yield _attempts
    finally:
        _attempts = None
