#!/usr/bin/env bash
# Regenerates the studio's screenshots in docs/screenshots from real runs, under the offscreen platform, into a
# throwaway run store:
#   studio-ppocr-det.png       PaddleOCR det opened
#   studio-run-ppocr-det.png   PaddleOCR det after a two-stage run: the timeline, the memory graph, the run columns
#   studio-tradeoff.png        YOLOv4's trade-off, planned from sequential profiles of whole layers and of layers
#                              cut above 2 MiB, the slider at 12 MiB (below its 18 MiB layers), with the runs as
#                              points
#   studio-runs.png            the Runs view comparing YOLOv4's async and two-stage runs
#   studio-board.png           PaddleOCR det after a two-stage run on a board: a local agent (dlayer serve) here
# Sets up first (packages, build, sample models).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh"
"$here/scripts/fetch-models.sh"
cache="${DL_CACHE:-$HOME/.cache/demand-layering}"
studio="$here/build/app/dlstudio/dlstudio"
ppocr="$cache/models/ppocr_det.onnx"
yolo="$here/resources/models/darknet/yolov4.cfg"
out="$here/docs/screenshots"
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT
export QT_QPA_PLATFORM=offscreen
"$studio" "$ppocr" --screenshot "$out/studio-ppocr-det.png"
"$studio" "$ppocr" --store "$store/ppocr.sqlite" --run two-stage --screenshot "$out/studio-run-ppocr-det.png"
db="$store/yolov4.sqlite"
for arch in sequential async two-stage; do
    "$studio" "$yolo" --store "$db" --run "$arch" --screenshot "$store/$arch.png"
done
"$studio" "$yolo" --store "$db" --run sequential --split 2 --screenshot "$store/split.png"
"$studio" "$yolo" --store "$db" --view tradeoff --budget 12 --screenshot "$out/studio-tradeoff.png"
"$studio" "$yolo" --store "$db" --view runs --compare-last --screenshot "$out/studio-runs.png"

# The board: an agent on loopback with a state of its own; the studio's settings and token file kept in the throwaway
# directory too, and no keychain asked.
"$here/build/app/dlayer/dlayer" serve --listen 127.0.0.1:0 --state "$store/board" >"$store/serve.out" 2>/dev/null &
agent=$!
trap 'kill $agent 2>/dev/null; rm -rf "$store"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$store/serve.out" 2>/dev/null && break; sleep 0.1; done
pairing=$(sed -n 's/^pair with: //p' "$store/serve.out")
XDG_CONFIG_HOME="$store/config" DBUS_SESSION_BUS_ADDRESS= "$studio" "$ppocr" --store "$store/board.sqlite" \
    --board "$pairing" --run two-stage --screenshot "$out/studio-board.png"
