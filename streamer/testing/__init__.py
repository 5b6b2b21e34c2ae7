"""A test kit for pii-streamer and for users' own tests: canary personal data and helpers.

Canaries are distinctive values that every detector must catch; tests push them through
a component and then assert none of them appears in its outputs, logs or metrics.
"""

from streamer.testing.canaries import CANARIES, CANARY_TEXT, find_canaries

__all__ = ["CANARIES", "CANARY_TEXT", "find_canaries"]
