#!/usr/bin/env bash
# Installs what the tests need (on a fresh Debian machine with Rust) and runs them all.
# Idempotent: what is already installed or fetched is reused (caches under .cache/, ignored by git).
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)
cache=$root/.cache
mkdir -p "$cache"

# Debian packages: the corpora come from Debian, and the package lists must be fresh for that.
"$root/.ci/apt-fresh.sh" "$cache"

# Real peers the tests start: nginx and rsync (the plain web root a volunteer mirror pushes to
# and serves), curl and openssl (the HTTP client and test certificates for the mirror's server),
# systemd-analyze (checks deploy/samizdat-mirror.service; systemd need not be the init system),
# aria2c (downloads through the directory's Metalink), GNU time (/usr/bin/time -v: the peak
# memory of `add` on bombs and large files), catdoc (catdoc and xls2csv, which `add` runs on
# legacy DOC and XLS files).
# Installed when missing and we are root; otherwise the tests that need one name it.
if [ ! -x /usr/sbin/nginx ] || ! command -v rsync >/dev/null || ! command -v curl >/dev/null \
  || ! command -v openssl >/dev/null || ! command -v systemd-analyze >/dev/null \
  || ! command -v aria2c >/dev/null || [ ! -x /usr/bin/time ] || ! command -v catdoc >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq nginx rsync curl openssl systemd aria2 time catdoc >/dev/null
  else
    echo "test.sh: not root: install nginx rsync curl openssl systemd aria2 time catdoc yourself" >&2
  fi
fi

