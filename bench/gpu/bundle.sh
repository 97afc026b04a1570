#!/usr/bin/env bash
# Builds what bench/gpu/check.sh runs on a lent GPU machine and packs it, with the libraries that machine lacks, into
# one file to carry there. The machine has the CUDA toolkit, cuDNN (in its Python environment), CMake and ninja, but
# not Debian's oneDNN, protobuf, ONNX or Qt, and reaches no network: so the engine is built here, against this
# machine's Debian packages, for the GPU architectures named (default 90: the H100 and H200 lent), and its own
# libraries travel beside it. CUDA's runtime and cuDNN are the machine's.
#
#   bash bench/gpu/bundle.sh [OUTDIR]        (default .gpu/, which .git/info/exclude ignores)
#   DL_GPU_ARCHS="87;90" bash bench/gpu/bundle.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/.gpu}
build=${DL_GPU_BUILD:-$root/build-gpu}
archs=${DL_GPU_ARCHS:-90}

grep -qx '/.gpu/' "$root/.git/info/exclude" 2>/dev/null || echo '/.gpu/' >>"$root/.git/info/exclude"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDL_WITH_CUDA=ON \
    "-DCMAKE_CUDA_ARCHITECTURES=$archs" >/dev/null
ninja -C "$build" dlayer test_cuda_device test_cuda_library

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib"
for b in app/dlayer/dlayer tests/cuda/test_cuda_device tests/cuda/test_cuda_library; do
    cp "$build/$b" "$stage/bin/"
    strip --strip-debug "$stage/bin/$(basename "$b")"
done
# Every library the binaries load, but the C runtime, the compiler's runtime and CUDA's (the machine's own serve:
# newer there, and the driver must match its runtime).
for b in "$stage"/bin/*; do ldd "$b"; done | awk '$3 ~ /^\// {print $3}' | sort -u | while read -r lib; do
    case "$(basename "$lib")" in
    libc.so* | libm.so* | libdl.so* | libpthread.so* | librt.so* | ld-linux* | libgcc_s.so* | libstdc++.so* | \
        libcuda.so* | libcudart.so* | libcudnn*.so* | libcublas*.so*) ;;
    *) cp -L "$lib" "$stage/lib/" ;;
    esac
done
# Whole models against ONNX Runtime: its outputs, made here (the GPU machine has neither node nor ONNX Runtime), for
# the PaddleOCR networks in float32, as fp16 packs and as float16 models, with their inputs and the models.
# check.sh runs each on the GPU and compares (compare_outputs.py). ISNet (176 MB) is too large to carry.
cache=${DL_CACHE:-$HOME/.cache/demand-layering}
ort_run=$root/bench/ort/ort_run.js
if command -v node >/dev/null && [ -d "$cache/npm/node_modules/onnxruntime-node" ] && [ -f "$cache/models/ppocr_det.onnx" ]; then
    mkdir -p "$stage/ort/models"
    # label | model run | model ONNX Runtime runs | input | dims | kind | seed | precision | metric | tolerance
    # An fp16 pack is held against ONNX Runtime's float32, and against the CPU backend's outputs from the same pack
    # (made here): what the GPU's float16 compute adds.
    cases="cls-fp32|ppocr_cls|ppocr_cls|x|1x3x48x192|uniform|1|fp32|rel|1e-3
det-fp32|ppocr_det|ppocr_det|x|1x3x320x480|text|2|fp32|rel|1e-3
rec-fp32|ppocr_rec|ppocr_rec|x|1x3x48x320|text|1|fp32|rel|1e-3
det-fp16-pack|ppocr_det|ppocr_det|x|1x3x320x480|text|2|fp16|norm|1e-2
rec-fp16-pack|ppocr_rec|ppocr_rec|x|1x3x48x320|text|1|fp16|norm|1e-2
det-fp16-model|ppocr_det_fp16|ppocr_det_fp16|x|1x3x320x480|text|2|fp16|norm|1e-2
rec-fp16-model|ppocr_rec_fp16|ppocr_rec_fp16|x|1x3x48x320|text|1|fp16|norm|1e-2"
    echo "$cases" >"$stage/ort/cases"
    echo "$cases" | while IFS='|' read -r label model refmodel input dims kind seed precision metric tolerance; do
        [ -f "$stage/ort/models/$model.onnx" ] || cp -L "$cache/models/$model.onnx" "$stage/ort/models/"
        ref=$stage/ort/$refmodel-$dims-$seed
        if [ ! -d "$ref" ]; then
            mkdir -p "$ref"
            node "$ort_run" --gen-input "$input=$dims" --seed "$seed" --gen-kind "$kind" --out-inputs "$ref" >/dev/null
            node "$ort_run" --model "$cache/models/$refmodel.onnx" --input "$input=$ref/input_0.pb" --out "$ref" \
                --threads 2 >/dev/null
        fi
        if [[ $label == *-pack ]]; then
            mkdir -p "$stage/ort/cpu-$label"
            "$build/app/dlayer/dlayer" run "$cache/models/$model.onnx" --input "$input=$ref/input_0.pb" --backend cpu \
                --precision fp16 --arch async --iterations 1 --warmup 0 --pack-dir "$stage/packs" \
                --save-outputs "$stage/ort/cpu-$label" >/dev/null 2>&1
            rm -rf "$stage/packs"
        fi
    done
    echo "ONNX Runtime's outputs for $(echo "$cases" | wc -l) cases"
else
    echo "no node, ONNX Runtime or PaddleOCR models here (scripts/fetch-models.sh): the bundle carries no ORT cases"
fi
echo "$archs" >"$stage/archs"
git -C "$root" rev-parse --short HEAD >"$stage/commit"
mkdir -p "$out"
tar -C "$stage" -cJf "$out/bundle.tar.xz" .
echo "bundle: $out/bundle.tar.xz ($(du -h "$out/bundle.tar.xz" | cut -f1)) for sm $archs at $(cat "$stage/commit")"
