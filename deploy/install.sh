#!/usr/bin/env bash
# Installs a samizdat mirror on a fresh Debian machine (12 or 13) in one command; see --help.
# Never builds: it takes the Debian package or a prebuilt binary (deploy/build-dist.sh makes
# both). The package ships it as /usr/sbin/samizdat-install-mirror.
set -euo pipefail

unit_name=samizdat-mirror
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

usage() {
  cat <<EOF
Usage: sudo deploy/install.sh --root ROOT.json --peer URL [--peer URL...] [OPTIONS] [-- INIT-FLAGS]
       sudo samizdat-install-mirror ...   (the same script, from the Debian package)

Installs samizdat, creates the system user 'samizdat', writes the mirror's configuration to
PREFIX/var/lib/$unit_name (samizdat mirror init, which prints the SHA-256 of the root.json it
trusts: compare it with the one the publisher publishes), and starts the service (systemctl
enable, restart). The socket unit ($unit_name.socket) holds the listening socket across
restarts: an upgrade refuses no reader. samizdat comes from, in this order:
  --deb FILE       the Debian package, installed with apt-get (binary /usr/bin/samizdat, units
                   in /lib/systemd/system);
  --binary FILE    a prebuilt binary (the static one of deploy/build-dist.sh), installed to
                   PREFIX/usr/local/bin with the units to PREFIX/etc/systemd/system;
  the installed package, when this script is /usr/sbin/samizdat-install-mirror;
  ./samizdat beside this script (the static tarball), installed as with --binary;
  the installed package;
  target/release/samizdat of this checkout, installed as with --binary.

Options:
  --root FILE         the publisher's trusted root.json
  --peer URL          a peer to sync from (the origin or another mirror); repeat for several
  --listen ADDR:PORT  the address the mirror serves HTTP on (default: samizdat's); also the
                      socket unit's ListenStream= (a drop-in, $unit_name.socket.d/listen.conf)
  --interval SECS     seconds between two syncs (default: samizdat's)
  --domain NAME, --acme-directory URL, --acme-email ADDR, --acme-*, --plain-listen ADDR,
  --plain-http-for-peers
                      passed to samizdat mirror init (HTTPS with an ACME certificate), as is
                      everything after --
  --deb FILE          the Debian package to install
  --binary PATH       the samizdat binary to install
  --prefix DIR        install under DIR instead of / (an image, or a test); then no user is
                      created and systemd is not touched (not with --deb)
  -h, --help          this help

Run again to upgrade (with the newer --deb or --binary): samizdat and the unit are replaced, the
service restarted, and the mirror's state and configuration kept (so does apt-get install of a
newer package alone). Given any of --root, --peer, --listen, --interval or flags for mirror init,
the configuration is written anew from the flags (--peer is then required; --root defaults to
the mirror's current root.json; a flag left out takes samizdat's default); the synced releases
stay.
The SAMIZDAT_* environment variables are ignored: the flags alone make the configuration.
EOF
}

die() {
  echo "install.sh: error: $*" >&2
  exit 2
}

root_json=""
peers=()
listen=""
interval=""
binary=""
deb=""
init_flags=()
prefix=/
need_value() {
  if [ "$#" -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value (see --help)"; fi
}
while [ "$#" -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --root) need_value "$@"; root_json=$2; shift 2 ;;
    --peer) need_value "$@"; peers+=("$2"); shift 2 ;;
    --listen) need_value "$@"; listen=$2; shift 2 ;;
    --interval) need_value "$@"; interval=$2; shift 2 ;;
    --binary) need_value "$@"; binary=$2; shift 2 ;;
    --deb) need_value "$@"; deb=$2; shift 2 ;;
    --prefix) need_value "$@"; prefix=$2; shift 2 ;;
    --domain | --acme-* | --plain-listen) need_value "$@"; init_flags+=("$1" "$2"); shift 2 ;;
    --plain-http-for-peers) init_flags+=("$1"); shift ;;
    --root=* | --peer=* | --listen=* | --interval=* | --binary=* | --deb=* | --prefix=* \
      | --domain=* | --acme-*=* | --plain-listen=*)
      set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
    --) init_flags+=("${@:2}"); break ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

# Where things go.
mkdir -p "$prefix" || die "cannot create --prefix $prefix"
prefix=$(cd "$prefix" && pwd)
system=false
[ "$prefix" = / ] && system=true
p=${prefix%/}
bindir=$p/usr/local/bin
unitdir=$p/etc/systemd/system
state=$p/var/lib/$unit_name
if $system && [ "$(id -u)" != 0 ]; then
  die "installing to / needs root: run it with sudo (or give --prefix DIR)"
fi

# The configuration: new when flags are given, else the installed one is kept.
configure=false
if [ -n "$root_json" ] || [ "${#peers[@]}" -gt 0 ] || [ -n "$listen" ] || [ -n "$interval" ] \
  || [ "${#init_flags[@]}" -gt 0 ]; then
  configure=true
