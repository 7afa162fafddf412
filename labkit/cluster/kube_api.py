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
* Writes (:class:`labkit.cluster.writes.Writes`, used where kubectl is not, as in a pod):
  server-side apply is one ``PATCH`` per object with ``Content-Type:
  application/apply-patch+yaml``, ``fieldManager=labkit`` and ``force=true``
  (:data:`FORCE_APPLY` says why), with ``dryRun=All`` for the batch's dry run (Kubernetes
  docs, "Server-Side Apply" and "Dry-run"); the body is JSON, which is YAML. Built-in kinds
  through the typed APIs, Calico's and the network-policy API's through custom objects.
  Deletes are background (kubectl's default) and never wait; a label change is a JSON merge
  patch of ``metadata.labels``.
* Exec: ``stream.stream(api.connect_get_namespaced_pod_exec, ..., _preload_content=False)``
  (calling the method directly gives ``400 Upgrade request required``); the exit status comes
  from the error channel (a ``v1.Status``: ``Success``, or ``NonZeroExitCode`` with the code
  in ``details.causes[reason=ExitCode]``). ``stream()`` swaps the ApiClient's ``call_api``
  while it runs, so each thread gets its own ApiClient.
* Identity and discovery (workshop mode): ``POST
  /apis/authentication.k8s.io/v1/selfsubjectreviews`` (``SelfSubjectReview``, GA in
  Kubernetes 1.28) says who the API server takes the caller for; ``GET /apis/`` and ``GET
  /apis/GROUP/VERSION`` (API discovery) say which resources are served; ``GET`` of one object
  by name answers ``None`` for a 404.
* Port-forward (:meth:`KubeApi.http_get_via_port_forward`, what ``kubectl port-forward``
  does): ``stream.portforward(api.connect_get_namespaced_pod_portforward, pod, namespace,
  ports="PORT")`` answers a ``PortForward`` whose ``socket(PORT)`` (the port as an int) is
  one end of a socket pair, relayed by a thread over the websocket (channel 0 data, channel
  1 errors; ``error(PORT)`` holds what the kubelet reported, such as a refused connection,
  and the socket then reads EOF). One plain HTTP/1.1 request goes over it, read with the
  standard library's ``http.client.HTTPResponse`` (status line, headers, chunked or
  ``Content-Length`` framing). The connection enters the pod's network namespace from the
  kubelet, so the pod's network policies do not see it.
