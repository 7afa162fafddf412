"""Explanation: why one connection is allowed or denied, with its evidence.

* :mod:`.core`: :func:`explain` and :func:`explain_by_name`, evaluated with the engine's own
  matchers so an explanation can never disagree with the matrix (a workshop wall that denies
  the traffic is named first, :class:`WallCheck`);
* :mod:`.checks`: one rule, peer or port list held against a connection, in words;
* :mod:`.model`: the frozen evidence records;
* :mod:`.render`: text, HTML and plain-data renderers (no evaluation).
"""

from labkit.engine.explain.core import (
    Explanation,
    PeerCheck,
    PolicyNote,
    PortCheck,
    RuleCheck,
    SideExplanation,
    WallCheck,
    explain,
    explain_by_name,
    peer_text,
    port_entry_text,
)

__all__ = [
    "Explanation",
    "PeerCheck",
    "PolicyNote",
    "PortCheck",
    "RuleCheck",
    "SideExplanation",
    "WallCheck",
    "explain",
    "explain_by_name",
    "peer_text",
    "port_entry_text",
]
