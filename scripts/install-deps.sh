#!/usr/bin/env bash
# Installs the system programs the tests and the demo use, when missing: restic, git, kubectl, and
# OpenSSH (the client for ssh:// git remotes, the server sshd for the SSH git tests), and the
# database servers and clients of the database restore tests (test/databases): PostgreSQL,
# MariaDB (it serves the MySQL and MariaDB tasks) and Redis. The tests start their own servers on
# 127.0.0.1 in a temp dir; the packages' own services are not needed.
# Uses the system's package manager (Debian's apt or Homebrew); needs root or sudo for apt.
set -euo pipefail
missing=()
command -v restic >/dev/null 2>&1 || missing+=(restic)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
# sshd is only needed (and only packaged separately) on Debian; macOS ships both.
if command -v apt-get >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ]; then missing+=(openssh-server); fi
# Debian puts the PostgreSQL server programs in /usr/lib/postgresql/<major>/bin, not on PATH.
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then missing+=(postgresql); fi
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ] && ! command -v mysqld >/dev/null 2>&1; then missing+=(mariadb-server); fi
command -v mariadb >/dev/null 2>&1 || command -v mysql >/dev/null 2>&1 || missing+=(mariadb-client)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
if command -v apt-get >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null 2>&1 || {
    $sudo apt-get update >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null; }
elif command -v brew >/dev/null 2>&1; then
  for p in "${missing[@]}"; do
    [ "$p" = kubernetes-client ] && p=kubernetes-cli
    [ "$p" = openssh-client ] && p=openssh
    [ "$p" = postgresql-client ] && p=libpq
    [ "$p" = mariadb-server ] && p=mariadb
    [ "$p" = mariadb-client ] && continue
    [ "$p" = redis-server ] && p=redis
    [ "$p" = redis-tools ] && continue
    brew install "$p"
  done
else
  echo "install-deps: please install ${missing[*]} (no apt-get or brew found)" >&2
  exit 1
fi
