#!/usr/bin/env bash
# Installs what the unit tests need on a Debian machine: a real redis-server
# (tests start their own on loopback: plain, TLS-only, 3-master Clusters and
# Sentinels; Debian's redis-server has TLS, cluster mode and Sentinel built
# in, and a Sentinel is `redis-server FILE --sentinel`, so the redis-sentinel
# package, which adds only a system service, is not needed; test certificates
# are made in Go, internal/certgen), redis-cli (the seeding benchmark's
# baseline), python3-redis (the docs' rediswq.py worker runs in the
# interoperation tests), hyperfine (bench/seed-loopback.sh times the CLI as a
# process with it), shellcheck (actionlint checks the workflows' scripts with
# it) and actionlint itself (hack/tools.sh, into bin/tools). Does nothing when
# all are present.
set -euo pipefail

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
/usr/bin/python3 -c 'import redis' 2>/dev/null || need+=(python3-redis)
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v shellcheck >/dev/null || need+=(shellcheck)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

"$(dirname "$0")/tools.sh" actionlint >/dev/null
