"""A test kit for pii-streamer and for users' own tests: canary personal data and helpers.

Canaries are distinctive values that every detector must catch; tests push them through
a component and then assert none of them appears in its outputs, logs or metrics.
``streamer(...)`` runs the command in a child process as a user would (``testing.cli``).
"""

from streamer.testing.canaries import CANARIES, CANARY_TEXT, find_canaries
from streamer.testing.cli import STREAMER_COMMAND, cli_environment, streamer

__all__ = [
    "CANARIES",
    "CANARY_TEXT",
    "STREAMER_COMMAND",
    "cli_environment",
    "find_canaries",
    "streamer",
]
