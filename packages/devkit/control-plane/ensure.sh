#!/usr/bin/env bash
# Run before the tests (npm's pretest): builds the real control plane when Go is here, so the
# kube-apiserver engine's tests run; the first build takes 13–25 minutes on 2 cores, later calls
# are instant. Without Go it says so and the engine's tests skip, naming why.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v go >/dev/null 2>&1; then
  echo "control-plane: no Go here; the tests of the kube-apiserver engine will skip (install Go 1.26 to run them)" >&2
  exit 0
fi
"$here/build.sh" >/dev/null