fi
fresh=true
[ -f "$state/mirror.toml" ] && fresh=false
if $fresh && [ -z "$root_json" ]; then
  die "no mirror configured in $state yet: give --root ROOT.json (the publisher's trusted root) and --peer URL"
fi
if $configure && [ "${#peers[@]}" -eq 0 ]; then
  die "give at least one --peer URL (the origin or another mirror) with the new configuration"
fi
if [ -n "$root_json" ] && [ ! -f "$root_json" ]; then
  die "--root $root_json: no such file (the publisher's root.json)"
fi
for peer in "${peers[@]}"; do
  case "$peer" in
    http://* | https://*) ;;
    *) die "--peer $peer: not an http:// or https:// URL" ;;
  esac
done

# samizdat: the package's (installed first with --deb), or a binary with the unit beside this
# script. Never built here.
packaged=false
if [ -n "$deb" ] && ! $system; then die "--deb installs into / with apt-get: no --prefix"; fi
if [ -n "$deb" ] && [ -n "$binary" ]; then die "give --deb FILE or --binary PATH, not both"; fi
if [ -n "$deb" ]; then
  [ -f "$deb" ] || die "--deb $deb: no such file (the samizdat .deb)"
  packaged=true
elif [ -z "$binary" ]; then
  if $system && [ "$here" = /usr/sbin ]; then
    packaged=true
  elif [ -x "$here/samizdat" ]; then
    binary=$here/samizdat
  elif $system && dpkg-query -W -f='${Status}' samizdat 2>/dev/null | grep -q 'ok installed'; then
    packaged=true
  elif [ -x "${CARGO_TARGET_DIR:-$repo/target}/release/samizdat" ]; then
    binary=${CARGO_TARGET_DIR:-$repo/target}/release/samizdat
  else
    die "no samizdat to install: give --deb FILE or --binary PATH (deploy/build-dist.sh builds both)"
  fi
fi
staging=""
unpacked=""
cleanup() {
  if [ -n "$staging" ]; then rm -rf "$staging"; fi
  if [ -n "$unpacked" ]; then rm -rf "$unpacked"; fi
}
trap cleanup EXIT
if $packaged; then
  binary=/usr/bin/samizdat
  if [ -n "$deb" ]; then
    # The package's binary, unpacked aside, configures the mirror before anything is installed.
    unpacked=$(mktemp -d)
    dpkg-deb --extract "$deb" "$unpacked" 2>/dev/null || die "--deb $deb: not a Debian package"
    binary=$unpacked/usr/bin/samizdat
    [ -x "$binary" ] || die "--deb $deb: no usr/bin/samizdat in it"
  fi
  [ -x "$binary" ] || die "the samizdat package is not installed: give --deb FILE"
  for unit in "$unit_name.service" "$unit_name.socket"; do
    if [ -f "$unitdir/$unit" ]; then
      echo "install.sh: warning: $unitdir/$unit (an install with --binary) overrides the package's unit: remove it and $bindir/samizdat" >&2
    fi
  done
else
  if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then die "--binary $binary: not an executable file"; fi
  [ -f "$here/$unit_name.service" ] || die "missing $here/$unit_name.service"
  [ -f "$here/$unit_name.socket" ] || die "missing $here/$unit_name.socket"
fi
"$binary" --version >/dev/null 2>&1 || die "$binary does not run here (wrong architecture?)"

# Runs `samizdat mirror init DIR` with the flags given (and no SAMIZDAT_* from the environment).
mirror_init() {
  local dir=$1 root=$2
  local args=(mirror init "$dir" --root "$root")
  for peer in "${peers[@]}"; do args+=(--peer "$peer"); done
  [ -n "$listen" ] && args+=(--listen "$listen")
  [ -n "$interval" ] && args+=(--interval "$interval")
  args+=("${init_flags[@]}")
  env -u SAMIZDAT_ROOT -u SAMIZDAT_PEERS -u SAMIZDAT_LISTEN -u SAMIZDAT_INTERVAL \
    "$binary" "${args[@]}"
}

# Configuration first (with the new binary), so that a bad flag changes nothing installed.
mkdir -p "$(dirname "$state")"
if $fresh; then
  if [ -e "$state" ] && [ -n "$(ls -A "$state")" ]; then
    die "$state exists but holds no mirror.toml: move it away first"
  fi
  rmdir "$state" 2>/dev/null || true
  if ! mirror_init "$state" "$root_json"; then
    rm -rf "$state"
    die "samizdat mirror init failed (see above); nothing was installed"
  fi
  echo "configured a new mirror in $state"
