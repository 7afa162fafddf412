"""Probes: "can A reach B on this port?" asked the same way of the engine and of a real
cluster, and the tables that hold the answers.

* :mod:`.jobs`: probe specifications (``80/TCP``), jobs and their outcomes (allowed,
  blocked, failed: a broken probe is never shown as blocked);
* :mod:`.runner`: the runner interface, and the runner that asks the engine (the cluster
  backends in :mod:`labkit.cluster` provide the runners that probe real pods);
* :mod:`.table`: truth tables, one outcome per ordered pair and probe, with their renderings
  (text, CSV, JSON, pandas);
* :mod:`.connectivity`: the full connectivity table (allowed ports per ordered pair), apart
  so that ``labkit matrix`` without ``--probe`` imports only it;
* :mod:`.service_jobs`: batches of jobs whose destinations include Services, each probed
  through its backend pods on their target port.

Layer rule (import-linter contracts in pyproject.toml): probe imports :mod:`labkit.engine`
and :mod:`labkit.model`, never :mod:`labkit.cluster`, :mod:`labkit.grading`,
:mod:`labkit.cli` or :mod:`labkit.lab`, and it never runs a subprocess or talks to
Kubernetes. pandas (``to_dataframe``) is imported only when asked for, through
:func:`labkit.extras.lab_extra`.
"""
