#!/usr/bin/env bash
# The Go tools the checks run, at the versions .tool-versions pins (the
# workflows' goreleaser-action reads the same file), built from source through
# the Go module proxy once, into bin/tools/NAME-vVERSION, and reused after.
#
#   hack/tools.sh NAME           build NAME unless it is built; print its path
#   hack/tools.sh --built NAME   print its path if it is built; else exit 1
#
# NAME  actionlint  github.com/rhysd/actionlint (~15 s to build cold)
#       goreleaser  github.com/goreleaser/goreleaser/v2 (~6 min cold on 2 busy cores)
#       kueue       sigs.k8s.io/kueue's manager, for the e2e test of Kueue admission
#                   (hack/localcluster/kueue.sh; ~10 min cold on 2 busy cores)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
declare -A PKG=(
  [actionlint]=github.com/rhysd/actionlint/cmd/actionlint
  [goreleaser]=github.com/goreleaser/goreleaser/v2
  [kueue]=sigs.k8s.io/kueue/cmd/kueue
)
built_only=0
if [[ ${1:-} == --built ]]; then built_only=1; shift; fi
name=${1:-}
[[ $# == 1 && -n ${PKG[$name]:-} ]] || { sed -n '6,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
version=$(awk -v n="$name" '$1 == n { print $2; exit }' "$ROOT/.tool-versions")
[[ -n $version ]] || { echo "hack/tools.sh: .tool-versions has no version for $name" >&2; exit 1; }
bin=$ROOT/bin/tools/$name-v$version
if [[ ! -x $bin ]]; then
  ((built_only)) && exit 1
  echo "hack/tools.sh: building $name v$version (${PKG[$name]})" >&2
  mkdir -p "$ROOT/bin/tools"
  tmp=$(mktemp -d "$ROOT/bin/tools/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  GOBIN=$tmp go install "${PKG[$name]}@v$version"
  mv "$tmp/$name" "$bin"
fi
echo "$bin"
