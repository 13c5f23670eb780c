#!/usr/bin/env bash
# Smoke test of the real control plane with kubectl: builds it (cached), starts it on DIR
# (default: a temp dir, removed when every check passes), checks authentication, RBAC,
# admission, the controllers and the scheduler, the project's CRDs, then stops it, starts it
# again on the same DIR and checks that the data, the keys and the tokens survived.
#
#   packages/devkit/control-plane/smoke.sh [DIR]
set -euo pipefail

main() {
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  repo="$(cd "$here/../.." && pwd)"
  k8s_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$here/go.mod")"
  command -v kubectl >/dev/null || die "kubectl is not on PATH"

  dir="${1:-}" made=0
  if [ -z "$dir" ]; then dir="$(mktemp -d "${TMPDIR:-/tmp}/control-plane-smoke.XXXXXX")"; made=1; fi
  mkdir -p "$dir"; dir="$(cd "$dir" && pwd)"
  kc="$dir/kubeconfig" pid="" failed=1
  trap cleanup EXIT

  step "build (cached after the first time)"
  "$here/build.sh" >/dev/null

  start_cp first
  check_cluster
  stop_cp
  start_cp restart
  check_persisted
  stop_cp
  failed=0
  echo "smoke: all checks passed (first start ready in ${ready_first}s, restart in ${ready_restart}s; launcher's own figures: $(grep -ho 'ready in [0-9.]*s' "$dir/launch.err" | cut -d' ' -f3 | paste -sd' ' -))" >&2
}

