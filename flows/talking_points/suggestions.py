"""Done action items since the team's last published joint talking points, offered in the draft form
(storage/action_items.py, the action-items flow's store)."""

from __future__ import annotations

from flows.core.catalog import Words
from flows.core.engine import FlowContext
from storage import action_items
from storage import talking_points as store

MAX_SUGGESTIONS = 10  # the newest; a form is not a report


async def done_titles(ctx: FlowContext, team_id: int, say: Words) -> list[str]:
    """ "Done: title (owners)" for each action item done since the last published joint set (every done
    item, if none was published yet), oldest first."""
    since = await store.latest_published_at(ctx.session, team_id)
    done = await action_items.done_since(ctx.session, team_id, since)
    return [
        say("points.done_item", title=d.title, owners=", ".join(d.owners))
        if d.owners
        else say("points.done_item_no_owner", title=d.title)
        for d in done
    ][-MAX_SUGGESTIONS:]
