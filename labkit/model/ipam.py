"""The address plan: which pool each pod's address comes from, and the address itself.

One plan for every path (offline commands, the simulated cluster, the kind backend's pools).
It follows Calico IPAM (docs: "Get started with IP address management" and "Restrict a pod to
use an IP address in a specific range", docs.tigera.io/calico/latest/networking/ipam/):

* A pod with ``status.podIP`` (or Calico's ``cni.projectcalico.org/ipAddrs``) keeps it.
* Otherwise the pools a pod may take are, first match wins: the pod's
  ``cni.projectcalico.org/ipv4pools`` annotation, else its namespace's, else every automatic
  pool (``cni-plugin/pkg/k8s/k8s.go: CmdAddK8s`` takes the namespace annotation and lets the
  pod's overwrite it; ``libcalico-go/lib/ipam/ipam.go: determinePools`` uses every enabled pool
  matching the node when none is requested).
* An annotation lists pool names or CIDRs (``cni-plugin/internal/pkg/utils: ResolvePools``);
  each must be an enabled pool, whatever its ``assignmentMode`` and node selector.
* The pools are the lab's own (:func:`labkit.model.ippools.lab_pools`) and every ``IPPool`` of
  the input (same name: the input's replaces the lab's).

Automatic pools are tried lab pools first, then the input's by name: a lab node keeps filling
the block it already holds in ``labkit-default``. Inside a pool a pod's address is derived from
a hash of ``namespace/name``, probing forward past taken addresses, so the same manifests
always give the same addresses and adding a pod moves no other pod (unless the new pod hashes
to an address already in use and sorts before its holder: rare in a large pool, and no
allocation that depends only on the set of pods can avoid it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_network

from labkit.errors import ManifestError
from labkit.model.ippools import (
    POOLS_ANNOTATION,
    IPPool,
    is_ippool,
    lab_pools,
    parse_ippool,
    parse_pool_list,
)
from labkit.model.loader import RawObject
from labkit.model.objects import IPAddress

_NO_PODS = frozenset({"NetworkPolicy", "Service"})
PodKey = tuple[str, str]
"""``(namespace, name)``"""


@dataclass(frozen=True)
class PoolRequest:
    """A ``cni.projectcalico.org/ipv4pools`` annotation as written, and where."""

    text: object
    where: str
    owner: str

    def entries(self) -> tuple[str, ...]:
        return parse_pool_list(self.text, self.where, f"metadata.annotations.{POOLS_ANNOTATION}")


@dataclass(frozen=True)
class IPPlan:
    """Where pod addresses come from.

    ``default_cidr`` (``--pod-cidr``) replaces the automatic pools; ``namespace_cidrs`` pins
    namespaces to blocks. Both are for inputs that are not the lab; :meth:`including` adds what
    a set of manifests declares (pools, namespace and pod annotations).
    """

    default_cidr: str | None = None
    namespace_cidrs: tuple[tuple[str, str], ...] = ()
    input_pools: tuple[IPPool, ...] = ()
    namespace_requests: tuple[tuple[str, PoolRequest], ...] = ()
    pod_requests: tuple[tuple[PodKey, PoolRequest], ...] = field(default=(), repr=False)

    def including(self, objects: Iterable[RawObject]) -> IPPlan:
        """This plan with the IP pools and pool annotations ``objects`` declare."""
        pools = {p.name: p for p in self.input_pools}
        namespaces = dict(self.namespace_requests)
        pods = dict(self.pod_requests)
        for raw in objects:
            kind = raw.kind
            if kind == "Namespace":  # declared again: the later one wins, as on apply
                notes = raw.metadata.get("annotations")
                namespaces.pop(raw.name, None)
                if isinstance(notes, dict) and POOLS_ANNOTATION in notes:
                    request = PoolRequest(notes[POOLS_ANNOTATION], raw.location, raw.title)
                    namespaces[raw.name] = request
            elif kind == "IPPool":
                if is_ippool(raw):
                    pool = parse_ippool(raw)
                    pools[pool.name] = pool
            elif kind not in _NO_PODS:
                if kind == "Pod":
                    pods.pop((raw.namespace, raw.name), None)
                pods.update(_pod_requests(raw))
        return IPPlan(
            self.default_cidr,
            self.namespace_cidrs,
            tuple(pools.values()),
            tuple(namespaces.items()),
            tuple(pods.items()),
        )

    @cached_property
    def pools(self) -> tuple[IPPool, ...]:
        """Every pool: the lab's, then the input's (an input pool replaces a lab pool of the
        same name); :class:`ManifestError` when two overlap, as Calico refuses them."""
        given = {p.name: p for p in self.input_pools}
        merged = [given.pop(p.name, p) for p in lab_pools()]
        merged += sorted(given.values(), key=lambda p: p.name)
        for i, a in enumerate(merged):
            for b in merged[i + 1 :]:
                if a.cidr.overlaps(b.cidr):
                    raise ManifestError(
                        f"IPPool({b.name}) CIDR overlaps with IPPool({a.name}) CIDR {a.cidr}",
                        file=b.source or a.source,
                        object=f"IPPool {b.name}",
                        field="spec.cidr",
                        hint="Calico refuses overlapping pools; pick a block outside the "
                        "lab's pools (" + ", ".join(str(p.cidr) for p in lab_pools()) + ")",
                    )
        return tuple(merged)

    @cached_property
    def _pod_map(self) -> dict[PodKey, PoolRequest]:
        return dict(self.pod_requests)

    @cached_property
    def _namespace_map(self) -> dict[str, PoolRequest]:
        return dict(self.namespace_requests)

    def pools_for(self, namespace: str, name: str = "") -> tuple[IPPool, ...]:
        """The pools a pod of ``namespace`` (named ``name``) takes its address from, in order."""
        request = self._pod_map.get((namespace, name)) if name else None
        request = request or self._namespace_map.get(namespace)
        if request is not None:
            return tuple(self._resolve(request, entry) for entry in request.entries())
        pinned = dict(self.namespace_cidrs).get(namespace)
        if pinned is not None:
            return (_block(pinned, f"namespace {namespace}"),)
        if self.default_cidr is not None:
            return (_block(self.default_cidr, "--pod-cidr"),)
        automatic = tuple(p for p in self.pools if p.automatic)
        if not automatic:
            raise ManifestError(
                f"no IP pool serves pod {namespace}/{name or '*'}: every pool is disabled, "
                "Manual or for no node",
                hint="annotate the namespace with cni.projectcalico.org/ipv4pools, or give a "
                "pod status.podIP",
            )
        return automatic

    def pool_for(self, namespace: str) -> IPv4Network | IPv6Network:
        """The first block pods of ``namespace`` get addresses from."""
        return self.pools_for(namespace)[0].cidr

    def _resolve(self, request: PoolRequest, entry: str) -> IPPool:
        """A requested pool, by name or CIDR; it must exist and be enabled
        (``ipam.go: determinePools``: ``the given pool (...) does not exist, or is not
        enabled``)."""
        try:
            wanted = ip_network(entry, strict=False)
        except ValueError:
            found = [p for p in self.pools if p.name == entry]
        else:
            found = [p for p in self.pools if p.cidr == wanted]
        if not found or found[0].disabled:
            known = ", ".join(f"{p.name} ({p.cidr})" for p in self.pools if not p.disabled)
            raise ManifestError(
                f"{request.owner} asks for IP pool {entry!r}, which does not exist or is "
                "disabled; Calico would fail to start its pods",
                file=request.where,
                field=f"metadata.annotations.{POOLS_ANNOTATION}",
                hint=f"name one of the pools: {known}; or add the IPPool to the input",
            )
        return found[0]

    def allocate(
        self, pods: Iterable[PodKey], taken: Iterable[IPAddress] = ()
    ) -> dict[PodKey, IPAddress]:
        """Give each ``(namespace, name)`` an address from its pools, avoiding ``taken``."""
        out: dict[PodKey, IPAddress] = {}
        wanted = sorted(set(pods))
        if not wanted:
            return out
        # imported here: loading OpenSSL costs ~2 ms, and pods with status.podIP never need it
        from hashlib import sha256

        used: set[IPAddress] = set(taken)
        for namespace, name in wanted:
            digest = int.from_bytes(sha256(f"{namespace}/{name}".encode()).digest()[:8])
            pools = self.pools_for(namespace, name)
            for pool in pools:
                address = _free_address(pool, digest, used)
                if address is not None:
                    used.add(address)
                    out[(namespace, name)] = address
                    break
            else:
                names = ", ".join(f"{p.name} ({p.cidr})" for p in pools)
                raise ManifestError(
                    f"pool {names} has no free address for pod {namespace}/{name}",
                    hint="use a larger --pod-cidr or pool, or fewer pods",
                )
        return out


def _free_address(pool: IPPool, digest: int, used: set[IPAddress]) -> IPAddress | None:
    net = pool.cidr
    size = net.num_addresses
    hosts, first = (size - 2, 1) if size > 2 else (size, 0)
    offset = digest % hosts
    for step in range(hosts):
        candidate = net.network_address + first + (offset + step) % hosts
        if candidate not in used:
            return candidate
    return None


def _block(cidr: str, name: str) -> IPPool:
    try:
        return IPPool(name, ip_network(cidr, strict=False))
    except ValueError:
        raise ManifestError(
            f"pod CIDR {cidr!r} is not a CIDR",
            hint="use a block such as 192.168.128.0/17 for --pod-cidr",
        ) from None


def _pod_requests(raw: RawObject) -> list[tuple[PodKey, PoolRequest]]:
    """Pool requests of a Pod's annotations, or of a workload's pod template."""
    if raw.kind == "Pod":
        notes = raw.metadata.get("annotations")
    else:
        spec = raw.data.get("spec")
        template = spec.get("template") if isinstance(spec, dict) else None
        meta = template.get("metadata") if isinstance(template, dict) else None
        notes = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(notes, dict) or POOLS_ANNOTATION not in notes:
        return []
    from labkit.model.workloads import pods_from

    request = PoolRequest(notes[POOLS_ANNOTATION], raw.location, raw.title)
    return [((d.namespace, d.name), request) for d in pods_from(raw)]
