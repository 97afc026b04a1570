#!/usr/bin/env bash
# Regenerates the studio's screenshots in docs/screenshots from real runs, under the offscreen platform:
#   studio-ppocr-det.png       PaddleOCR det opened
#   studio-run-ppocr-det.png   PaddleOCR det after an async run (timeline, memory graph, per-layer columns)
# Sets up first (packages, build, sample models); the runs go to a throwaway run store.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh"
"$here/scripts/fetch-models.sh"
cache="${DL_CACHE:-$HOME/.cache/demand-layering}"
studio="$here/build/app/dlstudio/dlstudio"
out="$here/docs/screenshots"
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT
export QT_QPA_PLATFORM=offscreen
"$studio" "$cache/models/ppocr_det.onnx" --screenshot "$out/studio-ppocr-det.png"
"$studio" "$cache/models/ppocr_det.onnx" --store "$store/runs.sqlite" --run async \
    --screenshot "$out/studio-run-ppocr-det.png"
