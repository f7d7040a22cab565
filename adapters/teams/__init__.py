"""Microsoft Teams through botbuilder (Bot Framework SDK 4.17). Every botbuilder import stays in this folder,
so moving to the Microsoft 365 Agents SDK is a one-folder swap."""

from adapters.teams.adapter import TeamsAdapter, TeamsConfig
from adapters.teams.manifest import COMMAND_SCOPES, build_manifest, write_package

__all__ = ["COMMAND_SCOPES", "TeamsAdapter", "TeamsConfig", "build_manifest", "write_package"]
