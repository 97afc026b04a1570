#!/usr/bin/env bash
# Sets up (packages, build, sample models) and opens the studio on a sample model.
#   scripts/run-studio.sh [MODEL] [extra dlstudio arguments]
# Without a display it runs under Xvfb (set DL_SCREENSHOT=file.png to save a screenshot and exit).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh"
"$here/scripts/fetch-models.sh"
cache="${DL_CACHE:-$HOME/.cache/demand-layering}"
model="${1:-$cache/models/ppocr_det.onnx}"
[ $# -gt 0 ] && shift
args=("$model" "$@")
[ -n "${DL_SCREENSHOT:-}" ] && args+=(--screenshot "$DL_SCREENSHOT")
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    exec xvfb-run -a -s "-screen 0 1400x900x24" "$here/build/app/dlstudio/dlstudio" "${args[@]}"
fi
exec "$here/build/app/dlstudio/dlstudio" "${args[@]}"