elif $configure; then
  # Written beside the mirror, then moved in: its releases stay, whatever init does.
  staging=$(mktemp -d "$(dirname "$state")/.$unit_name-init.XXXXXX")
  root_src=$root_json
  if [ -z "$root_src" ]; then
    root_src=$staging/current-root.json
    cp "$state/root.json" "$root_src"
  fi
  mirror_init "$staging/new" "$root_src" ||
    die "samizdat mirror init failed (see above); nothing was changed"
  [ -f "$staging/new/mirror.toml" ] || die "samizdat mirror init wrote no mirror.toml"
  if [ -n "$root_json" ]; then
    mv -f "$staging/new/root.json" "$state/root.json"
  fi
  mv -f "$staging/new/mirror.toml" "$state/mirror.toml"
  echo "new configuration written to $state/mirror.toml (releases kept)"
else
  echo "keeping the configuration in $state/mirror.toml"
fi

# Binary and unit, each replaced by a rename (a running binary is not overwritten in place).
install_file() {
  local mode=$1 from=$2 to=$3
  mkdir -p "$(dirname "$to")"
  install -m "$mode" "$from" "$to.new"
  mv -f "$to.new" "$to"
}
# The socket unit listens where mirror.toml does: the --listen addresses in a drop-in (in
# PREFIX/etc/systemd/system, for the package's unit too), or the unit's own (samizdat's
# default) when a new configuration has none; kept on an upgrade.
if $packaged; then socket_unit=/lib/systemd/system/$unit_name.socket; else socket_unit=$unitdir/$unit_name.socket; fi
socket_before=$(cat "$socket_unit" "$unitdir/$unit_name.socket.d/listen.conf" 2>/dev/null || true)
if $packaged; then
  if [ -n "$deb" ]; then
    case "$deb" in /*) ;; *) deb=$(pwd)/$deb ;; esac
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$deb" ||
      die "apt-get install $deb failed (see above); the mirror's configuration is in $state"
  fi
  [ -f "$socket_unit" ] || die "the samizdat package has no $socket_unit: install a newer one"
else
  install_file 0755 "$binary" "$bindir/samizdat"
  install_file 0644 "$here/$unit_name.service" "$unitdir/$unit_name.service"
  install_file 0644 "$here/$unit_name.socket" "$socket_unit"
fi
# A new configuration without --listen may still move the address (--domain makes it HTTPS's,
# 0.0.0.0:443): the socket takes mirror.toml's top-level `listen = ["ADDR", ...]`.
if [ -z "$listen" ] && $configure; then
  listen=$(sed -n '/^\[/q; s/^listen = \[\(.*\)\]$/\1/p' "$state/mirror.toml" | tr -d '" ')
  if [ "$listen" = "0.0.0.0:8080" ]; then listen=""; fi
fi
if [ -n "$listen" ]; then
  mkdir -p "$unitdir/$unit_name.socket.d"
  printf '# Written by install.sh --listen: the addresses of mirror.toml.\n[Socket]\nListenStream=\n' \
    >"$unitdir/$unit_name.socket.d/listen.conf.new"
  IFS=, read -ra addresses <<<"$listen"
  printf 'ListenStream=%s\n' "${addresses[@]}" >>"$unitdir/$unit_name.socket.d/listen.conf.new"
  mv -f "$unitdir/$unit_name.socket.d/listen.conf.new" "$unitdir/$unit_name.socket.d/listen.conf"
elif $configure; then
  rm -f "$unitdir/$unit_name.socket.d/listen.conf"
fi
socket_after=$(cat "$socket_unit" "$unitdir/$unit_name.socket.d/listen.conf" 2>/dev/null || true)
if $packaged; then
  echo "installed the samizdat package ($(/usr/bin/samizdat --version)): /usr/bin/samizdat, /lib/systemd/system/$unit_name.service and .socket"
else
  echo "installed $bindir/samizdat ($("$bindir/samizdat" --version)), $unitdir/$unit_name.service and .socket"
fi

if ! $system; then
  echo "prefix $prefix is not /: no system user created, systemd not touched"
  exit 0
fi

# The service's user owns its state (systemd's StateDirectory= would also hand it over).
if ! getent passwd samizdat >/dev/null; then
  useradd --system --user-group --home-dir "/var/lib/$unit_name" --no-create-home \
    --shell /usr/sbin/nologin --comment "samizdat mirror" samizdat
  echo "created system user samizdat"
fi
chown -R samizdat:samizdat "$state"

if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable "$unit_name.socket" "$unit_name.service"
  if [ "$socket_before" != "$socket_after" ] || ! systemctl is-active --quiet "$unit_name.socket"; then
    # A new or moved socket: the running mirror (which may hold the address itself) stops
    # first, so this restart refuses connections for a moment; later upgrades do not.
    systemctl stop "$unit_name.service"
    systemctl restart "$unit_name.socket"
  fi
  systemctl restart "$unit_name.service"
  echo "started $unit_name: systemctl status $unit_name; journalctl -u $unit_name -f"
else
  echo "systemd is not running here: start it later with systemctl daemon-reload && systemctl enable --now $unit_name.socket $unit_name.service"
fi
