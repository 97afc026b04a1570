#!/usr/bin/env node
'use strict';
// Narrows a float32 ONNX model to float16 the way deployment converters (onnxconverter-common's float16 converter
// with keep_io_types) do, so the engine can be tried on half-precision twins of the float32 sample models:
//  - float32 initializers and node tensor attributes (Constant values) become float16, rounded to nearest even;
//  - Cast nodes that targeted float32 target float16, and float32 value_info types become float16;
//  - the graph's float32 inputs and outputs keep their type: each input x gets Cast(x -> x_fp16, to=FLOAT16) for
//    its consumers, and the producer of each output y writes y_fp16, which Cast(to=FLOAT) turns back into y;
//  - inputs that ONNX types as float32 whatever the op's T is (Resize/Upsample scales) stay float32: a Constant,
//    initializer or Cast used only there is left as it is, anything else gets a Cast back to float32;
//  - a node that reads a float initializer or Constant holding a finite value beyond float16's range (|v| > 65504,
//    e.g. a BatchNormalization variance) runs in float32, as the converters' node_block_list / auto-mixed-precision
//    keep such nodes: its float initializers and Constants stay float32 (a float16 copy is cast for other readers),
//    its float16 inputs get a Cast to float32 and its float outputs a Cast back to float16.
// Integer tensors are not touched, and every other byte is copied as it is (the widen_fp16.js span rewriter).
// It is the opposite of widen_fp16.js. Usage: node narrow_fp16.js IN.onnx OUT.onnx

const fs = require('fs');
const tp = require('./tensorproto.js');
const { spans, rewrite, lenField, varintField, attrName } = require('./widen_fp16.js');

const FLOAT = tp.DataType.FLOAT;
const FLOAT16 = tp.DataType.FLOAT16;
const ATTR_INT = 2; // AttributeProto.AttributeType
const ATTR_TENSOR = 4;

// Input positions ONNX types as tensor(float) whatever T is, as a function of the ai.onnx opset. Resize's roi
// (input 1 from opset 11) is T2, which admits float16, so it narrows with the rest as onnxconverter-common does.
const FLOAT32_INPUTS = {
    Resize: (opset) => (opset < 11 ? [1] : [2]), // scales
    Upsample: () => [1], // scales (opset 9; opset 7 has them as an attribute)
};

// Ops whose float32 outputs (or inputs that flow into them) ONNX fixes below the given opset; a Cast here and there
// would not be enough, so they are refused rather than converted wrongly.
const UNHANDLED_BELOW = { DequantizeLinear: 19, QuantizeLinear: 19, DynamicQuantizeLinear: Infinity, TfIdfVectorizer: Infinity };

// Generator ops whose output type is an attribute: [attribute, whether it defaults to float32 when absent].
const DTYPE_ATTRS = {
    RandomNormal: ['dtype', true],
    RandomUniform: ['dtype', true],
    RandomNormalLike: ['dtype', false],
    RandomUniformLike: ['dtype', false],
    EyeLike: ['dtype', false],
    Bernoulli: ['dtype', false],
    HannWindow: ['output_datatype', true],
    HammingWindow: ['output_datatype', true],
    BlackmanWindow: ['output_datatype', true],
    MelWeightMatrix: ['output_datatype', true],
};

// Outputs that are never float whatever the inputs are (shapes, indices, comparisons, masks), and ops whose outputs
// from the given position on are indices or masks. Only the float32 nodes' inputs and outputs need these types.
const NON_FLOAT_OUTPUTS = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero', 'NonMaxSuppression', 'Equal',
    'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf', 'BitShift',
    'QuantizeLinear', 'DynamicQuantizeLinear', 'Multinomial', 'StringNormalizer', 'RegexFullMatch', 'StringSplit']);
const NON_FLOAT_FROM = { TopK: 1, MaxPool: 1, Dropout: 1, Unique: 1 };

const FLOAT16_MAX = 65504;

