"""Label keys, label values and label selectors, validated as the API server does.

From ``k8s.io/apimachinery``: ``pkg/api/validate/content/kube.go`` (``IsLabelKey``,
``IsLabelValue``; ``util/validation`` before 1.35) and ``pkg/apis/meta/v1/validation``
(``ValidateLabels``, ``ValidateLabelSelector``, ``ValidateLabelSelectorRequirement``):

* a key is an optional prefix (a DNS-1123 subdomain, at most 253) and ``/``, then a name of at
  most 63 characters of ``[-A-Za-z0-9_.]`` that starts and ends with a letter or digit;
* a value is empty, or at most 63 characters of the same alphabet with the same ends;
* ``ValidateLabels`` reports key *and* value errors at the map's path itself
  (``spec.podSelector.matchLabels``), without the key;
* ``matchExpressions``: ``In``/``NotIn`` need ``values`` (Required), ``Exists``/``DoesNotExist``
  forbid them (Forbidden), any other operator is Invalid ("not a valid selector operator",
  case-sensitive); then the key is checked, then (from 1.26, on create) each value.

Go iterates maps in random order; labkit reports map entries in the order they were written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labkit.model.validation.collector import Collector
from labkit.model.validation.decode import (
    as_list,
    as_mapping,
    as_string,
    as_string_list,
    as_string_map,
    check_fields,
    child,
    index,
)
from labkit.model.validation.messages import (
    EMPTY_ERROR,
    go_json_string,
    go_len,
    go_quote,
    max_len_error,
    regex_error,
)
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
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
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


def is_label_key(key: str, version: KubeVersion) -> list[str]:
    """``IsQualifiedName`` / ``content.IsLabelKey``."""
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
    return errs


def is_label_value(value: str, version: KubeVersion) -> list[str]:
    """``IsValidLabelValue`` / ``content.IsLabelValue``."""
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
        check_label_key(col, key, path)
        for msg in is_label_value(value, col.version):
            col.invalid(path, value, msg, value_hint(value))


@dataclass(frozen=True)
class Requirement:
    """A decoded ``LabelSelectorRequirement`` (``values`` ``None`` = unset)."""

    key: str
    operator: str
    values: tuple[str, ...] | None


@dataclass(frozen=True)
class Selector:
    """A decoded ``metav1.LabelSelector``; ``None`` fields are unset (Go nil)."""

    match_labels: tuple[tuple[str, str], ...] | None = None
    match_expressions: tuple[Requirement | None, ...] | None = None

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.match_labels or ())

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        """``LabelSelectorAsSelector(...).Matches`` (for a selector that converts cleanly)."""
        for key, value in self.match_labels or ():
            if labels.get(key) != value:
                return False
        for req in self.match_expressions or ():
            if req is None:
                continue
            present = req.key in labels
            values = req.values or ()
            if req.operator == "In" and not (present and labels[req.key] in values):
                return False
            if req.operator == "NotIn" and present and labels[req.key] in values:
                return False
            if req.operator == "Exists" and not present:
                return False
            if req.operator == "DoesNotExist" and present:
                return False
        return True

    def render(self, json_values: bool) -> str:
        """The selector as a bad value: JSON (1.34+) or Go ``%#v`` of ``v1.LabelSelector``."""
        exprs = [r for r in self.match_expressions or () if r is not None]
        if json_values:
            parts = []
            if self.match_labels:
                inner = ",".join(
                    f"{go_json_string(k)}:{go_json_string(v)}" for k, v in sorted(self.match_labels)
                )
                parts.append(f'"matchLabels":{{{inner}}}')
            if exprs:
                rendered = []
                for r in exprs:
                    item = f'"key":{go_json_string(r.key)},"operator":{go_json_string(r.operator)}'
                    if r.values:
                        item += ',"values":[' + ",".join(go_json_string(v) for v in r.values) + "]"
                    rendered.append("{" + item + "}")
                parts.append('"matchExpressions":[' + ",".join(rendered) + "]")
            return "{" + ",".join(parts) + "}"
        if self.match_labels is None:
            labels = "map[string]string(nil)"
        else:
            labels = (
                "map[string]string{"
                + ", ".join(f"{go_quote(k)}:{go_quote(v)}" for k, v in sorted(self.match_labels))
                + "}"
            )
        if self.match_expressions is None:
            reqs = "[]v1.LabelSelectorRequirement(nil)"
        else:
            items = []
            for r in exprs:
                values = (
                    "[]string(nil)"
                    if r.values is None
                    else "[]string{" + ", ".join(go_quote(v) for v in r.values) + "}"
                )
                items.append(
                    f"v1.LabelSelectorRequirement{{Key:{go_quote(r.key)}, "
                    f"Operator:{go_quote(r.operator)}, Values:{values}}}"
                )
            reqs = "[]v1.LabelSelectorRequirement{" + ", ".join(items) + "}"
        return f"v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{reqs}}}"


