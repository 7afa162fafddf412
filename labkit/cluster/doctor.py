"""Prerequisites of the kind + Calico lab (``labkit doctor``).

Each check says what it found and, when something is wrong, the command that fixes it.
Required checks stop ``labkit up`` on kind; the others are warnings (the cluster may still
come up, slower or less reliably). Host facts are read from files whose roots can be
injected (``proc_root``, ``cgroup_root``) so tests can fake them.

Facts behind the thresholds (kind known issues, Calico docs):
* kind node images need kind >= 0.32 (``kind load``); Kubernetes >= 1.35 images need a
  cgroup v2 host, so on cgroup v1 labkit falls back to the pinned v1.34 image.
* Many nodes exhaust inotify: ``fs.inotify.max_user_watches`` >= 524288 and
  ``max_user_instances`` >= 512 (pods crash-loop with "too many open files" otherwise).
* The Calico operator fails on rootless podman.
* Each kind node is a container running a whole Kubernetes node: about 2 GiB and 2 CPUs for
  the first, 1 GiB and 1 CPU more per worker; below that labkit suggests ``--nodes 1``.
* kind's node network (``docker network inspect kind``) must not overlap the pod CIDR
  192.168.0.0/16 (node addresses inside the pod CIDR break routing to pods); ``up`` stops
  on it, with the fix.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.cluster import commands
from labkit.cluster.host_network import (
    KIND_NETWORK,
    LAB_POD_CIDR,
    host_networks_in_pod_cidr,
    overlapping_pod_cidr,
    parse_network_subnets,
)
from labkit.cluster.kind import provider as kind_provider
from labkit.errors import CommandFailed, PrerequisiteMissing

log = logging.getLogger(__name__)

MIN_KIND = (0, 32)
CLUSTER_MINOR = 36
CGROUP_V1_MINOR = 34
"""Kubernetes minors of the pinned node images (cgroup v2 host / cgroup v1 fallback)."""
MIN_WATCHES = 524288
MIN_INSTANCES = 512
MEMORY_MIB = {1: 2048, 3: 4096}
CPUS = {1: 2, 3: 4}
SMALL_MACHINE_FIX = "use `labkit up --nodes 1` (one node container instead of three)"
SYSCTL_FIX = (
    "sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512 "
    "(keep it: put both lines in /etc/sysctl.d/99-kind.conf)"
)


@dataclass(frozen=True)
class Check:
    """One finding of ``labkit doctor``."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True

    @property
    def status(self) -> str:
        return "ok" if self.ok else ("FAIL" if self.required else "warn")

    def line(self) -> str:
        text = f"[{self.status:>4}] {self.name}: {self.detail}"
        return f"{text}\n       fix: {self.fix}" if self.fix and not self.ok else text

    def as_dict(self) -> dict[str, Any]:
        """The check as ``-o json`` prints it (the fix only when it failed)."""
        return {
            "name": self.name,
            "status": self.status,
            "ok": self.ok,
            "detail": self.detail,
            "fix": self.fix if not self.ok else "",
        }


def parse_version(text: str) -> tuple[int, int, int] | None:
    """The first ``vX.Y.Z`` (or ``X.Y.Z``) in ``text``."""
    match = re.search(r"v?(\d+)\.(\d+)\.(\d+)", text)
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3])


def provider() -> str:
    """The container engine kind uses (:func:`labkit.cluster.kind.provider.detect`)."""
    return kind_provider.detect().tool


def runtime_info(timeout: float = 15.0) -> tuple[dict[str, Any] | None, str]:
    """``docker info`` (or ``podman info``) as JSON, or ``(None, why not)``."""
    tool = provider()
    cmd = (
        [tool, "info", "--format", "{{json .}}"]
        if tool == "docker"
        else [tool, "info", "--format", "json"]
    )
    try:
        done = commands.run(cmd, timeout=timeout, check=False)
    except PrerequisiteMissing:
        return None, f"{tool} is not installed (not on PATH)"
    except CommandFailed:
        return None, f"`{tool} info` did not answer within {timeout:.0f} s"
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()
        return None, f"{tool} is installed but its engine is not reachable: " + (
            last[-1] if last else f"`{tool} info` exited {done.returncode}"
        )
    try:
        info = json.loads(done.stdout)
    except json.JSONDecodeError:
        return None, f"`{tool} info` printed something that is not JSON"
    if not isinstance(info, dict):
        return None, f"`{tool} info` printed something that is not a JSON object"
    errors = info.get("ServerErrors")
    if errors:
        return None, f"{tool} is installed but its engine is not reachable: {errors[0]}"
    return info, ""