const stats = { tensors: 0, values: 0, overflowed: 0, underflowed: 0, kept: 0, casts: 0, types: 0, dtypes: 0,
    castsIn: 0, castsOut: 0, castsBack: 0, castsAround: 0, keptForNodes: 0 };

const text = (buf, s) => buf.subarray(s.valueStart, s.end).toString('utf8');
const varintAt = (buf, s) => Number(new tp.Reader(buf, s.valueStart, s.end).varint());

// --- reading the graph's structure ---------------------------------------------------------------------------------

function parseNode(body) {
    const node = { inputs: [], outputs: [], name: '', opType: '', domain: '', attrs: new Map(), attrBodies: new Map(),
        hasGraph: false };
    for (const s of spans(body)) {
        if (s.wire !== 2) continue;
        if (s.field === 1) node.inputs.push(text(body, s));
        else if (s.field === 2) node.outputs.push(text(body, s));
        else if (s.field === 3) node.name = text(body, s);
        else if (s.field === 4) node.opType = text(body, s);
        else if (s.field === 7) node.domain = text(body, s);
        else if (s.field === 5) {
            const attr = body.subarray(s.valueStart, s.end);
            const fields = spans(attr);
            // g and graphs: a subgraph may use outer names this converter renames, so it is refused below.
            if (fields.some((a) => a.field === 6 || a.field === 11)) node.hasGraph = true;
            const i = fields.find((a) => a.field === 3 && a.wire === 0);
            node.attrs.set(attrName(attr), i ? varintAt(attr, i) : null);
            node.attrBodies.set(attrName(attr), attr);
        }
    }
    return node;
}

// TensorProto name and data_type without decoding the data (decode() would refuse strings, for one).
function tensorHead(body) {
    let name = '';
    let dataType = 0;
    for (const s of spans(body)) {
        if (s.field === 8 && s.wire === 2) name = text(body, s);
        else if (s.field === 2 && s.wire === 0) dataType = varintAt(body, s);
    }
    return { name, dataType };
}

// ValueInfoProto name and tensor element type (0 for sequences, maps and unknown types).
function valueInfoHead(body) {
    let name = '';
    let elem = 0;
    for (const s of spans(body)) {
        if (s.field === 1 && s.wire === 2) name = text(body, s);
        if (s.field !== 2 || s.wire !== 2) continue;
        const type = body.subarray(s.valueStart, s.end);
        for (const t of spans(type)) {
            if (t.field !== 1 || t.wire !== 2) continue;
            const tensorType = type.subarray(t.valueStart, t.end);
            for (const e of spans(tensorType)) if (e.field === 1 && e.wire === 0) elem = varintAt(tensorType, e);
        }
    }
    return { name, elem };
}

function parseGraph(body) {
    // initializers: name -> { dataType, body }; valueInfo: { name, elem } as valueInfoHead gives them.
    const g = { nodes: [], initializers: new Map(), inputs: [], outputs: [], valueInfo: [] };
    for (const s of spans(body)) {
        if (s.wire !== 2) continue;
        const v = body.subarray(s.valueStart, s.end);
        if (s.field === 1) g.nodes.push(parseNode(v));
        else if (s.field === 5) {
            const t = tensorHead(v);
            g.initializers.set(t.name, { dataType: t.dataType, body: v });
        } else if (s.field === 11) g.inputs.push(valueInfoHead(v));
        else if (s.field === 12) g.outputs.push(valueInfoHead(v));
        else if (s.field === 13) g.valueInfo.push(valueInfoHead(v));
        else if (s.field === 15) throw new Error('sparse initializers are not handled by this narrower');
    }
    return g;
}

function defaultOpset(model) {
    for (const s of spans(model)) {
        if (s.field !== 8 || s.wire !== 2) continue;
        const body = model.subarray(s.valueStart, s.end);
        let domain = '';
        let version = 0;
        for (const o of spans(body)) {
            if (o.field === 1 && o.wire === 2) domain = text(body, o);
            else if (o.field === 2 && o.wire === 0) version = varintAt(body, o);
        }
        if (domain === '' || domain === 'ai.onnx') return version;
    }
    throw new Error('the model imports no ai.onnx opset');
}

