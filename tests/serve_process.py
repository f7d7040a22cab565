"""`tandem serve` as a real subprocess, for tests of what only the whole program does (Socket Mode, the
worker process, start-up and shutdown)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    process: asyncio.subprocess.Process
    url: str  # http://127.0.0.1:<port>
    output: str = ""  # what it printed, once it has stopped
    extra: dict[str, str] = field(default_factory=dict)

    async def health(self) -> dict[str, object]:
        async with aiohttp.ClientSession() as http, http.get(f"{self.url}/healthz") as response:
            data: dict[str, object] = await response.json()
            return data


@contextlib.asynccontextmanager
async def tandem_serve(env: dict[str, str], *, wait_healthy: bool = True) -> AsyncIterator[Served]:
    """Run `tandem serve` with only `env`'s TANDEM_/SLACK_/MICROSOFT_ settings; stop it with SIGTERM (as a
    service manager would) on the way out and keep its output on `Served.output`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_", "SLACK_", "MICROSOFT_"))}
    port = env.get("TANDEM_PORT") or str(free_port())
    clean["TANDEM_SECRET_KEY"] = "tandem-tests-sealing-key"  # as tests/conftest.py; `env` may override it
    clean.update(env, TANDEM_PORT=port)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "serve",
        env=clean,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    served = Served(process, f"http://127.0.0.1:{port}")
    try:
        if wait_healthy:
            deadline = time.monotonic() + 60
            while True:
                try:
                    await served.health()
                    break
                except aiohttp.ClientError:
                    if process.returncode is not None:
                        output = (await process.stdout.read()).decode() if process.stdout else ""
                        raise AssertionError(
                            f"tandem serve exited ({process.returncode}):\n{output}"
                        ) from None
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.1)
        yield served
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
        served.output = output.decode()


async def eventually(check: Callable[[], Any], what: str, *, within: float = 30.0) -> Any:
    """The first truthy value of `check()` (a function, or a coroutine function), asked every 50 ms: for
    what a served Tandem does after it answered (processing, sending). Fails after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:.0f} s: {what}")
        await asyncio.sleep(0.05)
