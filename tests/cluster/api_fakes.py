"""A fake API server for the official client: recorded responses (tests/fixtures/api/, in
the shapes a real API server sends) served through the client's own urllib3 pool, so the
generated API methods, the query parameters and the client's decoding all run for real."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

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


@dataclass
class FakePool:
    """Stands in for ``urllib3.PoolManager``: answers by URL path (first matching route
    whose query items all match), records every request; an unknown path is a 404 Status."""

    routes: list[tuple[str, dict[str, str], int, bytes, bool]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def add(
        self,
        path: str,
        body: bytes,
        *,
        status: int = 200,
        query: dict[str, str] | None = None,
        once: bool = False,
    ) -> None:
        """Answer ``path`` (with these query items) with ``body``; with ``once``, only the
        first such request (the next matching route answers the later ones)."""
        self.routes.append((path, query or {}, status, body, once))

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.HTTPResponse:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.requests.append(Request(method, parts.path, query))
        for route in self.routes:
            path, want, status, body, once = route
            if path == parts.path and all(query.get(k) == v for k, v in want.items()):
                if once:
                    self.routes.remove(route)
                return self._response(status, body)
        missing = {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "code": 404,
            "reason": "NotFound",
            "message": f"the server could not find {parts.path}",
        }
        return self._response(404, json.dumps(missing).encode())

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
