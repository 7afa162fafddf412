"""The API server's message texts and its way of printing bad values.

Message builders follow ``k8s.io/apimachinery/pkg/util/validation/validation.go`` and
``pkg/api/validate/content/errors.go`` (``RegexError``, ``MaxLenError``, ``EmptyError``,
``InclusiveRangeError``). Values are printed as ``field.Error.ErrorBody`` does:

* strings with Go's ``%q`` (``strconv.Quote``), integers with ``%v``;
* named string types (``Protocol``, ``PolicyType``, ``LabelSelectorOperator``) and complex values
  (maps, selectors, lists) with ``json.Marshal`` from Kubernetes 1.34 on, and with Go's ``%#v``
  before (apimachinery ``field/errors.go``, changed in v0.34).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

EMPTY_ERROR = "must be non-empty"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """``validation.RegexError``: note the two spaces in ``'a',  or 'b'``, as upstream."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def max_len_error(length: int, unit: str = "characters") -> str:
    """``MaxLenError``: ``characters`` (util/validation) or ``bytes`` (content, from 1.35)."""
    return f"must be no more than {length} {unit}"


def inclusive_range_error(low: int, high: int) -> str:
    return f"must be between {low} and {high}, inclusive"


def go_len(text: str) -> int:
    """Go's ``len(string)``: the length in UTF-8 bytes."""
    return len(text.encode("utf-8", "surrogatepass"))


def _go_text(text: str) -> str:
    """The string as Go holds it after JSON decoding: lone surrogates become U+FFFD."""
    return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)


_SIMPLE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def go_quote(text: str) -> str:
    """``strconv.Quote``: printable runes as they are, everything else escaped."""
    out = ['"']
    for ch in _go_text(text):
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_JSON_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def go_json_string(text: str) -> str:
    """``json.Marshal`` of a Go string (HTML-safe escaping, as encoding/json does by default)."""
    out = ['"']
    for ch in _go_text(text):
        if ch in _JSON_ESCAPES:
            out.append(_JSON_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def named_string(text: str, json_values: bool) -> str:
    """A value of a named string type (``Protocol``, ``PolicyType``, selector operator)."""
    return go_json_string(text) if json_values else go_quote(text)


def string_map(labels: Mapping[str, str] | None, json_values: bool) -> str:
    """A ``map[string]string`` bad value: ``{"a":"b"}`` (JSON) or ``map[string]string{...}``."""
    if json_values:
        if labels is None:
            return "null"
        items = (f"{go_json_string(k)}:{go_json_string(v)}" for k, v in sorted(labels.items()))
        return "{" + ",".join(items) + "}"
    if labels is None:
        return "map[string]string(nil)"
    items = (f"{go_quote(k)}:{go_quote(v)}" for k, v in sorted(labels.items()))
    return "map[string]string{" + ", ".join(items) + "}"


def string_list(values: Sequence[str], go_type: str, json_values: bool) -> str:
    """A slice of a named string type, e.g. ``[]networking.PolicyType{"Ingress"}``."""
    if json_values:
        return "[" + ",".join(go_json_string(v) for v in values) + "]"
    return f"[]{go_type}{{" + ", ".join(go_quote(v) for v in values) + "}"
