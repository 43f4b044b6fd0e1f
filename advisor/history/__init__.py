"""The advisor's memory: every run and every finding over time (``advisor serve`` writes it, ``advisor history``
reads it)."""
from .records import fingerprint, run_row
from .store import HistoryStore

__all__ = ["HistoryStore", "fingerprint", "run_row"]