def decode_selector(col: Collector, value: Any, path: str) -> Selector | None:
    """Decode a ``LabelSelector``; ``None`` when unset (null) or not a mapping."""
    data = as_mapping(col, value, path, "a label selector")
    if data is None:
        return None
    check_fields(
        col, data, ("matchLabels", "matchExpressions"), path, "LabelSelector", _selector_field_home
    )
    labels = as_string_map(col, data.get("matchLabels"), child(path, "matchLabels"), "matchLabels")
    raw_exprs = as_list(
        col, data.get("matchExpressions"), child(path, "matchExpressions"), "matchExpressions"
    )
    exprs: list[Requirement | None] | None = None
    if raw_exprs is not None:
        exprs = []
        for i, raw in enumerate(raw_exprs):
            exprs.append(_decode_requirement(col, raw, index(child(path, "matchExpressions"), i)))
    return Selector(
        None if labels is None else tuple(labels.items()),
        None if exprs is None else tuple(exprs),
    )


def _selector_field_home(key: str) -> str:
    if key in ("key", "operator", "values"):
        return "a matchExpressions entry (- key: ..., operator: ..., values: [...])"
    if key in ("podSelector", "namespaceSelector", "ipBlock"):
        return "a from/to peer, beside (not inside) the other selector"
    return "matchLabels (as a label) if it is a label"


def _decode_requirement(col: Collector, value: Any, path: str) -> Requirement | None:
    data = as_mapping(col, value, path, "a matchExpressions entry")
    if data is None:
        if value is None:
            return Requirement("", "", None)
        return None
    check_fields(col, data, ("key", "operator", "values"), path, "LabelSelectorRequirement")
    key = as_string(col, data.get("key"), child(path, "key"))
    operator = as_string(
        col,
        data.get("operator"),
        child(path, "operator"),
        "operator is one of In, NotIn, Exists, DoesNotExist",
    )
    values = as_string_list(col, data.get("values"), child(path, "values"), "values")
    if key is None or operator is None:
        return None
    return Requirement(
        key, operator, None if values is None else tuple(v for v in values if v is not None)
    )


def check_selector(
    col: Collector, selector: Selector | None, path: str, *, allow_invalid_values: bool = False
) -> None:
    """``ValidateLabelSelector``."""
    if selector is None:
        return
    check_labels(
        col,
        selector.labels if selector.match_labels is not None else None,
        child(path, "matchLabels"),
    )
    for i, req in enumerate(selector.match_expressions or ()):
        if req is not None:
            _check_requirement(
                col, req, index(child(path, "matchExpressions"), i), allow_invalid_values
            )


def _check_requirement(col: Collector, req: Requirement, path: str, allow_invalid: bool) -> None:
    """``ValidateLabelSelectorRequirement``."""
    values = req.values or ()
    if req.operator in ("In", "NotIn"):
        if not values:
            col.required(
                child(path, "values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
                f"{req.operator} compares the label with a list: add values: [...], or use "
                "Exists to match any value",
            )
    elif req.operator in ("Exists", "DoesNotExist"):
        if values:
            col.forbidden(
                child(path, "values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                f"{req.operator} only tests the key: remove values, or use In/NotIn to compare "
                "values",
            )
    else:
        col.invalid_rendered(
            child(path, "operator"),
            go_json_string(req.operator) if col.json_values else go_quote(req.operator),
            "not a valid selector operator",
            _operator_hint(req.operator),
        )
    check_label_key(col, req.key, child(path, "key"))
    if allow_invalid or not col.version.at_least(26):
        return
    for i, value in enumerate(values):
        for msg in is_label_value(value, col.version):
            col.invalid(index(child(path, "values"), i), value, msg, value_hint(value))


def _operator_hint(operator: str) -> str:
    for known in OPERATORS:
        if known.lower() == operator.lower():
            return f"operators are case-sensitive: write {known}"
    return "operator is one of In, NotIn, Exists, DoesNotExist"


def selector_converts(col_version: KubeVersion, selector: Selector | None) -> bool:
    """Whether ``metav1.LabelSelectorAsSelector`` accepts the selector (keys, values, ops)."""
    if selector is None:
        return True
    for key, value in selector.match_labels or ():
        if is_label_key(key, col_version) or is_label_value(value, col_version):
            return False
    for req in selector.match_expressions or ():
        if req is None:
            continue
        values = req.values or ()
        if req.operator not in OPERATORS or is_label_key(req.key, col_version):
            return False
        if req.operator in ("In", "NotIn") and not values:
            return False
        if req.operator in ("Exists", "DoesNotExist") and values:
            return False
        if any(is_label_value(v, col_version) for v in values):
            return False
    return True