// --- element types and values of constants -------------------------------------------------------------------------

// The TensorProto of an AttributeProto's t field, or null.
function attrTensor(attr) {
    const s = spans(attr).find((a) => a.field === 5 && a.wire === 2);
    return s ? attr.subarray(s.valueStart, s.end) : null;
}

// An AttributeProto's f / floats values (floats packed or not).
function attrFloats(attr) {
    const values = [];
    for (const s of spans(attr)) {
        if ((s.field === 2 || s.field === 7) && s.wire === 5) values.push(attr.readFloatLE(s.valueStart));
        else if (s.field === 7 && s.wire === 2) {
            for (let o = s.valueStart; o < s.end; o += 4) values.push(attr.readFloatLE(o));
        }
    }
    return values;
}

// A Constant's (or ConstantOfShape's) value: { dataType, tensor (TensorProto bytes) or floats }, or null when it has
// none of value, value_float and value_floats.
function constantValue(node) {
    const t = node.attrBodies.get('value');
    if (t) {
        const tensor = attrTensor(t);
        return tensor ? { dataType: tensorHead(tensor).dataType, tensor } : null;
    }
    const f = node.attrBodies.get('value_float') || node.attrBodies.get('value_floats');
    return f && node.opType === 'Constant' ? { dataType: FLOAT, floats: attrFloats(f) } : null;
}

// Whether output i of node n is float32 in the source model, given the float32 tensors before it. An approximate
// type inference: most ops give their outputs the type of input 0, and the exceptions that matter are listed.
function outputIsFloat(n, i, float) {
    const inFloat = (k) => float.has(n.inputs[k]);
    switch (n.opType) {
    case 'Cast': return n.attrs.get('to') === FLOAT;
    case 'CastLike': case 'Where': case 'DequantizeLinear': return inFloat(1);
    case 'Constant': {
        const c = constantValue(n);
        return c !== null && c.dataType === FLOAT;
    }
    case 'ConstantOfShape': { // a float32 zero unless value says otherwise
        const c = constantValue(n);
        return c === null || c.dataType === FLOAT;
    }
    default: break;
    }
    if (DTYPE_ATTRS[n.opType]) {
        const [attr, floatByDefault] = DTYPE_ATTRS[n.opType];
        if (n.attrs.has(attr)) return n.attrs.get(attr) === FLOAT;
        return floatByDefault || inFloat(0);
    }
    if (NON_FLOAT_OUTPUTS.has(n.opType) || i >= (NON_FLOAT_FROM[n.opType] ?? Infinity)) return false;
    return inFloat(0);
}

// Names of the source model's float32 tensors; value_info, where the model has it, wins over the inference.
function floatTensors(g) {
    const float = new Set();
    const declared = new Map([...g.valueInfo, ...g.outputs].map((v) => [v.name, v.elem]));
    for (const v of g.inputs) if (v.elem === FLOAT) float.add(v.name);
    for (const [name, t] of g.initializers) if (t.dataType === FLOAT) float.add(name);
    for (const n of g.nodes) {
        n.outputs.forEach((o, i) => {
            const elem = declared.get(o);
            if (o && (elem ? elem === FLOAT : outputIsFloat(n, i, float))) float.add(o);
        });
    }
    return float;
}

const beyondFloat16 = (values) => values.some((v) => Math.abs(v) > FLOAT16_MAX && Number.isFinite(v));

// Initializers and Constant outputs holding a finite float32 value that float16 cannot hold.
function overflowingTensors(g) {
    const out = new Set();
    for (const [name, t] of g.initializers) {
        if (t.dataType === FLOAT && beyondFloat16(tp.decode(t.body).data)) out.add(name);
    }
    for (const n of g.nodes) {
        if (n.opType !== 'Constant' || !n.outputs[0]) continue;
        const c = constantValue(n);
        if (c === null || c.dataType !== FLOAT) continue;
        if (beyondFloat16(c.floats || tp.decode(c.tensor).data)) out.add(n.outputs[0]);
    }
    return out;
}

