#!/usr/bin/env node
'use strict';
// Checks the reference tooling without ONNX Runtime or models: the TensorProto reader and writer (round trip of the
// ONNX test data, packed and unpacked encodings), the seeded generator, the float16 helpers, and narrow_fp16.js on
// tiny models built here (checked by a small interpreter that also checks every node's input types).

const fs = require('fs');
const path = require('path');
const assert = require('assert');
const repoRoot = path.resolve(__dirname, '..', '..');
const tp = require(path.join(repoRoot, 'bench', 'ort', 'tensorproto.js'));
const { SplitMix64, splitmix64Reference, floatToHalf } = require(path.join(repoRoot, 'bench', 'ort', 'ort_run.js'));
const { spans, lenField, varintField } = require(path.join(repoRoot, 'bench', 'ort', 'widen_fp16.js'));
const { narrowModel } = require(path.join(repoRoot, 'bench', 'ort', 'narrow_fp16.js'));

const testdata = process.env.DL_ONNX_TESTDATA || '/usr/share/libonnx-testdata/data/node';
let passed = 0;
let failed = 0;

function check(name, fn) {
    try {
        fn();
        ++passed;
        console.log(`ok   ${name}`);
    } catch (e) {
        ++failed;
        console.log(`FAIL ${name}: ${e.message}`);
    }
}

function sameTensor(a, b) {
    assert.strictEqual(a.name, b.name);
    assert.deepStrictEqual(a.dims, b.dims);
    assert.strictEqual(a.dataType, b.dataType);
    assert.strictEqual(a.data.constructor, b.data.constructor);
    assert.ok(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)
        .equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)), 'data differs');
}

// One file per element type that the test data holds; the TensorProto files among them, not the sequence ones.
function sampleFiles() {
    const byType = new Map();
    if (!fs.existsSync(testdata)) return byType;
    for (const c of fs.readdirSync(testdata).sort()) {
        const dir = path.join(testdata, c, 'test_data_set_0');
        if (!fs.existsSync(dir)) continue;
        for (const f of fs.readdirSync(dir).sort()) {
            if (!f.endsWith('.pb')) continue;
            let t;
            try {
                t = tp.readFile(path.join(dir, f));
            } catch {
                continue;
            }
            if (!byType.has(t.dataType)) byType.set(t.dataType, path.join(dir, f));
        }
    }
    return byType;
}

check('round trip of test_abs input_0.pb (decode, encode, decode)', () => {
    const file = path.join(testdata, 'test_abs', 'test_data_set_0', 'input_0.pb');
    if (!fs.existsSync(file)) throw new Error(`${file} is missing (Debian package libonnx-testdata)`);
    const t = tp.readFile(file);
    assert.strictEqual(t.dataType, tp.DataType.FLOAT);
    assert.deepStrictEqual(t.dims, [3, 4, 5]);
    sameTensor(t, tp.decode(tp.encode(t)));
});

const samples = sampleFiles();
for (const [dt, file] of samples) {
    check(`round trip of data_type ${dt} (${path.relative(testdata, file)})`, () => {
        const t = tp.readFile(file);
        sameTensor(t, tp.decode(tp.encode(t)));
    });
}
check('test data covers float32, float16, int64, int32, uint8 and bool', () => {
    for (const dt of [1, 10, 7, 6, 2, 9]) assert.ok(samples.has(dt), `no sample of data_type ${dt}`);
});

