#!/usr/bin/env bash
# apt-fresh.sh CACHE_DIR: refreshes Debian's package lists when run as root and they are older
# than 12 hours (stamp CACHE_DIR/apt-updated). The corpora come from Debian, and stale lists
# name versions the mirror no longer has (a 404 for linux-doc). Shared by ./test.sh and bench/.
set -euo pipefail
cache=${1:?usage: apt-fresh.sh CACHE_DIR}
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  if [ ! -f "$cache/apt-updated" ] || [ -n "$(find "$cache/apt-updated" -mmin +720)" ]; then
    mkdir -p "$cache" && apt-get update -qq && touch "$cache/apt-updated"
  fi
fi
