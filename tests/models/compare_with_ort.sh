#!/usr/bin/env bash
# Compares the engine with ONNX Runtime on the sample models (see compare_with_ort.js).
# usage: compare_with_ort.sh PATH/TO/dlayer [compare_with_ort.js options]
# Exit 77 (skipped) only when the model cache is empty and CI is not "true"; on CI the models are fetched first,
# so a failure to fetch them fails the test.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
[[ $# -ge 1 ]] || {
    echo "usage: $0 PATH/TO/dlayer [options]" >&2
    exit 2
}
dlayer="$1"
shift

cache="${DL_CACHE:-$HOME/.cache/demand-layering}"
models="$cache/models"
# Every model compare_with_ort.js has a case for; the *_fp16 PaddleOCR ones are made by fetch-models.sh.
required=(ppocr_cls ppocr_det ppocr_rec isnet isnet_fp16 ppocr_det_fp16 ppocr_rec_fp16)

count_models() {
    local n=0 m
    for m in "${required[@]}"; do
        [[ -f "$models/$m.onnx" ]] && n=$((n + 1))
    done
    [[ -d "$cache/npm/node_modules/onnxruntime-node" ]] || n=0
    echo "$n"
}

if [[ "${CI:-}" == "true" ]]; then
    command -v node >/dev/null 2>&1 || {
        echo "compare_with_ort: node is not installed (Debian: nodejs npm)" >&2
        exit 1
    }
    "$repo_root/scripts/fetch-models.sh" >/dev/null || {
        echo "compare_with_ort: scripts/fetch-models.sh failed; the models are required on CI" >&2
        exit 1
    }
else
    have="$(count_models)"
    if [[ "$have" -eq 0 ]] || ! command -v node >/dev/null 2>&1; then
        echo "compare_with_ort: SKIP: no sample models or ONNX Runtime in $cache (or no node); run scripts/fetch-models.sh"
        exit 77
    fi
    if [[ "$have" -lt ${#required[@]} ]]; then
        echo "compare_with_ort: only $have of ${#required[@]} models in $models; run scripts/fetch-models.sh" >&2
        exit 1
    fi
fi

exec node "$here/compare_with_ort.js" --dlayer "$dlayer" --models "$models" "$@"