def _is_podman(info: dict[str, Any]) -> bool:
    return "host" in info and "ServerVersion" not in info


def _rootless(info: dict[str, Any]) -> bool:
    if _is_podman(info):
        security = (info.get("host") or {}).get("security") or {}
        return bool(security.get("rootless"))
    return any("rootless" in str(opt) for opt in info.get("SecurityOptions") or ())


def docker_usable(timeout: float = 15.0) -> tuple[bool, str]:
    """Whether kind can run here, with one sentence saying why (used to pick simulated)."""
    info, why = runtime_info(timeout)
    if info is None:
        return False, why
    if _is_podman(info) and _rootless(info):
        return False, (
            "rootless podman: the Calico operator fails there; use rootful podman (sudo) or Docker"
        )
    engine = "podman" if _is_podman(info) else "Docker"
    version = info.get("ServerVersion") or (info.get("version") or {}).get("Version", "")
    return True, f"{engine} {version} is reachable".replace("  ", " ")


def _cgroup_version(info: dict[str, Any] | None, cgroup_root: Path) -> tuple[int, str]:
    if info is not None:
        raw = info.get("CgroupVersion") or ((info.get("host") or {}).get("cgroupVersion"))
        if raw:
            return (2 if str(raw).lstrip("v") == "2" else 1), "reported by the container engine"
    if (cgroup_root / "cgroup.controllers").exists():
        return 2, f"{cgroup_root}/cgroup.controllers exists"
    return 1, f"{cgroup_root}/cgroup.controllers is missing"


