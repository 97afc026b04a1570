#!/usr/bin/env bash
# Fuzzes every parser of outside input with libFuzzer (clang, ASan + UBSan): the ONNX importer to a planned model,
# the Darknet importer (cfg, cfg plus weights), the pack reader, the configuration parser, the run import and the
# board protocol's frames and handshake (tests/fuzz). Builds build-fuzz/ (no studio, no CUDA) and runs each target
# from its seed corpus (tests/fuzz/corpus/<target>, kept; what the run adds goes to build-fuzz/corpus/<target>).
#
#   scripts/fuzz.sh [--seconds S | --runs N] [TARGET...]     (default: 60 s each, every target)
#
# Prints each target's executions, coverage and result; a crash, leak or sanitizer report is saved under
# build-fuzz/crashes/<target>/ and makes the script exit 1. Turn each into a regression: copy the file into
# tests/fuzz/corpus/<target>/ (CTest replays that folder on every build), then fix what it found.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DL_FUZZ_BUILD:-$root/build-fuzz}
seconds=60
runs=
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
    esac
done
[ ${#targets[@]} -eq 0 ] && targets=(onnx darknet pack config run_import protocol)

# What the build needs beyond the project's own dependencies (scripts/setup.sh): clang and its fuzzer runtime.
if ! command -v clang++ >/dev/null || ! compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a" \
    >/dev/null; then
    echo "fuzz.sh: installing clang and libFuzzer"
    sudo=
    [ "$(id -u)" != 0 ] && sudo=sudo
    $sudo apt-get install -y --no-install-recommends clang libfuzzer-14-dev libomp-14-dev >/dev/null || exit 1
fi

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDL_FUZZ=ON \
    -DDL_BUILD_STUDIO=OFF -DDL_WITH_CUDA=OFF >/dev/null || exit 1
ninja -C "$build" $(printf 'fuzz_%s ' "${targets[@]}") || exit 1

status=0
export TMPDIR=$build/tmp
mkdir -p "$TMPDIR"
# ASan: allocation failures come back as null (the engine reports out of memory) rather than aborting; leaks count.
export ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${targets[@]}"; do
    work=$build/corpus/$t
    crashes=$build/crashes/$t
    mkdir -p "$work" "$crashes"
    # (CTest's replay also runs fuzz_darknet over resources/models/darknet: networks of millions of seeded weights,
    # too slow to fuzz from.)
    seeds=("$root/tests/fuzz/corpus/$t")
    limit=(-max_total_time="$seconds")
    [ -n "$runs" ] && limit=(-runs="$runs")
    log=$build/fuzz_$t.log
    started=$SECONDS
    "$build/tests/fuzz/fuzz_$t" "$work" "${seeds[@]}" "${limit[@]}" -max_len=262144 -rss_limit_mb=3072 -timeout=20 -print_final_stats=1 -artifact_prefix="$crashes/" \
        >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s += $2} END {print s + 0}')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    found=$(find "$crashes" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    if [ $rc -eq 0 ] && [ "$found" -eq 0 ]; then
        printf '%-11s %10s executions in %4d s, coverage %s edges (%s features): clean\n' "$t" "$execs" \
            $((SECONDS - started)) "${cov:-?}" "${ft:-?}"
    else
        printf '%-11s %10s executions in %4d s, coverage %s edges: FOUND %d (exit %d), see %s and %s\n' "$t" \
            "$execs" $((SECONDS - started)) "${cov:-?}" "$found" "$rc" "$crashes" "$log"
        status=1
    fi
done
exit $status
