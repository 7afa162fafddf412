"""Every image digest in clusters/calico/versions.yaml, checked against its registry.

The development machines have no registry access, so some digests there were copied from
public files (`verified: false`) and some are still missing (`digest: null`). On a hosted
runner this script asks each registry for the index digest of every pinned tag
(`docker buildx imagetools inspect`), prints a line per image and exits 1 when a recorded
digest differs or is missing, printing the value to record. Run by .github/workflows/live.yml.
"""

import json
import subprocess
import sys

from labkit.cluster.kind.pins import load_pins


def registry_digest(tag_ref: str) -> str:
    out = subprocess.run(
        ["docker", "buildx", "imagetools", "inspect", tag_ref, "--format", "{{json .Manifest}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return str(json.loads(out)["digest"])


def main() -> int:
    pins = load_pins()
    wanted: dict[str, str | None] = {}
    for image in (pins.agnhost_image, pins.node_image.image, pins.node_image_cgroup_v1.image):
        tag, _, digest = image.partition("@")
        wanted[tag] = digest or None
    for release in pins.calico:
        for pin in release.image_pins:
            wanted[pin.tag_ref] = pin.digest
    bad = 0
    for tag, recorded in wanted.items():
        actual = registry_digest(tag)
        if recorded == actual:
            print(f"ok       {tag}@{actual}")
            continue
        bad += 1
        state = "MISSING " if recorded is None else "DIFFERS "
        print(f"{state} {tag}: recorded {recorded}, registry {actual}: record digest: {actual}")
    print(f"{len(wanted) - bad} of {len(wanted)} digests agree with their registries")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