def cgroup_v2(cgroup_root: Path = Path("/sys/fs/cgroup"), timeout: float = 15.0) -> bool:
    info, _ = runtime_info(timeout)
    return _cgroup_version(info, cgroup_root)[0] == 2


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _mem_available_mib(proc_root: Path) -> int | None:
    try:
        for line in (proc_root / "meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _tool_version(cmd: list[str], timeout: float) -> tuple[tuple[int, int, int] | None, str]:
    try:
        done = commands.run(cmd, timeout=timeout, check=False)
    except (PrerequisiteMissing, CommandFailed) as exc:
        return None, str(exc).splitlines()[0]
    text = done.stdout if done.returncode == 0 else ""
    if cmd[0].endswith("kubectl") and text:
        try:
            text = json.loads(text)["clientVersion"]["gitVersion"]
        except (json.JSONDecodeError, KeyError, TypeError):
            pass
    return parse_version(text), text.strip() or done.stderr.strip()


def check_docker(info: dict[str, Any] | None, why: str) -> list[Check]:
    if info is None:
        return [
            Check(
                "container engine",
                False,
                why,
                "start the Docker daemon (`sudo systemctl start docker`, or open Docker "
                "Desktop) and make sure `docker info` works for your user; without it "
                "labkit uses the simulated cluster",
            )
        ]
    engine = "podman" if _is_podman(info) else "Docker"
    version = info.get("ServerVersion") or (info.get("version") or {}).get("Version", "?")
    cpus = info.get("NCPU") or (info.get("host") or {}).get("cpus")
    out = [
        Check(
            "container engine",
            True,
            f"{engine} {version} reachable" + (f", {cpus} CPUs" if cpus else ""),
        )
    ]
    if _rootless(info):
        if _is_podman(info):
            out.append(
                Check(
                    "rootless",
                    False,
                    "rootless podman: the Calico operator fails there",
                    "use rootful podman (sudo, KIND_EXPERIMENTAL_PROVIDER=podman) or Docker",
                    required=True,
                )
            )
        else:
            out.append(
                Check(
                    "rootless",
                    True,
                    "rootless Docker: supported by kind when cgroup v2 "
                    "delegation is set up (see kind's rootless guide)",
                )
            )
    return out


def check_kind(timeout: float) -> Check:
    if commands.which("kind") is None:
        return Check("kind", False, "not installed", commands.INSTALL_HINTS["kind"])
    version, text = _tool_version(["kind", "version"], timeout)
    if version is None:
        return Check(
            "kind", False, f"cannot read its version ({text})", commands.INSTALL_HINTS["kind"]
        )
    shown = "v{}.{}.{}".format(*version)
    if version[:2] < MIN_KIND:
        return Check(
            "kind",
            False,
            f"{shown} is older than v0.32: the pinned node images need kind >= 0.32",
            commands.INSTALL_HINTS["kind"],
        )
    return Check("kind", True, shown)


def check_kubectl(timeout: float, cluster_minor: int = CLUSTER_MINOR) -> Check:
    if commands.which("kubectl") is None:
        return Check("kubectl", False, "not installed", commands.INSTALL_HINTS["kubectl"])
    version, text = _tool_version(["kubectl", "version", "--client", "-o", "json"], timeout)
    if version is None:
        return Check(
            "kubectl", False, f"cannot read its version ({text})", commands.INSTALL_HINTS["kubectl"]
        )
    shown = "v{}.{}.{}".format(*version)
    if version[0] != 1 or abs(version[1] - cluster_minor) > 1:
        return Check(
            "kubectl",
            False,
            f"{shown} is more than one minor version away from the "
            f"lab cluster (1.{cluster_minor}); kubectl supports one minor of skew",
            commands.INSTALL_HINTS["kubectl"],
            required=False,
        )
    return Check("kubectl", True, shown)


def check_pod_cidr(proc_root: Path) -> Check:
    clashes = host_networks_in_pod_cidr(proc_root)
    if not clashes:
        return Check("pod network", True, f"{LAB_POD_CIDR} is free on this host", required=False)
    shown = ", ".join(f"{net} on {iface}" for iface, net in clashes)
    return Check(
        "pod network",
        False,
        f"this host's network {shown} lies inside the lab's pod CIDR {LAB_POD_CIDR}: pods "
        "cannot reach machines on it (the lab's own traffic is not affected)",
        "nothing to do for the lessons; to reach that network from pods, run the lab on "
        "another network",
        required=False,
    )


def check_kind_network(timeout: float) -> Check:
    """kind's node network must not overlap the lab's pod CIDR (required)."""
    tool = provider()
    try:
        done = commands.run(
            [tool, "network", "inspect", KIND_NETWORK], timeout=timeout, check=False
        )
    except (PrerequisiteMissing, CommandFailed) as exc:
        return Check(
            "kind network", True, f"not checked ({str(exc).splitlines()[0]})", required=False
        )
    if done.returncode != 0:
        return Check(
            "kind network",
            True,
            f"no `{KIND_NETWORK}` network yet: kind creates it on a free range",
        )
    subnets = parse_network_subnets(done.stdout)
    clash = overlapping_pod_cidr(subnets)
    if not clash:
        shown = ", ".join(str(n) for n in subnets) or "no subnets"
        return Check("kind network", True, f"{shown}: clear of the pod CIDR {LAB_POD_CIDR}")
    return Check(
        "kind network",
        False,
        f"{tool}'s `{KIND_NETWORK}` network uses {', '.join(str(n) for n in clash)}, inside "
        f"the lab's pod CIDR {LAB_POD_CIDR}: node and pod addresses would collide",
        f"the `{KIND_NETWORK}` network is shared by every kind cluster here: once `kind get "
        f"clusters` lists none you need, delete those clusters, then `{tool} network rm "
        f"{KIND_NETWORK}` and `{tool} network create {KIND_NETWORK} --subnet 172.30.0.0/16` "
        "(kind reuses an existing network of that name); or move the engine's "
        "default-address-pools (Docker: /etc/docker/daemon.json) off 192.168.0.0/16",
    )


def check_cpus(info: dict[str, Any] | None, nodes: int) -> Check:
    """Enough CPUs for ``nodes`` node containers (a warning that suggests ``--nodes 1``)."""
    cpus = None
    if info is not None:
        cpus = info.get("NCPU") or (info.get("host") or {}).get("cpus")
    cpus = int(cpus) if cpus else os.cpu_count()
    need = CPUS.get(nodes, CPUS[3])
    if cpus is None:
        return Check("CPUs", True, "unknown", required=False)
    ok = cpus >= need
    return Check(
        "CPUs",
        ok,
        f"{cpus}" + ("" if ok else f"; a {nodes}-node cluster wants at least {need}"),
        "" if ok or nodes == 1 else SMALL_MACHINE_FIX,
        required=False,
    )


def small_machine(checks: list[Check]) -> bool:
    """Whether the CPU or memory check suggested ``--nodes 1``."""
    return any(c.name in ("CPUs", "memory") and not c.ok and "--nodes 1" in c.fix for c in checks)


def check_host(
    info: dict[str, Any] | None, proc_root: Path, cgroup_root: Path, nodes: int
) -> list[Check]:
    out: list[Check] = []
    version, how = _cgroup_version(info, cgroup_root)
    if version == 2:
        out.append(Check("cgroup v2", True, f"yes ({how})", required=False))
    else:
        out.append(
            Check(
                "cgroup v2",
                False,
                f"cgroup v1 ({how}): Kubernetes >= 1.35 node images "
                "need cgroup v2, so labkit uses the pinned v1.34 node image",
                "boot with systemd.unified_cgroup_hierarchy=1 to use the newest image",
                required=False,
            )
        )
    inotify = proc_root / "sys" / "fs" / "inotify"
    if not inotify.is_dir():
        out.append(
            Check(
                "inotify limits",
                True,
                "not a Linux host: the container engine's VM sets these limits",
            )
        )
    else:
        for key, minimum in (
            ("max_user_watches", MIN_WATCHES),
            ("max_user_instances", MIN_INSTANCES),
        ):
            value = _read_int(inotify / key)
            ok = value is not None and value >= minimum
            out.append(
                Check(
                    f"inotify {key}",
                    ok,
                    f"{value if value is not None else 'unreadable'}"
                    + (
                        ""
                        if ok
                        else f" (< {minimum}): pods may crash-loop with 'too many open files'"
                    ),
                    "" if ok else SYSCTL_FIX,
                    required=False,
                )
            )
    need = MEMORY_MIB.get(nodes, MEMORY_MIB[3])
    mem = _mem_available_mib(proc_root)
    if mem is None and info is not None and info.get("MemTotal"):
        mem = int(info["MemTotal"]) // (1024 * 1024)
    if mem is None:
        out.append(Check("memory", True, "unknown (no /proc/meminfo)", required=False))
    else:
        ok = mem >= need
        out.append(
            Check(
                "memory",
                ok,
                f"{mem / 1024:.1f} GiB available"
                + ("" if ok else f"; a {nodes}-node cluster wants about {need / 1024:.0f} GiB"),
                ""
                if ok
                else "close other programs, give Docker Desktop more memory"
                + ("" if nodes == 1 else ", or " + SMALL_MACHINE_FIX),
                required=False,
            )
        )
    return out


def run_checks(
    *,
    proc_root: Path = Path("/proc"),
    cgroup_root: Path = Path("/sys/fs/cgroup"),
    nodes: int = 3,
    timeout: float = 15.0,
) -> list[Check]:
    """Every prerequisite of the kind backend, in the order a user fixes them."""
    info, why = runtime_info(timeout)
    v2 = _cgroup_version(info, cgroup_root)[0] == 2
    return [
        *check_docker(info, why),
        check_kind(timeout),
        check_kubectl(timeout, CLUSTER_MINOR if v2 else CGROUP_V1_MINOR),
        *check_host(info, proc_root, cgroup_root, nodes),
        check_cpus(info, nodes),
        check_pod_cidr(proc_root),
        *([check_kind_network(timeout)] if info is not None else []),
    ]


def required_ok(checks: list[Check]) -> bool:
    return all(c.ok for c in checks if c.required)
