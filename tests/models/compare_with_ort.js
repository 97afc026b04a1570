#!/usr/bin/env node
'use strict';
// Runs the sample models on the engine (dlayer) and on ONNX Runtime with the same seeded inputs and compares
// every output: shapes equal, and the case's error metric within its tolerance: max|engine - ort| / max|ort|
// (max_rel_err) for the float32 models, ||engine - ort||2 / ||ort||2 (norm_err) for the float16 ones. See --help.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const repoRoot = path.resolve(__dirname, '..', '..');
const ortRun = path.join(repoRoot, 'bench', 'ort', 'ort_run.js');
const tp = require(path.join(repoRoot, 'bench', 'ort', 'tensorproto.js'));

// Sizes follow each model's declared input: det and cls take any H, W (multiples of 32 for det's FPN);
// rec fixes H = 48; ISNet is fixed at 1024x1024, so its second case is a second seed. 'text' inputs are seeded
// document-like pictures (see ort_run.js --gen-kind): on uniform noise the detector's output is ~1e-6 everywhere,
// where onnxruntime's own sigmoid approximation error (~1e-7) would dominate the relative error.
// The float16 models (isnet_fp16 as published, ppocr_*_fp16 narrowed by scripts/fetch-models.sh) are checked on
// norm_err: onnxruntime rounds every activation to float16 where the engine widens the model and computes in float32,
// so single elements differ by float16 steps (~1e-3 relative) while the output as a whole stays close.
const FP16 = { metric: 'norm', tolerance: 1e-2 };
const CASES = [
    { model: 'ppocr_cls', input: 'x', dims: '1x3x48x192', seed: 1, kind: 'uniform' },
    { model: 'ppocr_cls', input: 'x', dims: '1x3x64x256', seed: 2, kind: 'text' },
    { model: 'ppocr_det', input: 'x', dims: '1x3x640x640', seed: 1, kind: 'text' },
    { model: 'ppocr_det', input: 'x', dims: '1x3x320x480', seed: 2, kind: 'text' },
    { model: 'ppocr_rec', input: 'x', dims: '1x3x48x320', seed: 1, kind: 'text' },
    { model: 'ppocr_rec', input: 'x', dims: '1x3x48x160', seed: 2, kind: 'uniform' },
    { model: 'isnet', input: 'input', dims: '1x3x1024x1024', seed: 1, kind: 'uniform' },
    { model: 'isnet', input: 'input', dims: '1x3x1024x1024', seed: 2, kind: 'text' },
    { model: 'isnet_fp16', input: 'input', dims: '1x3x1024x1024', seed: 1, kind: 'uniform', ...FP16 },
    { model: 'ppocr_det_fp16', input: 'x', dims: '1x3x640x640', seed: 1, kind: 'text', ...FP16 },
    { model: 'ppocr_rec_fp16', input: 'x', dims: '1x3x48x320', seed: 1, kind: 'text', ...FP16 },
];

// How each metric is named in the output and read from compareTensors' result.
const METRICS = {
    rel: { name: 'max_rel_err', of: (r) => r.rel },
    norm: { name: 'norm_err', of: (r) => r.norm },
};

const USAGE = `usage: node compare_with_ort.js (--dlayer PATH | --self-check) [options]
  --dlayer PATH      engine CLI; runs: PATH run MODEL --input NAME=FILE.pb --save-outputs DIR
  --self-check       compare ONNX Runtime with itself at another thread count instead of the engine
  --models DIR       model folder (default \${DL_CACHE:-~/.cache/demand-layering}/models)
  --only A,B         only the cases whose model name contains one of these (e.g. det,rec or fp16)
  --tolerance T      max relative error of the float32 cases (default 1e-3); the float16 cases
                     (isnet_fp16, ppocr_det_fp16, ppocr_rec_fp16) need norm_err <= 1e-2
  --threads N        ONNX Runtime intra-op threads (default: CPU count)
  --timeout S        per-run time limit in seconds (default 1200)
  --work DIR         keep inputs and outputs here (default: a temporary folder, removed when all pass)`;

