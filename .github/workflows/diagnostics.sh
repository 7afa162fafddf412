#!/usr/bin/env bash
# What the live workflow collects when a job fails (never fails itself).
KC=".labkit/kubeconfig"
K=(kubectl --kubeconfig "$KC" --context kind-labkit)
"${K[@]}" get nodes -o wide || true
"${K[@]}" get pods -A -o wide || true
"${K[@]}" get events -A --sort-by=.lastTimestamp || true
"${K[@]}" get tigerastatus -o yaml || true
"${K[@]}" get imagesets.operator.tigera.io -o yaml || true
"${K[@]}" get ippools.crd.projectcalico.org -o yaml || true
kind export logs --name labkit "${RUNNER_TEMP:-/tmp}/kind-logs" || true
