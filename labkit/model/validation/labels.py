"""Label keys and label values, validated as the API server does (selectors: :mod:`.selectors`).

From ``k8s.io/apimachinery``: ``pkg/api/validate/content/kube.go`` (``IsLabelKey``,
``IsLabelValue``; ``util/validation`` before 1.35) and ``pkg/apis/meta/v1/validation``
(``ValidateLabels``):

* a key is an optional prefix (a DNS-1123 subdomain, at most 253) and ``/``, then a name of at
  most 63 characters of ``[-A-Za-z0-9_.]`` that starts and ends with a letter or digit;
* a value is empty, or at most 63 characters of the same alphabet with the same ends;
* ``ValidateLabels`` reports key *and* value errors at the map's path itself
  (``spec.podSelector.matchLabels``), without the key.

Go iterates maps in random order; labkit reports map entries in the order they were written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from labkit.model.validation.collector import Collector
from labkit.model.validation.messages import EMPTY_ERROR, go_len, max_len_error, regex_error
from labkit.model.validation.names import is_dns1123_subdomain
from labkit.model.validation.version import KubeVersion

LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(" + LABEL_KEY_FMT + ")?"
LABEL_KEY_ERR = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character"
)
LABEL_VALUE_ERR = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character"
)
NAME_MAX = 63
_KEY = re.compile(LABEL_KEY_FMT)
_VALUE = re.compile(LABEL_VALUE_FMT)

KEY_HINT = (
    "a label key is an optional DNS prefix and '/' (example.com/) followed by a name of at most "
    "63 letters, digits, '-', '_' or '.' that starts and ends with a letter or digit, "
    "e.g. app or app.kubernetes.io/name"
)
VALUE_HINT = (
    "a label value is empty or at most 63 letters, digits, '-', '_' or '.', starting and ending "
    "with a letter or digit: no spaces, slashes or other symbols"
)


def _unit(version: KubeVersion) -> str:
    return "bytes" if version.at_least(35) else "characters"


_VALID_KEYS: set[str] = set()
_VALID_VALUES: set[str] = set()
_VALID_MAX = 16384
"""Keys and values already found valid: whether one is valid does not depend on the version
(only the messages do), and manifests repeat the same few labels on every object."""


def _remember(valid: set[str], text: str) -> None:
    if len(valid) >= _VALID_MAX:
        valid.clear()
    valid.add(text)


def known_valid(key: str, values: Iterable[str] = ()) -> bool:
    """Whether ``key`` and each of ``values`` were already found valid: checking them again
    would report nothing, whatever the version."""
    return key in _VALID_KEYS and _VALID_VALUES.issuperset(values)


def is_label_key(key: str, version: KubeVersion) -> list[str]:
    """``IsQualifiedName`` / ``content.IsLabelKey``."""
    if key in _VALID_KEYS:
        return []
    errs: list[str] = []
    parts = key.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + EMPTY_ERROR)
        else:
            unit = "bytes" if version.at_least(35) else "characters"
            errs += ["prefix part " + msg for msg in is_dns1123_subdomain(prefix, version, unit)]
    else:
        what = "a valid label key " if version.at_least(35) else "a qualified name "
        return [
            what
            + regex_error(LABEL_KEY_ERR, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part " + EMPTY_ERROR)
    elif go_len(name) > NAME_MAX:
        errs.append("name part " + max_len_error(NAME_MAX, _unit(version)))
    if not _KEY.fullmatch(name):
        errs.append(
            "name part " + regex_error(LABEL_KEY_ERR, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
        )
    if not errs:
        _remember(_VALID_KEYS, key)
    return errs


def is_label_value(value: str, version: KubeVersion) -> list[str]:
    """``IsValidLabelValue`` / ``content.IsLabelValue``."""
    if value in _VALID_VALUES:
        return []
    if len(value) <= NAME_MAX and _VALUE.fullmatch(value):
        _remember(_VALID_VALUES, value)  # a match is ASCII: characters are bytes
        return []
    errs = []
    if go_len(value) > NAME_MAX:
        errs.append(max_len_error(NAME_MAX, _unit(version)))
    if not _VALUE.fullmatch(value):
        errs.append(regex_error(LABEL_VALUE_ERR, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def key_hint(key: str) -> str:
    if "/" in key and key.count("/") > 1:
        return "a label key holds at most one '/': " + KEY_HINT
    if key.startswith("/"):
        return "remove the leading '/' or put a DNS prefix before it (example.com/app)"
    if any(c.isupper() for c in key.split("/")[0]) and "/" in key:
        return "the prefix before '/' is a DNS name and must be lower case: " + KEY_HINT
    return KEY_HINT


def value_hint(value: str) -> str:
    if len(value.encode("utf-8", "surrogatepass")) > NAME_MAX:
        return "shorten the label value to at most 63 characters"
    return VALUE_HINT


def check_label_key(col: Collector, key: str, path: str) -> None:
    """``ValidateLabelName``."""
    for msg in is_label_key(key, col.version):
        col.invalid(path, key, msg, key_hint(key))


def check_labels(col: Collector, labels: Mapping[str, str] | None, path: str) -> None:
    """``ValidateLabels``: per entry the key errors, then the value errors, all at ``path``."""
    for key, value in (labels or {}).items():
        if key in _VALID_KEYS and value in _VALID_VALUES:
            continue
        check_label_key(col, key, path)
        for msg in is_label_value(value, col.version):
            col.invalid(path, value, msg, value_hint(value))
