"""The kind and kubectl the live workflow installs are the versions labkit pins
(clusters/calico/versions.yaml); run by .github/workflows/live.yml."""

import os
import sys

from labkit.cluster.kind.pins import load_pins

pins = load_pins()
wanted = {"KIND_VERSION": pins.kind_version, "KUBECTL_VERSION": pins.kubectl_version}
wrong = {k: (os.environ.get(k), v) for k, v in wanted.items() if os.environ.get(k) != v}
if wrong:
    sys.exit(f"workflow versions differ from clusters/calico/versions.yaml: {wrong}")
print("pins agree:", pins.kind_version, pins.kubectl_version)
