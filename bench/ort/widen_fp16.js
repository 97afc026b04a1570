#!/usr/bin/env node
'use strict';
// Widens a float16 ONNX model to float32: every float16 initializer and Constant becomes float32 (exactly, since
// each half value is a float), Cast nodes that targeted float16 target float32, and the float16 element types of
// graph inputs, outputs and value_info become float32. Every other byte is copied as it is.
// The sample ISNet ships only as float16 and quantized uint8; its float32 twin lets the engine be compared with
// ONNX Runtime at float32 precision. Usage: node widen_fp16.js IN.onnx OUT.onnx

const fs = require('fs');
const tp = require('./tensorproto.js');

const FLOAT = tp.DataType.FLOAT;
const FLOAT16 = tp.DataType.FLOAT16;

// Splits a message into its field records: { field, wire, start (of the key), valueStart, end }.
function spans(buf) {
    const r = new tp.Reader(buf);
    const out = [];
    while (!r.done()) {
        const start = r.pos;
        const key = r.smallVarint();
        const field = Math.floor(key / 8);
        const wire = key & 7;
        let valueStart = r.pos;
        if (wire === 2) {
            const len = r.smallVarint();
            valueStart = r.pos;
            r.pos += len;
            if (r.pos > r.end) throw new Error('length-delimited field runs past the end');
        } else {
            r.skip(wire);
        }
        out.push({ field, wire, start, valueStart, end: r.pos });
    }
    return out;
}

function lenField(field, body) {
    return Buffer.concat([Buffer.from(tp.varintBytes(field * 8 + 2)), Buffer.from(tp.varintBytes(body.length)), body]);
}

function varintField(field, value) {
    return Buffer.from([...tp.varintBytes(field * 8), ...tp.varintBytes(value)]);
}

// Rebuilds a message: edit(span, valueBytes) returns a Buffer to put in the record's place, or undefined to keep it.
function rewrite(buf, edit) {
    const parts = [];
    let changed = false;
    for (const s of spans(buf)) {
        const value = buf.subarray(s.valueStart, s.end);
        const repl = edit(s, value);
        if (repl === undefined) {
            parts.push(buf.subarray(s.start, s.end));
        } else {
            parts.push(repl);
            changed = true;
        }
    }
    return changed ? Buffer.concat(parts) : buf;
}

const stats = { tensors: 0, casts: 0, types: 0 };

function widenTensor(body) {
    const t = tp.decode(body);
    if (t.dataType !== FLOAT16) return body;
    const wide = tp.toFloat64(t);
    stats.tensors += 1;
    return tp.encode({ name: t.name, dims: t.dims, dataType: FLOAT, data: Float32Array.from(wide) });
}

// TypeProto { tensor_type = 1 { elem_type = 1 } }; sequence/optional/map types are left alone.
function widenType(typeBody) {
    return rewrite(typeBody, (s, v) => {
        if (s.field !== 1 || s.wire !== 2) return undefined;
        return lenField(1, rewrite(v, (ts, tv) => {
            if (ts.field !== 1 || ts.wire !== 0) return undefined;
            if (Number(new tp.Reader(tv).varint()) !== FLOAT16) return undefined;
            stats.types += 1;
            return varintField(1, FLOAT);
        }));
    });
}

function widenValueInfo(body) {
    return rewrite(body, (s, v) => (s.field === 2 && s.wire === 2 ? lenField(2, widenType(v)) : undefined));
}

function attrName(body) {
    for (const s of spans(body)) {
        if (s.field === 1 && s.wire === 2) return body.subarray(s.valueStart, s.end).toString('utf8');
    }
    return '';
}

function widenAttribute(body, opType) {
    const name = attrName(body);
    return rewrite(body, (s, v) => {
        if (s.field === 3 && s.wire === 0 && opType === 'Cast' && name === 'to') {
            if (Number(new tp.Reader(v).varint()) !== FLOAT16) return undefined;
            stats.casts += 1;
            return varintField(3, FLOAT);
        }
        if (s.field === 5 && s.wire === 2) return lenField(5, widenTensor(v)); // t
        if (s.field === 10 && s.wire === 2) return lenField(10, widenTensor(v)); // tensors
        if (s.field === 6 && s.wire === 2) return lenField(6, widenGraph(v)); // g
        if (s.field === 11 && s.wire === 2) return lenField(11, widenGraph(v)); // graphs
        return undefined;
    });
}

function widenNode(body) {
    let opType = '';
    for (const s of spans(body)) {
        if (s.field === 4 && s.wire === 2) opType = body.subarray(s.valueStart, s.end).toString('utf8');
    }
    if (opType === 'CastLike') throw new Error('CastLike is not handled by this widener');
    return rewrite(body, (s, v) => (s.field === 5 && s.wire === 2 ? lenField(5, widenAttribute(v, opType)) : undefined));
}

function widenGraph(body) {
    return rewrite(body, (s, v) => {
        if (s.wire !== 2) return undefined;
        switch (s.field) {
        case 1: return lenField(1, widenNode(v)); // node
        case 5: return lenField(5, widenTensor(v)); // initializer
        case 11: // input
        case 12: // output
        case 13: // value_info
            return lenField(s.field, widenValueInfo(v));
        case 15: throw new Error('sparse initializers are not handled by this widener');
        default: return undefined;
        }
    });
}

function widenModel(buf) {
    return rewrite(buf, (s, v) => (s.field === 7 && s.wire === 2 ? lenField(7, widenGraph(v)) : undefined));
}

function main() {
    const [input, output] = process.argv.slice(2);
    if (!input || !output) {
        process.stderr.write('usage: node widen_fp16.js IN.onnx OUT.onnx\n');
        process.exit(2);
    }
    const out = widenModel(fs.readFileSync(input));
    fs.writeFileSync(output, out);
    process.stdout.write(
        `widen_fp16: ${stats.tensors} float16 tensors, ${stats.casts} Cast targets, ${stats.types} value types ` +
        `widened; ${output} has ${out.length} bytes\n`);
}

// The span-level rewriting helpers are shared with narrow_fp16.js.
module.exports = { widenModel, spans, rewrite, lenField, varintField, attrName };

if (require.main === module) {
    try {
        main();
    } catch (e) {
        process.stderr.write(`widen_fp16: ${e.message}\n`);
        process.exit(1);
    }
}
