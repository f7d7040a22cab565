"""Slack's posting rate kept on our side (adapters/slack/pacing.py): slots 1/rate apart per workspace, a
429's Retry-After holds the workspace."""

from __future__ import annotations

from adapters.slack.pacing import WorkspacePacer


async def test_posts_to_one_workspace_are_spaced_and_a_429_holds_it() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    pacer = WorkspacePacer(50.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        await pacer.wait("T1")
    await pacer.wait("T2")  # another workspace has its own slots
    assert slept == [0.02, 0.02]  # each post 1/rate after the one before it left
    slept.clear()
    now[0] = 200.0
    pacer.hold("T1", 1.0)
    await pacer.wait("T1")
    await pacer.wait("T2")
    assert slept == [1.0] and now[0] == 201.0
    slept.clear()
    pacer.hold("T1", 7.0)  # a long Retry-After is the outbox's to wait out: the worker is not put to sleep
    await pacer.wait("T1")
    assert slept == [0.02]  # its rate slot only, not the 7 seconds
