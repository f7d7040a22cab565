from adapters.local.adapter import LocalAdapter, TranscriptEntry

__all__ = ["LocalAdapter", "TranscriptEntry"]
