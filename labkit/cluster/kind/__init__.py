"""The kind + Calico backend: cluster config, Calico pins and install, readiness waits, the
enforcement canary, offline images, and :class:`~labkit.cluster.kind.cluster.KindCluster`."""
