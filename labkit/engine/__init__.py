"""The policy engine: what the NetworkPolicies of an inventory allow, and why.

Pure computation over :mod:`labkit.model` values, following Kubernetes NetworkPolicy
semantics (and Calico's where Kubernetes leaves a choice to the CNI): no files, no cluster.

* :mod:`.evaluator`: :class:`~labkit.engine.evaluator.Engine`, one pair of endpoints at a
  time, straight from the policies (the reference path);
* :mod:`.matrix` and :mod:`.class_table`: every ordered pair at once, on equivalence classes
  of pods (equal to the engine pair by pair; tests hold the two together);
* :mod:`.compiled`: policies normalised once into matchers; :mod:`.portset`: sets of ports;
  :mod:`.endpoints`: a pod or an ``ip:`` address; :mod:`.services`: traffic to a Service as
  policies see it (a backend pod and its port);
* :mod:`.explain` (subpackage): why one connection is allowed or denied, with the evidence;
* :mod:`.audit` (subpackage): gaps and mistakes in a set of policies, most urgent first;
* :mod:`.describe`: a policy in ``kubectl describe`` form; :mod:`.selector_words`: selectors
  and their misses in words; :mod:`.pod_lookup`: indexes answering which pods a selector or
  an ipBlock matches;
* :mod:`.whatif`: an inventory with manifests laid over it (nothing applied), for
  ``lab.what_if``; :mod:`.peer_names`: the peer names learners write (``ns/*``,
  ``svc:NS/NAME``, ``NAME.NS.svc``) turned into endpoint keys;
* :mod:`.wall`: workshop mode's wall, which denies traffic between two learners' namespaces
  before any NetworkPolicy is consulted.

Layer rule (import-linter contracts in pyproject.toml): the engine imports
:mod:`labkit.model` and :mod:`labkit.errors`, never :mod:`labkit.probe`,
:mod:`labkit.cluster`, :mod:`labkit.grading`, :mod:`labkit.cli` or :mod:`labkit.lab`, and never
runs a subprocess or talks to Kubernetes.
"""
