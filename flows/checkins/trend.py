"""`checkin trend`: participation per run over the last quarter, and the mood average where it was
released, as text and as a chart (flows/core/chart.py) kept on the latest run (storage/images.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flows.checkins import cards
from flows.core.catalog import Words
from flows.core.chart import Axis, Series, render_lines
from flows.core.engine import FlowContext
from flows.core.formatting import meeting_day
from flows.core.types import Card
from storage import checkins as store
from storage import images
from storage.teams import MemberView, TeamView

QUARTER = timedelta(days=92)


def participation(run: store.Run) -> float:
    return 100.0 * (run.respondents or 0) / len(run.asked) if run.asked else 0.0


class Trend:
    async def _trend(self, ctx: FlowContext, team: TeamView, me: MemberView, say: Words, args: str) -> None:
        closed = [
            r
            for r in await store.runs_of_team(ctx.session, team.id, since=ctx.now - QUARTER)
            if r.status == store.CLOSED
        ]
        if not closed:
            await ctx.reply(Card.plain(say("checkins.trend.none")), team_id=team.id)
            return
        moods = await store.mood_summaries(ctx.session, [r.id for r in closed])
        lines = []
        for run in closed:
            day = meeting_day(datetime.fromisoformat(run.run_day))
            mood = moods.get(run.id)
            line = say(
                "checkins.trend.line",
                day=day,
                answered=run.respondents or 0,
                asked=len(run.asked),
                percent=round(participation(run)),
            )
            if mood is not None and mood.mean is not None:
                line += " " + say("checkins.trend.mood", mean=f"{mood.mean:.1f}")
            lines.append(line)
        labels = [meeting_day(datetime.fromisoformat(r.run_day)) for r in closed]
        series = [Series(say("checkins.trend.participation"), [participation(r) for r in closed])]
        right = None
        if any(r.mood for r in closed):
            series.append(
                Series(
                    say("checkins.trend.mood_series"),
                    [m.mean if (m := moods.get(r.id)) is not None else None for r in closed],
                    right=True,
                )
            )
            right = Axis(say("checkins.trend.mood_axis"), 0.8, 5.2)
        title = say("checkins.trend.title", team=team.name)
        png = render_lines(labels, series, title, Axis(say("checkins.trend.percent_axis"), 0, 105), right)
        latest = closed[-1]
        await store.store_chart(ctx.session, latest.id, png)
        chart = images.checkin_chart_ref(latest.id)
        await ctx.reply(cards.trend(title, lines, chart, say("checkins.trend.alt")), team_id=team.id)
