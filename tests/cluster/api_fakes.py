"""A fake API server for the official client: recorded responses (tests/fixtures/api/, in
the shapes a real API server sends) served through the client's own urllib3 pool, so the
generated API methods, the query parameters and the client's decoding all run for real.

:class:`FakePool` answers fixed routes; :class:`ObjectStore`, behind it, keeps the objects
written through the pool (server-side apply, merge patch, delete) and lists them back, for
the paths that write and then read (``labkit up`` in a pod, the notebook facade)."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import urllib3
from kubernetes import client

from labkit.cluster.kube_api import KubeApi

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "api"
HOST = "https://127.0.0.1:6443"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class Body(io.BytesIO):
    """A response body that reports itself closed once read to the end, as a socket's file
    does at EOF (urllib3's ``stream()`` reads until then)."""

    @property
    def closed(self) -> bool:
        return super().closed or self.tell() >= len(self.getbuffer())


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    content_type: str = ""
    body: Any = None
    authorization: str = ""


Answer = tuple[int, bytes]


@dataclass
class FakePool:
    """Stands in for ``urllib3.PoolManager``: answers by URL path (first matching route
    whose query items all match), records every request; an unknown path is a 404 Status."""

    routes: list[tuple[str, dict[str, str], int, bytes, bool, str]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    store: Callable[[Request], Answer | None] | None = None
    """Asked after the routes (an :class:`ObjectStore`); ``None`` from it is a 404."""

    def add(
        self,
        path: str,
        body: bytes,
        *,
        status: int = 200,
        query: dict[str, str] | None = None,
        once: bool = False,
        method: str = "",
    ) -> None:
        """Answer ``path`` (with these query items; with ``method``, only that method) with
        ``body``; with ``once``, only the first such request (the next matching route
        answers the later ones)."""
        self.routes.append((path, query or {}, status, body, once, method))

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.HTTPResponse:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        headers = {k.lower(): v for k, v in (kwargs.get("headers") or {}).items()}
        sent = kwargs.get("body")
        request = Request(
            method,
            unquote(parts.path),
            query,
            headers.get("content-type", ""),
            json.loads(sent) if sent else None,
            headers.get("authorization", ""),
        )
        self.requests.append(request)
        for route in self.routes:
            path, want, status, body, once, only = route
            if only and only != method:
                continue
            if path == parts.path and all(query.get(k) == v for k, v in want.items()):
                if once:
                    self.routes.remove(route)
                return self._response(status, body)
        answer = self.store(request) if self.store is not None else None
        if answer is not None:
            return self._response(*answer)
        return self._response(*failure(404, "NotFound", f"the server could not find {parts.path}"))

    @staticmethod
    def _response(status: int, body: bytes) -> urllib3.HTTPResponse:
        return urllib3.HTTPResponse(
            body=Body(body),
            status=status,
            reason="OK" if status < 400 else "Error",
            headers={"Content-Type": "application/json"},
            preload_content=False,
        )

    def clear(self) -> None:  # called by ApiClient.close()
        pass


def fake_api(pool: FakePool) -> KubeApi:
    """A :class:`KubeApi` whose ApiClient talks to ``pool`` (this thread's client)."""
    api = KubeApi(None, None, configure=lambda: client.Configuration(host=HOST))
    api.api_client().rest_client.pool_manager = pool
    return api


def failure(code: int, reason: str, message: str) -> Answer:
    """A ``v1.Status`` failure, as the API server sends it."""
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return code, json.dumps(body).encode()


@dataclass(frozen=True)
class Target:
    """What a request path names: ``/api/v1[/namespaces/NS]/PLURAL[/NAME]`` or
    ``/apis/GROUP/VERSION[/namespaces/NS]/PLURAL[/NAME]``."""

    api: str
    namespace: str
    plural: str
    name: str

    @staticmethod
    def parse(path: str) -> Target | None:
        parts = path.strip("/").split("/")
        if parts[:1] == ["api"]:
            api, rest = parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            api, rest = "/".join(parts[1:3]), parts[3:]
        else:
            return None
        if len(rest) >= 3 and rest[0] == "namespaces":
            return Target(api, rest[1], rest[2], rest[3] if len(rest) > 3 else "")
        if rest:
            return Target(api, "", rest[0], rest[1] if len(rest) > 1 else "")
        return None


def _matches(obj: dict[str, Any], labels: str, fields: str) -> bool:
    """Equality-based label selectors (and ``!key``) and ``metadata.name``/``metadata.namespace`` field
    selectors (``=``, ``!=``), the terms ANDed, as the API server reads them."""
    meta = obj.get("metadata") or {}
    have = meta.get("labels") or {}
    for term in filter(None, labels.split(",")):
        if term.startswith("!"):  # the key must not exist
            if term[1:] in have:
                return False
            continue
        key, _, value = term.partition("=")
        if have.get(key) != value:
            return False
    for term in filter(None, fields.split(",")):
        negated = "!=" in term
        key, _, value = term.partition("!=" if negated else "=")
        actual = str(meta.get(key.removeprefix("metadata."), ""))
        if (actual == value) == negated:
            return False
    return True


@dataclass
class ObjectStore:
    """A small API server: server-side apply (stored unless ``dryRun``; a namespaced object
    in a missing namespace is a 404, as for real), JSON merge patches of labels, GET of one
    object or a selected list, DELETE (with a uid precondition: 409 when it differs).
    Pods become Running and Ready on a node, with an address. ``refuse`` answers a PATCH of
    that path with a 422 Status, dry run or not."""

    objects: dict[Target, dict[str, Any]] = field(default_factory=dict)
    refuse: dict[str, str] = field(default_factory=dict)
    bodies: dict[Target, Any] = field(default_factory=dict)
    version: itertools.count[int] = field(default_factory=lambda: itertools.count(50000))
    addresses: itertools.count[int] = field(default_factory=lambda: itertools.count(10))

    def seed(self, items: list[dict[str, Any]], api: str, plural: str) -> None:
        for item in items:
            meta = item["metadata"]
            self.objects[Target(api, meta.get("namespace", ""), plural, meta["name"])] = item

    def find(self, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        return next(
            (
                o
                for t, o in self.objects.items()
                if o.get("kind") == kind and t.name == name and t.namespace == namespace
            ),
            None,
        )

    def __call__(self, request: Request) -> Answer | None:
        target = Target.parse(request.path)
        if target is None:
            return None
        handler = getattr(self, f"_{request.method.lower()}", None)
        return handler(target, request) if handler is not None else None

    def _namespace_missing(self, target: Target) -> Answer | None:
        if (
            target.namespace
            and Target("v1", "", "namespaces", target.namespace) not in self.objects
        ):
            return failure(404, "NotFound", f'namespaces "{target.namespace}" not found')
        return None

    def _stamp(self, obj: dict[str, Any], target: Target) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{target.plural}-{target.namespace}-{target.name}")
        meta["resourceVersion"] = str(next(self.version))
        if obj.get("kind") == "Pod":
            node = "labkit-worker" if target.name == "client" else "labkit-worker2"
            obj["spec"] = {**(obj.get("spec") or {}), "nodeName": node}
            address = f"10.244.1.{next(self.addresses)}"
            obj["status"] = {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}],
                "podIP": address,
                "podIPs": [{"ip": address}],
            }
        return obj

    def _patch(self, target: Target, request: Request) -> Answer:
        if request.path in self.refuse:
            return failure(422, "Invalid", self.refuse[request.path])
        missing = self._namespace_missing(target)
        if missing is not None:
            return missing
        stored = self.objects.get(target)
        if request.content_type == "application/merge-patch+json":
            if stored is None:
                return failure(404, "NotFound", f'{target.plural} "{target.name}" not found')
            labels = stored["metadata"].setdefault("labels", {})
            for key, value in request.body["metadata"]["labels"].items():
                if value is None:
                    labels.pop(key, None)
                else:
                    labels[key] = value
            return 200, json.dumps(self._stamp(stored, target)).encode()
        if request.content_type != "application/apply-patch+yaml":
            return failure(415, "UnsupportedMediaType", request.content_type)
        applied = json.loads(json.dumps(request.body))
        if stored is not None and self.bodies.get(target) == applied:
            return 200, json.dumps(stored).encode()  # the same apply again: no change
        if request.query.get("dryRun") == "All":
            return 200, json.dumps(applied).encode()
        self.bodies[target] = json.loads(json.dumps(applied))
        self.objects[target] = self._stamp(applied, target)
        return 200, json.dumps(applied).encode()

    def _get(self, target: Target, request: Request) -> Answer:
        if request.query.get("watch") == "true":
            return 200, b""
        if target.name:
            found = self.objects.get(target)
            if found is None:
                return failure(404, "NotFound", f'{target.plural} "{target.name}" not found')
            return 200, json.dumps(found).encode()
        items = [
            o
            for t, o in self.objects.items()
            if (t.api, t.plural) == (target.api, target.plural)
            and (not target.namespace or t.namespace == target.namespace)
            and _matches(
                o, request.query.get("labelSelector", ""), request.query.get("fieldSelector", "")
            )
        ]
        listing = {
            "kind": "List",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": str(next(self.version))},
            "items": items,
        }
        return 200, json.dumps(listing).encode()

    def _delete(self, target: Target, request: Request) -> Answer:
        found = self.objects.get(target)
        if found is None:
            return failure(404, "NotFound", f'{target.plural} "{target.name}" not found')
        uid = ((request.body or {}).get("preconditions") or {}).get("uid")
        if uid and uid != found["metadata"].get("uid"):
            return failure(409, "Conflict", "Precondition failed: UID in precondition")
        del self.objects[target]
        if target.plural == "namespaces":
            for t in [t for t in self.objects if t.namespace == target.name]:
                del self.objects[t]
        return 200, json.dumps(found).encode()


def fake_server(pool: FakePool) -> ObjectStore:
    """An :class:`ObjectStore` behind ``pool``, with the recorded namespaces and nodes."""
    store = ObjectStore()
    store.seed(json.loads(fixture("namespaces.json"))["items"], "v1", "namespaces")
    store.seed(json.loads(fixture("nodes.json"))["items"], "v1", "nodes")
    pool.store = store
    return store