# Ingest's tools, each run in a child process: readpst (pst-utils: PST and OST mailboxes),
# Tesseract with English and French (OCR), pdftoppm and pdftotext (poppler-utils: a PDF's pages as
# images for OCR; the text layer its test compares with). LibreOffice Impress (headless): the PPT
# test's producer and oracle (a presentation turned into PPTX, PPT and PDF).
if ! command -v readpst >/dev/null || ! command -v tesseract >/dev/null \
  || [ ! -e /usr/share/tesseract-ocr/5/tessdata/fra.traineddata ] || ! command -v pdftoppm >/dev/null \
  || ! command -v soffice >/dev/null || [ ! -e /usr/lib/libreoffice/program/libslideshowlo.so ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pst-utils tesseract-ocr tesseract-ocr-eng \
    tesseract-ocr-fra poppler-utils libreoffice-impress-nogui >/dev/null
fi

# Pebble (Let's Encrypt's RFC 8555 test server) and its DNS mock pebble-challtestsrv: the ACME
# test's certificate authority (tests/acme.rs).
if ! command -v pebble >/dev/null || ! command -v pebble-challtestsrv >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pebble >/dev/null
  else
    echo "test.sh: not root: install pebble yourself" >&2
  fi
fi

# Browser tests of the reader site (tests/browser/README.md): Debian's Chromium, with fonts so
# screenshots show text; playwright-core (drives it), axe-core and html-validate from npm, pinned
# by tests/browser/package-lock.json and reinstalled (npm ci) when that file changes.
if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  else
    echo "test.sh: not root: install chromium fonts-dejavu-core yourself" >&2
  fi
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "test.sh: not root: install nodejs (20 or newer) and npm yourself" >&2
  fi
fi
browser=$root/tests/browser
if ! cmp -s "$browser/package-lock.json" "$browser/node_modules/.samizdat-lock-stamp"; then
  npm ci --prefix "$browser" --no-audit --no-fund --loglevel=error >/dev/null
  cp "$browser/package-lock.json" "$browser/node_modules/.samizdat-lock-stamp"
fi
export SAMIZDAT_BROWSER_DIR=$browser
export SAMIZDAT_CHROMIUM=/usr/bin/chromium

# python-tuf (the independent TUF client our releases must satisfy), in a venv of its own.
# mmdb-writer: the directory's tests write a tiny MaxMind-format country database with it.
if [ ! -x "$cache/venv/bin/python" ] || ! "$cache/venv/bin/python" -c 'import tuf.ngclient, mmdb_writer' 2>/dev/null; then
  python3 -m venv "$cache/venv"
  "$cache/venv/bin/pip" install -q 'tuf==7.0.1' 'mmdb-writer==0.2.7'
fi

# Real corpora (spam-assassin e-mails, linux-doc prose and HTML, texlive-humanities PDFs).
corpora=$cache/corpora
"$root/../shared/corpora/fetch.sh" all "$corpora" >/dev/null

# Real Outlook samples, from packages of the registries: the three .msg files the PyPI sdist of
# msg-parser 1.2.0 ships (its tests), and the PST and OST files the npm package pst-extractor
# 1.12.0 ships (its examples).
outlook=$corpora/outlook
if [ ! -e "$outlook/.done" ]; then
  rm -rf "$outlook"
  mkdir -p "$outlook/dl" "$outlook/msg" "$outlook/pst"
  "$cache/venv/bin/pip" download -q --no-deps --no-binary :all: 'msg-parser==1.2.0' -d "$outlook/dl"
  tar xzf "$outlook/dl/msg_parser-1.2.0.tar.gz" -C "$outlook/dl"
  cp "$outlook"/dl/msg_parser-1.2.0/tests/files/*.msg "$outlook/msg/"
  (cd "$outlook/dl" && npm pack --silent pst-extractor@1.12.0 >/dev/null)
  tar xzf "$outlook/dl/pst-extractor-1.12.0.tgz" -C "$outlook/dl"
  cp "$outlook"/dl/package/example/testdata/*.pst "$outlook"/dl/package/example/testdata/*.ost "$outlook/pst/"
  rm -rf "$outlook/dl"
  touch "$outlook/.done"
fi

export SAMIZDAT_CORPORA=$corpora
export SAMIZDAT_PYTHON=$cache/venv/bin/python

# The Debian package and the static binary (deploy/build-dist.sh; tests/package.rs installs
# them on a bare Debian 12 root): the musl target and musl-gcc (ring and SQLite are C),
# cargo-deb (pinned), `file`, and mmdebstrap for the root, made once and cached as a tarball.
if ! rustup target list --installed | grep -qx x86_64-unknown-linux-musl; then
  rustup target add x86_64-unknown-linux-musl
fi
if ! command -v musl-gcc >/dev/null || ! command -v mmdebstrap >/dev/null || ! command -v file >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools mmdebstrap file >/dev/null
  else
    echo "test.sh: not root: install musl-tools mmdebstrap file yourself" >&2
  fi
fi
if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb 3.8.0" ]; then
  cargo install cargo-deb --version 3.8.0 --locked --quiet
fi
if [ ! -f "$cache/debian-bookworm.tar" ] && [ "$(id -u)" = 0 ]; then
  mmdebstrap --quiet --format=tar --variant=minbase --include=man-db,systemd bookworm \
    "$cache/debian-bookworm.tar.tmp" http://deb.debian.org/debian
  mv "$cache/debian-bookworm.tar.tmp" "$cache/debian-bookworm.tar"
fi
# The release build the package test installs, here rather than inside the test; in the
# environment the test gives it (PATH and HOME, rustup's and cargo's homes), so that its own
# run of build-dist.sh finds the build fresh.
env -i PATH="$PATH" HOME="$HOME" ${RUSTUP_HOME:+RUSTUP_HOME="$RUSTUP_HOME"} \
  ${CARGO_HOME:+CARGO_HOME="$CARGO_HOME"} "$root/deploy/build-dist.sh" --out "$root/dist"

cargo build --workspace --all-targets --locked
cargo nextest run --workspace --locked --no-fail-fast "$@"

# Fuzz the untrusted-input readers (e-mail, mail dates, JSON Lines, TUF metadata) 15 s each;
# cargo-fuzz is installed on first use, builds go to fuzz/target (cold ≈ 4 min, warm ≈ 1 min).
# Not when the run was narrowed to some tests (`./test.sh FILTER`).
if [ "$#" = 0 ]; then
  "$root/fuzz/run.sh" 15
fi