// --- new records ---------------------------------------------------------------------------------------------------

const strField = (field, s) => lenField(field, Buffer.from(s, 'utf8'));

function intAttribute(name, value) {
    return Buffer.concat([strField(1, name), varintField(3, value), varintField(20, ATTR_INT)]);
}

function tensorAttribute(name, tensorBytes) {
    return Buffer.concat([strField(1, name), lenField(5, tensorBytes), varintField(20, ATTR_TENSOR)]);
}

function castNode(input, output, name, to) {
    return Buffer.concat([strField(1, input), strField(2, output), strField(3, name), strField(4, 'Cast'),
        lenField(5, intAttribute('to', to))]);
}

// --- planning: which names stay float32, what gets renamed, where casts go -----------------------------------------

function plan(g, opset) {
    const taken = new Set([...g.initializers.keys(), ...[...g.valueInfo, ...g.inputs, ...g.outputs].map((v) => v.name)]);
    const consumers = new Map(); // name -> [{ node, pos, pinned, blocked }]
    const producer = new Map(); // name -> node index
    const overflowing = overflowingTensors(g);
    const blocked = new Set(); // indices of the nodes that run in float32
    g.nodes.forEach((n, idx) => {
        const where = n.opType ? `${n.opType} node '${n.name || n.outputs[0] || idx}'` : `node ${idx}`;
        if (n.domain !== '' && n.domain !== 'ai.onnx')
            throw new Error(`${where} is in domain '${n.domain}'; only ai.onnx ops are handled`);
        if (n.hasGraph) throw new Error(`${where} has a subgraph (If/Loop/Scan), which this narrower does not handle`);
        if (opset < (UNHANDLED_BELOW[n.opType] || 0))
            throw new Error(`${where} keeps float32 tensors at opset ${opset}, which this narrower does not handle`);
        const isBlocked = n.inputs.some((name) => overflowing.has(name));
        if (isBlocked) blocked.add(idx);
        // A float32 node reads every float input as float32 anyway, float32-only ones included.
        const pinned = FLOAT32_INPUTS[n.opType] && !isBlocked ? FLOAT32_INPUTS[n.opType](opset) : [];
        n.pinned = pinned;
        n.inputs.forEach((name, pos) => {
            taken.add(name);
            if (!name) return; // an omitted optional input
            if (!consumers.has(name)) consumers.set(name, []);
            consumers.get(name).push({ node: idx, pos, pinned: pinned.includes(pos), blocked: isBlocked });
        });
        n.outputs.forEach((name) => {
            taken.add(name);
            producer.set(name, idx);
        });
        if (n.name) taken.add(n.name);
    });
    const fresh = (base) => {
        let name = base;
        for (let k = 1; taken.has(name); ++k) name = `${base}_${k}`;
        taken.add(name);
        return name;
    };

    const p = {
        keep: new Set(), // tensors that stay float32
        rename: new Map(), // name -> name for the node inputs that are not pinned (and outputs, for graph outputs)
        inputEdits: new Map(), // `${node}:${pos}` -> name, for pinned inputs and float32 nodes' inputs
        outputEdits: new Map(), // `${node}:${pos}` -> name, for float32 nodes' outputs
        head: [], // Cast nodes before the first node
        before: new Map(), // node index -> Cast nodes
        after: new Map(),
        keptFor: new Set(),
        blocked,
    };
    const push = (map, idx, rec) => map.set(idx, [...(map.get(idx) || []), rec]);
    const inputNames = new Set(g.inputs.map((v) => v.name));
    const floatOutputs = new Set(g.outputs.filter((v) => v.elem === FLOAT).map((v) => v.name));
    const float = blocked.size ? floatTensors(g) : new Set();
    const narrowedUse = (c) => !c.pinned && !c.blocked; // a use that reads the float16 value
    // name -> the name its float32 value has in the new graph, from its producer on (or from the start).
    const wideOf = new Map();

    // Float initializers and Constants that float32 nodes read stay float32; a float16 node reading one of these
    // initializers too reads a float16 copy, cast at the start. Such a Constant is narrowed instead (it is no
    // overflowing one, whose readers are all float32 nodes), and the float32 nodes get a Cast back.
    for (const [name, uses] of consumers) {
        if (!uses.some((c) => c.blocked) || !float.has(name) || inputNames.has(name) || floatOutputs.has(name)) continue;
        const prod = producer.has(name) ? g.nodes[producer.get(name)].opType : null;
        if (prod === null && g.initializers.has(name)) {
            if (uses.some(narrowedUse)) {
                const narrow = fresh(`${name}_fp16`);
                p.head.push(castNode(name, narrow, fresh(`${name}_cast_fp16`), FLOAT16));
                p.rename.set(name, narrow);
                stats.castsAround += 1;
            }
        } else if (prod !== 'Constant' || uses.some(narrowedUse)) {
            continue;
        }
        p.keep.add(name);
        wideOf.set(name, name);
        stats.keptForNodes += 1;
    }

    // Graph inputs keep float32. An initializer that gives an input its default value must stay float32 with it.
    for (const { name, elem } of g.inputs) {
        if (elem !== FLOAT) continue;
        wideOf.set(name, name);
        if (g.initializers.has(name)) p.keep.add(name);
        if (!(consumers.get(name) || []).some(narrowedUse)) continue; // unused, or read only as scales or in float32
        const narrow = fresh(`${name}_fp16`);
        p.rename.set(name, narrow);
        p.head.push(castNode(name, narrow, fresh(`${name}_cast_fp16`), FLOAT16));
        stats.castsIn += 1;
    }

    // Graph outputs: the producer writes a fresh float16 name, and a Cast right after it writes the output. A
    // float32 node writes the output itself, and a Cast gives its float16 readers (if any) a float16 copy.
    for (const name of floatOutputs) {
        if (inputNames.has(name)) continue; // an input passed through: already float32
        wideOf.set(name, name);
        const narrow = fresh(`${name}_fp16`);
        if (producer.has(name) && blocked.has(producer.get(name))) {
            if (!(consumers.get(name) || []).some(narrowedUse)) continue;
            push(p.after, producer.get(name), castNode(name, narrow, fresh(`${name}_cast_fp16`), FLOAT16));
            p.rename.set(name, narrow);
            stats.castsAround += 1;
            continue;
        }
        const cast = castNode(narrow, name, fresh(`${name}_cast_fp32`), FLOAT);
        if (producer.has(name)) push(p.after, producer.get(name), cast);
        else if (g.initializers.has(name)) p.head.push(cast);
        else throw new Error(`graph output '${name}' has no producer`);
        p.rename.set(name, narrow);
        stats.castsOut += 1;
    }

    // Float32 nodes, in graph order, so that one reading another's output reads its float32 value directly. A
    // float16 input is cast right after its producer, where any later reader of its float32 value can share it.
    for (const idx of [...blocked].sort((a, b) => a - b)) {
        const n = g.nodes[idx];
        n.inputs.forEach((name, pos) => {
            if (!name || !float.has(name)) return;
            let wide = wideOf.get(name);
            if (wide === undefined) {
                wide = fresh(`${name}_fp32`);
                const cast = castNode(name, wide, fresh(`${name}_cast_fp32`), FLOAT);
                if (producer.has(name)) push(p.after, producer.get(name), cast);
                else p.head.push(cast); // not expected: initializers and graph inputs have float32 names already
                wideOf.set(name, wide);
                stats.castsAround += 1;
            }
            if (wide !== name) p.inputEdits.set(`${idx}:${pos}`, wide);
        });
        n.outputs.forEach((name, pos) => {
            if (!name || !float.has(name) || floatOutputs.has(name)) return;
            const uses = consumers.get(name) || [];
            if (uses.length && !uses.some(narrowedUse)) { // read only as float32: the name keeps float32
                p.keep.add(name);
                wideOf.set(name, name);
                return;
            }
            const wide = fresh(`${name}_fp32`);
            p.outputEdits.set(`${idx}:${pos}`, wide);
            wideOf.set(name, wide);
            push(p.after, idx, castNode(wide, name, fresh(`${name}_cast_fp16`), FLOAT16));
            stats.castsAround += 1;
        });
    }

    // Inputs that must be float32. Graph inputs and outputs are float32 under their own names already, and so is
    // whatever has a float32 value for float32 nodes; a constant, initializer or Cast read only in such places stays
    // float32 (a scale rounded to float16 could change the output size), and anything else is cast back.
    for (const [name, uses] of consumers) {
        const pinned = uses.filter((c) => c.pinned);
        if (!pinned.length || inputNames.has(name) || floatOutputs.has(name)) continue;
        if (wideOf.has(name)) {
            if (wideOf.get(name) !== name) for (const c of pinned) p.inputEdits.set(`${c.node}:${c.pos}`, wideOf.get(name));
            continue;
        }
        const prod = producer.has(name) ? g.nodes[producer.get(name)].opType : null;
        const keepable = prod === 'Constant' || prod === 'Cast' || (prod === null && g.initializers.has(name));
        if (keepable && pinned.length === uses.length) {
            p.keep.add(name);
            for (const c of pinned) p.keptFor.add(g.nodes[c.node].opType);
            stats.kept += 1;
            continue;
        }
        const wide = fresh(`${name}_fp32`);
        push(p.before, pinned[0].node, castNode(name, wide, fresh(`${name}_cast_fp32`), FLOAT));
        for (const c of pinned) p.inputEdits.set(`${c.node}:${c.pos}`, wide);
        stats.castsBack += 1;
    }
    return p;
}

