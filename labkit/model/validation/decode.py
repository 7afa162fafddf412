"""Reading raw manifest values the way the API server decodes them into Go types.

``kubectl`` turns YAML into JSON (``sigs.k8s.io/yaml``) and the API server decodes that JSON
into typed structs with case-sensitive, strict field matching (``sigs.k8s.io/json``; kubectl's
default ``--validate=strict``). The rules reproduced here:

* ``null`` for a string field is the empty string, for a pointer, slice or map field "unset";
* a value of the wrong JSON type (a list where a mapping belongs, a number where a string
  belongs, ``true`` as a label value) rejects the request;
* an int32 field takes a whole number in range (YAML ``80.0`` becomes JSON ``80``); an
  ``IntOrString`` takes a whole number or a string (``"80"`` is the *string* "80");
* a field name the type does not have (``form:``, ``podselector:``, ``ports:`` indented under a
  peer) is an unknown field.

Every helper reports into a :class:`Collector` and returns ``None`` when the value is unusable,
so that no input can raise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from labkit.model.validation.collector import Collector

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
_NOT_TEXT = (bool, int, float, list, dict)
"""Types of decoded values that are never text (a YAML date, the other scalar, is)."""


def child(path: str, name: str) -> str:
    """``field.Path.Child``."""
    return f"{path}.{name}" if path else name


def index(path: str, i: int) -> str:
    """``field.Path.Index``."""
    return f"{path}[{i}]"


def last_part(path: str) -> str:
    return path.rsplit(".", 1)[-1] if path else "the object"


def as_mapping(col: Collector, value: Any, path: str, what: str = "") -> dict[str, Any] | None:
    """A JSON object; ``None`` for null or a wrong type (reported)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    col.wrong_type(
        path,
        value,
        "a mapping",
        f"write {what or last_part(path)} as indented 'key: value' lines (or {{}} when empty)",
    )
    return None


def as_list(col: Collector, value: Any, path: str, what: str = "") -> list[Any] | None:
    """A JSON array; ``None`` for null or a wrong type (reported)."""
    if value is None:
        return None
    if isinstance(value, list):
        return value
    col.wrong_type(
        path,
        value,
        "a list",
        f"write {what or last_part(path)} as a YAML list: one '- ' entry per item",
    )
    return None


def scalar_text(value: Any) -> str | None:
    """The string a YAML scalar becomes in JSON when it is a string, else ``None``."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, _NOT_TEXT):
        return None
    # YAML timestamps (PyYAML reads 2024-01-01 as a date); imported here, as most manifests have
    # none and importing datetime costs over a millisecond
    import datetime

    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return None


def as_string(col: Collector, value: Any, path: str, hint: str = "") -> str | None:
    """A Go ``string`` field: null is ``""``; numbers and booleans are rejected."""
    if value is None:
        return ""
    text = scalar_text(value)
    if text is not None:
        return text
    col.wrong_type(
        path,
        value,
        "a string",
        hint or 'put the value in quotes, e.g. "1.0" or "true", so YAML reads it as text',
    )
    return None


def as_int32(col: Collector, value: Any, path: str, hint: str = "") -> int | None:
    """A Go ``int32`` field; ``None`` for null or an undecodable value (reported)."""
    if value is None:
        return None
    number = _whole_number(value)
    if number is None:
        col.wrong_type(path, value, "an integer", hint or "write a whole number without quotes")
        return None
    return _in_int32(col, number, path, hint)


def as_int_or_string(col: Collector, value: Any, path: str, hint: str = "") -> int | str | None:
    """An ``intstr.IntOrString``: a whole number (int32) or a string, kept apart."""
    if value is None:
        return None
    text = scalar_text(value)
    if text is not None:
        return text
    number = _whole_number(value)
    if number is None:
        col.wrong_type(
            path,
            value,
            "a number or a name",
            hint or "write a port number (80) or a port name (http)",
        )
        return None
    return _in_int32(col, number, path, hint)


def _in_int32(col: Collector, number: int, path: str, hint: str) -> int | None:
    """``number`` when it fits a Go ``int32``; else ``None``, reported."""
    if not INT32_MIN <= number <= INT32_MAX:
        col.decode_error(
            path, number, "does not fit in a 32-bit integer", hint or "use a number from 1 to 65535"
        )
        return None
    return number


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def map_key(key: Any) -> str:
    """A YAML mapping key as ``sigs.k8s.io/yaml`` writes it into JSON."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    text = scalar_text(key)
    return text if text is not None else str(key)


def as_string_map(col: Collector, value: Any, path: str, what: str) -> dict[str, str] | None:
    """A ``map[string]string`` (labels, matchLabels, selector); keeps the written order."""
    data = as_mapping(col, value, path, what)
    if data is None:
        return None
    out: dict[str, str] = {}
    for key, raw in data.items():
        if type(key) is str and type(raw) is str:  # the common case, decoded as written
            out[key] = raw
            continue
        text = as_string(
            col,
            raw,
            f"{path}[{map_key(key)}]",
            f'{what} values are strings: quote it, e.g. "{map_key(raw)}"'
            if isinstance(raw, (int, float, bool))
            else "",
        )
        if text is not None:
            out[map_key(key)] = text
    return out


def as_string_list(col: Collector, value: Any, path: str, what: str) -> list[str | None] | None:
    """A ``[]string``; undecodable items are reported and kept as ``None`` (indices stay)."""
    items = as_list(col, value, path, what)
    if items is None:
        return None
    return [
        item if type(item) is str else as_string(col, item, index(path, i))
        for i, item in enumerate(items)
    ]


def check_fields(
    col: Collector,
    data: Mapping[Any, Any],
    known: Iterable[str],
    path: str,
    type_name: str,
    belongs: Callable[[str], str] | None = None,
) -> None:
    """Report every key that ``type_name`` does not have (strict, case-sensitive decoding)."""
    names = tuple(known)
    for raw_key in data:
        if raw_key not in names:  # only a known string key compares equal to a name
            break
    else:
        return
    for raw_key in data:
        key = map_key(raw_key)
        if key in names:
            continue
        hint = _unknown_hint(key, names, type_name, belongs)
        col.unknown_field(child(path, key), f'{type_name} has no field "{key}"', hint)


def _unknown_hint(
    key: str, names: tuple[str, ...], type_name: str, belongs: Callable[[str], str] | None
) -> str:
    for name in names:
        if name.lower() == key.lower():
            return f"field names are case-sensitive: write {name}"
    import difflib  # only for a misspelt field: keeps it out of every import of validation

    close = difflib.get_close_matches(key, names, n=1, cutoff=0.75)
    if close:
        return f"did you mean {close[0]}? ({type_name} fields: {', '.join(names)})"
    place = belongs(key) if belongs else ""
    if place.startswith("nothing: "):
        return place.removeprefix("nothing: ")
    if place:
        return f"{key} belongs in {place}: check the indentation of this block"
    return f"{type_name} fields are {', '.join(names)}; remove {key} or fix its indentation"
