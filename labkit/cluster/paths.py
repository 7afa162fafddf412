"""Where the kind backend finds its cluster files and keeps its state.

* ``clusters/`` (kind configs, Calico pins and pools) is the project's
  (:func:`labkit.cluster.labdir.project_clusters_dir`); ``$LABKIT_CLUSTERS_DIR`` overrides it.
* State lives in the lab folder (:func:`labkit.cluster.labdir.lab_home`, gitignored): the
  kind kubeconfig, the canary results, downloaded Calico manifests and image records.
"""

from __future__ import annotations

import os
from pathlib import Path

from labkit.cluster.labdir import lab_home, make_folder, project_clusters_dir
from labkit.errors import ClusterError

__all__ = ["cache_dir", "clusters_dir", "default_kubeconfig", "lab_home"]


def clusters_dir() -> Path:
    override = os.environ.get("LABKIT_CLUSTERS_DIR")
    path = Path(override) if override else project_clusters_dir()
    if path is None or not path.is_dir():
        raise ClusterError(
            f"cluster files not found{f': {path} is not a folder' if path else ''}\n"
            "    fix: run labkit inside its project checkout (`make install` installs it in "
            "editable mode), or set LABKIT_CLUSTERS_DIR to the project's clusters/ folder"
        )
    return path


def default_kubeconfig() -> Path:
    """The kind cluster's own kubeconfig; the user's ``~/.kube/config`` is never touched."""
    return lab_home() / "kubeconfig"


def cache_dir(*parts: str) -> Path:
    path = lab_home().joinpath("cache", *parts)
    make_folder(path)
    return path
