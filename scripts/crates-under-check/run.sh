#!/usr/bin/env bash
# Runs the multithreaded test suites of well-known lock-free and channel crates,
# built for wasm32-wasip1-threads, under `wasmgrind check` (as the cargo runner would),
# and prints crate -> tests run / passed / failed / timed out / not run / skipped /
# findings reported.
#
# Not part of CI: it needs crates.io and takes long. See README.md beside it.
#
# Usage: scripts/crates-under-check/run.sh [CRATE...]     (default: every pinned crate)
# Environment:
#   WASMGRIND      the wasmgrind binary (default: $CARGO_TARGET_DIR/release/wasmgrind,
#                  else <repo>/target/release/wasmgrind)
#   WORK           work dir (default: $HOME/.cache/wasmgrind/crates-under-check)
#   MODE           per-binary (default: each test binary runs in as few processes as
#                  its aborting tests allow) or per-test (one process per test)
#   TEST_TIMEOUT   seconds per test under check, MODE=per-test (default 120)
#   BINARY_TIMEOUT seconds per test binary under check, MODE=per-binary (default 900)
#   FULL           1: the crates' full iteration counts; by default the crates' own
#                  `cfg(miri)` loop reductions are switched on (see below)
#   FILTER         only tests whose name contains this string
#   EXTRA_CHECK    extra flags for `wasmgrind check` (e.g. "--max-threads 64")
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="${WORK:-$HOME/.cache/wasmgrind/crates-under-check}"
test_timeout="${TEST_TIMEOUT:-120}"
binary_timeout="${BINARY_TIMEOUT:-900}"
mode="${MODE:-per-binary}"
filter="${FILTER:-}"
read -r -a extra_check <<< "${EXTRA_CHECK:-}"
if [[ -z "${WASMGRIND:-}" ]]; then
    WASMGRIND="${CARGO_TARGET_DIR:-$repo/target}/release/wasmgrind"
fi
[[ -x "$WASMGRIND" ]] || { echo "no wasmgrind binary at $WASMGRIND (cargo build --release -p wasmgrind, or set WASMGRIND)" >&2; exit 1; }

# The pinned crates: name=version. Newest releases when this was written (dashmap:
# newest non-pre-release). Not here: event-listener (5.4.2), which compiles its
# blocking wait out on every wasm target and runs its tests as single-threaded
# wasm-bindgen tests there.
pinned=(
    crossbeam-queue=0.3.14
    crossbeam-deque=0.8.8
    crossbeam-epoch=0.9.21
    crossbeam-utils=0.8.23
    flume=0.12.0
    concurrent-queue=2.5.0
    parking_lot=0.13.0
    spin=0.12.3
    arc-swap=1.9.3
    dashmap=6.1.0
    once_cell=1.21.4
    crossbeam-channel=0.5.17
    rayon-core=1.13.0
    rayon=1.12.0
    thread_local=1.1.10
    crossbeam-skiplist=0.1.3
    ringbuf=0.4.8
    rtrb=0.4.1
    left-right=0.11.8
    bus=2.4.1
)

# Tests not run, one per line: `<crate> <test name> <reason...>` (exact libtest names).
skip_file="$here/skip.txt"

# Dev-dependencies that do not build for wasm32-wasip1-threads, and the test targets
# that need them: `<crate> dev-dep <name>` / `<crate> test <target>` lines. They are cut
# out of the copied Cargo.toml (its [dev-dependencies.<name>] or [[test]] section).
# `<crate> wasm-tests-native`: the crate's tests/ treat every wasm target as
# single-threaded wasm-bindgen; their `target_family = "wasm"` cfgs are turned off.
# `<crate> wasm-threads-tests`: the crate ignores its threaded tests on every wasm target
# (`cfg_attr(any(target_os = "emscripten", target_family = "wasm"), ignore)`, in src/
# and tests/), wasm32-wasip1-threads included; they are ignored on emscripten only.
# `<crate> shrink-counts` (reduced mode only): iteration counts of 10,000 and more in
# tests/ become 1,000, as the crossbeam crates do for miri themselves.
adjustments=(
    "crossbeam-channel dev-dep signal-hook"     # used by examples/stopwatch.rs only
    "flume dev-dep getrandom"                    # only turns on its `js` feature: wasm-bindgen
    "flume dev-dep async-std"                    # its `polling` has no wasi support
    "flume test async"                           # the async-std-based tests
    "flume test stream"
    "flume test method_sharing"
    "spin dev-dep criterion"                     # benches only
    "arc-swap dev-dep criterion"                 # benches only
    "arc-swap dev-dep proptest"                  # its fork support needs processes
    "arc-swap test random"                       # the proptest-based test
    "concurrent-queue wasm-tests-native"         # its tests leave threads out on wasm
    "flume shrink-counts"                        # no miri-reduced counts of its own
    "rayon-core wasm-threads-tests"
    "rayon wasm-threads-tests"
    "rtrb dev-dep criterion"                     # benches only
)

