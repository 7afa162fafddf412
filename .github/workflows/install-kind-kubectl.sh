#!/usr/bin/env bash
# Install kind $KIND_VERSION and kubectl $KUBECTL_VERSION into ~/.local/bin, each checked
# against its published sha256 sum (used by .github/workflows/live.yml).
set -euo pipefail
: "${KIND_VERSION:?}" "${KUBECTL_VERSION:?}"
mkdir -p "$HOME/.local/bin"
cd "${RUNNER_TEMP:-$(mktemp -d)}"
curl -fsSLo kind "https://kind.sigs.k8s.io/dl/${KIND_VERSION}/kind-linux-amd64"
curl -fsSLo kind.sha256 "https://kind.sigs.k8s.io/dl/${KIND_VERSION}/kind-linux-amd64.sha256sum"
echo "$(cut -d' ' -f1 kind.sha256)  kind" | sha256sum -c -
curl -fsSLo kubectl "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/amd64/kubectl"
curl -fsSLo kubectl.sha256 "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/amd64/kubectl.sha256"
echo "$(cat kubectl.sha256)  kubectl" | sha256sum -c -
install -m 0755 kind kubectl "$HOME/.local/bin/"
if [ -n "${GITHUB_PATH:-}" ]; then echo "$HOME/.local/bin" >> "$GITHUB_PATH"; fi
"$HOME/.local/bin/kind" version
"$HOME/.local/bin/kubectl" version --client
