"""``labkit images list | pull | save | load``: the lab's images, for offline workshops.

Before the workshop, on a connected machine: ``labkit images pull`` then
``labkit images save --archive labkit-images.tar``; hand out the archive (and the
``.json`` and ``.manifests/`` beside it). On each laptop: ``labkit images load --archive
labkit-images.tar`` then ``labkit up``, which finds every image locally.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from labkit.errors import ClusterError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "images",
        help="list, pull, save or load every image the kind lab needs (offline workshops)",
        description="The node image, the pinned Calico images and agnhost, each by digest: list "
        "them, pull them, save them to one archive, or load an archive (into Docker and, when "
        "the kind cluster exists, into its nodes). Pulling also caches the pinned Calico "
        "manifests.",
    )
    p.add_argument("action", choices=("list", "pull", "save", "load"))
    p.add_argument(
        "--archive",
        type=Path,
        default=None,
        metavar="PATH",
        help="image archive for save/load (default: <lab folder>/images/labkit-images.tar)",
    )
    p.add_argument(
        "--calico-mode",
        choices=("operator", "manifest"),
        default="manifest",
        help="which Calico install's images (default %(default)s)",
    )
    p.add_argument(
        "--calico-version",
        default="",
        metavar="VERSION",
        help="a pinned Calico release (default: the pinned default)",
    )
    p.add_argument(
        "--resolve-digests",
        action="store_true",
        help="pull: first pull each Calico image of the mode whose pin has no digest by tag "
        "and record the digest the registry served in the lab folder (calico-digests.json), "
        "as `labkit up --resolve-digests` does; TRUSTED ON FIRST USE, not pinned in the "
        "repository",
    )
    p.add_argument("--name", default="labkit", help="kind cluster to load into (load)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from labkit.cli.progress import TerminalProgress
    from labkit.cluster import doctor
    from labkit.cluster.kind import images
    from labkit.cluster.kind.cluster import KindOptions, effective_node_image, kind_clusters
    from labkit.cluster.kind.pins import load_pins, with_recorded_digests
    from labkit.cluster.paths import lab_home

    if args.resolve_digests and args.action != "pull":
        raise ClusterError(
            f"--resolve-digests goes with `labkit images pull`, not {args.action}\n    fix: "
            f"`labkit images pull --calico-mode {args.calico_mode} --resolve-digests`"
        )
    pins = load_pins()
    release = pins.calico_release(args.calico_version or None)
    if args.resolve_digests:
        from labkit.cli.cmd_cluster import print_trusted

        result = images.ensure_digests(release, args.calico_mode, TerminalProgress(), resolve=True)
        print_trusted(result, args.calico_mode)
    options = KindOptions(
        name=args.name, calico_mode=args.calico_mode, calico_version=args.calico_version
    )
    node_image, _ = effective_node_image(options, pins, doctor.cgroup_v2())
    wanted = images.lab_images(pins, release, args.calico_mode, node_image)
    archive: Path = args.archive or lab_home() / "images" / "labkit-images.tar"
    if args.action == "list":
        print("\n".join(wanted))
        filled, trusted = with_recorded_digests(release)
        missing = [p.tag_ref for p in filled.missing_digests(args.calico_mode)]
        trusted = tuple(
            e for e in trusted if e.tag_ref in {p.tag_ref for p in release.pins(args.calico_mode)}
        )
        if trusted:
            print(
                "digests TRUSTED ON FIRST USE (recorded in the lab folder by "
                "--resolve-digests, not pinned in the repository): "
                + ", ".join(f"{e.tag_ref} ({e.resolved_at})" for e in trusted),
                file=sys.stderr,
            )
        if missing:
            print(
                f"no digest pinned (labkit up refuses these): {', '.join(missing)}; "
                f"`labkit images pull --calico-mode {args.calico_mode} --resolve-digests` "
                "resolves them (trusted on first use)",
                file=sys.stderr,
            )
        return 0
    progress = TerminalProgress()
    if args.action == "pull":
        images.pull(wanted, progress)
        images.cache_manifests(release, progress)
        print(f"pulled {len(wanted)} images; Calico {release.version} manifests cached")
    elif args.action == "save":
        images.save(wanted, archive, release, node_image, progress)
        print(f"saved {archive} (+ {archive}.json, {archive}.manifests/)")
    else:
        from labkit.cluster.commands import which
        from labkit.cluster.kind.provider import detect

        target = args.name if which("kind") and args.name in kind_clusters() else None
        images.load(archive, release, progress, target)
        engine = detect().tool
        where = f"{engine} and kind cluster {target}" if target else engine
        print(f"loaded {archive} into {where}", file=sys.stdout)
    return 0