check('unpacked dims and float_data, packed int64_data', () => {
    const bytes = [];
    const key = (f, w) => bytes.push(...tp.varintBytes(f * 8 + w));
    key(1, 0); bytes.push(2); // dims 2, one record each
    key(1, 0); bytes.push(3);
    key(2, 0); bytes.push(1); // FLOAT
    const f = Buffer.alloc(4);
    for (let i = 0; i < 6; ++i) {
        f.writeFloatLE(i + 0.5);
        key(4, 5);
        bytes.push(...f);
    }
    key(8, 2); bytes.push(1, 0x78); // name "x"
    const t = tp.decode(Buffer.from(bytes));
    assert.deepStrictEqual(t.dims, [2, 3]);
    assert.strictEqual(t.name, 'x');
    assert.deepStrictEqual(Array.from(t.data), [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);

    const packed = [];
    const pk = (fld, w) => packed.push(...tp.varintBytes(fld * 8 + w));
    const dimsBody = [...tp.varintBytes(3)];
    pk(1, 2); packed.push(dimsBody.length, ...dimsBody); // packed dims [3]
    pk(2, 0); packed.push(7); // INT64
    const body = [...tp.varintBytes(-1n), ...tp.varintBytes(300), ...tp.varintBytes(2n ** 40n)];
    pk(7, 2); packed.push(...tp.varintBytes(body.length), ...body);
    const t2 = tp.decode(Buffer.from(packed));
    assert.deepStrictEqual(Array.from(t2.data), [-1n, 300n, 2n ** 40n]);
    sameTensor(t2, tp.decode(tp.encode(t2)));
});

check('malformed input is an Error, not a crash', () => {
    assert.throws(() => tp.decode(Buffer.from([0x08, 0x80])), /truncated/);
    assert.throws(() => tp.decode(Buffer.from([0x08, 0x02, 0x10, 0x01, 0x4a, 0x01, 0x00])), /raw_data/);
});

check('splitmix64 on 32-bit halves equals the BigInt reference', () => {
    assert.strictEqual(splitmix64Reference(0n, 1)[0], 0xe220a8397b1dcdafn);
    for (const seed of [0n, 1n, 42n, 0xffffffffffffffffn]) {
        const r = new SplitMix64(seed);
        for (const want of splitmix64Reference(seed, 2000)) {
            const [hi, lo] = r.next();
            assert.strictEqual((BigInt(hi) << 32n) | BigInt(lo), want);
        }
    }
    const r = new SplitMix64(7n);
    for (let i = 0; i < 10000; ++i) {
        const v = r.nextFloat();
        assert.ok(v >= 0 && v < 1);
    }
});

check('float16 conversions', () => {
    for (const [f, h] of [[0, 0], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff], [1 / 3, 0x3555]]) {
        assert.strictEqual(floatToHalf(f), h, `floatToHalf(${f})`);
        if (f !== 1 / 3) assert.strictEqual(tp.halfToFloat(h), f);
    }
});