k() { kubectl --kubeconfig "$kc" --request-timeout 20s "$@"; }
step() { printf '\n== %s\n' "$*" >&2; }
ok() { printf 'ok   %s\n' "$*" >&2; }
die() { printf 'FAIL %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# until SECONDS WHAT CMD...: retries CMD every half second.
until_ok() {
  local limit=$1 what=$2; shift 2
  local t0=$SECONDS
  until "$@" >/dev/null 2>&1; do
    [ $((SECONDS - t0)) -lt "$limit" ] || die "$what (not within ${limit}s)"
    sleep 0.5
  done
}

start_cp() {
  step "start ($1)"
  rm -f "$kc"
  local t0; t0="$(now)"
  "$here/start.sh" "$dir" >>"$dir/launch.out" 2>>"$dir/launch.err" &
  pid=$!
  while [ ! -s "$kc" ]; do
    kill -0 "$pid" 2>/dev/null || { tail -n 40 "$dir/launch.err" >&2; pid=""; die "the control plane exited before it was ready"; }
    awk -v s="$(since "$t0")" 'BEGIN { exit !(s > 240) }' && { tail -n 20 "$dir/launch.err" >&2; die "not ready within 240s"; }
    sleep 0.2
  done
  local t; t="$(since "$t0")"
  if [ "$1" = first ]; then ready_first=$t; else ready_restart=$t; fi
  ok "DIR/kubeconfig written after ${t}s ($(tail -n1 "$dir/launch.err" | sed 's/^\[control-plane *[0-9.]*s\] //'))"
}

stop_cp() {
  step "stop (SIGTERM)"
  local rc=0
  kill -TERM "$pid"
  wait "$pid" || rc=$?
  pid=""
  [ "$rc" -eq 0 ] || { tail -n 20 "$dir/launch.err" >&2; die "the launcher exited with $rc on SIGTERM"; }
  [ ! -e "$kc" ] || die "DIR/kubeconfig is still there after the stop"
  local port
  for port in $(grep -o '[0-9]\{2,\}' "$dir/ports.json"); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then die "port $port still answers after the stop"; fi
  done
  ok "every part stopped, its ports are closed, DIR/kubeconfig is gone"
}

check_cluster() {
  step "API server"
  local v; v="$(k get --raw /version)"
  grep -q "\"gitVersion\": \"$k8s_version\"" <<<"$v" || die "/version does not say $k8s_version: $v"
  ok "/version: $(tr -d '\n ' <<<"$v" | grep -o '"gitVersion":"[^"]*"')"
  local ns; ns="$(k get ns -o name | sort | paste -sd' ' -)"
  [[ " $ns " == *" namespace/default "* && " $ns " == *" namespace/kube-system "* ]] || die "namespaces: $ns"
  ok "namespaces: $ns"
  [ "$(k get nodes -o name | wc -l)" -eq 0 ] && ok "no nodes (yet)"

  step "authentication and RBAC"
  [ "$(k auth whoami -o jsonpath='{.status.userInfo.username}')" = kubernetes-admin ] || die "whoami is not kubernetes-admin"
  ok "the admin kubeconfig authenticates as kubernetes-admin (system:masters)"
  local a; a="$(k auth can-i create pods --as system:serviceaccount:default:default || true)"
  [ "$a" = no ] || die "can-i create pods as default/default: '$a', want no"
  ok "kubectl auth can-i create pods --as system:serviceaccount:default:default: $a"
  k create rolebinding smoke-edit --clusterrole edit --serviceaccount default:default >/dev/null
  until_ok 10 "the RoleBinding takes effect" bash -c \
    "[ \"\$(kubectl --kubeconfig '$kc' auth can-i create pods --as system:serviceaccount:default:default)\" = yes ]"
  ok "after a RoleBinding to 'edit': yes"
  a="$(k auth can-i create pods -n kube-system --as system:serviceaccount:default:default || true)"
  [ "$a" = no ] || die "the RoleBinding in default leaks into kube-system: '$a'"
  ok "and still no in kube-system"
  k create token default --duration 1h >"$dir/smoke-token"
  [ "$(kubectl --server "$(server)" --certificate-authority "$dir/pki/ca.crt" --token "$(cat "$dir/smoke-token")" \
      auth whoami -o jsonpath='{.status.userInfo.username}')" = system:serviceaccount:default:default ] ||
    die "a TokenRequest token does not authenticate as the ServiceAccount"
  ok "a TokenRequest token (kubectl create token) authenticates as system:serviceaccount:default:default"

  step "controllers and scheduler"
  k create deployment smoke --image registry.k8s.io/pause:3.10 --replicas 1 >/dev/null
  until_ok 60 "the Deployment gets a ReplicaSet" bash -c \
    "kubectl --kubeconfig '$kc' get rs -l app=smoke -o jsonpath='{.items[0].metadata.ownerReferences[0].kind}' | grep -qx Deployment"
  ok "Deployment smoke -> ReplicaSet $(k get rs -l app=smoke -o name)"
  until_ok 60 "the ReplicaSet gets a Pod the scheduler marks Unschedulable" bash -c \
    "kubectl --kubeconfig '$kc' get pods -l app=smoke -o jsonpath='{.items[0].status.phase} {.items[0].status.conditions[?(@.type==\"PodScheduled\")].reason}' | grep -qx 'Pending Unschedulable'"
  ok "-> Pod $(k get pods -l app=smoke -o name) Pending: $(k get pods -l app=smoke -o jsonpath='{.items[0].status.conditions[0].message}')"
  local sa; sa="$(k get pods -l app=smoke -o jsonpath='{.items[0].spec.serviceAccountName} {.items[0].spec.volumes[0].projected.sources[0].serviceAccountToken.path}')"
  [ "$sa" = "default token" ] || die "the ServiceAccount admission did not add the projected token volume: '$sa'"
  ok "the ServiceAccount admission plugin added the projected token volume"

  step "admission: Pod Security"
  k create namespace smoke-baseline >/dev/null
  k label namespace smoke-baseline pod-security.kubernetes.io/enforce=baseline >/dev/null
  local out
  if out="$(k -n smoke-baseline create -f - 2>&1 <<'EOF'
apiVersion: v1
kind: Pod
metadata: { name: hostpath }
spec:
  containers: [{ name: c, image: registry.k8s.io/pause:3.10, volumeMounts: [{ name: h, mountPath: /h }] }]
  volumes: [{ name: h, hostPath: { path: /tmp } }]
EOF
)"; then die "a hostPath pod was admitted in a baseline namespace"; fi
  grep -q 'violates PodSecurity "baseline' <<<"$out" || die "unexpected refusal: $out"
  ok "a hostPath pod in a baseline namespace is refused: $(grep -o 'violates PodSecurity.*' <<<"$out" | head -n1)"

  step "the project's CRDs"
  k create -f "$repo/deploy/crds/" >/dev/null
  k wait --for condition=Established --timeout 60s crd/restoresessions.stash.appscode.com crd/repositories.stash.appscode.com >/dev/null
  ok "CRDs from deploy/crds created and Established: $(k get crd -o name | paste -sd' ' -)"
  k create namespace demo >/dev/null
  k create -f "$repo/examples/clusters/demo/repository.yaml" -f "$repo/examples/clusters/demo/deployment-restore.yaml" >/dev/null
  ok "examples/clusters/demo: $(k -n demo get repositories,restoresessions -o name | paste -sd' ' -)"
  if out="$(k -n demo create -f - 2>&1 <<'EOF'
apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata: { name: bad }
spec: { repository: { name: 7 } }
EOF
)"; then die "a RestoreSession against its schema was accepted"; fi
  ok "a RestoreSession against the CRD schema is refused: $(head -n1 <<<"$out" | cut -c1-160)"

  k create configmap smoke-persist --from-literal key=kept-across-restarts >/dev/null
}

check_persisted() {
  step "after the restart"
  [ "$(k get configmap smoke-persist -o jsonpath='{.data.key}')" = kept-across-restarts ] || die "the ConfigMap is gone"
  k -n demo get restoresession deployment-restore >/dev/null || die "the RestoreSession is gone"
  k get deployment smoke >/dev/null || die "the Deployment is gone"
  ok "the ConfigMap, the Deployment and the RestoreSession are still there"
  [ "$(kubectl --server "$(server)" --certificate-authority "$dir/pki/ca.crt" --token "$(cat "$dir/smoke-token")" \
      auth whoami -o jsonpath='{.status.userInfo.username}')" = system:serviceaccount:default:default ] ||
    die "the token issued before the restart no longer authenticates"
  ok "the token issued before the restart still authenticates (same keys, same issuer)"
}

server() { grep -o '"server": *"[^"]*"' "$kc" | cut -d'"' -f4; }

cleanup() {
  [ -z "$pid" ] || { kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
  if [ "$failed" -ne 0 ]; then
    echo "smoke: FAILED; the control plane's state and logs are in $dir (logs/, launch.err)" >&2
  elif [ "$made" -eq 1 ]; then
    rm -rf "$dir"
  fi
}

main "$@"; exit  # one line: bash reads no further, even if this file changes meanwhile
