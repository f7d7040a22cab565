"""Socket Mode: Slack sends events, slash commands and interactivity over a WebSocket that Tandem opens, so
no public URL is needed (a school network behind a firewall, a laptop trying it out).

slack-bolt's aiohttp `AsyncSocketModeHandler` drives the same `AsyncApp` as `POST /slack/events`, so every
listener, the ack-first rule and the work after the ack are shared. `apps.connections.open` (with the
`xapp-` app-level token) goes to `SLACK_API_URL` like every Web API call and answers with the WebSocket URL.
Each envelope is acknowledged with its `envelope_id`; Slack redelivers one it did not see acknowledged, and
the requests' idempotency keys (event id, slash command trigger id, the click) record such a redelivery once.
Differences from HTTP, handled here: an envelope whose body is malformed is acknowledged and dropped (with
a warning) instead of answered 400, and one nobody listens to is acknowledged, as over HTTP, so Slack does
not redeliver it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from adapters.slack import events
from adapters.slack.inbound import SlackInbound

log = logging.getLogger("tandem.slack")


class _Handler(AsyncSocketModeHandler):
    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        start = time.time()
        check = events.SOCKET_CHECKS.get(req.type)
        try:
            if check is None:
                raise events.PayloadError(f"unknown envelope type {req.type!r}")
            check(req.payload)
        except events.PayloadError as exc:
            log.warning("Socket Mode envelope %s dropped (acknowledged): %s", req.envelope_id, exc)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        try:
            response = await run_async_bolt_app(self.app, req)
        except Exception:
            log.exception("slack-bolt failed on Socket Mode envelope %s", req.envelope_id)
            return  # not acknowledged: Slack redelivers it
        if response.status == 404:  # an event type nobody listens to: acknowledge, don't make Slack resend
            response = BoltResponse(status=200, body="")
        await send_async_response(client, req, response, start)


class SocketMode:
    """The Socket Mode connection for one `SlackInbound`: `start` on start-up, `stop` on shutdown."""

    def __init__(self, inbound: SlackInbound, app_token: str, *, ping_interval: float = 10) -> None:
        self.inbound = inbound
        self.app_token = app_token
        self.ping_interval = ping_interval
        self.handler: _Handler | None = None
        self._connecting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Open the connection in the background: start-up does not wait for Slack, and the client keeps
        retrying (and reconnecting, on Slack's `disconnect` or a dead link) on its own."""
        # built here, inside the running loop: slack_sdk's client starts its tasks in its constructor
        self.handler = _Handler(
            self.inbound.app,
            self.app_token,
            logger=logging.getLogger("tandem.slack.socket_mode"),
            ping_interval=self.ping_interval,
        )
        self._connecting = asyncio.create_task(self.handler.connect_async(), name="slack-socket-mode")  # type: ignore[no-untyped-call]

    async def connected(self) -> bool:
        return self.handler is not None and await self.handler.client.is_connected()

    async def stop(self) -> None:
        """Close the WebSocket (Slack sends nothing more to this process) and the client's tasks."""
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        if self.handler is not None:
            await self.handler.close_async()  # type: ignore[no-untyped-call]
            self.handler = None
