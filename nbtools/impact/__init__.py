"""Nanoimpact analysis: event detection, features, sizing, statistics, trust.

Public API
----------
find_events
    Spikes or steps in a current trace -> DataFrame of events.
"""

from .detect import DEFAULTS, EVENT_COLUMNS, find_events

__all__ = ["find_events", "DEFAULTS", "EVENT_COLUMNS"]
