"""`tandem serve` as a real process of its own, for tests of what only the whole program does (Socket
Mode, kill -9 and restarts, replicas, start-up and shutdown).

Each one is forked from a process that has already imported Tandem (multiprocessing's "forkserver", one per
test process): importing slack-bolt, botbuilder, SQLAlchemy and aiohttp is 1.5 s of the 2 s a `tandem
serve` takes to start, and the suite starts about twenty. The child then runs `bot.cli.main(["serve"])`,
the very function the `tandem` command runs, with its own environment, pid, signals and output (a file,
read back as `Served.output`); `kill -9` ends it like any process. `tandem serve` started the ordinary way
is tested in tests/test_settings_and_cli.py and tests/operations/test_settings_checked.py."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

# What `tandem serve` imports before it reads a setting; the forkserver imports these once.
_PRELOAD = ["bot.cli", "bot.app", "bot.runtime", "bot.local_chat", "storage.migrate", "tests.serve_process"]
_FORKS = multiprocessing.get_context("forkserver")
_FORKS.set_forkserver_preload(_PRELOAD)


def _serve(env: dict[str, str], output: str) -> None:
    """In the child: exactly `env` as the environment, stdout and stderr to `output`, then `tandem serve`."""
    os.environ.clear()
    os.environ.update(env)
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    from bot.cli import main

    raise SystemExit(main(["serve"]))


class ServeProcess:
    """The few things tests do with a process: its pid, a signal, kill, wait, its return code (-N when
    signal N ended it, as for subprocess)."""

    def __init__(self, env: dict[str, str], output: str) -> None:
        self._process = _FORKS.Process(target=_serve, args=(env, output), daemon=True)
        self._process.start()
        self.pid = int(self._process.pid or 0)

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        while (code := self.returncode) is None:
            await asyncio.sleep(0.02)
        return code


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    process: ServeProcess
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
    fd, output = tempfile.mkstemp(prefix="tandem-serve-", suffix=".log")
    os.close(fd)
    process = ServeProcess(clean, output)
    served = Served(process, f"http://127.0.0.1:{port}")

    def printed() -> str:
        with open(output, encoding="utf-8", errors="replace") as log:
            return log.read()

    try:
        if wait_healthy:
            deadline = time.monotonic() + 60
            while True:
                try:
                    await served.health()
                    break
                except aiohttp.ClientError:
                    if process.returncode is not None:
                        raise AssertionError(
                            f"tandem serve exited ({process.returncode}):\n{printed()}"
                        ) from None
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.05)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=60)
        served.output = printed()
        with contextlib.suppress(OSError):
            os.unlink(output)


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
