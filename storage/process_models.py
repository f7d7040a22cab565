"""What `/healthz` reads to say which process holds what: schedule claims by time (the outbox's leases are
read through its status index). The claimants themselves are `host/pid/start` labels (bot/process_identity.py)
in the existing `claimed_by` columns."""

from __future__ import annotations

from sqlalchemy import Index

from storage.models import OccurrenceClaim

# /healthz counts the claims of the last day by process: without this, a scan of every claim ever made
CLAIMS_BY_TIME = Index("ix_occurrence_claims_claimed_at", OccurrenceClaim.claimed_at)
