"""Slack's posting rate, kept on our side: at most `rate` chat.postMessage / chat.update a second per
workspace (Slack allows about 50; beyond it answers 429 with Retry-After). A burst of outbox rows (a
check-in's invitations to a whole district, due the same minute) then goes out at that rate instead of
being refused, retried and, after the delivery worker's last attempt, given up.

A 429 still answered (another replica posting to the same workspace) holds the whole workspace for its
Retry-After when that is short (up to `MAX_HOLD` seconds: the posts wait here rather than spend a delivery
attempt each); a longer one is left to the outbox, which retries each message after it without keeping the
delivery worker asleep. Per-channel bursts are left to Slack's 429: a team channel gets few messages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

PACED_METHODS = frozenset({"chat.postMessage", "chat.update"})
DEFAULT_RATE = 48.0  # a shade under Slack's 50 a second: posts can arrive closer together than they leave
MAX_HOLD = 2.0  # seconds: a longer Retry-After is the outbox's to wait out


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
        self._slot: dict[str, float] = {}  # the slot the workspace's latest post took
        self._held: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, workspace: str) -> None:
        """Wait for the workspace's turn: one post at a time, on a schedule of one slot every `1 / rate`.
        A post that leaves a little late keeps the schedule (sleeps overshoot; the rate holds); one that
        finds the schedule far behind (an idle spell, a stalled event loop) starts it anew from now, so
        posts are never bunched: any one second holds at most rate + 1 of them."""
        if not self.interval:
            return
        lock = self._locks.setdefault(workspace, asyncio.Lock())
        async with lock:
            while True:
                now = self.clock()
                slot = self._slot.get(workspace, float("-inf")) + self.interval
                ready = max(slot, self._held.get(workspace, 0.0))
                if now >= ready:
                    self._slot[workspace] = ready if now - ready < self.interval else now
                    return
                await self.sleep(ready - now)

    def hold(self, workspace: str, seconds: float) -> None:
        """Slack said to wait: no post to this workspace before `seconds` from now (a short wait only)."""
        if seconds <= MAX_HOLD:
            self._held[workspace] = max(self._held.get(workspace, 0.0), self.clock() + seconds)
