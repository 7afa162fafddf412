"""The model: Kubernetes objects as plain, frozen data, read and validated as the API server
would read them.

* :mod:`.loader`: manifests from files, directories and strings (YAML through
  :mod:`.pyyaml_reader`, JSON, ``kind: List``), with bounded input and duplicate-key checks;
* :mod:`.validation` (subpackage): what ``kubectl create -f`` would reject, with the API
  server's own messages;
* :mod:`.inventory`: every namespace, pod, service and policy of a set of manifests;
  :mod:`.workloads`: the pods that workloads (Deployments, Jobs, StatefulSets...) create;
* :mod:`.objects`: namespaces, pods and services; :mod:`.policy` and :mod:`.parse_policy`:
  NetworkPolicy, defaulted as the API server does; :mod:`.labels`: label selectors;
  :mod:`.ports`: protocols and ports;
* :mod:`.ipam` and :mod:`.ippools`: the address plan (Calico IP pools, the lab's own in
  ``data/``) that gives pods their addresses;
* :mod:`.unevaluated`: policy kinds labkit reads but does not evaluate, and their warning;
* :mod:`.rbac`: Roles, ClusterRoles and their bindings, evaluated as the API server's RBAC
  authorizer does; :mod:`.api_resources`: resource types as kubectl names them;
* workshop mode: :mod:`.workshop` (learners, and each learner's logical <-> real names),
  :mod:`.workshop_objects` (the namespaces, quotas, RBAC, admission policy and spawn hook a
  workshop needs), :mod:`.wall` (the policy between learners, rendered for Calico or the
  network-policy API, and read back).

Layer rule (import-linter contracts in pyproject.toml): the bottom layer. The model imports
only the standard library, PyYAML and :mod:`labkit.errors`; nothing from
:mod:`labkit.engine`, :mod:`labkit.probe`, :mod:`labkit.cluster`, :mod:`labkit.cli` or
:mod:`labkit.lab`, and it never runs a subprocess or talks to Kubernetes.
"""
