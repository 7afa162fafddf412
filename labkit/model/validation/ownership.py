"""``metadata.ownerReferences`` and ``metadata.finalizers``, as the API server checks them.

Upstream: ``k8s.io/apimachinery/pkg/api/validation/objectmeta.go`` (releases v0.20 to
v0.36, i.e. Kubernetes 1.20 to 1.36), called by ``ValidateObjectMetaAccessor`` after the
annotations:

* ``validateOwnerReference``: the group/version of ``apiVersion`` must have a version
  (``schema.FromAPIVersionAndKind``: ``a/b/c`` has none), and ``kind``, ``name`` and ``uid``
  must not be empty; every error is at ``metadata.ownerReferences.<field>`` (no index, as in
  those releases); ``kind``, ``name`` and ``uid`` read "kind must not be empty" ... before
  1.34. An ``Event`` (``/v1``) may not be an owner.
* ``ValidateOwnerReferences``: one reference at most with ``controller: true`` ("Kind/Name"
  in the message from 1.26, the name alone before).
* ``ValidateFinalizers``: each finalizer is a qualified name (``IsQualifiedName``, the label
  key rule, case-sensitive), and ``orphan`` and ``foregroundDeletion`` cannot be both set.

Decoding comes first (``sigs.k8s.io/json`` strict): ``ownerReferences`` is a list of
``OwnerReference`` mappings (strings, and booleans for ``controller`` and
``blockOwnerDeletion``), ``finalizers`` a list of strings.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from labkit.model.validation.collector import Collector
from labkit.model.validation.decode import (
    as_list,
    as_mapping,
    as_string,
    as_string_list,
    check_fields,
    index,
)
from labkit.model.validation.labels import is_label_key
from labkit.model.validation.messages import go_json_string, go_quote, string_list

OWNER_FIELDS = ("apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion")
BANNED_OWNERS = frozenset({("", "v1", "Event")})
"""``BannedOwners``: kinds that may not own anything (group, version, kind)."""
ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
"""``metav1.FinalizerOrphanDependents`` and ``FinalizerDeleteDependents``."""
OWNERS_PATH = "metadata.ownerReferences"
FINALIZERS_PATH = "metadata.finalizers"


class OwnerReference(NamedTuple):
    api_version: str = ""
    kind: str = ""
    name: str = ""
    uid: str = ""
    controller: bool | None = None
    block_owner_deletion: bool | None = None


def decode_owner_references(col: Collector, value: Any) -> tuple[OwnerReference, ...]:
    """The decodable references of ``metadata.ownerReferences`` (decoding errors reported)."""
    items = as_list(col, value, OWNERS_PATH, "ownerReferences")
    refs: list[OwnerReference] = []
    for i, item in enumerate(items or ()):
        path = index(OWNERS_PATH, i)
        data = as_mapping(col, item, path, "an owner reference")
        if data is None:
            refs.append(OwnerReference())
            continue
        check_fields(col, data, OWNER_FIELDS, path, "OwnerReference")
        api_version, kind, name, uid = (
            as_string(col, data.get(f), f"{path}.{f}") or "" for f in OWNER_FIELDS[:4]
        )
        refs.append(
            OwnerReference(
                api_version,
                kind,
                name,
                uid,
                _as_bool(col, data.get("controller"), f"{path}.controller"),
                _as_bool(col, data.get("blockOwnerDeletion"), f"{path}.blockOwnerDeletion"),
            )
        )
    return tuple(refs)


def decode_finalizers(col: Collector, value: Any) -> tuple[str, ...]:
    items = as_string_list(col, value, FINALIZERS_PATH, "finalizers")
    return tuple(item for item in items or () if item is not None)


def _as_bool(col: Collector, value: Any, path: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    col.wrong_type(path, value, "a boolean", "write true or false, without quotes")
    return None


def _group_version(api_version: str) -> tuple[str, str] | None:
    """``schema.ParseGroupVersion``: ``(group, version)``, or ``None`` for ``a/b/c``."""
    parts = api_version.split("/")
    if len(parts) == 1:
        return "", api_version
    if len(parts) == 2:
        return parts[0], parts[1]
    return None


def check_owner_references(col: Collector, refs: tuple[OwnerReference, ...]) -> None:
    """``ValidateOwnerReferences``."""
    prefix = "" if col.version.at_least(34) else "{} "
    first_controller = ""
    for ref in refs:
        parsed = _group_version(ref.api_version)
        group, version = parsed if parsed is not None else ("", "")
        if not version:
            col.invalid(
                f"{OWNERS_PATH}.apiVersion",
                ref.api_version,
                "version must not be empty",
                "write the owner's apiVersion, e.g. apps/v1 (kubectl get OWNER -o yaml shows it)",
            )
        for name, text in (("kind", ref.kind), ("name", ref.name), ("uid", ref.uid)):
            if not text:
                col.invalid(
                    f"{OWNERS_PATH}.{name}",
                    text,
                    prefix.format(name) + "must not be empty",
                    f"copy the owner's {name} from kubectl get OWNER -o yaml, or remove the "
                    "ownerReferences (controllers set them)",
                )
        if (group, version, ref.kind) in BANNED_OWNERS:
            col.invalid_rendered(
                OWNERS_PATH,
                _render_reference(ref, col.json_values),
                f"{group}/{version}, Kind={ref.kind} is disallowed from being an owner",
                "an Event cannot own objects: remove this owner reference",
            )
        if ref.controller:
            current = f"{ref.kind}/{ref.name}" if col.version.at_least(26) else ref.name
            if first_controller:
                col.invalid_rendered(
                    OWNERS_PATH,
                    _render_references(refs, col.json_values),
                    'Only one reference can have Controller set to true. Found "true" in '
                    f"references for {first_controller} and {current}",
                    "an object has at most one controller: set controller: true on one "
                    "owner reference only",
                )
            else:
                first_controller = current


def check_finalizers(col: Collector, finalizers: tuple[str, ...]) -> None:
    """``ValidateFinalizers``."""
    for finalizer in finalizers:
        for msg in is_label_key(finalizer, col.version):
            col.invalid(
                FINALIZERS_PATH,
                finalizer,
                msg,
                "a finalizer is a qualified name, e.g. example.com/cleanup (controllers add "
                "finalizers; a hand-written manifest rarely needs one)",
            )
    if ORPHAN in finalizers and FOREGROUND in finalizers:
        col.invalid_rendered(
            FINALIZERS_PATH,
            string_list(finalizers, "string", col.json_values),
            f"finalizer {ORPHAN} and {FOREGROUND} cannot be both set",
            f"keep one of {ORPHAN} (leave dependents) and {FOREGROUND} (delete them first)",
        )


def _render_reference(ref: OwnerReference, json_values: bool) -> str:
    """The reference as the API server prints a bad value: JSON from 1.34, else Go's
    ``%#v`` (a set pointer prints as its address, unknowable here: shown as ``0x...``)."""
    if json_values:  # encoding/json: fields in declaration order, nil pointers omitted
        fields = [
            f"{go_json_string(name)}:{go_json_string(value)}"
            for name, value in zip(OWNER_FIELDS[:4], ref[:4], strict=True)
        ]
        fields += [
            f'"{name}":{"true" if flag else "false"}'
            for name, flag in (("controller", ref.controller), ("blockOwnerDeletion", ref[5]))
            if flag is not None
        ]
        return "{" + ",".join(fields) + "}"
    texts = ", ".join(
        f"{go}:{go_quote(value)}"
        for go, value in zip(("APIVersion", "Kind", "Name", "UID"), ref[:4], strict=True)
    )
    flags = ", ".join(
        f"{go}:(*bool)({'nil' if flag is None else '0x...'})"
        for go, flag in (("Controller", ref.controller), ("BlockOwnerDeletion", ref[5]))
    )
    return f"v1.OwnerReference{{{texts}, {flags}}}"


def _render_references(refs: tuple[OwnerReference, ...], json_values: bool) -> str:
    parts = [_render_reference(ref, json_values) for ref in refs]
    if json_values:
        return "[" + ",".join(parts) + "]"
    return "[]v1.OwnerReference{" + ", ".join(parts) + "}"
