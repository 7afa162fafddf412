"""Lab clusters: kind + Calico, an existing cluster, or the in-process simulated cluster.

The only package that runs subprocesses or talks to the Kubernetes API.
"""
