"""Fixtures of the cluster tests: ``fake_tools`` puts fake docker/kind/kubectl on PATH."""

from fake_tools import fake_tools

__all__ = ["fake_tools"]