check('tensorproto floatToHalf and toFloat16 round to nearest even', () => {
    const hex = (h) => `0x${h.toString(16)}`;
    const cases = [
        [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [-0, 0x8000], [Infinity, 0x7c00],
        [65519, 0x7bff], // below the halfway point to 65536: the largest half
        [65520, 0x7c00], [-65520, 0xfc00], [1e6, 0x7c00], // halfway and beyond: inf
        [2 ** -14, 0x0400], [2 ** -24, 0x0001], [1023 * 2 ** -24, 0x03ff], [2.5 * 2 ** -24, 0x0002], // (sub)normals
        [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002], // subnormal ties go to the even neighbour
        [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [2048 + 1, 0x6800], [2048 + 3, 0x6802], // normal ties
        [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above a tie: up
    ];
    for (const [f, h] of cases) assert.strictEqual(tp.floatToHalf(f), h, `floatToHalf(${f}) = ${hex(tp.floatToHalf(f))}`);
    const nan = tp.floatToHalf(NaN);
    assert.ok((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0, `floatToHalf(NaN) = ${hex(nan)}, not a NaN`);
    const bits = tp.toFloat16(Float32Array.from(cases.map(([f]) => f)));
    assert.deepStrictEqual(Array.from(bits), cases.map(([, h]) => h));
    // Every half that is not NaN is a float32 that must come back as itself.
    for (let h = 0; h < 0x10000; ++h) {
        if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff)) continue;
        if (tp.floatToHalf(tp.halfToFloat(h)) !== h) throw new Error(`${hex(h)} does not round-trip`);
    }
});

// --- narrow_fp16.js on tiny models -----------------------------------------------------------------------------------

const FLOAT = tp.DataType.FLOAT;
const FLOAT16 = tp.DataType.FLOAT16;
const str = (field, s) => lenField(field, Buffer.from(s, 'utf8'));
const f32 = (name, values) => tp.encode({ name, dims: [values.length], dataType: FLOAT, data: Float32Array.from(values) });
const fields = (buf, field) => spans(buf).filter((s) => s.field === field).map((s) => buf.subarray(s.valueStart, s.end));
const intField = (buf, field) => {
    const s = spans(buf).find((x) => x.field === field && x.wire === 0);
    return s ? Number(new tp.Reader(buf, s.valueStart, s.end).varint()) : undefined;
};

function valueInfo(name, dims) {
    const shape = Buffer.concat(dims.map((d) => lenField(1, varintField(1, d))));
    return Buffer.concat([str(1, name), lenField(2, lenField(1, Buffer.concat([varintField(1, FLOAT), lenField(2, shape)])))]);
}

function nodeRecord(op, inputs, outputs, attrs = []) {
    return Buffer.concat([...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(3, `${op}_${outputs[0]}`),
        str(4, op), ...attrs.map((a) => lenField(5, a))]);
}

// Y = Mul(BatchNormalization(Mul(X, W), S, bias, mean, VAR), S): the shape of PaddleOCR det's head, VAR given as an
// initializer or as a Constant (det has Constants). S is read by the BatchNormalization and by the last Mul.
const TINY = { x: [1, 2, 3], w: [0.5, 0.25, 2], s: [1.5, 2, 0.5], bias: [0.1, 0.2, 0.3], mean: [1000, -2000, 5000] };
function tinyModel(variance, asConstant) {
    const inits = [f32('W', TINY.w), f32('S', TINY.s), f32('bias', TINY.bias), f32('mean', TINY.mean)];
    const nodes = [];
    if (asConstant) nodes.push(nodeRecord('Constant', [], ['VAR'], [Buffer.concat([str(1, 'value'), lenField(5, f32('', variance)), varintField(20, 4)])]));
    else inits.push(f32('VAR', variance));
    nodes.push(nodeRecord('Mul', ['X', 'W'], ['A']), nodeRecord('BatchNormalization', ['A', 'S', 'bias', 'mean', 'VAR'], ['B']),
        nodeRecord('Mul', ['B', 'S'], ['Y']));
    const graph = Buffer.concat([...nodes.map((n) => lenField(1, n)), str(2, 'tiny'), ...inits.map((t) => lenField(5, t)),
        lenField(11, valueInfo('X', [1, 3])), lenField(12, valueInfo('Y', [1, 3]))]);
    return Buffer.concat([varintField(1, 8), lenField(8, Buffer.concat([str(1, ''), varintField(2, 13)])), lenField(7, graph)]);
}

function tinyExpected(variance) {
    return TINY.x.map((x, c) => (TINY.s[c] * (x * TINY.w[c] - TINY.mean[c]) / Math.sqrt(variance[c] + 1e-5) + TINY.bias[c]) * TINY.s[c]);
}

// Runs a tiny model's Mul, BatchNormalization, Cast and Constant nodes as onnxruntime would: the inputs of a node
// must all have one type (else the model would not load), and each result is rounded to its type.
// Returns { y, graph: { initializers: name -> type, inputs/outputs: name -> elem type, nodes: [{ op, type }] } }.
function runTiny(model, x) {
    const graph = fields(model, 7)[0];
    const round = (type, v) => (type === FLOAT16 ? tp.halfToFloat(tp.floatToHalf(v)) : Math.fround(v));
    const env = new Map();
    const info = { initializers: new Map(), inputs: new Map(), outputs: new Map(), nodes: [] };
    const put = (name, t) => env.set(name, { type: t.dataType, data: Array.from(tp.toFloat64(t)) });
    for (const body of fields(graph, 5)) {
        const t = tp.decode(body);
        info.initializers.set(t.name, t.dataType);
        put(t.name, t);
    }
    for (const [field, map] of [[11, info.inputs], [12, info.outputs]]) {
        for (const v of fields(graph, field)) map.set(fields(v, 1)[0].toString(), intField(fields(fields(v, 2)[0], 1)[0], 1));
    }
    const [xName] = info.inputs.keys();
    env.set(xName, { type: info.inputs.get(xName), data: x.map(Math.fround) });
    for (const n of fields(graph, 1)) {
        const op = fields(n, 4)[0].toString();
        const attrs = new Map(fields(n, 5).map((a) => [fields(a, 1)[0].toString(), a]));
        const ins = fields(n, 1).map((b) => {
            const v = env.get(b.toString());
            if (!v) throw new Error(`${op} reads '${b}', which nothing before it makes`);
            return v;
        });
        const out = fields(n, 2)[0].toString();
        if (ins.some((v) => v.type !== (ins[0] || {}).type) && op !== 'Cast')
            throw new Error(`${op} -> ${out} mixes input types ${ins.map((v) => v.type)}`);
        let res;
        if (op === 'Constant') {
            const t = tp.decode(fields(attrs.get('value'), 5)[0]);
            res = { type: t.dataType, data: Array.from(tp.toFloat64(t)) };
        } else if (op === 'Cast') {
            const to = intField(attrs.get('to'), 3);
            res = { type: to, data: ins[0].data.map((v) => round(to, v)) };
        } else if (op === 'Mul') {
            res = { type: ins[0].type, data: ins[0].data.map((v, i) => round(ins[0].type, v * ins[1].data[i])) };
        } else if (op === 'BatchNormalization') {
            const [a, s, b, m, v] = ins.map((t) => t.data);
            res = { type: ins[0].type, data: a.map((e, c) => round(ins[0].type, s[c] * (e - m[c]) / Math.sqrt(v[c] + 1e-5) + b[c])) };
        } else {
            throw new Error(`the tiny interpreter has no ${op}`);
        }
        env.set(out, res);
        info.nodes.push({ op, out, type: res.type, inputs: fields(n, 1).map(String) });
    }
    const [yName] = info.outputs.keys();
    return { y: env.get(yName), info };
}

function narrowTiny(variance, asConstant) {
    const { out } = narrowModel(tinyModel(variance, asConstant));
    return runTiny(out, TINY.x);
}

function closeTo(got, want, rel) {
    got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) <= rel * Math.abs(want[i]), `output ${i}: ${g}, want ${want[i]}`));
}

