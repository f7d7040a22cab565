"""The action router: which flow handler a button press or a form submit goes to.

Each flow declares its action ids with their handlers (`Flow.actions()`, e.g. `{"pulse.answer": ...,
"pulse.submit": ...}`), and the engine dispatches an ActionEvent on the exact id. An id says what to do,
never to what: the variable part (a poll, a meeting) travels in the button's `value` or in the Form's
`metadata`, which every adapter gives back with the submit (Slack: the modal's private_metadata; Teams:
the input card's data; local: `LocalAdapter.submit`). An id no flow declares gets "That button is no
longer in use."
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from flows.core.catalog import language_of, text
from flows.core.types import ActionEvent, Card

if TYPE_CHECKING:
    from flows.core.engine import FlowContext

ActionHandler = Callable[["FlowContext", ActionEvent], Awaitable[None]]

NO_LONGER_IN_USE = "core.no_longer_in_use"  # the catalog key


class ActionRouter:
    def __init__(self) -> None:
        self._handlers: dict[str, ActionHandler] = {}

    def declare(self, actions: Mapping[str, ActionHandler]) -> None:
        """Add one flow's actions; an id declared twice is a mistake, caught at start."""
        for action_id, handler in actions.items():
            if action_id in self._handlers:
                raise ValueError(f"the action id {action_id!r} is declared twice")
            self._handlers[action_id] = handler

    def route(self, event: ActionEvent) -> tuple[ActionHandler, ActionEvent] | None:
        """The handler for `event`, and the event as it expects it; None if no flow declares the id."""
        handler = self._handlers.get(event.action_id)
        if handler is not None:
            return handler, event
        # Forms shown before ids were exact carry their variable part in the id (`pulse.submit.<poll>`, a
        # Slack modal or Teams input card open at deploy time): such a submit (no value, no metadata)
        # reaches its declared id with the tail as metadata. Remove once no such form can still be open.
        base, _, tail = event.action_id.rpartition(".")
        handler = self._handlers.get(base)
        if handler is not None and tail and event.value is None and not event.metadata:
            return handler, replace(event, action_id=base, metadata=tail)
        return None

    async def dispatch(self, ctx: FlowContext, event: ActionEvent) -> None:
        found = self.route(event)
        if found is None:
            await ctx.reply(Card.plain(text(NO_LONGER_IN_USE, language_of(ctx.person))))
            return
        handler, routed = found
        await handler(ctx, routed)
