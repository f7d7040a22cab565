"""The Slack adapter: slack-bolt's AsyncApp in, slack_sdk's AsyncWebClient out, Block Kit in between."""

from __future__ import annotations

from adapters.slack.adapter import SlackAdapter
from adapters.slack.inbound import SlackInbound
from adapters.slack.install import Workspaces

__all__ = ["SlackAdapter", "SlackInbound", "Workspaces"]
