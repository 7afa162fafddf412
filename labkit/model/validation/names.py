"""Object names and port names: DNS-1123 labels and subdomains, DNS-1035 labels, IANA names.

Each check returns the API server's messages for a value, in its order (an empty list means
valid), from ``k8s.io/apimachinery/pkg/util/validation/validation.go`` and
``pkg/api/validation/generic.go``:

* DNS-1123 label (namespaces; StatefulSets from 1.27; container and Service port names):
  at most 63 characters of ``[a-z0-9-]``, starting and ending with a letter or digit. From
  1.27 a value that would be a valid *subdomain* gets "must not contain dots" instead of the
  regex message.
* DNS-1123 subdomain (most object names): at most 253 characters, dot-separated labels.
* DNS-1035 label (Service names): like a DNS-1123 label but starting with a letter.
* IANA service name (named ports, ``IsValidPortName``): at most 15 characters of
  ``[-a-z0-9]``, at least one letter, no ``--``, no leading or trailing ``-``. A quoted number
  (``"80"``) is a name, and an invalid one.
* ``generateName`` is checked as a prefix: ``maskTrailingDash`` replaces a trailing ``-`` *and
  the character before it* with ``a`` (upstream quirk, reproduced).

Lengths are Go ``len``: UTF-8 bytes.
"""

from __future__ import annotations

import re

from labkit.model.validation.messages import (
    go_len,
    inclusive_range_error,
    max_len_error,
    regex_error,
)
from labkit.model.validation.version import KubeVersion

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
DNS1035_LABEL_MAX = 63
PORT_NAME_MAX = 15

_LABEL = re.compile(DNS1123_LABEL_FMT)
_SUBDOMAIN = re.compile(DNS1123_SUBDOMAIN_FMT)
_PORT_NAME_CHARS = re.compile("[-a-z0-9]+")
_PORT_NAME_LETTER = re.compile("[a-z]")
_VALID_PORT_NAMES: set[str] = set()
_VALID_PORT_NAMES_MAX = 4096
"""Port names already found valid (validity does not depend on the version, only messages do)."""


def _rfc(version: KubeVersion) -> str:
    return "a lowercase RFC 1123" if version.at_least(20) else "a DNS-1123"


def dns1123_label_message(version: KubeVersion) -> str:
    return regex_error(
        f"{_rfc(version)} label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character",
        DNS1123_LABEL_FMT,
        "my-name",
        "123-abc",
    )


def dns1123_subdomain_message(version: KubeVersion) -> str:
    return regex_error(
        f"{_rfc(version)} subdomain must consist of lower case alphanumeric characters, '-' or "
        "'.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN_FMT,
        "example.com",
    )


def is_dns1123_label(value: str, version: KubeVersion) -> list[str]:
    """``IsDNS1123Label``."""
    if len(value) <= DNS1123_LABEL_MAX and _LABEL.fullmatch(value):
        return []  # a match is ASCII, so its length in characters is its length in bytes
    errs = []
    if go_len(value) > DNS1123_LABEL_MAX:
        errs.append(max_len_error(DNS1123_LABEL_MAX))
    if not _LABEL.fullmatch(value):
        if version.at_least(27) and _SUBDOMAIN.fullmatch(value):
            errs.append("must not contain dots")
        else:
            errs.append(dns1123_label_message(version))
    return errs


def is_dns1123_subdomain(value: str, version: KubeVersion, unit: str = "characters") -> list[str]:
    """``IsDNS1123Subdomain`` (``unit`` is ``bytes`` for the content package, 1.35+)."""
    if len(value) <= DNS1123_SUBDOMAIN_MAX and _SUBDOMAIN.fullmatch(value):
        return []  # a match is ASCII, so its length in characters is its length in bytes
    errs = []
    if go_len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX, unit))
    if not _SUBDOMAIN.fullmatch(value):
        errs.append(dns1123_subdomain_message(version))
    return errs


def is_dns1035_label(value: str, version: KubeVersion) -> list[str]:
    """``IsDNS1035Label`` (Service names)."""
    # compiled at first use (re caches it): only Services have DNS-1035 names
    if len(value) <= DNS1035_LABEL_MAX and re.fullmatch(DNS1035_LABEL_FMT, value):
        return []  # a match is ASCII, so its length in characters is its length in bytes
    errs = []
    if go_len(value) > DNS1035_LABEL_MAX:
        errs.append(max_len_error(DNS1035_LABEL_MAX))
    if not re.fullmatch(DNS1035_LABEL_FMT, value):
        errs.append(
            regex_error(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character",
                DNS1035_LABEL_FMT,
                "my-name",
                "abc-123",
            )
        )
    return errs


def mask_trailing_dash(name: str) -> str:
    """``maskTrailingDash``: ``name[:len(name)-2] + "a"`` when the name ends with ``-``."""
    raw = name.encode("utf-8", "surrogatepass")
    if len(raw) > 1 and raw.endswith(b"-"):
        return raw[:-2].decode("utf-8", "replace") + "a"
    return name


def is_valid_port_name(port: str, version: KubeVersion) -> list[str]:
    """``IsValidPortName`` (IANA_SVC_NAME); the "one letter" message changed in 1.25."""
    if port in _VALID_PORT_NAMES:
        return []
    errs = []
    if go_len(port) > PORT_NAME_MAX:
        errs.append(max_len_error(PORT_NAME_MAX))
    if not _PORT_NAME_CHARS.fullmatch(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _PORT_NAME_LETTER.search(port):
        errs.append(
            "must contain at least one letter (a-z)"
            if version.at_least(25)
            else "must contain at least one letter or number (a-z, 0-9)"
        )
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    if not errs:
        if len(_VALID_PORT_NAMES) >= _VALID_PORT_NAMES_MAX:
            _VALID_PORT_NAMES.clear()
        _VALID_PORT_NAMES.add(port)
    return errs


def is_valid_port_num(port: int) -> list[str]:
    """``IsValidPortNum``: 1..65535."""
    return [] if 1 <= port <= 65535 else [inclusive_range_error(1, 65535)]


def suggest_name(value: str, label: bool = False) -> str:
    """A valid name close to ``value`` (``Bad_Name`` -> ``bad-name``), or ``""``."""
    text = value.lower()
    if label:
        text = text.replace(".", "-")
    text = re.sub("[^a-z0-9.-]+", "-", text)
    text = re.sub(r"-{2,}", "-", text).strip("-.")
    limit = DNS1123_LABEL_MAX if label else DNS1123_SUBDOMAIN_MAX
    text = text[:limit].strip("-.")
    pattern = _LABEL if label else _SUBDOMAIN
    return text if text and pattern.fullmatch(text) and text != value else ""
