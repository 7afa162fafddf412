"""labkit: a lab that teaches Kubernetes network segmentation.

The public API, imported lazily so that ``import labkit`` and the CLI start fast:

* :func:`load` reads manifests (files, directories, YAML or JSON) into an :class:`Inventory`,
  validating them as the API server would.
* :class:`Engine` answers reachability questions; :func:`compute_matrix` gives every pair.
* :func:`explain` and :func:`audit` say why, and what to fix.
* :mod:`labkit.lab` is the notebook facade; :mod:`labkit.cluster` holds the lab clusters.

``pip install labkit`` needs PyYAML only (the engine and the CLI); the notebook lab needs the
``lab`` extra, ``pip install 'labkit[lab]'`` (see :mod:`labkit.extras`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "load": ("labkit.model.inventory", "load_inventory"),
    "load_text": ("labkit.model.inventory", "inventory_from_text"),
    "Inventory": ("labkit.model.inventory", "Inventory"),
    "IPPlan": ("labkit.model.ipam", "IPPlan"),
    "Protocol": ("labkit.model.ports", "Protocol"),
    "Engine": ("labkit.engine.evaluator", "Engine"),
    "compute_matrix": ("labkit.engine.matrix", "compute_matrix"),
    "PortSet": ("labkit.engine.portset", "PortSet"),
    "explain": ("labkit.engine.explain", "explain"),
    "audit": ("labkit.engine.audit", "audit"),
    "validate_objects": ("labkit.model.validation", "validate_objects"),
    "ProbeSpec": ("labkit.probe.jobs", "ProbeSpec"),
    "TruthTable": ("labkit.probe.table", "TruthTable"),
    "ConnectivityTable": ("labkit.probe.connectivity", "ConnectivityTable"),
    "LabkitError": ("labkit.errors", "LabkitError"),
    "ValidationFailed": ("labkit.errors", "ValidationFailed"),
    "ManifestError": ("labkit.errors", "ManifestError"),
    "MissingExtra": ("labkit.errors", "MissingExtra"),
}

__all__ = [
    "ConnectivityTable",
    "Engine",
    "IPPlan",
    "Inventory",
    "LabkitError",
    "ManifestError",
    "MissingExtra",
    "PortSet",
    "ProbeSpec",
    "Protocol",
    "TruthTable",
    "ValidationFailed",
    "__version__",
    "audit",
    "compute_matrix",
    "explain",
    "load",
    "load_text",
    "validate_objects",
]

if TYPE_CHECKING:  # pragma: no cover
    from labkit.engine.audit import audit
    from labkit.engine.evaluator import Engine
    from labkit.engine.explain import explain
    from labkit.engine.matrix import compute_matrix
    from labkit.engine.portset import PortSet
    from labkit.errors import LabkitError, ManifestError, MissingExtra, ValidationFailed
    from labkit.model.inventory import Inventory
    from labkit.model.inventory import inventory_from_text as load_text
    from labkit.model.inventory import load_inventory as load
    from labkit.model.ipam import IPPlan
    from labkit.model.ports import Protocol
    from labkit.model.validation import validate_objects
    from labkit.probe.connectivity import ConnectivityTable
    from labkit.probe.jobs import ProbeSpec
    from labkit.probe.table import TruthTable


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'labkit' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value
