"""``pipe why``: where a golden entity came from, why it looks as it does, where it was sent.

``explain_entity(store, project, entity_id)`` (or ``Hub.why(entity_id)``) returns a :class:`Why`;
see :mod:`engine.why.explain` for how each part is recomputed, :mod:`engine.why.shares` for the
sends, and :mod:`engine.why.model` for the shape ``pipe why --json`` prints.
"""

from engine.why.explain import WhyError, explain_entity
from engine.why.model import Claim, Link, PipeStep, Send, Share, SourceRecord, Why

__all__ = [
    "Claim",
    "Link",
    "PipeStep",
    "Send",
    "Share",
    "SourceRecord",
    "Why",
    "WhyError",
    "explain_entity",
]