check('narrow_fp16: float32 tensors and nodes narrowed, graph input and output kept float32', () => {
    const variance = [1, 4, 9];
    const { y, info } = narrowTiny(variance, false);
    for (const name of ['W', 'S', 'bias', 'mean', 'VAR']) assert.strictEqual(info.initializers.get(name), FLOAT16, name);
    assert.strictEqual(info.inputs.get('X'), FLOAT);
    assert.strictEqual(info.outputs.get('Y'), FLOAT);
    assert.strictEqual(y.type, FLOAT);
    for (const n of info.nodes.filter((x) => x.op !== 'Cast')) assert.strictEqual(n.type, FLOAT16, `${n.op} -> ${n.out}`);
    assert.deepStrictEqual(info.nodes.map((n) => n.op), ['Cast', 'Mul', 'BatchNormalization', 'Mul', 'Cast']);
    closeTo(y.data, tinyExpected(variance), 5e-3);
});

for (const asConstant of [false, true]) {
    check(`narrow_fp16: a node reading a value beyond float16 (${asConstant ? 'Constant' : 'initializer'}) runs in float32`, () => {
        const variance = [1e6, 4e6, 1e8]; // float16 would make these inf, and the normalised values bias alone
        const { y, info } = narrowTiny(variance, asConstant);
        assert.strictEqual(info.initializers.get('W'), FLOAT16);
        for (const name of ['S', 'bias', 'mean', ...(asConstant ? [] : ['VAR'])])
            assert.strictEqual(info.initializers.get(name), FLOAT, `initializer ${name} of the float32 node`);
        if (asConstant) assert.strictEqual(info.nodes.find((n) => n.op === 'Constant').type, FLOAT);
        const [mul1, mul2] = info.nodes.filter((n) => n.op === 'Mul');
        const bn = info.nodes.find((n) => n.op === 'BatchNormalization');
        assert.deepStrictEqual([mul1.type, bn.type, mul2.type], [FLOAT16, FLOAT, FLOAT16], 'Mul, BatchNormalization, Mul');
        // Casts: X in, A to float32 for the BN, B back to float16, S's float16 copy for the second Mul, Y out.
        assert.strictEqual(info.nodes.filter((n) => n.op === 'Cast').length, 5);
        assert.strictEqual(info.inputs.get('X'), FLOAT);
        assert.strictEqual(y.type, FLOAT);
        closeTo(y.data, tinyExpected(variance), 5e-3);
    });
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
