#!/usr/bin/env bash
# Starts a real control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) on
# 127.0.0.1 with its state in DIR, and runs until SIGINT/SIGTERM, which stop every part.
#
#   packages/devkit/control-plane/start.sh DIR [--port N] [--timeout 3m] [--nodes node-0,node-1]
#
# Builds the binaries first when they are not cached (build.sh; instant when they are), then the
# launcher (launch/, standard library only: keys and certificates, ports, the processes).
# DIR/kubeconfig (admin) appears when every part is ready and is removed when they stop; its
# path is printed on stdout then. Logs: DIR/logs/<part>.log. Same DIR again: same data.
set -euo pipefail

main() {
  local here bin sum launcher tmp
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  [ $# -ge 1 ] && [ "${1#-}" = "$1" ] || { echo "usage: $0 DIR [--port N] [--timeout D] [--nodes a,b]" >&2; exit 2; }

  bin="$("$here/build.sh" | tail -n1)"

  # The launcher is small; it is rebuilt (seconds) whenever its sources change.
  if command -v sha256sum >/dev/null 2>&1; then sum=(sha256sum); else sum=(shasum -a 256); fi
  launcher="$(dirname "$bin")/launch-$(cat "$here"/launch/*.go "$here/go.mod" | "${sum[@]}" | cut -c1-16)"
  if [ ! -x "$launcher" ]; then
    echo "[control-plane] building the launcher" >&2
    tmp="$launcher.tmp.$$"
    (cd "$here" && GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
      nice -n "${CONTROL_PLANE_NICE:-19}" go build -trimpath -o "$tmp" ./launch)
    mv "$tmp" "$launcher"
    # Older ones, once a day old: another checkout with other launcher sources may run its own.
    find "$(dirname "$bin")" -maxdepth 1 -name 'launch-*' ! -path "$launcher" -mtime +0 -delete
  fi
  exec "$launcher" --bin "$bin" "$@"
}

main "$@"; exit  # one line: bash reads no further, even if this file changes meanwhile
