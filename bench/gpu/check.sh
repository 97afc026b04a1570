#!/usr/bin/env bash
# The GPU checks, in one run on a lent GPU machine (an H100 or H200), in at most 8 minutes:
#   1. the machine: GPU, compute capability, driver, CUDA; the bundle's build is for this architecture, and the
#      backend's own CUDA kernels compile there for it (nvcc -arch=sm_XX);
#   2. the GPU tests (tests/cuda): the CUDA backend against the CPU's, the ledger against cudaMemGetInfo;
#   3. the demand-layering table on the GPU: YOLOv4, ResNet-152 and DenseNet-201, preload against two-stage and async
#      at the smallest staging and at a 3.5 % weight budget, the delay overhead paired with a preloaded twin on the
#      same GPU (dlayer run --paired-preload), fp32 and fp16; and preload without CUDA graphs (--no-graphs), for
#      what replaying the inference as one graph buys.
#
# On the GPU machine (the bundle made here by bench/gpu/bundle.sh, carried as .gpu):
#   bash bench/gpu/check.sh                  device: run([... command: "bash bench/gpu/check.sh", carry: [".gpu"]])
# Here, to check the script itself on the CPU backend with this build (no GPU needed):
#   bash bench/gpu/check.sh --local --backend cpu --quick
# Prints everything; the table also goes to $OUT/gpu-table.md and the whole log to $OUT/gpu-check.log where $OUT is
# set.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bundle=$root/.gpu/bundle.tar.xz
backend=cuda
local=0
quick=0
budget_s=${DL_GPU_BUDGET_S:-450} # the table stops starting runs past this many seconds of the script
while [ $# -gt 0 ]; do
    case "$1" in
    --bundle) bundle=$2; shift 2 ;;
    --backend) backend=$2; shift 2 ;;
    --local) local=1; shift ;;
    --quick) quick=1; shift ;;
    *) echo "check.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
out=${OUT:-}
if [ -n "$out" ]; then exec > >(tee "$out/gpu-check.log") 2>&1; fi
started=$SECONDS
say() { printf '== [%3ds] %s\n' $((SECONDS - started)) "$*"; }

# --- 1. the machine and the build
if [ "$local" = 1 ]; then
    bin=$root/build/app/dlayer
    dlayer=$bin/dlayer
    tests=$root/build/tests/cuda
