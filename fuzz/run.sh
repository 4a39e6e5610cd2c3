#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20): installs cargo-fuzz if missing, builds,
# fuzzes with the committed seeds (fuzz/seeds/TARGET, read only) and the working corpus
# (fuzz/corpus/TARGET, git-ignored, kept between runs). Exits non-zero if any target crashed,
# naming the input that crashes it (under fuzz/artifacts/TARGET/).
#
# Environment: FUZZ_TARGETS (default: all), FUZZ_SANITIZER (none | address; default none: our
# crates forbid unsafe code, and ASan needs its own cold build of every dependency).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-20}
sanitizer=${FUZZ_SANITIZER:-none}
targets=${FUZZ_TARGETS:-email maildate jsonl metadata trusted_set request container office}
cargo_fuzz_version=0.13.2

if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]; then
  cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked
fi

# cargo-fuzz passes nightly-only flags (-Zsanitizer, sancov); stable rustc takes them with this.
export RUSTC_BOOTSTRAP=1
failed=()
for target in $targets; do
  # fuzz/ is a workspace of its own: its target/ is fuzz/target, not the main one. Only the
  # targets run are built.
  cargo fuzz build --sanitizer "$sanitizer" "$target"
  # This run's crashes only: an input that crashed before would keep its name (crash-<sha1>).
  rm -rf "artifacts/$target"
  mkdir -p "corpus/$target" "artifacts/$target"
  echo "== fuzz $target for ${seconds}s"
  if ! cargo fuzz run "$target" --sanitizer "$sanitizer" "corpus/$target" "seeds/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      2> "artifacts/$target.log"; then
    failed+=("$target")
    echo "!! $target crashed (full log: fuzz/artifacts/$target.log):" >&2
    grep -m 1 -A 2 -E 'panicked at|ERROR: libFuzzer|==ERROR' "artifacts/$target.log" >&2 || tail -n 20 "artifacts/$target.log" >&2
    for new in $(ls "artifacts/$target"); do
      echo "!! crashing input: fuzz/artifacts/$target/$new" >&2
      echo "   reproduce: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run $target --sanitizer $sanitizer artifacts/$target/$new)" >&2
    done
  else
    grep -E 'cov: ' "artifacts/$target.log" | tail -n 1 || true
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzzing: no crash in ${targets// /, } (${seconds}s each)"