"""

from __future__ import annotations

import http.client
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
from labkit.cluster.kubectl import FIELD_MANAGER
from labkit.cluster.reads import (
    DISCOVERY_GROUPS,
    Listing,
    Objs,
    Resource,
    discovered_resources,
    resource,
    review_username,
    served_group_versions,
)
from labkit.cluster.writes import (
    CLUSTER_SCOPED,
    Deletion,
    Key,
    Obj,
    object_key,
    title,
    write_resource,
)
from labkit.errors import ClusterError, CommandFailed

log = logging.getLogger(__name__)

SERVICE_HOST_ENV = "KUBERNETES_SERVICE_HOST"
ERROR_CHANNEL = 3
TYPED_APIS = {
    "": "CoreV1Api",
    "apps": "AppsV1Api",
    "batch": "BatchV1Api",
    "networking.k8s.io": "NetworkingV1Api",
    "rbac.authorization.k8s.io": "RbacAuthorizationV1Api",
    "admissionregistration.k8s.io": "AdmissionregistrationV1Api",
}
"""The generated API class of each built-in group labkit reads and writes."""
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
FORCE_APPLY = True
"""Server-side apply takes over fields another manager set (``force=true``), as the kubectl
path's ``--force-conflicts`` does: a lab object applied through labkit is the learner's
intent, also after ``kubectl edit`` or a client-side ``kubectl apply`` of it (without force
the API server answers 409 Conflict naming the other manager; Kubernetes docs, "Server-Side
Apply", Conflicts). labkit applies only the objects it was given, so force never reaches an
object it was not asked to write."""
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


def _api_error(exc: Exception, what: str, *, fix: str = HINT, detail: str = "") -> ClusterError:
    """What the API server answered (its Status message) and ``fix``; ``detail`` lines go
    before the fix. An error without an answer (no connection) always gets :data:`HINT`."""
    from kubernetes.client.exceptions import ApiException

    if isinstance(exc, ApiException):
        reason = exc.reason or ""
        try:
            reason = json.loads(exc.body or "{}").get("message") or reason
        except (ValueError, AttributeError):
            pass
        return ClusterError(
            f"{what}: the API server answered {exc.status}: {reason}{detail}\n    fix: {fix}"
        )
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ClusterError(f"{what}: {first}{detail}\n    fix: {HINT}")


def _status(exc: Exception) -> int | None:
    """The HTTP status of an API server's refusal (``None``: no answer)."""
    from kubernetes.client.exceptions import ApiException

    return exc.status if isinstance(exc, ApiException) else None


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
        return self._list(resource(plural), namespace, label_selector, field_selector)

    def list_resource(
        self,
        res: Resource,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Listing:
        """:meth:`list` for a resource outside the inventory's (ServiceAccounts, Roles, walls:
        what a workshop counts and deletes by selector)."""
        return self._list(res, namespace, label_selector, field_selector)

    def _list(
        self,
        res: Resource,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Listing:
        fn, args = self._list_fn(res, namespace)
        kwargs: dict[str, Any] = {}
        if label_selector:
            kwargs["label_selector"] = label_selector
        if field_selector:
            kwargs["field_selector"] = field_selector
        what = f"list {res.plural}" + (f" in {namespace}" if namespace else "")
        data = self._call(fn, args, kwargs, what)
        items = [
            {"apiVersion": res.api_version, "kind": res.kind, **item}
            for item in data.get("items") or ()
            if isinstance(item, dict)
        ]
        version = str((data.get("metadata") or {}).get("resourceVersion", ""))
        return Listing(items, version)

    @staticmethod
    def _request(fn: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]) -> Obj:
        """One request, its answer decoded as JSON (the API's own shape); raises the
        client's errors and ``ValueError`` (an answer that is not JSON)."""
        response = fn(*args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        data = json.loads(response.data or b"{}")
        return data if isinstance(data, dict) else {}

    def _call(
        self, fn: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any], what: str
    ) -> Obj:
        """:meth:`_request`, its errors as :class:`ClusterError`."""
        try:
            return self._request(fn, args, kwargs)
        except _client_errors() as exc:
            raise _api_error(exc, what) from None
        except ValueError as exc:
            raise ClusterError(f"{what}: the answer is not JSON ({exc})") from None

    def server_version(self) -> Obj:
        """``GET /version`` (what ``kubectl version`` shows as the server's)."""
        from kubernetes import client

        return self._call(client.VersionApi(self.api_client()).get_code, [], {}, "get version")

    def list_all(self, plurals: Sequence[str]) -> Objs:
        return [item for plural in plurals for item in self.list(plural).items]

    def get(self, plural: str, namespace: str | None, name: str) -> Obj | None:
        """``GET`` of one object by name (``kind`` and ``apiVersion`` set); ``None`` on 404.
        A namespaced resource without ``namespace`` is read in ``default``, as kubectl."""
        res = resource(plural)
        where = f"{namespace or 'default'}/{name}" if res.namespaced else name
        what = f"get {res.kind} {where}"
        fn, args = self._object_fn(res, "read", namespace or "", name)
        try:
            obj = self._request(fn, args, {})
        except _client_errors() as exc:
            if _status(exc) == 404:
                return None
            raise _api_error(exc, what) from None
        except ValueError as exc:
            raise ClusterError(f"{what}: the answer is not JSON ({exc})") from None
        return {"apiVersion": res.api_version, "kind": res.kind, **obj}

    def self_subject_review(self) -> str:
        """``status.userInfo.username`` of a ``SelfSubjectReview`` (``POST
        /apis/authentication.k8s.io/v1/selfsubjectreviews``, the client's
        ``AuthenticationV1Api.create_self_subject_review``; GA in Kubernetes 1.28, and any
        authenticated user may create one). In a pod with a service account token the
        answer is ``system:serviceaccount:NAMESPACE:NAME``."""
        from kubernetes import client

        api = client.AuthenticationV1Api(self.api_client())
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        kwargs = {"body": body, "_headers": {"Content-Type": "application/json"}}
        what = "who am I (SelfSubjectReview)"
        try:
            review = self._request(api.create_self_subject_review, [], kwargs)
        except _client_errors() as exc:
            if _status(exc) == 404:
                raise _api_error(
                    exc,
                    what,
                    fix="the API server does not serve authentication.k8s.io/v1 "
                    "SelfSubjectReview (GA in Kubernetes 1.28): workshop mode needs Kubernetes "
                    "1.28 or newer",
                ) from None
            raise _api_error(exc, what) from None
        except ValueError as exc:
            raise ClusterError(f"{what}: the answer is not JSON ({exc})") from None
        return review_username(review, what)

    def served_resources(self, groups: Sequence[str] = DISCOVERY_GROUPS) -> set[str]:
        """``GROUP/VERSION/PLURAL`` of every resource served in ``groups``: ``GET /apis/``
        (``ApisApi.get_api_versions``, one ``APIGroupList``), then ``GET
        /apis/GROUP/VERSION`` (``CustomObjectsApi.get_api_resources``) for each version of
        those groups only. A group version whose discovery fails (an aggregated API server
        such as Calico's that is down answers 503) is logged and counts as not served."""
        from kubernetes import client

        api = self.api_client()
        index = self._call(client.ApisApi(api).get_api_versions, [], {}, "discover API groups")
        custom = client.CustomObjectsApi(api)
        errors: tuple[type[Exception], ...] = (*_client_errors(), ValueError)
        found: set[str] = set()
        for group_version in served_group_versions(index, groups):
            group, _, version = group_version.rpartition("/")
            try:
                listing = self._request(custom.get_api_resources, [group, version], {})
            except errors as exc:
                why = str(_api_error(exc, f"discover {group_version}")).splitlines()[0]
                log.warning("%s (counted as not served)", why)
                continue
            found |= discovered_resources(group_version, listing)
        return found

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

    # -- writes (labkit.cluster.writes.Writes) --------------------------------------------------
    def _object_fn(
        self, res: Resource, verb: str, namespace: str, name: str
    ) -> tuple[Callable[..., Any], Sequence[Any]]:
        """The generated ``read``/``patch``/``delete`` method of one object of ``res`` and its
        positional arguments (typed APIs for built-in kinds, custom objects otherwise)."""
        from kubernetes import client

        api = self.api_client()
        namespace = namespace or "default"
        if res.method_name:
            typed = getattr(client, TYPED_APIS[res.group])(api)
            if res.namespaced:
                return getattr(typed, f"{verb}_namespaced_{res.method_name}"), [name, namespace]
            return getattr(typed, f"{verb}_{res.method_name}"), [name]
        custom = client.CustomObjectsApi(api)
        verb = "get" if verb == "read" else verb
        if res.namespaced:
            return getattr(custom, f"{verb}_namespaced_custom_object"), [
                res.group,
                res.version,
                namespace,
                res.plural,
                name,
            ]
        return getattr(custom, f"{verb}_cluster_custom_object"), [
            res.group,
            res.version,
            res.plural,
            name,
        ]

    @staticmethod
    def _targets(docs: Sequence[Obj]) -> Sequence[tuple[Resource, Key]]:
        """Where each of ``docs`` is written; a kind the client cannot write is an error
        before any request."""
        return [
            (write_resource(str(d.get("kind", "")), str(d.get("apiVersion", ""))), object_key(d))
            for d in docs
        ]

    def versions(self, docs: Sequence[Obj]) -> dict[Key, str]:
        found: dict[Key, str] = {}
        for res, key in self._targets(docs):
            fn, args = self._object_fn(res, "read", key[1], key[2])
            try:
                obj = self._request(fn, args, {})
            except _client_errors() as exc:
                if _status(exc) == 404:
                    continue
                raise _api_error(exc, f"get {title(key)}") from None
            found[key] = str((obj.get("metadata") or {}).get("resourceVersion", ""))
        return found

    def apply(self, docs: Sequence[Obj], *, dry_run: bool = False, hint: str = "") -> Objs:
        """Server-side apply, one ``PATCH`` per object (``application/apply-patch+yaml``,
        ``fieldManager=labkit``, ``force`` as :data:`FORCE_APPLY`, ``dryRun=All`` for a dry
        run), in order; stops at the first refusal. A refusal after some objects were
        really applied names them, and the ones not applied."""
        targets = self._targets(docs)
        answers: Objs = []
        errors: tuple[type[Exception], ...] = (*_client_errors(), ValueError)
        for doc, (res, key) in zip(docs, targets, strict=True):
            fn, args = self._object_fn(res, "patch", key[1], key[2])
            kwargs: dict[str, Any] = {
                "body": doc,
                "field_manager": FIELD_MANAGER,
                "force": FORCE_APPLY,
                "_content_type": APPLY_PATCH,
            }
            if dry_run:
                kwargs["dry_run"] = "All"
            what = f"apply {title(key)}" + (" (dry run)" if dry_run else "")
            try:
                answers.append(self._request(fn, args, kwargs))
            except errors as exc:
                raise self._refusal(exc, what, targets, len(answers), dry_run, hint) from None
        return answers

    @staticmethod
    def _refusal(
        exc: Exception,
        what: str,
        targets: Sequence[tuple[Resource, Key]],
        done: int,
        dry_run: bool,
        hint: str,
    ) -> ClusterError:
        if dry_run or not done:
            return _api_error(exc, what, fix=hint or HINT)
        applied = ", ".join(title(k) for _, k in targets[:done])
        rest = ", ".join(title(k) for _, k in targets[done:])
        detail = f"\n    applied before the refusal: {applied}\n    not applied: {rest}"
        fix = (
            "the objects listed as applied stay applied; fix the refused object and apply "
            "the whole batch again (applying is idempotent)"
        )
        if isinstance(exc, ValueError):
            return ClusterError(f"{what}: the answer is not JSON ({exc}){detail}\n    fix: {fix}")
        return _api_error(exc, what, fix=fix, detail=detail)

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        res = write_resource(kind)
        ns = "" if kind in CLUSTER_SCOPED else namespace
        return self._delete_one(res, ns, name, uid="")

    def _delete_one(self, res: Resource, namespace: str, name: str, *, uid: str) -> bool:
        """``DELETE`` without waiting (background propagation, as kubectl); with ``uid``, only
        that object (a precondition: one recreated under the same name stays). ``False``
        when it is gone (404) or was replaced (409)."""
        fn, args = self._object_fn(res, "delete", namespace, name)
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": "Background",
        }
        if uid:
            body["preconditions"] = {"uid": uid}
        try:
            self._request(fn, args, {"body": body})
        except _client_errors() as exc:
            if _status(exc) in (404, 409):
                return False
            where = f"{namespace}/{name}" if res.namespaced else name
            raise _api_error(exc, f"delete {res.kind} {where}") from None
        return True

    def delete_selected(self, deletion: Deletion, *, timeout: float = 120.0) -> None:
        """The objects the API server lists for the deletion's label and field selectors,
        each deleted with its uid as a precondition (``kubectl delete -l`` also lists, then
        deletes each). Each request is bounded by :data:`REQUEST_TIMEOUT`."""
        for res in deletion.resources:
            listing = self._list(
                res, deletion.namespace, deletion.label_selector, deletion.field_selector or None
            )
            for item in listing.items:
                meta = item.get("metadata") or {}
                self._delete_one(
                    res,
                    str(meta.get("namespace") or ""),
                    str(meta.get("name", "")),
                    uid=str(meta.get("uid") or ""),
                )

    def set_labels(
        self, kind: str, namespace: str, name: str, changes: Mapping[str, str | None]
    ) -> None:
        """A JSON merge patch of ``metadata.labels`` (RFC 7386: ``null`` removes a label),
        as ``kubectl label --overwrite`` sends."""
        res = write_resource(kind)
        key = (kind, "" if kind in CLUSTER_SCOPED else namespace or "default", name)
        fn, args = self._object_fn(res, "patch", key[1], name)
        body = {"metadata": {"labels": dict(changes)}}
        kwargs = {"body": body, "field_manager": FIELD_MANAGER, "_content_type": MERGE_PATCH}
        self._call(fn, args, kwargs, f"label {title(key)}")

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

    # -- port-forward --------------------------------------------------------------------------
    def running_pod(self, namespace: str, label_selector: str) -> str:
        """The name of a Running pod of ``namespace`` selected by ``label_selector`` (not
        being deleted; a Ready one first, then by name), or :class:`ClusterError`."""
        listing = self.list("pods", namespace=namespace, label_selector=label_selector)
        candidates = []
        seen = []
        for pod in listing.items:
            meta = pod.get("metadata") or {}
            status = pod.get("status") or {}
            name = str(meta.get("name", ""))
            phase = str(status.get("phase", "?"))
            seen.append(f"{name} ({phase})")
            if phase != "Running" or meta.get("deletionTimestamp") or not name:
                continue
            ready = any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in status.get("conditions") or ()
                if isinstance(c, dict)
            )
            candidates.append((not ready, name))
        if not candidates:
            found = ", ".join(seen) if seen else "none"
            raise ClusterError(
                f"no Running pod labelled {label_selector} in {namespace} (pods found: "
                f"{found})\n    fix: `kubectl get pods -n {namespace} -l {label_selector}` "
                "shows them; `kubectl describe pod` says why one is not running"
            )
        return min(candidates)[1]

    def http_get_via_port_forward(
        self,
        namespace: str,
        label_selector: str,
        port: int,
        path: str,
        *,
        timeout: float = 30.0,
        hint: str = "",
    ) -> str:
        """``GET path`` on ``port`` of a Running pod selected by ``label_selector``, through a
        port-forward (as ``kubectl port-forward`` reaches it: the pod's network policies
        do not see the connection); the body as text. A status that is not 2xx, a refused
        connection or no answer within ``timeout`` seconds (each read) is a
        :class:`ClusterError` (``hint``: its fix, when the caller knows a better one)."""
        from kubernetes import client, stream

        if not 0 < port < 65536:
            raise ValueError(f"not a port number: {port}")
        if not path.startswith("/") or any(ch.isspace() for ch in path):
            raise ValueError(f"not a request path: {path!r}")
        pod = self.running_pod(namespace, label_selector)
        what = f"GET {path} on port {port} of pod {namespace}/{pod} (port-forward)"
        log.info("%s", what)
        core = client.CoreV1Api(self.api_client())
        try:
            forward = stream.portforward(
                core.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port)
            )
        except _client_errors() as exc:
            raise _forward_error(exc, what, namespace) from None
        try:
            sock = forward.socket(port)
            sock.settimeout(timeout)
            status, reason, body = _http_get(sock, path)
        except (OSError, http.client.HTTPException) as exc:
            error = str(forward.error(port) or "").strip()
            why = error or (str(exc) or type(exc).__name__)
            if isinstance(exc, TimeoutError):
                why = f"no answer within {timeout:g} s"
            raise ClusterError(f"{what}: {why}\n    fix: {hint or HINT}") from None
        finally:
            forward.close()
        if not 200 <= status < 300:
            first = body.strip().splitlines()[0] if body.strip() else ""
            raise ClusterError(
                f"{what}: the pod answered {status} {reason}"
                + (f": {first}" if first else "")
                + f"\n    fix: {hint or HINT}"
            )
        return body


