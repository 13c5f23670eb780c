#!/usr/bin/env bash
# Installs the system programs the tests and the demo use, when missing: restic, git, kubectl, and
# OpenSSH (the client for ssh:// git remotes, the server sshd for the SSH git tests).
# Uses the system's package manager (Debian's apt or Homebrew); needs root or sudo for apt.
set -euo pipefail
missing=()
command -v restic >/dev/null 2>&1 || missing+=(restic)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
# sshd is only needed (and only packaged separately) on Debian; macOS ships both.
if command -v apt-get >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ]; then missing+=(openssh-server); fi
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
if command -v apt-get >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get install -y "${missing[@]}" >/dev/null 2>&1 || {
    $sudo apt-get update >/dev/null && $sudo apt-get install -y "${missing[@]}" >/dev/null; }
elif command -v brew >/dev/null 2>&1; then
  for p in "${missing[@]}"; do
    [ "$p" = kubernetes-client ] && p=kubernetes-cli
    [ "$p" = openssh-client ] && p=openssh
    brew install "$p"
  done
else
  echo "install-deps: please install ${missing[*]} (no apt-get or brew found)" >&2
  exit 1
fi
