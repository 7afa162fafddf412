"""The official ``kubernetes`` client: the one module of labkit that imports it (an
import-linter contract says so), and only inside functions, so labkit runs without the
``lab`` extra (then :class:`labkit.cluster.reads.KubectlReads` reads through kubectl).

* Configuration: the kubeconfig file and context labkit was given (the file is never written
  back: ``persist_config=False``); with neither, inside a pod (``KUBERNETES_SERVICE_HOST``
  set), the pod's service account through ``config.load_incluster_config``, so the lab works
  from a JupyterHub pod that has no kubectl.
* Reads: list calls with ``_preload_content=False``, decoded as JSON, so items keep the API's
  own shape (what ``kubectl get -o json`` prints); the API server leaves ``kind`` and
  ``apiVersion`` off list items, labkit sets them back.
* Watches: ``watch.Watch().stream(list_fn, resource_version=..., timeout_seconds=...)`` from
  the list's resourceVersion, so no change between the list and the watch is missed. With
  ``timeout_seconds`` the client does not retry; an expired version (410 Gone) counts as a
  change: the caller lists again.
* Exec: ``stream.stream(api.connect_get_namespaced_pod_exec, ..., _preload_content=False)``
  (calling the method directly gives ``400 Upgrade request required``); the exit status comes
  from the error channel (a ``v1.Status``: ``Success``, or ``NonZeroExitCode`` with the code
  in ``details.causes[reason=ExitCode]``). ``stream()`` swaps the ApiClient's ``call_api``
  while it runs, so each thread gets its own ApiClient.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from labkit.cluster.commands import Completed
from labkit.cluster.reads import Listing, Objs, Resource, resource
from labkit.errors import ClusterError, CommandFailed

log = logging.getLogger(__name__)

SERVICE_HOST_ENV = "KUBERNETES_SERVICE_HOST"
ERROR_CHANNEL = 3
TYPED_APIS = {"": "CoreV1Api", "apps": "AppsV1Api", "networking.k8s.io": "NetworkingV1Api"}
"""The generated API class of each built-in group labkit reads."""
REQUEST_TIMEOUT = (10, 60)
"""(connect, read) seconds of one API request: a server that stops answering (a laptop that
just resumed) is an error after a minute, as a kubectl call is, not a hang."""
HINT = (
    "is the cluster running and reachable? `labkit status` shows it; `labkit up` starts or "
    "repairs it"
)


def uses_in_cluster_config(
    kubeconfig: Path | None, context: str | None, environ: Mapping[str, str] = os.environ
) -> bool:
    """In-cluster configuration only when labkit was given no kubeconfig and no context and
    runs in a pod (``KUBERNETES_SERVICE_HOST`` is set, as the kubelet sets it)."""
    return kubeconfig is None and not context and bool(environ.get(SERVICE_HOST_ENV))


def load_configuration(kubeconfig: Path | None, context: str | None) -> Any:
    """A ``kubernetes.client.Configuration`` for this cluster (never the global default)."""
    from kubernetes import client
    from kubernetes import config as untyped_config

    config: Any = untyped_config
    cfg = client.Configuration()
    try:
        if uses_in_cluster_config(kubeconfig, context):
            config.load_incluster_config(client_configuration=cfg)
        else:
            config.load_kube_config(
                config_file=str(kubeconfig) if kubeconfig is not None else None,
                context=context or None,
                client_configuration=cfg,
                persist_config=False,
            )
    except (config.ConfigException, OSError) as exc:
        where = (
            "the pod's service account"
            if kubeconfig is None and not context
            else (f"kubeconfig {kubeconfig or '~/.kube/config'}, context {context or '(current)'}")
        )
        raise ClusterError(
            f"cannot configure the Kubernetes client from {where}: {exc}\n    fix: check "
            "the kubeconfig file and context (`kubectl config get-contexts`)"
        ) from None
    return cfg


def _api_error(exc: Exception, what: str) -> ClusterError:
    from kubernetes.client.exceptions import ApiException

    if isinstance(exc, ApiException):
        reason = exc.reason or ""
        try:
            reason = json.loads(exc.body or "{}").get("message") or reason
        except (ValueError, AttributeError):
            pass
        return ClusterError(
            f"{what}: the API server answered {exc.status}: {reason}\n    fix: {HINT}"
        )
    return ClusterError(
        f"{what}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}\n    fix: {HINT}"
    )


def _client_errors() -> tuple[type[Exception], ...]:
    import urllib3
    from kubernetes.client.exceptions import ApiException

    return (ApiException, urllib3.exceptions.HTTPError, OSError)


class KubeApi:
    """:class:`labkit.cluster.reads.Reads` and exec through the official client; one
    ApiClient per thread, created on first use."""

    watches = True

    def __init__(
        self,
        kubeconfig: Path | None,
        context: str | None,
        *,
        configure: Callable[[], Any] | None = None,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self._configure = configure or (lambda: load_configuration(kubeconfig, context))
        self._configuration: Any = None
        self._lock = threading.Lock()
        self._local = threading.local()

    # -- clients -------------------------------------------------------------------------------
    def api_client(self) -> Any:
        """This thread's ApiClient."""
        found = getattr(self._local, "client", None)
        if found is None:
            from kubernetes import client

            with self._lock:
                if self._configuration is None:
                    self._configuration = self._configure()
            found = client.ApiClient(self._configuration)
            self._local.client = found
        return found

    def _list_fn(
        self, res: Resource, namespace: str | None
    ) -> tuple[Callable[..., Any], list[Any]]:
        """The generated list method of ``res`` and its positional arguments."""
        from kubernetes import client

        api = self.api_client()
        if res.method_name:
            typed = getattr(client, TYPED_APIS[res.group])(api)
            name = res.method_name
            if not res.namespaced:
                return getattr(typed, f"list_{name}"), []
            if namespace:
                return getattr(typed, f"list_namespaced_{name}"), [namespace]
            return getattr(typed, f"list_{name}_for_all_namespaces"), []
        custom = client.CustomObjectsApi(api)
        if res.namespaced and namespace:
            return custom.list_namespaced_custom_object, [
                res.group,
                res.version,
                namespace,
                res.plural,
            ]
        return custom.list_cluster_custom_object, [res.group, res.version, res.plural]

    # -- reads ---------------------------------------------------------------------------------
    def list(
        self,
        plural: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Listing:
        res = resource(plural)
        fn, args = self._list_fn(res, namespace)
        kwargs: dict[str, Any] = {"_preload_content": False, "_request_timeout": REQUEST_TIMEOUT}
        if label_selector:
            kwargs["label_selector"] = label_selector
        if field_selector:
            kwargs["field_selector"] = field_selector
        what = f"list {plural}" + (f" in {namespace}" if namespace else "")
        try:
            response = fn(*args, **kwargs)
            data = json.loads(response.data or b"{}")
        except _client_errors() as exc:
            raise _api_error(exc, what) from None
        except ValueError as exc:
            raise ClusterError(f"{what}: the answer is not JSON ({exc})") from None
        items = [
            {"apiVersion": res.api_version, "kind": res.kind, **item}
            for item in data.get("items") or ()
            if isinstance(item, dict)
        ]
        version = str((data.get("metadata") or {}).get("resourceVersion", ""))
        return Listing(items, version)

    def list_all(self, plurals: Sequence[str]) -> Objs:
        return [item for plural in plurals for item in self.list(plural).items]

    def watch(
        self,
        plural: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        resource_version: str = "",
        timeout_s: float,
    ) -> bool:
        from kubernetes import watch as untyped_watch
        from kubernetes.client.exceptions import ApiException

        watch: Any = untyped_watch
        res = resource(plural)
        fn, args = self._list_fn(res, namespace)
        seconds = max(1, int(timeout_s))
        # the server ends the watch after timeout_seconds; the socket gives up a little later
        kwargs: dict[str, Any] = {
            "timeout_seconds": seconds,
            "_request_timeout": (REQUEST_TIMEOUT[0], seconds + 15),
        }
        if label_selector:
            kwargs["label_selector"] = label_selector
        if resource_version:
            kwargs["resource_version"] = resource_version
        watcher = watch.Watch()
        try:
            for event in watcher.stream(fn, *args, **kwargs):
                if not isinstance(event, dict):  # a line that is not an event
                    continue
                log.debug("watch %s: %s", plural, event.get("type"))
                watcher.stop()
                return True
        except ApiException as exc:
            if exc.status == 410:  # the version expired: list again
                return True
            raise _api_error(exc, f"watch {plural}") from None
        except _client_errors() as exc:
            raise _api_error(exc, f"watch {plural}") from None
        return False

    # -- exec ----------------------------------------------------------------------------------
    def exec(
        self,
        namespace: str,
        pod: str,
        argv: Sequence[str],
        *,
        timeout: float,
        container: str | None = None,
    ) -> Completed:
        """Run ``argv`` in the pod (as ``kubectl exec``: never raises on the remote exit
        status; raises :class:`CommandFailed` when it does not end within ``timeout``)."""
        from kubernetes import client, stream

        shown = ("exec", "-n", namespace, pod, "--", *argv)
        core = client.CoreV1Api(self.api_client())
        kwargs: dict[str, Any] = {
            "command": list(argv),
            "stderr": True,
            "stdin": False,
            "stdout": True,
            "tty": False,
            "_preload_content": False,
        }
        if container:
            kwargs["container"] = container
        started = time.monotonic()
        try:
            resp = stream.stream(core.connect_get_namespaced_pod_exec, pod, namespace, **kwargs)
            resp.run_forever(timeout=timeout)
            if resp.is_open():
                resp.close()
                raise CommandFailed(shown, None, "", HINT, timed_out=True)
            out, err = str(resp.read_stdout() or ""), str(resp.read_stderr() or "")
            code, why = exit_status(str(resp.read_channel(ERROR_CHANNEL) or ""))
        except _client_errors() as exc:
            raise CommandFailed(shown, None, str(_api_error(exc, "exec")), HINT) from None
        return Completed(shown, code, out, err + why, time.monotonic() - started)


def exit_status(error_channel: str) -> tuple[int, str]:
    """The remote exit status from exec's error channel, and a message when the command
    could not start: ``{"status": "Success"}`` is 0; ``NonZeroExitCode`` carries the code in
    the cause of reason ``ExitCode`` (kubelet's ``cri/streaming/remotecommand``); any other
    failure (no such executable) is 126 with the Status message, as a shell says."""
    if not error_channel.strip():
        return 0, ""
    try:
        status = yaml.safe_load(error_channel)
    except yaml.YAMLError:
        return 126, error_channel.strip()
    if not isinstance(status, dict):
        return 126, error_channel.strip()
    if status.get("status") == "Success":
        return 0, ""
    for cause in (status.get("details") or {}).get("causes") or ():
        if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message", "")), ""
            except ValueError:
                break
    return 126, str(status.get("message") or error_channel.strip())
