#!/bin/bash
# Build a single-layer docker-archive image tarball (the format `docker save`
# writes and `ctr images import` reads) from a root filesystem directory.
# No registry, no docker, no third-party tools: tar + sha256sum only.
#
# usage: mkimage.sh -r ROOTFS_DIR -o OUT.tar -t NAME:TAG [-t NAME:TAG...] \
#                   [-e ENTRYPOINT_JSON] [-c CMD_JSON] [-w WORKDIR] [-u USER] [-E K=V...] [-a ARCH]
#   ENTRYPOINT_JSON / CMD_JSON are JSON arrays, e.g. '["/pause"]'
#   USER is the image's default user, numeric for runAsNonRoot: '65532' or '65532:65532'
#   -E adds an environment variable (PATH is always set)
#   -a ARCH is the image's architecture, as GOARCH names it (default amd64)
set -euo pipefail
rootfs='' out='' entry=null cmd=null workdir=/ user='' arch=amd64 tags=() envs=()
while getopts r:o:t:e:c:w:u:E:a: opt; do
  case $opt in
    r) rootfs=$OPTARG ;; o) out=$OPTARG ;; t) tags+=("$OPTARG") ;;
    e) entry=$OPTARG ;; c) cmd=$OPTARG ;; w) workdir=$OPTARG ;;
    u) user=$OPTARG ;; E) envs+=("$OPTARG") ;; a) arch=$OPTARG ;;
    *) echo "bad option" >&2; exit 2 ;;
  esac
done
[[ -d $rootfs && -n $out && ${#tags[@]} -gt 0 ]] || { sed -n '2,12p' "$0" >&2; exit 2; }
json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
envjson=$(json_str "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
for e in "${envs[@]}"; do envjson+=",$(json_str "$e")"; done
work=$(mktemp -d "${out}.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Deterministic-ish layer: numeric owners, sorted names, fixed mtime not forced
# (rootfs may contain many files; keep their mtimes).
tar --numeric-owner --sort=name --xattrs -C "$rootfs" -cf "$work/layer.tar" .
diff=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat > "$work/config.json" <<JSON
{"architecture":"$arch","os":"linux","created":"$created","config":{"User":$(json_str "$user"),"Env":[$envjson],"Entrypoint":$entry,"Cmd":$cmd,"WorkingDir":$(json_str "$workdir")},"rootfs":{"type":"layers","diff_ids":["sha256:$diff"]},"history":[{"created":"$created","created_by":"localcluster mkimage.sh"}]}
JSON
cfg=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$work/$cfg.json"
mkdir -p "$work/$diff" && mv "$work/layer.tar" "$work/$diff/layer.tar"
repotags=$(printf '"%s",' "${tags[@]}"); repotags=${repotags%,}
printf '[{"Config":"%s.json","RepoTags":[%s],"Layers":["%s/layer.tar"]}]\n' "$cfg" "$repotags" "$diff" > "$work/manifest.json"
tar -C "$work" -cf "$out.tmp" manifest.json "$cfg.json" "$diff/layer.tar"
mv "$out.tmp" "$out"
echo "wrote $out ($(du -h "$out" | cut -f1)) tags: ${tags[*]}${user:+ user: $user}"
