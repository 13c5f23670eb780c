#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager and kube-scheduler from source (the Go module
# next to this script pins the versions) into a cache outside the repository, and prints the
# directory holding them on the last line of stdout. A second call is instant (a stamp check).
#
#   packages/devkit/control-plane/build.sh            # -> .../control-plane/v1.37.2-v3.7.0/bin
#
# Environment:
#   CONTROL_PLANE_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/restore-controller/control-plane)
#   CONTROL_PLANE_NICE    niceness of the compile (default 19: the machines are shared)
#   CONTROL_PLANE_JOBS    go build -p (default 2)
# Nothing but Go modules is downloaded (through GOPROXY); no binaries, no images.
set -Eeuo pipefail

# All in one function, called on the last line: bash reads a script as it runs, and a checkout
# during a long build must not change what the rest of this build does.
main() {
  trap 'printf "control-plane build: failed (exit %s) at line %s: %s\n" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  start=$SECONDS
  log() { printf '[control-plane build +%ss] %s\n' "$((SECONDS - start))" "$*" >&2; }
  die() { printf 'control-plane build: %s\n' "$*" >&2; exit 1; }

  # The versions come from go.mod, so the cache key can never disagree with what is compiled.
  modver() { awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$here/go.mod"; }
  k8s_version="$(modver k8s.io/kubernetes)"
  etcd_version="$(modver go.etcd.io/etcd/server/v3)"
  go_wanted="$(awk '$1 == "go" { print $2; exit }' "$here/go.mod")"
  [ -n "$k8s_version" ] && [ -n "$etcd_version" ] && [ -n "$go_wanted" ] ||
    die "cannot read the pinned versions from $here/go.mod"

  cache_root="${CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/restore-controller/control-plane}"
  out="$cache_root/$k8s_version-$etcd_version"
  bin="$out/bin"
  binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler)

  # What the stamp records: the module graph and the recipe. Changing either rebuilds.
  recipe=4
  if command -v sha256sum >/dev/null 2>&1; then sum() { sha256sum | cut -d' ' -f1; }
  else sum() { shasum -a 256 | cut -d' ' -f1; }; fi
  stamp_want="recipe=$recipe k8s=$k8s_version etcd=$etcd_version modules=$(cat "$here/go.mod" "$here/go.sum" | sum)"

  cached() {
    [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp_want" ] || return 1
    local b; for b in "${binaries[@]}"; do [ -x "$bin/$b" ] || return 1; done
  }
  if cached; then
    log "cached: $bin"
    echo "$bin"; exit 0
  fi

  # --- Go: present and new enough, with no silent toolchain download --------------------------
  command -v go >/dev/null 2>&1 ||
    die "no 'go' on PATH. Install Go $go_wanted or newer (https://go.dev/dl/) and try again."
  export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
  go_have="$(go env GOVERSION 2>/dev/null || true)"   # e.g. go1.26.8
  verle() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$1" ]; }
  case "$go_have" in
    go[0-9]*) verle "$go_wanted" "${go_have#go}" ||
      die "Go $go_wanted or newer is needed to build Kubernetes $k8s_version; 'go' is $go_have ($(command -v go)). Install a newer Go, or pin an older k8s.io/kubernetes in $here/go.mod." ;;
    *) die "cannot tell the version of $(command -v go) (go env GOVERSION said '$go_have')." ;;
  esac

  mkdir -p "$cache_root"
  # One build at a time per cache: a second caller waits, then finds the stamp.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$cache_root/.lock"
    if ! flock -n 9; then
      log "another build of the control plane is running; waiting for it"
      flock 9
    fi
    if cached; then log "cached: $bin"; echo "$bin"; exit 0; fi
  fi

  log "building Kubernetes $k8s_version (kube-apiserver, kube-controller-manager, kube-scheduler) and etcd $etcd_version with $go_have"
  log "into $bin"

  tmp="$(mktemp -d "$cache_root/.build-$k8s_version-$etcd_version.XXXXXX")"
  cleanup() { rm -rf "$tmp"; }
  trap cleanup EXIT
  trap 'log "interrupted; nothing was cached"; exit 130' INT TERM

  cd "$here"
  nice_cmd=(nice -n "${CONTROL_PLANE_NICE:-19}")
  jobs="${CONTROL_PLANE_JOBS:-2}"

  # --- step 1: modules (the only network use) ---------------------------------------------------
  log "step 1/3: downloading Go modules (GOPROXY=$(go env GOPROXY)); cached in $(go env GOMODCACHE)"
  # (9>&-: the lock is this script's; a compiler it leaves behind must not hold it.)
  if ! "${nice_cmd[@]}" go list -deps tool >"$tmp/packages" 2>"$tmp/download.log" 9>&-; then
    tail -n 20 "$tmp/download.log" >&2
    if grep -qiE 'dial tcp|no such host|i/o timeout|connection refused|TLS handshake|proxyconnect|403 Forbidden|404 Not Found|not available|unrecognized import path' "$tmp/download.log"; then
      die "could not download the Go modules. Is the module proxy reachable? GOPROXY=$(go env GOPROXY), GOFLAGS=${GOFLAGS}. Offline machines need a warm GOMODCACHE ($(go env GOMODCACHE)) or GOPROXY=off with every module already there."
    fi
    die "go list failed (above)."
  fi
  total="$(wc -l <"$tmp/packages" | tr -d ' ')"
  log "step 1/3 done: $total packages to build"

  # --- step 2: one go build for all four (shared packages compile once) -------------------------
  release_time="$(go list -m -f '{{with .Time}}{{.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes 2>/dev/null || true)"
  minor="${k8s_version#v1.}"; minor="${minor%%.*}"
  vpkg=k8s.io/component-base/version
  ldflags="-s -w"
  ldflags+=" -X $vpkg.gitVersion=$k8s_version -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor"
  ldflags+=" -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=${release_time:-1970-01-01T00:00:00Z}"
  ldflags+=" -X $vpkg.gitCommit="
  log "step 2/3: compiling (go build -p $jobs under nice -n ${CONTROL_PLANE_NICE:-19}; GOCACHE=$(go env GOCACHE)); a cold build takes tens of minutes"
  mkdir -p "$tmp/bin"
  "${nice_cmd[@]}" go build -p "$jobs" -v -trimpath -ldflags "$ldflags" -o "$tmp/bin/" tool \
    >"$tmp/build.log" 2>&1 9>&- &
  build_pid=$!
  trap 'kill "$build_pid" 2>/dev/null || true; wait "$build_pid" 2>/dev/null || true
    log "interrupted; nothing was cached"; exit 130' INT TERM
  while kill -0 "$build_pid" 2>/dev/null; do
    for _ in $(seq 30); do kill -0 "$build_pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$build_pid" 2>/dev/null &&
      log "  compiling: $(grep -c . "$tmp/build.log" || true) of $total packages compiled (the rest are in GOCACHE or still to come)"
  done
  if ! wait "$build_pid"; then
    grep -v '^[a-zA-Z0-9._/-]*$' "$tmp/build.log" | tail -n 40 >&2 || tail -n 40 "$tmp/build.log" >&2
    die "go build failed (above). Kubernetes $k8s_version may need a newer Go than $go_have: see the 'go' line of its go.mod."
  fi
  # The etcd main package is the module root go.etcd.io/etcd/server/v3: go build names it "server".
  mv "$tmp/bin/server" "$tmp/bin/etcd"
  for b in "${binaries[@]}"; do [ -x "$tmp/bin/$b" ] || die "go build did not produce $b"; done
  log "step 2/3 done"

  # --- step 3: publish atomically ---------------------------------------------------------------
  log "step 3/3: checking the binaries and publishing"
  local v
  v="$("$tmp/bin/kube-apiserver" --version)"; log "  kube-apiserver --version: $v"
  v="$("$tmp/bin/etcd" --version)"; log "  etcd --version: ${v%%$'\n'*}"
  echo "$stamp_want" >"$tmp/stamp"
  rm -f "$tmp/packages" "$tmp/download.log" "$tmp/build.log"
  chmod 755 "$tmp"
  if [ -e "$out" ]; then                # a stale build (other recipe or modules): replace it
    mv "$out" "$tmp.old"
    rm -rf "$tmp.old"
  fi
  mv "$tmp" "$out"                      # a rename: the cache holds a whole build or none
  trap - EXIT
  log "done in $((SECONDS - start))s: $(du -sh "$bin" | cut -f1) in $bin"
  echo "$bin"
}

main "$@"; exit  # one line: bash reads no further, even if this file changes meanwhile