function parseArgs(argv) {
    const a = { tolerance: 1e-3, threads: os.cpus().length, timeout: 1200, only: null };
    const need = (i) => {
        if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
        return argv[i + 1];
    };
    for (let i = 0; i < argv.length; ++i) {
        switch (argv[i]) {
        case '--dlayer': a.dlayer = need(i++); break;
        case '--self-check': a.selfCheck = true; break;
        case '--models': a.models = need(i++); break;
        case '--only': a.only = need(i++).split(',').filter(Boolean); break;
        case '--tolerance': a.tolerance = Number(need(i++)); break;
        case '--threads': a.threads = Number(need(i++)); break;
        case '--timeout': a.timeout = Number(need(i++)); break;
        case '--work': a.work = need(i++); break;
        case '-h':
        case '--help': process.stdout.write(USAGE + '\n'); process.exit(0); break;
        default: usage(`unknown argument '${argv[i]}'`);
        }
    }
    if (!a.dlayer && !a.selfCheck) usage('give --dlayer PATH or --self-check');
    if (!(a.tolerance > 0) || !(a.threads >= 1) || !(a.timeout > 0)) usage('bad --tolerance, --threads or --timeout');
    a.models = a.models || path.join(process.env.DL_CACHE || path.join(os.homedir(), '.cache', 'demand-layering'), 'models');
    return a;
}

function usage(msg) {
    process.stderr.write(`compare_with_ort: ${msg}\n${USAGE}\n`);
    process.exit(2);
}

// Runs a command; returns null on success or a message with the tail of its output.
function run(cmd, args, timeoutS) {
    const t0 = Date.now();
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 64 << 20 });
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (r.error && r.error.code === 'ETIMEDOUT') return { err: `timed out after ${timeoutS} s`, secs };
    if (r.error) return { err: r.error.message, secs };
    if (r.status !== 0) {
        const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-15).join('\n    ');
        return { err: `exit ${r.status ?? r.signal}:\n    ${tail}`, secs };
    }
    return { stdout: r.stdout, secs };
}

// Reads every .pb in dir; keyed by tensor name, and by position when a file is named output_<i>.pb.
function readOutputs(dir) {
    const byName = new Map();
    const byIndex = new Map();
    if (!fs.existsSync(dir)) return { byName, byIndex };
    for (const f of fs.readdirSync(dir)) {
        if (!f.endsWith('.pb')) continue;
        const file = path.join(dir, f);
        const t = tp.readFile(file);
        t.file = file;
        if (t.name) byName.set(t.name, t);
        const m = /^output_(\d+)\.pb$/.exec(f);
        if (m) byIndex.set(Number(m[1]), t);
    }
    return { byName, byIndex };
}

function compareTensors(ref, got) {
    if (ref.dims.join('x') !== got.dims.join('x'))
        return { ok: false, why: `shape [${got.dims}] where onnxruntime gives [${ref.dims}]` };
    const r = tp.toFloat64(ref);
    const g = tp.toFloat64(got);
    let maxRef = 0;
    let maxErr = 0;
    let worst = -1;
    let nonFinite = 0;
    let sumErr2 = 0;
    let sumRef2 = 0;
    for (let i = 0; i < r.length; ++i) {
        if (!Number.isFinite(g[i]) && Number.isFinite(r[i])) ++nonFinite;
        const ar = Math.abs(r[i]);
        if (ar > maxRef) maxRef = ar;
        const e = Math.abs(g[i] - r[i]);
        if (e > maxErr) {
            maxErr = e;
            worst = i;
        }
        sumErr2 += e * e;
        sumRef2 += ar * ar;
    }
    // An all-zero reference leaves the absolute errors as the measure, as it does for max_rel_err.
    const rel = maxRef > 0 ? maxErr / maxRef : maxErr;
    const norm = sumRef2 > 0 ? Math.sqrt(sumErr2 / sumRef2) : Math.sqrt(sumErr2);
    const res = { maxErr, maxRef, rel, norm, worst, worstRef: r[worst], worstGot: g[worst] };
    if (nonFinite) return { ...res, ok: false, why: `${nonFinite} values are NaN or infinite` };
    return { ...res, ok: true };
}

