"""The front's side of the worker process: hands Events to the engine over there, starts and restarts it.

`EngineLink.handle` has the engine's signature (Event → the Form a flow wants shown, or None), so the
adapters cannot tell where the engine runs. Requests are kept until the worker answers: if the worker dies
(a crash, the kernel's OOM killer), a new one is started and every unanswered request is sent again; the
events' idempotency keys make a second run of one that had committed a no-op. A request whose worker died
`max_deaths` times is failed rather than sent a fourth time (it may be what kills it). See
`bot.worker_process` for the other side and the wire format.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import socket
import sys
from dataclasses import dataclass
from typing import Any

from bot.worker_process import frame, read_frame
from flows.types import Event, Form

log = logging.getLogger("tandem.worker")


class WorkerError(RuntimeError):
    """The worker could not answer a request (it raised, or it died too often while holding it)."""


@dataclass
class _Request:
    kind: str
    payload: Any
    future: asyncio.Future[Any]
    deaths: int = 0


class EngineLink:
    def __init__(
        self,
        *,
        python: str = sys.executable,
        restart_delay: float = 0.5,
        max_restart_delay: float = 10.0,
        max_deaths: int = 3,
        stop_timeout: float = 30.0,
        nice: int = 19,
    ) -> None:
        self.python = python
        self.restart_delay = restart_delay
        self.max_restart_delay = max_restart_delay
        self.max_deaths = max_deaths
        self.stop_timeout = stop_timeout
        self.nice = nice
        self.restarts = 0
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None
        self._pending: dict[int, _Request] = {}
        self._next_id = 0
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None and self._writer is not None

    async def start(self) -> None:
        await self._spawn()
        self._reading = asyncio.create_task(self._read_forever(), name="tandem-worker-link")

    async def handle(self, event: Event) -> Form | None:
        """Run `event` through the engine in the worker process."""
        result = await self._request("handle", event)
        assert result is None or isinstance(result, Form)
        return result

    async def slack(self, body: dict[str, Any], bot_user_id: str | None) -> None:
        """Process an acknowledged Slack request (its body) in the worker process (`SlackInbound.process`)."""
        await self._request("slack", (body, bot_user_id))

    async def stats(self) -> dict[str, int]:
        """The worker's counters (scheduler ticks, deliveries) for /metrics."""
        result = await self._request("stats", None)
        assert isinstance(result, dict)
        return result

    async def stop(self) -> None:
        """Close the link (the worker finishes what it holds and exits), wait for the worker, else kill it."""
        self._stopping = True
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        process = self.process
        if process is not None and process.returncode is None:
            try:
                await asyncio.wait_for(process.wait(), self.stop_timeout)
            except TimeoutError:
                log.error("the worker process did not stop within %g s; killing it", self.stop_timeout)
                process.kill()
                await process.wait()
        if self._reading is not None:
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading
        for request in self._pending.values():
            if not request.future.done():
                request.future.set_exception(WorkerError("Tandem is stopping"))
        self._pending.clear()

    # ------------------------------------------------------------ internals

    async def _request(self, kind: str, payload: Any) -> Any:
        if self._stopping:
            raise WorkerError("Tandem is stopping")
        self._next_id += 1
        request_id = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = _Request(kind, payload, future)
        if self._writer is not None:  # else the worker is restarting: sent when it is back
            self._writer.write(frame((kind, request_id, payload)))
        try:
            return await future
        finally:
            self._pending.pop(request_id, None)

    async def _spawn(self) -> None:
        ours, theirs = socket.socketpair()
        try:
            self.process = await asyncio.create_subprocess_exec(
                self.python,
                "-m",
                "bot.worker_process",
                "--fd",
                str(theirs.fileno()),
                "--nice",
                str(self.nice),
                pass_fds=(theirs.fileno(),),
            )
        finally:
            theirs.close()
        self._reader, self._writer = await asyncio.open_unix_connection(sock=ours)
        log.info("worker process %s started", self.process.pid)

    async def _read_forever(self) -> None:
        delay = self.restart_delay
        while True:
            assert self._reader is not None
            try:
                while (message := await read_frame(self._reader)) is not None:
                    delay = self.restart_delay  # it answers: a later death starts the back-off afresh
                    self._answer(message)
            except (OSError, ValueError, EOFError, pickle.UnpicklingError) as exc:
                log.error("the link to the worker process broke: %s", exc)
            if self._stopping:
                return
            await self._worker_died()
            await asyncio.sleep(delay)
            delay = min(self.max_restart_delay, delay * 2)
            while not self._stopping:
                try:
                    await self._spawn()
                    break
                except OSError as exc:  # cannot start a process right now (out of memory, no PIDs)
                    log.error("could not start the worker process (%s); retrying in %g s", exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(self.max_restart_delay, delay * 2)
            if self._stopping:
                return
            self.restarts += 1
            assert self._writer is not None
            for request_id, request in sorted(self._pending.items()):
                if not request.future.done():
                    self._writer.write(frame((request.kind, request_id, request.payload)))

    def _answer(self, message: tuple[Any, ...]) -> None:
        status, request_id, value = message
        request = self._pending.get(int(request_id))
        if request is None or request.future.done():
            return
        if status == "ok":
            request.future.set_result(value)
        else:
            request.future.set_exception(WorkerError(str(value)))

    async def _worker_died(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        process = self.process
        if process is not None:
            if process.returncode is None:
                process.kill()  # the link broke but the process lives on: it cannot be trusted
            await process.wait()
        code = process.returncode if process is not None else None
        waiting = len(self._pending)
        log.error(
            "the worker process exited (code %s) with %d request(s) unanswered; restarting", code, waiting
        )
        for request in self._pending.values():
            request.deaths += 1
            if request.deaths >= self.max_deaths and not request.future.done():
                request.future.set_exception(
                    WorkerError(f"the worker process died {request.deaths} times while handling this")
                )