// --- narrowing -----------------------------------------------------------------------------------------------------

function narrowData(name, dims, data) {
    const half = tp.toFloat16(data);
    for (let i = 0; i < data.length; ++i) {
        const mag = half[i] & 0x7fff;
        if (mag === 0x7c00 && Number.isFinite(data[i])) stats.overflowed += 1;
        else if (mag === 0 && data[i] !== 0) stats.underflowed += 1;
    }
    stats.tensors += 1;
    stats.values += data.length;
    return tp.encode({ name, dims, dataType: FLOAT16, data: half });
}

// Returns the tensor narrowed (and renamed, for an initializer that is a graph output), or as it was.
function narrowTensor(body, newName) {
    const head = tensorHead(body);
    if (head.dataType !== FLOAT) return newName === undefined ? body : tp.encode({ ...tp.decode(body), name: newName });
    const t = tp.decode(body);
    return narrowData(newName === undefined ? t.name : newName, t.dims, t.data);
}

// TypeProto { tensor_type = 1 { elem_type = 1 } }; sequence/optional/map types are left alone.
function narrowType(typeBody) {
    return rewrite(typeBody, (s, v) => {
        if (s.field !== 1 || s.wire !== 2) return undefined;
        return lenField(1, rewrite(v, (ts, tv) => {
            if (ts.field !== 1 || ts.wire !== 0) return undefined;
            if (Number(new tp.Reader(tv).varint()) !== FLOAT) return undefined;
            stats.types += 1;
            return varintField(1, FLOAT16);
        }));
    });
}

