#!/usr/bin/env bash
# Fuzzes every parser of user input: the log parsers of logwarden-parse, the
# query parser, the Elasticsearch query DSL translation, the _bulk reader,
# Sigma rule files, the detector's evaluation of any event, and the records
# and proofs files `logwarden verify BUNDLE` reads from an audit bundle, and
# the event encoder against serde_json (any text in every kind of string), and
# the indexer's payload-to-document mapping against `to_document`.
# Runs each cargo-fuzz target in fuzz/ for SECONDS (default 20). Needs the nightly toolchain; installs
# cargo-fuzz when it is missing. Crashes land in fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail

seconds="${1:-20}"
cd "$(dirname "$0")/.."

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

passed=0
failed=()
for target in $(cargo +nightly fuzz list); do
    mkdir -p "fuzz/corpus/$target"
    seeds=()
    [ -d "fuzz/seeds/$target" ] && seeds=("fuzz/seeds/$target")
    echo "== fuzzing $target for ${seconds}s" >&2
    # New inputs go to the first directory (ignored by git); seeds are read only.
    # No AddressSanitizer: the targets share one crate that links librdkafka
    # and zstd, whose C builds cannot link against it here. The Rust code's
    # unsafe is a few libc calls and the SSE2 load in the payload reader
    # (bounds-checked, and its tests compare it with a plain scan), and
    # libFuzzer still catches panics, hangs and memory blow-ups.
    if cargo +nightly fuzz run --sanitizer none "$target" "fuzz/corpus/$target" "${seeds[@]}" -- \
        -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1; then
        passed=$((passed + 1))
    else
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "failed targets: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
fi
echo "fuzz: ${passed} passed, ${#failed[@]} failed"
[ "${#failed[@]}" -eq 0 ]
