"""Kubernetes versions: parsing ``1.36`` / ``v1.35.2`` and the rules that changed between them.

Validation depends on the API server's version. The splits labkit models, each read from the
upstream source at the release that changed it (kubernetes/kubernetes, kubernetes/apimachinery
tags ``v0.<minor>.0``):

========  ==============================================================================
1.18      ``ipBlock.except`` must be a *strict* subset of ``cidr`` (kubernetes PR #86578)
1.20      name messages say "a lowercase RFC 1123 label/subdomain" (was "a DNS-1123 ...")
1.21      ``endPort`` exists (alpha, gate off: dropped); validated from 1.22 (beta, on)
1.25      port-name message "must contain at least one letter (a-z)"
1.26      label values inside ``matchExpressions`` are validated on create
1.27      DNS labels that are valid subdomains: "must not contain dots"; StatefulSet names are
          DNS labels (kubernetes PR #114172)
1.30      ``ipBlock`` CIDR message "must be a valid CIDR value, (e.g. ...)" (was "not a valid
          CIDR"), and one bad ``except`` no longer stops the checks of the next ones
1.34      complex bad values (maps, selectors, lists) are shown as JSON
1.35      label key/value length messages count bytes; a key with two '/' is "a valid label
          key ..." (was "a qualified name ...")
1.36      strict IP/CIDR validation (StrictIPCIDRValidation beta, on by default): host bits,
          leading zeros and IPv4-mapped IPv6 in ``cidr``/``except`` are errors, not warnings
========  ==============================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from labkit.errors import LabkitError

DEFAULT_KUBERNETES_VERSION = "1.36"
OLDEST_MINOR = 16
"""``networking.k8s.io/v1`` is the only NetworkPolicy API from 1.16 on (extensions/v1beta1 was
removed); labkit does not model older API servers."""

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+][0-9A-Za-z.+-]*)?")


@total_ordering
@dataclass(frozen=True)
class KubeVersion:
    """A Kubernetes ``major.minor`` release; patch releases never change validation.

    Versions order by ``(major, minor)``, as with ``order=True``, whose four generated methods
    would cost a tenth of a millisecond at every import.
    """

    major: int
    minor: int

    def at_least(self, minor: int) -> bool:
        """True for ``1.<minor>`` and later."""
        return (self.major, self.minor) >= (1, minor)

    def __lt__(self, other: object) -> bool:
        if isinstance(other, KubeVersion) and other.__class__ is self.__class__:
            return (self.major, self.minor) < (other.major, other.minor)
        return NotImplemented

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def parse_version(text: str | None) -> KubeVersion:
    """Parse ``1.36``, ``v1.35.2`` or ``1.36.0-rc.1``; ``None`` means the lab's pinned version.

    Raises :class:`LabkitError` for anything else, or for releases older than 1.16.
    """
    raw = DEFAULT_KUBERNETES_VERSION if text is None else str(text).strip()
    match = _VERSION.fullmatch(raw)
    if match is None:
        raise LabkitError(
            f"{raw!r} is not a Kubernetes version: write it like 1.36 or v1.35.2 "
            "(--kubernetes-version)"
        )
    version = KubeVersion(int(match.group(1)), int(match.group(2)))
    if version.major != 1 or version.minor < OLDEST_MINOR:
        raise LabkitError(
            f"Kubernetes {version} is not modelled: labkit validates as Kubernetes "
            f"1.{OLDEST_MINOR} or later (default {DEFAULT_KUBERNETES_VERSION})"
        )
    return version
