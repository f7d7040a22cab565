"""Every model module, imported once so `Base.metadata` holds the whole schema (migrations, tests).

A feature that adds tables puts its models in its own module under storage/ and lists it here."""

from __future__ import annotations

from storage import (
    action_models,
    calendar_models,
    checkin_models,
    local_chat,
    models,
    process_models,
    pulse_models,
    slack_install,
    talking_points_models,
    teams_conversations,
)
from storage.models import Base

MODEL_MODULES = (
    models,
    slack_install,
    pulse_models,
    teams_conversations,
    local_chat,
    calendar_models,
    talking_points_models,
    action_models,
    checkin_models,
    process_models,
)

__all__ = ["MODEL_MODULES", "Base"]
