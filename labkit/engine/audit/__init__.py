"""The policy audit: gaps and mistakes, most urgent first.

* :mod:`.core`: :func:`audit` runs every check and sorts the findings;
* :mod:`.checks`: checks on namespaces and whole policies;
* :mod:`.rules`: checks on single rules and peers;
* :mod:`.shadow`: policies whose removal would change no connection;
* :mod:`.model`: findings, severities and the facts every check reads;
* :mod:`.render`: text and plain-data renderers.
"""

from labkit.engine.audit.core import CODES, SEVERITIES, Finding, at_or_above, audit

__all__ = ["CODES", "SEVERITIES", "Finding", "at_or_above", "audit"]