// Constant's value_float / value_floats make a float32 output whatever else is narrowed: they become a float16 value.
function floatListAttribute(body, name) {
    const values = attrFloats(body);
    const dims = name === 'value_float' ? [] : [values.length];
    return tensorAttribute('value', narrowData('', dims, Float32Array.from(values)));
}

function narrowAttribute(body, opType) {
    const name = attrName(body);
    if (opType === 'Constant' && (name === 'value_float' || name === 'value_floats')) return floatListAttribute(body, name);
    const dtypeAttr = (DTYPE_ATTRS[opType] || [])[0];
    return rewrite(body, (s, v) => {
        if (s.field === 3 && s.wire === 0 && ((opType === 'Cast' && name === 'to') || name === dtypeAttr)) {
            if (Number(new tp.Reader(v).varint()) !== FLOAT) return undefined;
            if (opType === 'Cast') stats.casts += 1;
            else stats.dtypes += 1;
            return varintField(3, FLOAT16);
        }
        if (s.field === 5 && s.wire === 2) return lenField(5, narrowTensor(v)); // t
        if (s.field === 10 && s.wire === 2) return lenField(10, narrowTensor(v)); // tensors
        return undefined;
    });
}

// A node that runs in float32 keeps its attributes; only the inputs and outputs the plan gives float32 names change.
function keepNode(body, idx, p) {
    let inPos = 0;
    let outPos = 0;
    return rewrite(body, (s) => {
        if (s.wire !== 2 || (s.field !== 1 && s.field !== 2)) return undefined;
        const edit = s.field === 1 ? p.inputEdits.get(`${idx}:${inPos++}`) : p.outputEdits.get(`${idx}:${outPos++}`);
        return edit === undefined ? undefined : strField(s.field, edit);
    });
}

