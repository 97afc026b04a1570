#!/usr/bin/env node
'use strict';
// ONNX Runtime reference runner: runs a model on the CPU execution provider and writes its outputs as TensorProto
// files, times it, describes it, or generates seeded inputs. Usage: node ort_run.js --help

const fs = require('fs');
const os = require('os');
const path = require('path');
const { createRequire } = require('module');
const tp = require('./tensorproto.js');

const USAGE = `usage:
  node ort_run.js --model M --input NAME=FILE.pb [...] --out DIR [--threads N] [--json]
  node ort_run.js --model M --input NAME=FILE.pb [...] --iterations N [--warmup N] [--threads N]
  node ort_run.js --gen-input NAME=1x3x640x640[:TYPE] [...] [--seed S] [--gen-kind uniform|text] --out-inputs DIR [--model M]
  node ort_run.js --model M --describe [--ops] [--json]
Inputs are written as DIR/input_<i>.pb, outputs as DIR/output_<i>.pb in session.outputNames order.
Generated float inputs are uniform in [0,1) from splitmix64 (seed S, default 1); integer ones uniform in [0,10).
--gen-kind text instead draws a seeded document-like picture (dark glyph strokes in lines on a white page, slight
noise) normalised with the ImageNet mean and std, for NxCxHxW float inputs: detectors answer noise with an output
near 0 everywhere, where a comparison says little.
With --model, a generated input takes the model's element type unless :TYPE is given (float32, float16, int64,
int32, uint8, int8, bool, float64).
onnxruntime-node is taken from this folder's node_modules, else from \${DL_CACHE:-~/.cache/demand-layering}/npm
(scripts/fetch-models.sh installs it there).`;

function fail(msg, code = 2) {
    process.stderr.write(`ort_run: ${msg}\n`);
    process.exit(code);
}

function parseArgs(argv) {
    const a = { inputs: [], gens: [], threads: os.cpus().length, warmup: 1, iterations: 0, seed: 1n, genKind: 'uniform' };
    const need = (i) => {
        if (i + 1 >= argv.length) fail(`${argv[i]} needs a value`);
        return argv[i + 1];
    };
    const int = (s, flag) => {
        if (!/^\d+$/.test(s)) fail(`${flag} needs a non-negative integer, got '${s}'`);
        return Number(s);
    };
    for (let i = 0; i < argv.length; ++i) {
        const f = argv[i];
        switch (f) {
        case '--model': a.model = need(i++); break;
        case '--input': a.inputs.push(need(i++)); break;
        case '--out': a.out = need(i++); break;
        case '--threads': a.threads = int(need(i++), f); break;
        case '--iterations': a.iterations = int(need(i++), f); break;
        case '--warmup': a.warmup = int(need(i++), f); break;
        case '--json': a.json = true; break;
        case '--describe': a.describe = true; break;
        case '--ops': a.ops = true; break;
        case '--gen-input': a.gens.push(need(i++)); break;
        case '--seed': {
            const s = need(i++);
            if (!/^\d+$/.test(s)) fail(`--seed needs a non-negative integer, got '${s}'`);
            a.seed = BigInt(s);
            break;
        }
        case '--out-inputs': a.outInputs = need(i++); break;
        case '--gen-kind':
            a.genKind = need(i++);
            if (!['uniform', 'text'].includes(a.genKind)) fail(`--gen-kind must be uniform or text, got '${a.genKind}'`);
            break;
        case '-h':
        case '--help': process.stdout.write(USAGE + '\n'); process.exit(0); break;
        default: fail(`unknown argument '${f}'\n${USAGE}`);
        }
    }
    if (a.threads < 1) a.threads = 1;
    return a;
}

function loadOrt() {
    const cache = process.env.DL_CACHE || path.join(os.homedir(), '.cache', 'demand-layering');
    const bases = [path.join(__dirname, 'package.json'), path.join(cache, 'npm', 'package.json')];
    for (const base of bases) {
        try {
            return createRequire(base)('onnxruntime-node');
        } catch (e) {
            if (e.code !== 'MODULE_NOT_FOUND') throw e;
        }
    }
    fail(`onnxruntime-node is not installed (looked next to ${__dirname} and in ${cache}/npm); run scripts/fetch-models.sh`, 3);
}

// --- seeded inputs -------------------------------------------------------------------------------------------------

