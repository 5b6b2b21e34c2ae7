"""@mentions: a person's handle in a chat message, a post or a comment."""

from __future__ import annotations

from streamer.redaction.detector import PatternDetector
from streamer.redaction.spans import Span

# What follows an "@" in event text without naming anyone: Slack's and Teams' group
# mentions, cron schedules, annotations and doc tags seen in log lines, CSS at-rules, and
# the keys of Logstash/ECS and JSON-LD documents (@timestamp, @type).
_NOT_A_HANDLE = frozenset(
    {
        "timestamp", "version", "metadata", "fields", "tags", "message", "type", "context",
        "id", "value", "graph", "language", "vocab", "base", "list", "set", "index",
        "reverse", "nest", "container", "included", "json", "odata",
        "here", "channel", "everyone", "all", "team", "daily", "weekly", "monthly", "yearly",
        "annually", "hourly", "reboot", "midnight", "override", "deprecated", "param",
        "return", "returns", "throws", "see", "since", "author", "test",
        "suppresswarnings", "functionalinterface", "autowired", "inject", "component",
        "service", "bean", "entity", "transactional", "media", "import", "keyframes",
        "property", "staticmethod", "classmethod", "dataclass",
    }
)  # fmt: skip


class MentionDetector(PatternDetector):
    """``PERSON``: the handle of an @mention (``@sarah.k``, ``@monica_geller``): a letter
    and up to 49 letters, digits, ``_``, ``-`` or inner dots, after an ``@`` that starts a
    word. The ``@`` stays; the handle is replaced.

    Not an e-mail address or ``user@host`` (a word before the ``@``), a package scope or
    path (``@types/node``), an annotation with arguments or a dotted class name
    (``@org.example.Inject(...)``), a parameter in SQL (``@__p_0``, ``id = @id``), nor a
    group mention or cron schedule (``@here``, ``@daily``).
    """

    name = "mention"
    entity_type = "PERSON"
    pattern = (
        r"(?<![\w@.\\/+=&'\"`-])@(?P<handle>[^\W\d_](?:[\w-]|\.(?=\w)){0,49})"
        r"(?![\w@/(=.-]|\.\w)"
    )
    group = "handle"
    triggers = ("@",)
    score = 0.6

    def validate(self, candidate: str) -> bool | None:
        if candidate.count(".") > 1 or candidate.partition(".")[0].lower() in _NOT_A_HANDLE:
            return False  # a dotted class name (org.example.Inject), a group mention, a key
            # of Microsoft Graph's (@odata.context)
        return None

    def find(self, text: str, context: str = "") -> list[Span]:
        # The pattern is tried only where an "@" is, and not after a letter or digit: most
        # "@"s in events are in e-mail addresses.
        match = self._regex.match
        matches = []
        at = text.find("@")
        while at >= 0:
            if at == 0 or not text[at - 1].isalnum():
                found = match(text, at)
                if found is not None and not text[:at].rstrip().endswith("="):  # id = @id
                    matches.append(found)
            at = text.find("@", at + 1)
        return self._scored(text, context, matches) if matches else []