function narrowNode(body, idx, node, p) {
    if (p.blocked.has(idx)) return keepNode(body, idx, p);
    // A Constant or Cast kept for a float32-only input or a float32 node is copied as it is.
    if (node.outputs.some((o) => p.keep.has(o))) return body;
    let inPos = 0;
    const out = rewrite(body, (s, v) => {
        if (s.wire !== 2) return undefined;
        if (s.field === 1) {
            const pos = inPos++;
            const name = v.toString('utf8');
            const edit = p.inputEdits.get(`${idx}:${pos}`);
            if (edit !== undefined) return strField(1, edit);
            if (node.pinned.includes(pos) || !p.rename.has(name)) return undefined;
            return strField(1, p.rename.get(name));
        }
        if (s.field === 2) {
            const name = v.toString('utf8');
            return p.rename.has(name) ? strField(2, p.rename.get(name)) : undefined;
        }
        if (s.field === 5) return lenField(5, narrowAttribute(v, node.opType));
        return undefined;
    });
    // Attributes whose absence means float32 get an explicit float16.
    const extra = [];
    const [dtypeAttr, floatByDefault] = DTYPE_ATTRS[node.opType] || [];
    if (floatByDefault && !node.attrs.has(dtypeAttr)) {
        extra.push(lenField(5, intAttribute(dtypeAttr, FLOAT16)));
        stats.dtypes += 1;
    }
    if (node.opType === 'ConstantOfShape' && !node.attrs.has('value')) // the default value is a float32 zero
        extra.push(lenField(5, tensorAttribute('value', narrowData('', [1], new Float32Array(1)))));
    return extra.length ? Buffer.concat([out, ...extra]) : out;
}

function narrowGraph(body, g, p) {
    const keepIo = new Set([...g.inputs, ...g.outputs].map((v) => v.name));
    let idx = -1;
    const out = rewrite(body, (s, v) => {
        if (s.wire !== 2) return undefined;
        switch (s.field) {
        case 1: { // node, with the casts planned around it; the input casts go before the first one
            idx += 1;
            const recs = [...(idx === 0 ? p.head : []), ...(p.before.get(idx) || [])];
            recs.push(narrowNode(v, idx, g.nodes[idx], p), ...(p.after.get(idx) || []));
            return Buffer.concat(recs.map((r) => lenField(1, r)));
        }
        case 5: { // initializer
            const { name } = tensorHead(v);
            if (p.keep.has(name)) return undefined;
            return lenField(5, narrowTensor(v, p.rename.get(name)));
        }
        case 13: { // value_info
            const { name } = valueInfoHead(v);
            if (keepIo.has(name) || p.keep.has(name)) return undefined;
            return lenField(13, rewrite(v, (vs, vv) => (vs.field === 2 && vs.wire === 2 ? lenField(2, narrowType(vv)) : undefined)));
        }
        default: return undefined;
        }
    });
    // A graph without nodes still needs the casts of outputs that are initializers.
    return idx < 0 && p.head.length ? Buffer.concat([out, ...p.head.map((r) => lenField(1, r))]) : out;
}

