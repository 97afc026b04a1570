#!/usr/bin/env node
'use strict';
// Checks the reference tooling without ONNX Runtime or models: the TensorProto reader and writer (round trip of the
// ONNX test data, packed and unpacked encodings), the seeded generator and the float16 helpers.

const fs = require('fs');
const path = require('path');
const assert = require('assert');
const repoRoot = path.resolve(__dirname, '..', '..');
const tp = require(path.join(repoRoot, 'bench', 'ort', 'tensorproto.js'));
const { SplitMix64, splitmix64Reference, floatToHalf } = require(path.join(repoRoot, 'bench', 'ort', 'ort_run.js'));

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

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