// splitmix64 on two uint32 halves: BigInt would cost seconds for a 1024x1024 image.
function mulhi32(a, b) {
    const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
    const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    return (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}
function mul64(ahi, alo, bhi, blo) {
    const lo = Math.imul(alo, blo) >>> 0;
    const hi = (mulhi32(alo, blo) + Math.imul(ahi, blo) + Math.imul(alo, bhi)) >>> 0;
    return [hi, lo];
}

class SplitMix64 {
    constructor(seed) {
        const s = BigInt.asUintN(64, BigInt(seed));
        this.hi = Number(s >> 32n) >>> 0;
        this.lo = Number(s & 0xffffffffn) >>> 0;
    }
    // Returns the next 64-bit value as [hi, lo] uint32 halves.
    next() {
        const lo = this.lo + 0x7f4a7c15;
        this.hi = (this.hi + 0x9e3779b9 + (lo > 0xffffffff ? 1 : 0)) >>> 0;
        this.lo = lo >>> 0;
        let hi = this.hi, l = this.lo;
        // z ^= z >> 30; z *= 0xbf58476d1ce4e5b9
        l = (l ^ ((l >>> 30) | (hi << 2))) >>> 0;
        hi = (hi ^ (hi >>> 30)) >>> 0;
        [hi, l] = mul64(hi, l, 0xbf58476d, 0x1ce4e5b9);
        // z ^= z >> 27; z *= 0x94d049bb133111eb
        l = (l ^ ((l >>> 27) | (hi << 5))) >>> 0;
        hi = (hi ^ (hi >>> 27)) >>> 0;
        [hi, l] = mul64(hi, l, 0x94d049bb, 0x133111eb);
        // z ^= z >> 31
        l = (l ^ ((l >>> 31) | (hi << 1))) >>> 0;
        hi = (hi ^ (hi >>> 31)) >>> 0;
        return [hi, l];
    }
    // Uniform in [0,1) with 24 bits, so every value is exact in float32.
    nextFloat() {
        return (this.next()[0] >>> 8) / 16777216;
    }
}

// Exact BigInt reference, used by the self-test to check the 32-bit version.
function splitmix64Reference(seed, count) {
    const M = (x) => BigInt.asUintN(64, x);
    let s = M(BigInt(seed));
    const out = [];
    for (let i = 0; i < count; ++i) {
        s = M(s + 0x9e3779b97f4a7c15n);
        let z = s;
        z = M((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
        z = M((z ^ (z >> 27n)) * 0x94d049bb133111ebn);
        out.push(z ^ (z >> 31n));
    }
    return out;
}

function floatToHalf(f) {
    const buf = new DataView(new ArrayBuffer(4));
    buf.setFloat32(0, f);
    const x = buf.getUint32(0);
    const sign = (x >>> 16) & 0x8000;
    const exp = ((x >>> 23) & 0xff) - 127 + 15;
    const mant = x & 0x7fffff;
    if (exp <= 0) return sign; // the generator's values never need subnormals; flush them
    if (exp >= 31) return sign | 0x7c00;
    let h = sign | (exp << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h += 1; // round to nearest even
    return h;
}

function parseGen(spec, modelTypes) {
    const m = /^([^=]+)=(\d+(?:x\d+)*)(?::(\w+))?$/.exec(spec);
    if (!m) fail(`--gen-input '${spec}': expected NAME=D0xD1x...[:TYPE]`);
    const dims = m[2].split('x').map(Number);
    const type = m[3] || (modelTypes && modelTypes[m[1]]) || 'float32';
    return { name: m[1], dims, type };
}

// A white page with lines of glyph-like strokes (bars 2 px thick), the grey level shared by all channels.
function textPage(h, w, rng) {
    const page = new Float32Array(h * w).fill(1);
    const rnd = (lo, hi) => lo + Math.floor(rng.nextFloat() * (hi - lo));
    const bar = (x0, y0, x1, y1) => {
        for (let y = Math.max(0, y0); y < Math.min(h, y1); ++y)
            for (let x = Math.max(0, x0); x < Math.min(w, x1); ++x) page[y * w + x] = 0;
    };
    const lineH = Math.max(4, Math.min(24, Math.floor(h * 0.6)));
    for (let y0 = rnd(2, Math.max(3, Math.min(20, h - lineH))); y0 + lineH <= h; y0 += lineH + rnd(6, 36)) {
        const glyphH = rnd(Math.max(3, lineH - 10), lineH + 1);
        let x = rnd(2, Math.max(3, Math.min(40, w >> 3)));
        const xEnd = Math.min(w - 4, x + rnd(w >> 2, w));
        while (x < xEnd) {
            const gw = rnd(6, 14);
            for (let k = 0; k < 3; ++k) {
                if (rng.nextFloat() < 0.5) {
                    const xs = x + rnd(0, gw - 2);
                    bar(xs, y0, xs + 2, y0 + glyphH);
                } else {
                    const ys = y0 + rnd(0, glyphH - 2);
                    bar(x, ys, x + gw, ys + 2);
                }
            }
            x += gw + rnd(2, 5) + (rng.nextFloat() < 0.15 ? rnd(8, 16) : 0);
        }
    }
    return page;
}

function generateText(dims, rng, data) {
    if (dims.length !== 4) fail(`--gen-kind text needs NxCxHxW dims, got ${dims.join('x')}`);
    const [n, c, h, w] = dims;
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    for (let b = 0; b < n; ++b) {
        const page = textPage(h, w, rng);
        for (let ch = 0; ch < c; ++ch) {
            const base = (b * c + ch) * h * w;
            for (let i = 0; i < h * w; ++i)
                data[base + i] = (page[i] + 0.05 * (rng.nextFloat() - 0.5) - mean[ch % 3]) / std[ch % 3];
        }
    }
}

function generate({ name, dims, type }, rng, kind = 'uniform') {
    const dataType = tp.dataTypeFromOrt(type);
    const Ctor = tp.typedArrayFor(dataType);
    const n = tp.elementCount(dims);
    const data = new Ctor(n);
    if (kind === 'text' && (type === 'float32' || type === 'float64')) {
        generateText(dims, rng, data);
    } else if (type === 'float32' || type === 'float64') {
        for (let i = 0; i < n; ++i) data[i] = rng.nextFloat();
    } else if (type === 'float16') {
        for (let i = 0; i < n; ++i) data[i] = floatToHalf(rng.nextFloat());
    } else if (type === 'bool') {
        for (let i = 0; i < n; ++i) data[i] = rng.next()[0] >>> 31;
    } else if (type === 'int64' || type === 'uint64') {
        for (let i = 0; i < n; ++i) data[i] = BigInt(rng.next()[0] % 10);
    } else if (['int32', 'uint8', 'int8', 'int16', 'uint16', 'uint32'].includes(type)) {
        for (let i = 0; i < n; ++i) data[i] = rng.next()[0] % 10;
    } else {
        fail(`--gen-input ${name}: cannot generate type ${type}`);
    }
    return { name, dims, dataType, data };
}

// --- model structure (for --describe --ops) --------------------------------------------------------------------

function modelSummary(file) {
    const buf = fs.readFileSync(file);
    const summary = { irVersion: 0, opsets: {}, nodes: 0, ops: {}, initializers: 0, initializerBytes: 0,
        initializerTypes: {} };
    const str = (r) => r.bytes().toString('utf8');
    tp.forEachField(buf, (field, wire, r) => {
        if (field === 1 && wire === 0) summary.irVersion = Number(r.varint());
        else if (field === 8 && wire === 2) {
            let domain = '', version = 0;
            tp.forEachField(r.bytes(), (f, w, rr) => {
                if (f === 1 && w === 2) domain = str(rr);
                else if (f === 2 && w === 0) version = Number(rr.varint());
                else return false;
                return true;
            });
            summary.opsets[domain || 'ai.onnx'] = version;
        } else if (field === 7 && wire === 2) {
            tp.forEachField(r.bytes(), (gf, gw, gr) => {
                if (gf === 1 && gw === 2) {
                    let op = '', domain = '';
                    tp.forEachField(gr.bytes(), (f, w, rr) => {
                        if (f === 4 && w === 2) op = str(rr);
                        else if (f === 7 && w === 2) domain = str(rr);
                        else return false;
                        return true;
                    });
                    const key = domain ? `${domain}:${op}` : op;
                    summary.ops[key] = (summary.ops[key] || 0) + 1;
                    summary.nodes += 1;
                } else if (gf === 5 && gw === 2) {
                    const body = gr.bytes();
                    let dataType = 0;
                    tp.forEachField(body, (f, w, rr) => {
                        if (f !== 2 || w !== 0) return false;
                        dataType = Number(rr.varint());
                        return true;
                    });
                    summary.initializers += 1;
                    summary.initializerBytes += body.length;
                    summary.initializerTypes[dataType] = (summary.initializerTypes[dataType] || 0) + 1;
                } else return false;
                return true;
            });
        } else return false;
        return true;
    });
    return summary;
}

// --- running -------------------------------------------------------------------------------------------------------

async function createSession(ort, a) {
    return ort.InferenceSession.create(a.model, {
        executionProviders: ['cpu'],
        intraOpNumThreads: a.threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
    });
}

function metaList(list) {
    return (list || []).map((m) => ({ name: m.name, type: m.type, shape: m.shape }));
}

function loadInputs(ort, a, session) {
    const feeds = {};
    a.inputs.forEach((spec, i) => {
        const eq = spec.indexOf('=');
        const file = eq >= 0 ? spec.slice(eq + 1) : spec;
        let t;
        try {
            t = tp.readFile(file);
        } catch (e) {
            fail(`cannot read input ${file}: ${e.message}`);
        }
        const name = eq >= 0 ? spec.slice(0, eq) : t.name || session.inputNames[i];
        if (!session.inputNames.includes(name))
            fail(`model has no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
        feeds[name] = new ort.Tensor(tp.ortTypeOf(t.dataType), t.data, t.dims);
    });
    const missing = session.inputNames.filter((n) => !(n in feeds));
    if (missing.length) fail(`no --input for ${missing.join(', ')}`);
    return feeds;
}

function ms(ns) {
    return Number(ns) / 1e6;
}

async function main() {
    const a = parseArgs(process.argv.slice(2));
    if (!a.model && !a.gens.length) fail(`nothing to do\n${USAGE}`);
    const ort = a.model ? loadOrt() : null;
    let session = null;
    let loadMs = 0;
    if (a.model) {
        if (!fs.existsSync(a.model)) fail(`model ${a.model} does not exist`);
        const t0 = process.hrtime.bigint();
        try {
            session = await createSession(ort, a);
        } catch (e) {
            fail(`onnxruntime could not load ${a.model}: ${e.message}`, 1);
        }
        loadMs = ms(process.hrtime.bigint() - t0);
    }

    if (a.describe) {
        const d = {
            model: a.model,
            ortVersion: ort.env.versions.common,
            inputs: metaList(session.inputMetadata),
            outputs: metaList(session.outputMetadata),
        };
        if (a.ops) d.summary = modelSummary(a.model);
        if (a.json) {
            process.stdout.write(JSON.stringify(d) + '\n');
        } else {
            const size = fs.statSync(a.model).size;
            process.stdout.write(`${a.model} (${size} bytes, onnxruntime ${d.ortVersion})\n`);
            for (const m of d.inputs) process.stdout.write(`  input  ${m.name}: ${m.type} [${m.shape.join(', ')}]\n`);
            for (const m of d.outputs) process.stdout.write(`  output ${m.name}: ${m.type} [${m.shape.join(', ')}]\n`);
            if (d.summary) process.stdout.write(`  ${JSON.stringify(d.summary)}\n`);
        }
        if (!a.inputs.length && !a.gens.length) return;
    }

    if (a.gens.length) {
        if (!a.outInputs) fail('--gen-input needs --out-inputs DIR');
        const modelTypes = session ? Object.fromEntries(metaList(session.inputMetadata).map((m) => [m.name, m.type])) : null;
        fs.mkdirSync(a.outInputs, { recursive: true });
        const rng = new SplitMix64(a.seed);
        a.gens.forEach((spec, i) => {
            const t = generate(parseGen(spec, modelTypes), rng, a.genKind);
            const file = path.join(a.outInputs, `input_${i}.pb`);
            tp.writeFile(file, t);
            a.inputs.push(`${t.name}=${file}`);
        });
        if (!a.out && !a.iterations) return;
    }

    if (!session) fail('--model is needed to run');
    const feeds = loadInputs(ort, a, session);

    const report = { model: a.model, threads: a.threads, ortVersion: ort.env.versions.common, load_ms: loadMs };
    let results;
    if (a.iterations > 0) {
        for (let i = 0; i < a.warmup; ++i) await session.run(feeds);
        const times = [];
        for (let i = 0; i < a.iterations; ++i) {
            const t0 = process.hrtime.bigint();
            results = await session.run(feeds);
            times.push(ms(process.hrtime.bigint() - t0));
        }
        const sorted = [...times].sort((x, y) => x - y);
        const mid = sorted.length >> 1;
        Object.assign(report, {
            warmup: a.warmup,
            iterations: a.iterations,
            median_ms: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2,
            min_ms: sorted[0],
            max_ms: sorted[sorted.length - 1],
            mean_ms: times.reduce((x, y) => x + y, 0) / times.length,
            times_ms: times,
        });
    } else {
        const t0 = process.hrtime.bigint();
        results = await session.run(feeds);
        report.run_ms = ms(process.hrtime.bigint() - t0);
    }

    report.outputs = session.outputNames.map((name) => ({ name, type: results[name].type, dims: results[name].dims }));
    if (a.out) {
        fs.mkdirSync(a.out, { recursive: true });
        session.outputNames.forEach((name, i) => {
            const r = results[name];
            const file = path.join(a.out, `output_${i}.pb`);
            tp.writeFile(file, { name, dims: [...r.dims], dataType: tp.dataTypeFromOrt(r.type), data: r.data });
            report.outputs[i].file = file;
        });
    }
    if (a.iterations > 0 || a.json) {
        process.stdout.write(JSON.stringify(report) + '\n');
    } else {
        for (const o of report.outputs)
            process.stdout.write(`${o.name}: ${o.type} [${o.dims.join(', ')}]${o.file ? ' -> ' + o.file : ''}\n`);
    }
    await session.release();
}

module.exports = { SplitMix64, splitmix64Reference, floatToHalf, modelSummary };

if (require.main === module) {
    main().catch((e) => fail(e.stack || String(e), 1));
}