function narrowModel(buf) {
    // Parse first, so that a file that is not a model says so instead of failing half way through the rewrite.
    let g;
    let opset;
    try {
        const graphs = spans(buf).filter((s) => s.field === 7 && s.wire === 2);
        if (graphs.length !== 1) throw new Error(graphs.length ? 'more than one graph' : 'no graph');
        g = parseGraph(buf.subarray(graphs[0].valueStart, graphs[0].end));
        opset = defaultOpset(buf);
    } catch (e) {
        throw new Error(`not a readable ONNX model (${e.message})`);
    }
    const p = plan(g, opset);
    const out = rewrite(buf, (s, v) => (s.field === 7 && s.wire === 2 ? lenField(7, narrowGraph(v, g, p)) : undefined));
    const label = (n) => `${n.opType} '${n.name || n.outputs[0]}'`;
    return { out, keptFor: [...p.keptFor], float32Nodes: [...p.blocked].sort((a, b) => a - b).map((i) => label(g.nodes[i])) };
}

function main() {
    const [input, output, ...rest] = process.argv.slice(2);
    if (!input || !output || rest.length) throw new Error('usage: node narrow_fp16.js IN.onnx OUT.onnx');
    let buf;
    try {
        buf = fs.readFileSync(input);
    } catch (e) {
        throw new Error(`cannot read ${input}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
    }
    let result;
    try {
        result = narrowModel(buf);
    } catch (e) {
        throw new Error(`${input}: ${e.message}`);
    }
    try {
        fs.writeFileSync(output, result.out);
    } catch (e) {
        throw new Error(`cannot write ${output}: ${e.code === 'ENOENT' ? 'no such directory' : e.message}`);
    }
    // The overflow count is always shown: 0 is what the float32 nodes are for.
    const notes = [`${stats.overflowed} values overflowed to ±inf`];
    if (stats.underflowed) notes.push(`${stats.underflowed} nonzero values underflowed to 0`);
    const kept = stats.kept ? `, ${stats.kept} kept float32 for ${result.keptFor.join('/')} inputs` : '';
    const nodes = result.float32Nodes;
    const keptNodes = nodes.length
        ? `; ${nodes.length} node${nodes.length === 1 ? '' : 's'} kept in float32 for values beyond float16 ` +
          `(${nodes.slice(0, 3).join(', ')}${nodes.length > 3 ? ', ...' : ''}) with ${stats.keptForNodes} float32 tensors`
        : '';
    const dtypes = stats.dtypes ? `, ${stats.dtypes} dtype attributes` : '';
    process.stdout.write(
        `narrow_fp16: ${stats.tensors} float32 tensors (${stats.values} values) narrowed${kept}${keptNodes}; ` +
        `${stats.casts} Cast targets, ${stats.types} value types${dtypes} narrowed; ` +
        `${stats.castsIn + stats.castsOut + stats.castsBack + stats.castsAround} casts inserted (${stats.castsIn} input, ` +
        `${stats.castsOut} output, ${stats.castsBack} back to float32, ${stats.castsAround} around float32 nodes)` +
        `; ${notes.join(', ')}; ${output} has ${result.out.length} bytes\n`);
}

module.exports = { narrowModel };

if (require.main === module) {
    try {
        main();
    } catch (e) {
        process.stderr.write(`narrow_fp16: ${e.message}\n`);
        process.exit(1);
    }
}