function main() {
    const a = parseArgs(process.argv.slice(2));
    if (a.dlayer && !fs.existsSync(a.dlayer)) {
        process.stderr.write(`compare_with_ort: the engine CLI ${a.dlayer} does not exist (build target dlayer)\n`);
        process.exit(1);
    }
    const cases = CASES.filter((c) => !a.only || a.only.some((o) => c.model.includes(o)));
    if (!cases.length) usage('--only matched no case');
    const work = a.work || fs.mkdtempSync(path.join(os.tmpdir(), 'dl-vs-ort-'));
    fs.mkdirSync(work, { recursive: true });
    const engineName = a.selfCheck ? `onnxruntime (threads 1)` : 'engine';
    console.log(`comparing ${engineName} with onnxruntime (threads ${a.threads}); max_rel_err <= ${a.tolerance}, ` +
        `float16 models norm_err <= ${FP16.tolerance}; work ${work}`);

    let passed = 0;
    let failed = 0;
    const fail = (label, why) => {
        ++failed;
        console.log(`FAIL ${label}: ${why}`);
    };
    for (const c of cases) {
        const model = path.join(a.models, `${c.model}.onnx`);
        const label = `${c.model} ${c.dims} ${c.kind} seed ${c.seed}`;
        const dir = path.join(work, `${c.model}_${c.dims}_${c.kind}_s${c.seed}`);
        const inputs = path.join(dir, 'inputs');
        const ortOut = path.join(dir, 'ort');
        const engOut = path.join(dir, 'engine');
        fs.rmSync(dir, { recursive: true, force: true });
        if (!fs.existsSync(model)) {
            fail(label, `model ${model} is missing (run scripts/fetch-models.sh)`);
            continue;
        }
        const ref = run('node', [ortRun, '--model', model, '--gen-input', `${c.input}=${c.dims}`, '--seed', String(c.seed),
            '--gen-kind', c.kind,
            '--out-inputs', inputs, '--out', ortOut, '--threads', String(a.threads), '--json'], a.timeout);
        if (ref.err) {
            fail(label, `onnxruntime failed: ${ref.err}`);
            continue;
        }
        const report = JSON.parse(ref.stdout.trim().split('\n').pop());
        const inputFile = path.join(inputs, 'input_0.pb');
        const eng = a.selfCheck
            ? run('node', [ortRun, '--model', model, '--input', `${c.input}=${inputFile}`, '--out', engOut, '--threads', '1'], a.timeout)
            : run(a.dlayer, ['run', model, '--input', `${c.input}=${inputFile}`, '--save-outputs', engOut], a.timeout);
        if (eng.err) {
            fail(label, `${engineName} failed after ${eng.secs} s: ${eng.err}`);
            continue;
        }
        const got = readOutputs(engOut);
        report.outputs.forEach((o, i) => {
            const what = `${label} output ${i} '${o.name}'`;
            const refT = tp.readFile(o.file);
            const gotT = got.byName.get(o.name) || got.byIndex.get(i);
            if (!gotT) {
                fail(what, `${engineName} wrote no output named '${o.name}' nor ${path.join(engOut, `output_${i}.pb`)}`);
                return;
            }
            const r = compareTensors(refT, gotT);
            const nums = r.maxErr === undefined ? ''
                : `max_rel_err=${r.rel.toExponential(3)} norm_err=${r.norm.toExponential(3)} ` +
                  `max_abs_err=${r.maxErr.toExponential(3)} max_abs_ort=${r.maxRef.toExponential(3)} [${refT.dims.join('x')}]`;
            const metric = METRICS[c.metric || 'rel'];
            const tolerance = c.tolerance ?? a.tolerance;
            const limit = `${metric.name} <= ${tolerance}`;
            if (!r.ok) {
                fail(what, `${r.why} ${nums}`);
            } else if (!(metric.of(r) <= tolerance)) {
                fail(what, `${nums}; over ${limit}; worst at flat index ${r.worst}: ${engineName} ${r.worstGot}, ` +
                    `onnxruntime ${r.worstRef}`);
            } else {
                ++passed;
                console.log(`ok   ${what}: ${nums} (${limit}; ort ${ref.secs} s, ` +
                    `${a.selfCheck ? 'ort-1t' : 'engine'} ${eng.secs} s)`);
            }
        });
    }
    console.log(`${passed} passed, ${failed} failed`);
    if (failed === 0 && !a.work) fs.rmSync(work, { recursive: true, force: true });
    else if (failed) console.log(`inputs and outputs kept in ${work}`);
    process.exit(failed ? 1 : 0);
}

main();
