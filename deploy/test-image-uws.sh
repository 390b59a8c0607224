#!/usr/bin/env bash
# Exercises the uWebSockets.js build the container images run (@btc-vision/uwebsockets.js,
# `uws-modern`: glibc >= 2.38, so it never loads on an older dev machine or CI box) without
# Docker: builds a Debian 13 (trixie) root with debootstrap from Debian's packages, and in a
# chroot runs the gateway's own loader (gateway/dist/uws-loader.js, the shim refused) and an
# HTTP and a WebSocket round trip on loopback (deploy/uws-image-check/check.mjs), with
#   - Debian 13's own nodejs package (Node 20, modules ABI 115), and
#   - Node 24 (ABI 137, the images' Node) from the npm registry's node-linux-<arch> package.
#
# A release script, not part of `pnpm test`: it needs root (debootstrap, chroot, mount) and a
# few minutes the first time (the root is kept and reused). Usage, from the repository root
# after `pnpm install && pnpm build`:
#
#   sudo deploy/test-image-uws.sh            # both Node versions
#   sudo deploy/test-image-uws.sh --debian   # Debian's nodejs only (no npm download)
#
# Environment: UWS_TEST_ROOT (default /var/tmp/chat-uws-trixie) where the root is kept;
# DEBIAN_MIRROR (default: the first Debian mirror this machine's apt sources name);
# UWS_TEST_NODE24 (default 24) the node-linux-<arch> version range to fetch.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
root=${UWS_TEST_ROOT:-/var/tmp/chat-uws-trixie}
node24_range=${UWS_TEST_NODE24:-24}
with_node24=1
case "${1:-}" in
  --debian) with_node24=0 ;;
  '') ;;
  -h | --help)
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "unknown option: $1 (try --help)" >&2
    exit 2
    ;;
esac

die() {
  echo "test-image-uws: $*" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot and mount): sudo $0"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
[ -f "$repo/gateway/dist/uws-loader.js" ] || die "gateway/dist/uws-loader.js is missing: run pnpm install && pnpm build first"

# The mirror this machine's apt already uses (deb822 .sources or one-line sources.list).
mirror_from_apt() {
  local file
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' "$file"
  done | head -n1
  if [ -f /etc/apt/sources.list ]; then
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }' /etc/apt/sources.list
  fi
}
mirror=${DEBIAN_MIRROR:-$(mirror_from_apt | head -n1)}
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list*; set DEBIAN_MIRROR"

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) die "unsupported machine $(uname -m) (the uws builds ship x64 and arm64)" ;;
esac

# 1. The Debian 13 root, with Debian's nodejs, made once and reused.
if [ -x "$root/usr/bin/node" ] && grep -q '^13' "$root/etc/debian_version" 2>/dev/null; then
  echo "== reusing the Debian $(cat "$root/etc/debian_version") root at $root"
else
  echo "== debootstrap trixie into $root from $mirror (a few minutes)"
  rm -rf "$root"
  debootstrap --variant=minbase --include=nodejs trixie "$root" "$mirror"
fi
echo "   glibc: $(chroot "$root" /usr/bin/ldd --version | head -n1)"

# 2. What the gateway image holds of uWS: the loader, the uws-modern package (this platform's
#    binaries only, as deploy/docker/prune-native.mjs keeps), and ws for the test's client.
stage="$root/opt/uws-check"
rm -rf "$stage"
mkdir -p "$stage/node_modules"
cp "$repo/deploy/uws-image-check/check.mjs" "$repo/gateway/dist/uws-loader.js" "$stage/"
echo '{ "type": "module", "private": true }' >"$stage/package.json"
uws_src=$(cd "$repo/gateway" && node -e 'const p = require("node:path"); console.log(p.dirname(require.resolve("uws-modern")))')
mkdir -p "$stage/node_modules/uws-modern"
cp "$uws_src/package.json" "$uws_src/uws.js" "$uws_src/ESM_wrapper.mjs" "$stage/node_modules/uws-modern/"
cp "$uws_src"/uws_linux_"$arch"_*.node "$stage/node_modules/uws-modern/"
ws_src=$(cd "$repo" && node -e 'const p = require("node:path"); console.log(p.dirname(require.resolve("ws")))')
cp -r "$ws_src" "$stage/node_modules/ws"

# 3. Node 24 from the npm registry (the node-linux-<arch> package carries the official binary).
if [ "$with_node24" = 1 ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "== fetching node-linux-$arch@$node24_range from the npm registry"
  tarball=$(cd "$tmp" && npm pack --silent "node-linux-$arch@$node24_range" | tail -n1)
  rm -rf "$root/opt/node24"
  mkdir -p "$root/opt/node24"
  tar -xzf "$tmp/$tarball" -C "$root/opt/node24" --strip-components=1
fi

# 4. Run the check in the chroot, /proc mounted for the duration.
mount -t proc proc "$root/proc"
cleanup_mount() { umount "$root/proc" 2>/dev/null || true; }
trap 'cleanup_mount; rm -rf "${tmp:-/nonexistent-uws-tmp}"' EXIT

failed=0
run_check() {
  local label=$1 node=$2
  echo "== $label: $node"
  if chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp "$node" /opt/uws-check/check.mjs; then
    echo "   ok"
  else
    echo "   FAILED" >&2
    failed=1
  fi
}
run_check "Debian 13's nodejs" /usr/bin/node
[ "$with_node24" = 1 ] && run_check "Node $node24_range (node-linux-$arch)" /opt/node24/bin/node

if [ "$failed" = 0 ]; then echo "test-image-uws: PASS"; else die "FAIL"; fi