else
    say "GPU"
    nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader || true
    nvcc --version 2>/dev/null | tail -1 || true
    dl=/tmp/dl-gpu
    rm -rf "$dl" && mkdir -p "$dl"
    if ! tar -C "$dl" -xJf "$bundle"; then
        echo "no bundle at $bundle: make it with bash bench/gpu/bundle.sh here and carry .gpu"
        exit 1
    fi
    say "bundle built at $(cat "$dl/commit") for sm $(cat "$dl/archs")"
    cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
    case ";$(cat "$dl/archs");" in
    *";$cc;"*) say "the bundle holds code for this GPU (sm_$cc)" ;;
    *) say "the bundle has no code for sm_$cc: rebuild it with DL_GPU_ARCHS=$cc" ;;
    esac
    # The backend's own kernels, compiled here for this GPU.
    for cu in "$root"/engine/backend/cuda/*.cu; do
        if nvcc -std=c++17 -arch="sm_$cc" -I"$root/engine" -c "$cu" -o "/tmp/$(basename "$cu").o" 2>/tmp/nvcc.err; then
            say "nvcc sm_$cc: $(basename "$cu") compiles"
        else
            say "nvcc sm_$cc: $(basename "$cu") FAILS"; cat /tmp/nvcc.err
        fi
    done
    # cuDNN and cuBLAS: the machine's (its Python environment's NVIDIA wheels), CUDA's runtime from the toolkit.
    libs=$dl/lib
    for d in $(find /opt /usr/local /usr/lib \( -name 'libcudnn.so.9' -o -name 'libcublas.so.13' \) -printf '%h\n' 2>/dev/null | sort -u); do
        libs=$libs:$d
    done
    export LD_LIBRARY_PATH=$libs:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
    dlayer=$dl/bin/dlayer
    tests=$dl/bin
fi
"$dlayer" --version || { echo "dlayer does not start"; exit 1; }

# --- 2. the GPU tests
if [ "$local" = 0 ] || [ -x "$tests/test_cuda_library" ]; then
    for t in test_cuda_library test_cuda_device; do
        say "$t"
        timeout 240 "$tests/$t" -maxwarnings 0
        rc=$?
        case $rc in 0) say "$t passed" ;; 77) say "$t skipped" ;; *) say "$t FAILED (exit $rc)" ;; esac
    done
fi

# --- 2b. whole models against ONNX Runtime's outputs (made by bundle.sh): float32 in memory, fp16 packs streamed by
# async (the device widens them), float16 models by two-stage
ort=${DL_GPU_ORT:-}
[ -z "$ort" ] && [ "$local" = 0 ] && ort=$dl/ort
[ -z "$ort" ] && [ -f "$bundle" ] && ort=$(mktemp -d) && tar -C "$ort" -xJf "$bundle" ./ort 2>/dev/null && ort=$ort/ort
if [ -n "$ort" ] && [ -f "$ort/cases" ]; then
    say "whole models against ONNX Runtime on the $backend backend"
    while IFS='|' read -r label model refmodel input dims kind seed precision metric tolerance; do
        ref=$ort/$refmodel-$dims-$seed
        got=$(mktemp -d)
        args=(run "$ort/models/$model.onnx" --input "$input=$ref/input_0.pb" --backend "$backend" --precision "$precision"
            --iterations 1 --warmup 0 --save-outputs "$got")
        packs=(--pack-dir "${DL_CACHE:-/tmp/dl-cache}/packs")
        case $label in *-pack) args+=(--arch async "${packs[@]}") ;; *-model) args+=(--arch two-stage "${packs[@]}") ;; esac
        if ! timeout 120 "$dlayer" "${args[@]}" >"$got/log" 2>&1; then
            say "$label: dlayer FAILED: $(tail -1 "$got/log")"
        elif python3 "$root/bench/gpu/compare_outputs.py" "$ref" "$got" --metric "$metric" --tolerance "$tolerance" \
            >"$got/cmp"; then
            say "$label: matches ONNX Runtime: $(tr '\n' ';' <"$got/cmp")"
        else
            say "$label: DIFFERS from ONNX Runtime: $(tr '\n' ';' <"$got/cmp")"
        fi
        if [ -d "$ort/cpu-$label" ] && [ -f "$got/output_0.pb" ]; then
            python3 "$root/bench/gpu/compare_outputs.py" "$ort/cpu-$label" "$got" --metric norm --tolerance 1e-2 \
                >"$got/cmp" || true
            say "$label: against the CPU backend on the same pack: $(tr '\n' ';' <"$got/cmp")"
        fi
        rm -rf "$got"
    done <"$ort/cases"
else
    say "no ONNX Runtime cases in the bundle (bundle.sh makes them where node and the models are)"
fi

# --- 3. the demand-layering table
say "the demand-layering table on the $backend backend"
export DL_CACHE=${DL_CACHE:-/tmp/dl-cache}
python3 - "$dlayer" "$root" "$backend" "$quick" "$((SECONDS - started))" "$budget_s" "${out:-}" <<'PY'
import json, os, subprocess, sys, time
dlayer, root, backend, quick = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
elapsed, budget_s, out = float(sys.argv[5]), float(sys.argv[6]), sys.argv[7]
darknet = os.path.join(root, "resources/models/darknet")
models = [("yolov4-tiny", "YOLOv4-tiny")] if quick else [("yolov4", "YOLOv4"), ("resnet152", "ResNet-152"),
                                                          ("densenet201", "DenseNet-201")]
iters = "3" if quick else "8"
pack_dir = os.path.join(os.environ["DL_CACHE"], "packs")
deadline = time.monotonic() + budget_s - elapsed  # no run starts past the script's budget

def run(args, timeout=240):
    cmd = [dlayer, *args, "--backend", backend, "--pack-dir", pack_dir, "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        msg = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]
        return None, msg
    return json.loads(p.stdout), None

rows = []
read_rates = []
for mid, label in models:
    cfg = os.path.join(darknet, mid + ".cfg")
    info = json.loads(subprocess.run([dlayer, "info", cfg, "--json"], capture_output=True, text=True).stdout)
    budget = int(info["weight_bytes"] * 0.035)
    for precision in ("fp32", "fp16"):
        base = None
        for arch, size in (("preload", None), ("preload --no-graphs", None), ("two-stage", None), ("async", None),
                           ("two-stage", budget), ("async", budget)):
            if time.monotonic() > deadline:
                rows.append((label, precision, arch, "—", "skipped: the script's time is spent"))
                continue
            args = ["run", cfg, "--arch", *arch.split(), "--precision", precision, "--iterations", iters, "--warmup", "2"]
            if size: args += ["--budget", str(size)]
            if not arch.startswith("preload"): args += ["--paired-preload"]
            try:
                r, err = run(args)
            except subprocess.TimeoutExpired:
                r, err = None, "timed out"
            where = "budget 3.5 %%: %.2f MiB" % (size / 2**20) if size else ("all" if arch.startswith("preload") else "smallest")
            if r is None:
                rows.append((label, precision, arch, where, "failed: " + err))
                continue
            ms = r["latency_ms"]["median"]
            held = r["memory"]["weights_bytes"] / 2**20
            if arch == "preload": base = held
            less = "%.1f" % (100 * (1 - held / base)) if base else "—"
            pp = r.get("paired_preload")
            over = "%+.1f (%+.1f … %+.1f)" % (pp["overhead_pct"]["median"], pp["overhead_pct"]["q1"],
                                             pp["overhead_pct"]["q3"]) if pp else "—"
            rd = r.get("read") or {}
            fb = len((r.get("compute") or {}).get("fallback_layers", []))
            measured = ((r.get("compute") or {}).get("measured") or {}).get("ms")
            vs = "%.2f" % (ms / measured) if measured and arch.startswith("preload") else "—"
            if rd.get("mb_per_s"): read_rates.append(rd["mb_per_s"])
            rows.append((label, precision, arch, where, "%.2f | %.2f | %s | %s | %s | %d | %s" % (
                ms, held, less, over, "%.0f" % rd["mb_per_s"] if rd.get("mb_per_s") else "—", fb, vs)))
lines = ["| network | weights | arch | staging | median ms | weights held MiB | weight memory −% | "
         "paired overhead % (quartiles) | read MB/s | layers with CPU fallback | preload ÷ cuDNN's measured sum |",
         "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
for label, precision, arch, where, rest in rows:
    cells = rest if "|" in rest else rest + " |  |  |  |  |  | "
    lines.append("| %s | %s | %s | %s | %s |" % (label, precision, arch, where, cells))
# The disk's own rate, to hold the runs' read rates against: the largest pack read whole with O_DIRECT.
packs = sorted((os.path.getsize(os.path.join(pack_dir, f)), os.path.join(pack_dir, f))
               for f in (os.listdir(pack_dir) if os.path.isdir(pack_dir) else []) if f.endswith(".dlpack"))
if packs:
    size, path = packs[-1]
    secs = None
    for _ in range(3):  # the best of three
        t0 = time.monotonic()
        p = subprocess.run(["dd", "if=" + path, "of=/dev/null", "bs=8M", "iflag=direct"], capture_output=True, text=True)
        if p.returncode == 0: secs = min(secs or 1e9, time.monotonic() - t0)
    if secs:
        disk = size / secs / 1e6
        best = max(read_rates) if read_rates else 0
        lines.append("")
        lines.append("Disk: %s (%.0f MB) read whole with O_DIRECT at %.0f MB/s; the runs' best read rate %.0f MB/s "
                     "(%.0f %% of it)." % (os.path.basename(path), size / 1e6, disk, best, 100 * best / disk))
print("\n".join(lines))
if out:
    open(os.path.join(out, "gpu-table.md"), "w").write("\n".join(lines) + "\n")
PY
say "done"
