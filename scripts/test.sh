#!/usr/bin/env bash
# Sets up (packages, build, sample models and the ONNX Runtime reference) and runs every test through CTest.
#   scripts/test.sh [--sanitize=address|thread] [extra ctest arguments]
# --sanitize=address builds build-asan/ with ASan + UBSan and runs the whole suite there; --sanitize=thread builds
# build-tsan/ with TSan and runs the suites with threads of their own (pipeline, session, agent, studio). Both leave
# the CUDA backend out (nvcc's code is not instrumented). Suppressions, each with its reason: tests/sanitizers/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
sanitize=
if [[ "${1:-}" == --sanitize=* ]]; then
    sanitize=${1#--sanitize=}
    shift
    [[ "$sanitize" == address || "$sanitize" == thread ]] || {
        echo "test.sh: --sanitize=address or --sanitize=thread" >&2
        exit 2
    }
fi
export QT_QPA_PLATFORM=offscreen
if [ -z "$sanitize" ]; then
    "$here/scripts/setup.sh"
    "$here/scripts/fetch-models.sh"
    cd "$here/build"
    ctest --output-on-failure --timeout 1800 -j "$(nproc)" "$@"
    exit
fi

"$here/scripts/setup.sh" --no-build
"$here/scripts/fetch-models.sh"
build=$here/build-${sanitize:0:1}san
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDL_SANITIZE="$sanitize" \
    -DDL_WITH_CUDA=OFF >/dev/null
ninja -C "$build" -j "$(nproc)"
supp=$here/tests/sanitizers
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:suppressions=$supp/asan.supp
export LSAN_OPTIONS=suppressions=$supp/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp
if [ "$sanitize" = thread ]; then
    # OpenMP's regions run on the calling thread alone: their workers synchronise through GCC's libgomp, which Debian
    # does not build with TSan, so TSan cannot see its barriers and reports memory freed after a region as raced.
    # What TSan checks is the threads the project starts itself (pipeline stages, sessions, the agent, the studio).
    export OMP_THREAD_LIMIT=1
fi
cd "$build"
if [ "$sanitize" = address ]; then
    ctest --output-on-failure --timeout 3600 -j "$(nproc)" "$@"
else
    # The suites whose code runs threads of its own: the pipeline's stages, the session, the agent, the studio.
    ctest --output-on-failure --timeout 3600 -j "$(nproc)" -R 'pipeline|session|backend|agent|remote|ui_|cli' "$@"
fi
