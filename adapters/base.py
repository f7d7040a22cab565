"""What the delivery worker needs from a platform adapter, and how an adapter reports failure."""

from __future__ import annotations

from typing import Any, Protocol

from flows.core.types import Card


class RetryLater(Exception):
    """A send failed for now (rate limit, timeout, 5xx); `retry_after` seconds if the platform said.

    `progress`: what a send of several steps had already done when it failed (e.g. the message is posted,
    its file not yet uploaded). The delivery worker keeps it with the outbox row (in its target, under
    "progress") and hands it back on the retry, so the retry resumes instead of repeating the done steps."""

    def __init__(
        self, reason: str, retry_after: float | None = None, *, progress: dict[str, Any] | None = None
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.progress = progress


class PermanentFailure(Exception):
    """A send can never succeed as addressed (channel gone, app uninstalled); a co-chair must fix it."""


class Adapter(Protocol):
    platform: str

    async def send(self, target: dict[str, Any], card: Card) -> str | None:
        """Deliver `card` to `target` (an outbox target); the platform's message reference, if any."""
        ...

    async def update(self, target: dict[str, Any], ref: str, card: Card) -> str | None:
        """Replace the message `ref` (returned by an earlier send to `target`) with `card`."""
        ...
