#!/usr/bin/env bash
# Sets up (packages, build, sample models and the ONNX Runtime reference) and runs every test through CTest.
#   scripts/test.sh [extra ctest arguments]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh"
"$here/scripts/fetch-models.sh"
cd "$here/build"
export QT_QPA_PLATFORM=offscreen
ctest --output-on-failure --timeout 1800 -j "$(nproc)" "$@"
