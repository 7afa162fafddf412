"""``labkit up --dry-run`` for kind: the commands, config, pins and images ``up`` would use."""

from __future__ import annotations

from labkit.cluster import doctor
from labkit.cluster.kind import images
from labkit.cluster.kind.config import load_config
from labkit.cluster.kind.options import KindOptions, create_command, effective_node_image
from labkit.cluster.kind.pins import load_pins, with_recorded_digests
from labkit.cluster.kubectl import Kubectl


def plan_text(options: KindOptions) -> str:
    """What ``labkit up`` would do, without running anything (but ``docker info`` for the
    host's cgroup version)."""
    pins = load_pins()
    release = pins.calico_release(options.calico_version or None)
    config, text = load_config(options.nodes)
    image, why = effective_node_image(options, pins, doctor.cgroup_v2())
    kubectl = Kubectl(options.kubeconfig, options.context)
    lines = [
        f"kind cluster {options.name!r}: {options.nodes} node(s), Calico {release.version} "
        f"({options.calico_mode}), budget {options.timeout_s:.0f} s",
        f"node image: {image} ({why})",
        f"kind {pins.kind_version} or newer, kubectl {pins.kubectl_version} (+/- 1 minor)",
        f"kubeconfig: {options.kubeconfig} (context {options.context}; yours is untouched)",
        "",
        f"config {config}:",
        *("    " + line for line in text.rstrip().splitlines()),
        "",
        "commands:",
        "  " + " ".join(create_command(options, config, image)),
    ]
    for pin in release.manifests:
        if (options.calico_mode == "operator") == (pin.role in ("crds", "operator")):
            lines.append(f"  download {pin.url}\n      ({pin.size} bytes, sha256 {pin.sha256})")
    cache = f"<lab folder>/cache/calico/{release.version}/"
    if options.calico_mode == "operator":
        steps = [
            cache + release.manifest("crds").file_name,
            f"ImageSet calico-{release.version} (every operator-deployed image by digest)",
            cache + "tigera-operator.labkit.yaml (the operator's image set to its digest)",
            "clusters/calico/installation.yaml",
        ]
    else:
        steps = [
            cache + "calico.labkit.yaml (calico.yaml, calico-node's default pool set to the "
            "lab's, every image by digest)"
        ]
    lines += [
        "  "
        + " ".join(
            kubectl.command(
                [
                    "apply",
                    "--server-side",
                    "--field-manager=labkit",
                    "--force-conflicts",
                    "-f",
                    s,
                ]
            )
        )
        for s in steps
    ]
    lines += [
        "  wait: "
        + (
            "tigerastatus Available"
            if options.calico_mode == "operator"
            else "daemonset/calico-node rolled out"
        )
        + ", nodes Ready, CoreDNS rolled out",
        "  " + " ".join(kubectl.command(["apply", "-f", "clusters/calico/ippools.yaml"])),
        "  apply the lab topology (server-side, all-or-nothing), wait for its pods",
        "  enforcement canary in namespace labkit-canary",
        "",
        "images:",
        *("  " + i for i in images.lab_images(pins, release, options.calico_mode, image)),
    ]
    filled, recorded = with_recorded_digests(release)
    missing = [p.tag_ref for p in filled.pins(options.calico_mode) if p.digest is None]
    unverified = [
        p.tag_ref for p in release.pins(options.calico_mode) if p.digest and not p.verified
    ]
    if missing:
        lines.append(
            "NO DIGEST PINNED (up refuses until set in clusters/calico/versions.yaml, or "
            "until `labkit up --calico operator --resolve-digests` resolves them, trusted on "
            "first use): " + ", ".join(missing)
        )
    if recorded:
        lines.append(
            "digests resolved on first use (not pinned in the repository; see "
            "calico-digests.json in the lab folder): " + ", ".join(r.tag_ref for r in recorded)
        )
    if unverified or not pins.agnhost_verified:
        lines.append(
            "digests not verified against their registry (see clusters/calico/versions.yaml): "
            + ", ".join([*unverified, *([] if pins.agnhost_verified else [pins.agnhost_tag])])
        )
    return "\n".join(lines)
