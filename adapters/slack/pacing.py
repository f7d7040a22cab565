"""Slack's posting rate, kept on our side: at most `rate` chat.postMessage / chat.update a second per
workspace (Slack allows about 50; beyond it answers 429 with Retry-After). A burst of outbox rows (a
check-in's invitations to a whole district, due the same minute) then goes out at that rate instead of
being refused, retried and, after the delivery worker's last attempt, given up.

A 429 still answered (another replica posting to the same workspace) holds the whole workspace for its
Retry-After. Per-channel bursts are left to Slack's 429: a team channel gets few messages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

PACED_METHODS = frozenset({"chat.postMessage", "chat.update"})
DEFAULT_RATE = 48.0  # a shade under Slack's 50 a second: posts can arrive closer together than they leave


class WorkspacePacer:
    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock = clock
        self.sleep = sleep
        self._last: dict[str, float] = {}  # when the workspace's latest post left
        self._held: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, workspace: str) -> None:
        """Wait for the workspace's turn: one post at a time, `1 / rate` after the previous one actually
        left (a stalled event loop delays posts, it never bunches them)."""
        if not self.interval:
            return
        lock = self._locks.setdefault(workspace, asyncio.Lock())
        async with lock:
            while True:
                now = self.clock()
                ready = max(
                    self._last.get(workspace, float("-inf")) + self.interval, self._held.get(workspace, 0.0)
                )
                if now >= ready:
                    self._last[workspace] = now
                    return
                await self.sleep(ready - now)

    def hold(self, workspace: str, seconds: float) -> None:
        """Slack said to wait: no post to this workspace before `seconds` from now."""
        self._held[workspace] = max(self._held.get(workspace, 0.0), self.clock() + seconds)
