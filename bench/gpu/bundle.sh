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
echo "$archs" >"$stage/archs"
git -C "$root" rev-parse --short HEAD >"$stage/commit"
mkdir -p "$out"
tar -C "$stage" -cJf "$out/bundle.tar.xz" .
echo "bundle: $out/bundle.tar.xz ($(du -h "$out/bundle.tar.xz" | cut -f1)) for sm $archs at $(cat "$stage/commit")"