def _http_get(sock: Any, path: str) -> tuple[int, str, str]:
    """One ``GET path`` over a connected socket (``Connection: close``), read with
    ``http.client.HTTPResponse`` (chunked or ``Content-Length`` framing, else to EOF): the
    status, its reason and the body as text (the charset of ``Content-Type``, else UTF-8)."""
    request = (
        f"GET {path} HTTP/1.1\r\n"
        "Host: localhost\r\n"
        "Accept: application/json\r\n"
        "Connection: close\r\n"
        "\r\n"
    )
    sock.sendall(request.encode("ascii"))
    response = http.client.HTTPResponse(sock, method="GET")
    try:
        response.begin()
        data = response.read()
        charset = response.headers.get_content_charset() or "utf-8"
    finally:
        response.close()
    try:
        text = data.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        text = data.decode("utf-8", errors="replace")
    return response.status, response.reason, text


def _forward_error(exc: Exception, what: str, namespace: str) -> ClusterError:
    """A port-forward that could not be opened. The client reports a refused websocket
    handshake as ``ApiException(status=0, reason="Handshake status 403 Forbidden ...")``."""
    from kubernetes.client.exceptions import ApiException

    if isinstance(exc, ApiException) and not exc.status:
        reason = str(exc.reason or "").strip()
        first = reason.splitlines()[0] if reason else type(exc).__name__
        fix = HINT
        if "403" in first or "Forbidden" in first:
            fix = (
                f"port-forwarding needs `create` on `pods/portforward` in {namespace} "
                f"(`kubectl auth can-i create pods/portforward -n {namespace}`)"
            )
        return ClusterError(f"{what}: {first}\n    fix: {fix}")
    return _api_error(exc, what)


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