# adjust SRC CRATE: applies the adjustments of CRATE to its copy at SRC.
adjust() {
    local line crate kind item
    for line in "${adjustments[@]}"; do
        read -r crate kind item <<< "$line"
        [[ "$crate" == "$2" ]] || continue
        if [[ "$kind" == shrink-counts ]]; then
            [[ "${FULL:-0}" == 1 ]] || sed -i -E 's/\b(100_?000|25_?000|10_?000)\b/1_000/g' "$1"/tests/*.rs
            continue
        fi
        if [[ "$kind" == wasm-threads-tests ]]; then
            grep -rlF --include='*.rs' 'target_family = "wasm"), ignore)' "$1" \
                | xargs -r sed -i 's/cfg_attr(any(target_os = "emscripten", target_family = "wasm"), ignore)/cfg_attr(target_os = "emscripten", ignore)/g'
            continue
        fi
        if [[ "$kind" == wasm-tests-native ]]; then
            sed -i 's/target_family = "wasm"/target_family = "wasm_bindgen_only"/g' "$1"/tests/*.rs
            continue
        fi
        python3 - "$1/Cargo.toml" "$kind" "$item" <<'PY'
import sys
path, kind, item = sys.argv[1:]
sections, current = [], []
for line in open(path, encoding="utf-8").read().splitlines(keepends=True):
    if line.startswith("["):
        sections.append(current)
        current = []
    current.append(line)
sections.append(current)
def dropped(section):
    if not section:
        return False
    head = section[0].strip()
    if kind == "dev-dep":
        return head.endswith(f"dev-dependencies.{item}]")
    return head == "[[test]]" and any(l.strip() == f'name = "{item}"' for l in section)
open(path, "w", encoding="utf-8").write("".join("".join(s) for s in sections if not dropped(s)))
PY
    done
}

# skip_reason CRATE TEST: prints why TEST of CRATE is skipped (skip.txt), or fails.
skip_reason() {
    awk -v c="$1" -v t="$2" '$1 == c && $2 == t { $1 = ""; $2 = ""; sub(/^ +/, ""); print; found = 1 }
        END { exit !found }' "$skip_file" 2>/dev/null
}

# run_check CRATE BIN TEST TIMEOUT MODULE ARGS...: one `wasmgrind check` run; records
# its verdict and report count in results.tsv (TEST `*<round>`: a run of the whole
# binary, see run_binary) and leaves the verdict in $last_verdict.
run_check() {
    local crate="$1" binname="$2" test="$3" limit="$4"
    shift 4
    local log="$work/logs/$crate-$binname-${test//[^A-Za-z0-9_]/_}"
    [[ "$test" == "*"* ]] && log="$work/logs/$crate-$binname-all${test#\*}"
    rm -f "$log.report"
    local status=0 reports=0
    timeout -k 10 "$((limit + 60))" "$WASMGRIND" check --timeout "$limit" \
        "${extra_check[@]}" --log-file "$log.report" "$@" > "$log.out" 2> "$log.err" || status=$?
    [[ -f "$log.report" ]] && reports="$(grep -c '^WARNING: wasmgrind' "$log.report" || true)"
    case "$status" in
        0) last_verdict=passed ;;
        66) last_verdict=reported ;;
        123) last_verdict=deadlock ;;
        124 | 137) last_verdict=timeout ;;
        134) last_verdict=trapped ;;
        *) last_verdict="exit-$status" ;;
    esac
    printf '%s\t%s\t%s\t%s\t%s\n' "$crate" "$binname" "$test" "$last_verdict" "$reports" >> "$results"
    echo "   $binname::$test: $last_verdict ($reports reports)" >&2
}

# run_binary CRATE BIN MODULE TESTS...: runs the tests in rounds of one process each;
# a round that aborts (a deliberate panic is an abort on wasm), traps or times out
# charges that to the test it was running, and the next round goes on with the tests
# not reached yet.
run_binary() {
    local crate="$1" binname="$2" bin="$3"
    shift 3
    local remaining=("$@") round=0 log test verdict started next
    while [[ ${#remaining[@]} -gt 0 ]]; do
        round=$((round + 1))
        run_check "$crate" "$binname" "*$round" "$binary_timeout" "$bin" \
            --test-threads=1 --exact "${remaining[@]}"
        log="$work/logs/$crate-$binname-all$round"
        # `#[should_panic]` tests print as `test X - should panic ... `.
        sed -i 's/^\(test .*\) - should panic \.\.\. /\1 ... /' "$log.out"
        started=0
        next=()
        for test in "${remaining[@]}"; do
            if grep -qxF "test $test ... ok" "$log.out"; then verdict=passed
            elif grep -qxF "test $test ... FAILED" "$log.out"; then verdict=failed
            elif grep -qF "test $test ... ignored" "$log.out"; then verdict=ignored
            elif grep -qF "test $test ... " "$log.out"; then
                # Output of its own between the name and the verdict, or the abort.
                if grep -q "^test $test \.\.\. .*ok$" "$log.out"; then verdict=passed
                else verdict="aborted-$last_verdict"; fi
            else next+=("$test"); continue; fi
            started=1
            printf '%s\t%s\t%s\t%s\t-\n' "$crate" "$binname" "$test" "$verdict" >> "$results"
        done
        if [[ $started == 0 ]]; then
            for test in "${next[@]}"; do
                printf '%s\t%s\t%s\tnot-run-%s\t-\n' "$crate" "$binname" "$test" "$last_verdict" >> "$results"
            done
            break
        fi
        remaining=("${next[@]}")
    done
}

selected=("$@")
want() { # want CRATE: whether the command line selected it
    [[ ${#selected[@]} -eq 0 ]] && return 0
    local s
    for s in "${selected[@]}"; do [[ "$s" == "$1" ]] && return 0; done
    return 1
}

# Reduced mode: the crates shrink their test loops under `cfg(miri)`; that cfg is
# renamed to `wasmgrind_reduced` in the copied crate only (set for every crate it
# would change dependencies such as zerocopy, which then fail to build). Lints are
# capped at warnings: a crate published before a lint became deny-by-default
# (crossbeam-skiplist 0.1.3 and `dangerous_implicit_autorefs`) still builds.
rustflags="--cfg wasmgrind_reduced --cap-lints warn"
suffix="-reduced"
if [[ "${FULL:-0}" == 1 ]]; then rustflags="--cap-lints warn"; suffix=""; fi

mkdir -p "$work/fetch/src" "$work/src" "$work/logs"
results="$work/results.tsv"
# Keep the rows of crates not run this time.
touch "$results"
for cv in "${pinned[@]}"; do
    want "${cv%%=*}" && awk -F'\t' -v c="${cv%%=*}" '$1 != c' "$results" > "$results.tmp" && mv "$results.tmp" "$results"
done

# 1. Fetch the pinned versions with cargo itself (a throwaway package depending on each
#    with `=version`), then copy each crate's published source, tests included, out of
#    cargo's registry cache so that building it does not write there.
{
    printf '[package]\nname = "fetch-pinned"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n[workspace]\n[dependencies]\n'
    for cv in "${pinned[@]}"; do printf '%s = "=%s"\n' "${cv%%=*}" "${cv#*=}"; done
} > "$work/fetch/Cargo.toml"
echo 'fn main() {}' > "$work/fetch/src/main.rs"
(cd "$work/fetch" && cargo +stable fetch --quiet)
metadata="$(cd "$work/fetch" && cargo +stable metadata --format-version 1 --quiet)"

for cv in "${pinned[@]}"; do
    name="${cv%%=*}" version="${cv#*=}"
    want "$name" || continue
    src="$work/src/$name-$version$suffix"
    if [[ ! -d "$src" ]]; then
        manifest="$(jq -r --arg n "$name" --arg v "$version" \
            '.packages[] | select(.name == $n and .version == $v) | .manifest_path' <<< "$metadata")"
        cp -r "$(dirname "$manifest")" "$src.tmp"
        chmod -R u+w "$src.tmp"
        adjust "$src.tmp" "$name"
        if [[ -n "$suffix" ]]; then
            grep -rlw --include='*.rs' miri "$src.tmp" | xargs -r sed -i 's/\bmiri\b/wasmgrind_reduced/g' || true
        fi
        mv "$src.tmp" "$src"
    fi

    # 2. Build the crate's unit and integration tests for wasm (release, full debug
    #    info so reports name source lines and globals).
    echo "== $name $version: building tests" >&2
    build_log="$work/logs/$name-build.log"
    if ! (cd "$src" && RUSTFLAGS="$rustflags" CARGO_PROFILE_RELEASE_DEBUG=2 CARGO_PROFILE_RELEASE_STRIP=none \
            cargo +stable test --release --tests --no-run --target wasm32-wasip1-threads \
            --target-dir "$work/target" --message-format=json 2> "$build_log" \
            | jq -r 'select(.reason == "compiler-artifact" and .executable != null) | .executable' \
            > "$work/logs/$name-bins.txt"); then
        echo "   build failed, see $build_log" >&2
        printf '%s\t-\t-\tbuild-failed\t0\n' "$name" >> "$results"
        continue
    fi

    # 3. Run the tests under check. libtest runs tests one after another on wasm
    #    (no test threads) and a panicking test aborts the whole process
    #    (panic=abort), so:
    #    - MODE=per-test runs every test alone with TEST_TIMEOUT: slow (module
    #      instrumentation and compilation each time) but every report and failure is
    #      tied to one test;
    #    - MODE=per-binary (default) runs each test binary once with
    #      `--test-threads=1` and BINARY_TIMEOUT, and reads libtest's `test X ... ok`
    #      lines; tests after an abort or a timeout count as not run.
    while read -r bin; do
        [[ -n "$bin" ]] || continue
        binname="$(basename "$bin" .wasm)"
        binname="${binname%-*}"
        "$WASMGRIND" run "$bin" --list --format terse 2>/dev/null \
            | sed -n 's/: test$//p' > "$work/logs/$name-$binname-tests.txt" || true
        tests=()
        skips=()
        while read -r test; do
            [[ -n "$test" ]] || continue
            [[ -z "$filter" || "$test" == *"$filter"* ]] || continue
            if reason="$(skip_reason "$name" "$test")"; then
                printf '%s\t%s\t%s\tskipped\t0\t%s\n' "$name" "$binname" "$test" "$reason" >> "$results"
                skips+=(--skip "$test")
                continue
            fi
            tests+=("$test")
        done < "$work/logs/$name-$binname-tests.txt"
        [[ ${#tests[@]} -gt 0 ]] || continue
        if [[ "$mode" == per-test ]]; then
            for test in "${tests[@]}"; do
                run_check "$name" "$binname" "$test" "$test_timeout" "$bin" --exact "$test" --test-threads=1
            done
        else
            run_binary "$name" "$binname" "$bin" "${tests[@]}"
        fi
    done < "$work/logs/$name-bins.txt"
done

# 4. The table, per crate: tests that ran to an end (passed, failed, or aborted the
#    process: a panic is an abort on wasm, or a trap), passed, failed, timed out (the
#    check timeout ran out in it), not run, skipped (skip.txt, or #[ignore]d by the
#    crate, in reduced mode often "too slow for miri"); findings reported
#    (WARNING blocks: races, deadlocks, misuse, hangs), summed over the crate's runs.
printf '\n%-18s %5s %6s %6s %7s %7s %7s %7s\n' crate run passed failed timeout not-run skipped reports
awk -F'\t' '
    { crate[$1] = 1 }
    $4 == "build-failed" { bf[$1] = 1; next }
    $4 == "skipped" || $4 == "ignored" { sk[$1]++; next }
    $5 != "-" { rep[$1] += $5 }
    $5 != "-" && $3 ~ /^\*/ { next }
    $4 ~ /timeout/ && $4 !~ /^not-run/ { to[$1]++; next }
    $4 ~ /^not-run/ { nr[$1]++; next }
    { run[$1]++ }
    $4 == "passed" || $4 == "reported" { ok[$1]++; next }
    { fail[$1]++ }
    END {
        for (c in crate) {
            if (bf[c]) { printf "%-18s build failed\n", c; continue }
            printf "%-18s %5d %6d %6d %7d %7d %7d %7d\n", c, run[c], ok[c], fail[c], to[c], nr[c], sk[c], rep[c]
        }
    }' "$results" | sort
echo
echo "per test: $results; logs and reports: $work/logs"
