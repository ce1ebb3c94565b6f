#!/usr/bin/env bash
# Installs what `npm run bench:cluster` needs and is missing: nft (byte counters) and serf (the
# reference cluster). Debian/Ubuntu only; does nothing when both are already on PATH.
set -euo pipefail
missing=()
command -v nft >/dev/null 2>&1 || missing+=(nftables)
command -v serf >/dev/null 2>&1 || missing+=(serf)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "bench:cluster: missing ${missing[*]} and apt-get is not available; install them by hand" >&2
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "bench:cluster: missing ${missing[*]}; run as root (or install them) so they can be installed" >&2
  exit 0
fi
echo "bench:cluster: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
