"""Label selectors: decoded, then validated as the API server does.

From ``k8s.io/apimachinery/pkg/apis/meta/v1/validation`` (``ValidateLabelSelector``,
``ValidateLabelSelectorRequirement``) and ``LabelSelectorAsSelector``:

* ``matchLabels`` is validated like any label map (:func:`.labels.check_labels`);
* ``matchExpressions``: ``In``/``NotIn`` need ``values`` (Required), ``Exists``/``DoesNotExist``
  forbid them (Forbidden), any other operator is Invalid ("not a valid selector operator",
  case-sensitive); then the key is checked, then (from 1.26, on create) each value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

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
from labkit.model.validation.labels import (
    check_label_key,
    check_labels,
    is_label_key,
    is_label_value,
    known_valid,
    value_hint,
)
from labkit.model.validation.messages import go_json_string, go_quote
from labkit.model.validation.version import KubeVersion

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
SELECTOR_FIELDS = ("matchLabels", "matchExpressions")
REQUIREMENT_FIELDS = ("key", "operator", "values")
_UNARY = ("Exists", "DoesNotExist")


class Requirement(NamedTuple):
    """A decoded ``LabelSelectorRequirement`` (``values`` ``None`` = unset)."""

    key: str
    operator: str
    values: tuple[str, ...] | None


class Selector(NamedTuple):
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
    data = value if type(value) is dict else as_mapping(col, value, path, "a label selector")
    if data is None:
        return None
    check_fields(col, data, SELECTOR_FIELDS, path, "LabelSelector", _selector_field_home)
    raw_labels = data.get("matchLabels")
    labels = None
    if raw_labels is not None:
        labels = as_string_map(col, raw_labels, child(path, "matchLabels"), "matchLabels")
    raw_exprs = data.get("matchExpressions")
    exprs: tuple[Requirement | None, ...] | None = None
    if raw_exprs is not None:
        exprs_path = child(path, "matchExpressions")
        if type(raw_exprs) is not list:
            raw_exprs = as_list(col, raw_exprs, exprs_path, "matchExpressions")
        if raw_exprs is not None:
            exprs = tuple(
                _decode_requirement(col, raw, exprs_path, i) for i, raw in enumerate(raw_exprs)
            )
    return Selector(None if labels is None else tuple(labels.items()), exprs)


def _selector_field_home(key: str) -> str:
    if key in ("key", "operator", "values"):
        return "a matchExpressions entry (- key: ..., operator: ..., values: [...])"
    if key in ("podSelector", "namespaceSelector", "ipBlock"):
        return "a from/to peer, beside (not inside) the other selector"
    return "matchLabels (as a label) if it is a label"


def _decode_requirement(col: Collector, value: Any, exprs_path: str, i: int) -> Requirement | None:
    if type(value) is dict:
        data: dict[str, Any] = value
    else:
        found = as_mapping(col, value, index(exprs_path, i), "a matchExpressions entry")
        if found is None:
            if value is None:
                return Requirement("", "", None)
            return None
        data = found
    for name in data:
        if name not in REQUIREMENT_FIELDS:
            path = index(exprs_path, i)
            check_fields(col, data, REQUIREMENT_FIELDS, path, "LabelSelectorRequirement")
            break
    key = data.get("key")
    if type(key) is not str:
        key = as_string(col, key, child(index(exprs_path, i), "key"))
    operator = data.get("operator")
    if type(operator) is not str:
        operator = as_string(
            col,
            operator,
            child(index(exprs_path, i), "operator"),
            "operator is one of In, NotIn, Exists, DoesNotExist",
        )
    values = data.get("values")
    if values is not None:
        values = as_string_list(col, values, child(index(exprs_path, i), "values"), "values")
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
    for key, value in selector.match_labels or ():
        if not known_valid(key, (value,)):
            check_labels(col, selector.labels, child(path, "matchLabels"))
            break
    for i, req in enumerate(selector.match_expressions or ()):
        if req is None:
            continue
        values = req.values or ()
        if (req.operator in ("In", "NotIn") if values else req.operator in _UNARY) and known_valid(
            req.key, () if allow_invalid_values else values
        ):
            continue  # nothing to report
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
