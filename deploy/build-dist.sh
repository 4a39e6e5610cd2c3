#!/usr/bin/env bash
# Builds what a mirror operator installs without a Rust toolchain, into dist/ (see --help):
# the static binary (musl, x86-64, any Linux), a tarball of it with install.sh and the units,
# and the Debian package, both from one build of the `dist` profile.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
target=x86_64-unknown-linux-musl
profile=dist

usage() {
  cat <<EOF
Usage: deploy/build-dist.sh [--out DIR] [--deb-version VERSION] [--no-build]

Builds samizdat for $target with the '$profile' profile (Cargo.toml), then writes to DIR
(default: dist/ of this checkout):
  samizdat-VERSION-x86_64-linux-musl          the static binary
  samizdat-VERSION-x86_64-linux-musl.tar.gz   it, deploy/install.sh and the systemd units
  samizdat_VERSION-REVISION_amd64.deb         the Debian package (cargo deb)
and prints their sizes. Needs the musl target (rustup target add $target), musl-gcc
(apt-get install musl-tools) and cargo-deb (cargo install cargo-deb): ./test.sh installs them.

Options:
  --out DIR              where the files go
  --deb-version VERSION  the package's version (default: the crate's, revision 1)
  --no-build             package the binary built before (no cargo build)
EOF
}

die() {
  echo "build-dist.sh: error: $*" >&2
  exit 2
}

out=$repo/dist
deb_version=""
build=true
while [ "$#" -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --out) [ "$#" -ge 2 ] || die "--out needs a value"; out=$2; shift 2 ;;
    --deb-version) [ "$#" -ge 2 ] || die "--deb-version needs a value"; deb_version=$2; shift 2 ;;
    --no-build) build=false; shift ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

command -v cargo >/dev/null || die "no cargo: building needs the Rust toolchain"
rustup target list --installed 2>/dev/null | grep -qx "$target" ||
  die "the $target target is missing: rustup target add $target (./test.sh does)"
command -v musl-gcc >/dev/null ||
  die "musl-gcc is missing (ring and SQLite are C): apt-get install musl-tools (./test.sh does)"
cargo deb --version >/dev/null 2>&1 ||
  die "cargo-deb is missing: cargo install cargo-deb --locked (./test.sh does)"

cd "$repo"
if $build; then
  cargo build --locked --profile "$profile" --target "$target" -p samizdat
fi
target_dir=$(cargo metadata --format-version 1 --no-deps --offline |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
built=$target_dir/$target/$profile
bin=$built/samizdat
[ -x "$bin" ] || die "no $bin: build it first (without --no-build)"
version=$("$bin" --version | awk '{print $2}')

# What the package holds besides the binary (Cargo.toml's [package.metadata.deb] assets),
# generated from the binary and deploy/.
pkg=$built/package
rm -rf "$pkg"
mkdir -p "$pkg/man" "$pkg/completions" "$pkg/units"
"$bin" man "$pkg/man" >/dev/null
gzip -9n "$pkg"/man/*.1
"$bin" completions bash >"$pkg/completions/samizdat"
"$bin" completions zsh >"$pkg/completions/_samizdat"
"$bin" completions fish >"$pkg/completions/samizdat.fish"
# Every unit of deploy/ (a socket unit too), with the package's binary path.
shopt -s nullglob
units=("$here"/samizdat-*.service "$here"/samizdat-*.socket)
shopt -u nullglob
[ "${#units[@]}" -gt 0 ] || die "no systemd unit in $here"
for unit in "${units[@]}"; do
  sed 's#/usr/local/bin/samizdat#/usr/bin/samizdat#g' "$unit" >"$pkg/units/$(basename "$unit")"
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
deb_args=(--no-build --no-strip --target "$target" --profile "$profile" -p samizdat --output "$out")
[ -n "$deb_version" ] && deb_args+=(--deb-version "$deb_version")
deb=$(cargo deb "${deb_args[@]}" | tail -n 1)
[ -f "$deb" ] || die "cargo deb made no package (it said: $deb)"

static=$out/samizdat-$version-x86_64-linux-musl
install -m 0755 "$bin" "$static"
# The tarball: what install.sh needs beside the binary (it takes ./samizdat when present).
bundle=$(mktemp -d)
trap 'rm -rf "$bundle"' EXIT
folder=$bundle/samizdat-$version-x86_64-linux-musl
mkdir -p "$folder"
install -m 0755 "$bin" "$folder/samizdat"
install -m 0755 "$here/install.sh" "$folder/install.sh"
install -m 0644 "${units[@]}" "$here/nginx-samizdat.conf" "$folder/"
tar -C "$bundle" -czf "$static.tar.gz" "$(basename "$folder")"

for file in "$static" "$static.tar.gz" "$deb"; do
  printf '%8.1f MB  %s\n' "$(($(stat -c %s "$file") / 1000))e-3" "$file"
done
