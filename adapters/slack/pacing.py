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
DEFAULT_RATE = 48.0  # a shade under Slack's 50 a second: sends leave a little closer than they arrive


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
        self._next: dict[str, float] = {}

    async def wait(self, workspace: str) -> None:
        """Take the workspace's next slot and wait for it."""
        if not self.interval:
            return
        now = self.clock()
        slot = max(now, self._next.get(workspace, 0.0))
        self._next[workspace] = slot + self.interval
        if slot > now:
            await self.sleep(slot - now)

    def hold(self, workspace: str, seconds: float) -> None:
        """Slack said to wait: no slot in this workspace before `seconds` from now."""
        self._next[workspace] = max(self._next.get(workspace, 0.0), self.clock() + seconds)
