"""Teams activities → neutral Events for the engine, and the answer to an invoke.

Answers go through the outbox, except a Form a flow opens for the person who clicked: it is the invoke's
HTTP response (`Action.Execute`), or an input card posted at once (a legacy `Action.Submit`); see
adapters/base.py for why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import Activity, ActivityTypes, Attachment

from adapters.teams import inbound
from adapters.teams.cards import CONTENT_TYPE, render_card, render_form
from flows.core.types import ActionEvent, Actor, Event, InstalledEvent, MemberJoinedEvent

if TYPE_CHECKING:
    from adapters.teams.adapter import TeamsAdapter


# The answer to an invoke Tandem does not handle (a message extension, a task module, …): Teams shows the
# person a short note instead of an error; botbuilder's own answer would be a 501.
UNSUPPORTED = {
    "statusCode": 200,
    "type": "application/vnd.microsoft.activity.message",
    "value": "Tandem does not support this action (unsupported invoke).",
}


class TandemTeamsBot(TeamsActivityHandler):  # type: ignore[misc]
    def __init__(self, adapter: TeamsAdapter) -> None:
        super().__init__()
        self.tandem = adapter
        self.roster = adapter.roster

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.type in (ActivityTypes.message, ActivityTypes.invoke, ActivityTypes.installation_update):
            await self.roster.remember(activity)
        await super().on_turn(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        user_id = await self.roster.user_id(activity)
        await self.roster.learn_timezone(activity, user_id)
        event: Event
        if isinstance(activity.value, dict):
            if await self._refused(turn_context, activity.value):
                return
            event = inbound.action_event(activity, user_id, activity.value)  # Action.Submit / messageBack
        else:
            text, mentioned = await self.roster.mentioned(activity)
            event = inbound.command_event(activity, user_id, mentioned, text)
        form = await self.tandem.run(event)
        if form is not None:  # a form must be shown now: as an input card in this conversation
            await self.tandem.outbound.reply_form(activity, form)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        if turn_context.activity.name == "adaptiveCard/action":
            return await self._card_action(turn_context)
        answer: InvokeResponse | None = await super().on_invoke_activity(turn_context)
        if answer is None or int(answer.status) == 501:  # botbuilder's "not implemented": Tandem's answer
            return InvokeResponse(status=200, body=UNSUPPORTED)
        return answer

    async def _card_action(self, turn_context: TurnContext) -> InvokeResponse:
        """`Action.Execute`: the engine runs the action at once; a Form it opens is the invoke's answer (the
        card is replaced by the input card), otherwise a short acknowledgement. Our SDK's
        AdaptiveCardInvokeResponse cannot carry a string value, so the body is written here."""
        activity = turn_context.activity
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action")
        if not isinstance(action, dict):
            return InvokeResponse(
                status=400,
                body={
                    "statusCode": 400,
                    "type": "application/vnd.microsoft.error",
                    "value": {"code": "BadRequest", "message": "the invoke has no action"},
                },
            )
        refused = await self._refused(turn_context, action.get("data"))
        if refused is not None:
            body = {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": refused}
            return InvokeResponse(status=200, body=body)
        user_id = await self.roster.user_id(activity)
        await self.roster.learn_timezone(activity, user_id)
        verb = action.get("verb")
        event: ActionEvent = inbound.action_event(
            activity, user_id, action.get("data"), str(verb) if verb else None
        )
        form = await self.tandem.run(event)
        if form is not None:
            body = {"statusCode": 200, "type": CONTENT_TYPE, "value": render_form(form)}
        else:
            body = {
                "statusCode": 200,
                "type": "application/vnd.microsoft.activity.message",
                "value": "Got it.",
            }
        return InvokeResponse(status=200, body=body)

    async def _refused(self, turn_context: TurnContext, data: Any) -> str | None:
        """A form submitted with inputs its rules refuse: reply with what is wrong, at once (an error reply,
        not a message: nothing was recorded); its summary, or None when the submit may go on."""
        card = inbound.refused(data)
        if card is None:
            return None
        await turn_context.send_activity(
            Activity(
                type=ActivityTypes.message,
                summary=card.summary,
                attachments=[Attachment(content_type=CONTENT_TYPE, content=render_card(card))],
            )
        )
        return card.summary

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient is not None else None
        place = inbound.where(activity)
        added = activity.members_added or []
        removed = activity.members_removed or []
        if any(m.id == bot_id for m in removed):
            await self.roster.uninstalled(place, with_team=True)
            return
        await self.roster.remember(activity)
        installer = await self.roster.user_id(activity)
        if any(m.id == bot_id for m in added):
            await self.tandem.run(
                InstalledEvent(
                    inbound.actor(activity, installer),
                    place.conversation(),
                    idempotency_key=inbound.idempotency_key(activity),
                )
            )
            await self.roster.sync(activity, place)
        people = [m for m in added if m.id and m.id != bot_id]
        if people:
            await self.roster.record_members(activity, place, people)
        for member in people:
            user = await self.roster.known_user([i for i in (member.aad_object_id, member.id) if i])
            await self.tandem.run(
                MemberJoinedEvent(
                    Actor("teams", user, member.name),
                    place.conversation(),
                    idempotency_key=f"{inbound.idempotency_key(activity)}:{member.id}"[:300],
                )
            )

    async def on_installation_update(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        place = inbound.where(activity)
        if (activity.action or "").startswith("remove"):
            await self.roster.uninstalled(place)
            return
        installer = await self.roster.user_id(activity)
        await self.tandem.run(
            InstalledEvent(
                inbound.actor(activity, installer),
                place.conversation(),
                idempotency_key=inbound.idempotency_key(activity),
            )
        )
        await self.roster.sync(activity, place)
