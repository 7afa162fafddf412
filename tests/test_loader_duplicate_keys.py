"""A key written twice in one mapping is refused, as kubectl refuses it."""

from __future__ import annotations

import pytest

from labkit.errors import ManifestError
from labkit.model.loader import load_text

TWO_INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: x}
spec:
  podSelector: {}
  ingress:
  - from: [{podSelector: {}}]
  ingress:
  - {}
"""


def test_two_ingress_sections_are_an_error_with_both_lines() -> None:
    with pytest.raises(ManifestError) as err:
        load_text(TWO_INGRESS, "policy.yaml")
    assert err.value.file == "policy.yaml"
    assert (err.value.line, err.value.column) == (8, 3)
    assert "'ingress' already defined at line 6" in str(err.value)
    assert "merge" in err.value.hint


def test_the_same_key_in_different_mappings_is_fine() -> None:
    text = "kind: Pod\nmetadata: {name: a, labels: {name: x}}\nspec: {name: y}\n"
    (obj,) = load_text(text, "pod.yaml")
    assert obj.data["metadata"]["labels"] == {"name": "x"}
