"""kubectl with an explicit kubeconfig and context on every call.

labkit never changes the user's current context: each command carries ``--context`` (and
``--kubeconfig`` when labkit owns the file, as for kind). Which path does what:
* reads and waits go through the official client (:mod:`labkit.cluster.kube_api`, chosen by
  :mod:`labkit.cluster.reads`) when it is installed: lists and watches instead of one process
  per poll;
* writes (apply, delete, label) and probe ``exec`` go through kubectl when it is installed
  and a context is given, as the learner would type them (:mod:`labkit.cluster.writes`
  picks): kubectl authenticates exactly as the user's own does (exec credential plugins,
  OIDC, cloud helpers), and every call is testable with a fake ``kubectl`` on PATH;
* in a notebook pod without kubectl (in-cluster configuration), the client does all of it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from labkit.cluster.commands import Completed, run
from labkit.errors import ClusterError

log = logging.getLogger(__name__)

FIELD_MANAGER = "labkit"
UNREACHABLE_HINT = (
    "is the cluster running and reachable? `labkit status` shows it; "
    "`labkit up` starts or repairs it"
)


class Kubectl:
    """Builds and runs kubectl commands against one cluster."""

    def __init__(
        self, kubeconfig: Path | None, context: str | None, *, timeout: float = 60.0
    ) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.timeout = timeout

    def command(self, args: Sequence[str]) -> list[str]:
        cmd = ["kubectl"]
        if self.kubeconfig is not None:
            cmd += ["--kubeconfig", str(self.kubeconfig)]
        if self.context:
            cmd += ["--context", self.context]
        return cmd + list(args)

    def run(
        self,
        args: Sequence[str],
        *,
        timeout: float | None = None,
        input: str | None = None,
        hint: str = "",
        check: bool = True,
    ) -> Completed:
        return run(
            self.command(args),
            timeout=timeout or self.timeout,
            input=input,
            hint=hint or UNREACHABLE_HINT,
            check=check,
        )

    def get_json(self, args: Sequence[str], *, timeout: float | None = None) -> Any:
        done = self.run([*args, "-o", "json"], timeout=timeout)
        return parse_json(done.stdout, " ".join(args))

    def items(self, args: Sequence[str], *, timeout: float | None = None) -> list[dict[str, Any]]:
        """The objects of a ``get``: a List's ``items``, or the single object."""
        data = self.get_json(args, timeout=timeout)
        return list_items(data)

    def apply(
        self,
        docs: Sequence[dict[str, Any]],
        *,
        dry_run: bool = False,
        timeout: float | None = None,
        hint: str = "",
    ) -> list[dict[str, Any]]:
        """Server-side apply of ``docs`` (field manager ``labkit``, taking over fields another
        manager set: the lab's apply is the learner's intent); returns the objects as the
        API server answered."""
        if not docs:
            return []
        args = [
            "apply",
            "--server-side",
            f"--field-manager={FIELD_MANAGER}",
            "--force-conflicts",
            "-f",
            "-",
            "-o",
            "json",
        ]
        if dry_run:
            args.insert(1, "--dry-run=server")
        body = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(docs)})
        done = self.run(args, input=body, timeout=timeout, hint=hint)
        return list_items(parse_json(done.stdout, "apply")) if done.stdout.strip() else []

    def apply_file(self, path: Path, *, timeout: float | None = None, hint: str = "") -> None:
        """Server-side apply of a file: idempotent, and without client-side apply's
        262144-byte annotation limit that large CRD bundles hit."""
        self.run(
            [
                "apply",
                "--server-side",
                f"--field-manager={FIELD_MANAGER}",
                "--force-conflicts",
                "-f",
                str(path),
            ],
            timeout=timeout,
            hint=hint,
        )

    def exec(
        self,
        namespace: str,
        pod: str,
        argv: Sequence[str],
        *,
        timeout: float,
        container: str | None = None,
    ) -> Completed:
        """``kubectl exec`` (never raises on the remote exit status; the caller reads it)."""
        args = ["exec", "-n", namespace, pod]
        if container:
            args += ["-c", container]
        return self.run([*args, "--", *argv], timeout=timeout, check=False)


def parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ClusterError(
            f"kubectl {what}: output is not JSON ({exc.msg} at line {exc.lineno})"
        ) from None


def list_items(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or not data:
        return []
    if str(data.get("kind", "")).endswith("List") and "items" in data:
        return [i for i in data.get("items") or [] if isinstance(i, dict)]
    return [data]
