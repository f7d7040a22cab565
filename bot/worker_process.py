"""The worker process: the engine, the scheduler and the delivery worker, apart from the HTTP front.

`tandem serve` with TANDEM_WORKER_PROCESS=on splits in two:

- the **front** (the `tandem serve` process) answers HTTP: it checks signatures and tokens, acknowledges
  Slack and hands the acknowledged request over, and for Teams runs the turn and hands its neutral Event
  to the worker, waiting for the answer (an invoke needs it) (`bot.engine_link.EngineLink`);
- the **worker** (this module, started by the front as `python -m bot.worker_process`) processes the
  Slack requests (identity, the engine, forms), runs each Event through the engine, ticks the schedules
  and sends the outbox through the adapters.

An acknowledgement then never waits behind the database work of the clicks before it on one event loop,
the engine can use a second core, and a worker that crashes (or is killed for memory) is replaced without
the HTTP side going down: what it held is sent again (bot/engine_link.py). On the 2-core benchmark machine
it did not make acks faster (bench/README.md): the two processes compete for the same cores, and the
split adds the hand-over; it is off by default.

The two talk over a socket pair the front creates (the worker's end is passed as a file descriptor):
length-prefixed pickled tuples, `("handle", id, event)`, `("slack", id, (body, bot user id))` and
`("stats", id)` in, `("ok", id, result)` or
`("error", id, text)` out. Both ends run the same code from the same installation, so pickle is safe here;
nothing else can reach the socket. When the front closes its end, the worker finishes the events it
has, stops the scheduler and the delivery worker, and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import pickle
import signal
import socket
import struct
import sys
from typing import Any

log = logging.getLogger("tandem.worker")

_HEADER = struct.Struct("!I")
# Acknowledged Slack requests processed at once here (one person's always in order): this loop answers
# no acks, so it can overlap a few requests' database round trips.
SLACK_CONCURRENCY = 4
MAX_FRAME = 64 * 1024 * 1024


def frame(message: tuple[Any, ...]) -> bytes:
    """One message on the wire: its length, then its pickle."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


async def read_frame(reader: asyncio.StreamReader) -> tuple[Any, ...] | None:
    """The next message, or None at the end of the stream."""
    try:
        header = await reader.readexactly(_HEADER.size)
        (size,) = _HEADER.unpack(header)
        if size > MAX_FRAME:
            raise ValueError(f"a frame of {size} bytes is larger than {MAX_FRAME}")
        message = pickle.loads(await reader.readexactly(size))
    except asyncio.IncompleteReadError:
        return None
    if not isinstance(message, tuple) or not message:
        raise ValueError("a frame must hold a non-empty tuple")
    return message


async def serve(fd: int) -> None:
    from adapters.slack import SlackInbound
    from bot import slack_mount, teams_mount
    from bot.runtime import Runtime
    from bot.settings import load_settings

    settings = load_settings()
    runtime = Runtime(settings)
    slack: SlackInbound | None = None
    if settings.slack_enabled:  # no HTTP here: the front forwards the requests it acknowledged
        slack = slack_mount.build(runtime, concurrency=SLACK_CONCURRENCY)
        runtime.add_adapter(slack.adapter)
    teams = teams_mount.adapter(runtime)
    if teams is not None:
        runtime.add_adapter(teams)
    await runtime.start(migrate=False)  # the front migrated before it started us
    reader, writer = await asyncio.open_unix_connection(sock=socket.socket(fileno=fd))
    working: set[asyncio.Task[None]] = set()

    async def answer(kind: str, request_id: int, payload: Any) -> None:
        try:
            if kind == "handle":
                result: Any = await runtime.engine.handle(payload)
            elif kind == "slack" and slack is not None:
                body, bot_user_id = payload
                await slack.process(body, bot_user_id)
                result = None
            elif kind == "stats":
                stats = runtime.worker.stats
                result = {
                    "ticks": runtime.ticker.ticks,
                    "sent": stats.sent,
                    "retried": stats.retried,
                    "failed": stats.failed,
                }
            else:
                raise ValueError(f"unknown request {kind!r}")
            reply = frame(("ok", request_id, result))
        except Exception as exc:
            log.exception("the worker failed on request %s (%s)", request_id, kind)
            reply = frame(("error", request_id, f"{type(exc).__name__}: {exc}"))
        writer.write(reply)

    gc.freeze()  # as in `tandem serve`: the long-lived heap out of the collector's sight
    log.info("worker process ready: engine, scheduler and delivery run here")
    try:
        while (message := await read_frame(reader)) is not None:
            kind, request_id, *rest = message
            task = asyncio.create_task(answer(str(kind), int(request_id), rest[0] if rest else None))
            working.add(task)
            task.add_done_callback(working.discard)
    finally:
        if working:
            await asyncio.gather(*working, return_exceptions=True)
        if slack is not None:
            await slack.drain()
        writer.close()
        for adapter in runtime.adapters.values():
            close = getattr(adapter, "close", None)
            if close is not None:
                await close()
        await runtime.stop()
        log.info("worker process stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Tandem's worker process (started by `tandem serve`).")
    parser.add_argument("--fd", type=int, required=True, help="the socket to the front")
    parser.add_argument("--nice", type=int, default=0, help="lower this process's CPU priority by this much")
    args = parser.parse_args(argv)
    # Ctrl-C in a terminal, and a service manager stopping the unit, signal the whole process group; the
    # front decides when the worker stops (it closes the link, and the worker finishes what it holds).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.nice:
        os.nice(args.nice)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s [worker]: %(message)s")
    for noisy in ("alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    asyncio.run(serve(args.fd))
    return 0


if __name__ == "__main__":
    sys.exit(main())
