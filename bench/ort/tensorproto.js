'use strict';
// A minimal reader and writer of ONNX TensorProto messages (the .pb files of the ONNX test data), written from
// the field list in onnx.proto. Tensors are plain objects { name, dims: number[], dataType, data: TypedArray }.
// float16 and bfloat16 data stay as their raw bits in a Uint16Array; toFloat32() widens any numeric tensor.

const fs = require('fs');

const DataType = Object.freeze({
    FLOAT: 1,
    UINT8: 2,
    INT8: 3,
    UINT16: 4,
    INT16: 5,
    INT32: 6,
    INT64: 7,
    STRING: 8,
    BOOL: 9,
    FLOAT16: 10,
    DOUBLE: 11,
    UINT32: 12,
    UINT64: 13,
    BFLOAT16: 16,
});

// dataType -> [TypedArray class, onnxruntime type name]
const TYPES = {
    [DataType.FLOAT]: [Float32Array, 'float32'],
    [DataType.UINT8]: [Uint8Array, 'uint8'],
    [DataType.INT8]: [Int8Array, 'int8'],
    [DataType.UINT16]: [Uint16Array, 'uint16'],
    [DataType.INT16]: [Int16Array, 'int16'],
    [DataType.INT32]: [Int32Array, 'int32'],
    [DataType.INT64]: [BigInt64Array, 'int64'],
    [DataType.BOOL]: [Uint8Array, 'bool'],
    [DataType.FLOAT16]: [Uint16Array, 'float16'],
    [DataType.DOUBLE]: [Float64Array, 'float64'],
    [DataType.UINT32]: [Uint32Array, 'uint32'],
    [DataType.UINT64]: [BigUint64Array, 'uint64'],
    [DataType.BFLOAT16]: [Uint16Array, 'bfloat16'],
};

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

function typeInfo(dataType) {
    const t = TYPES[dataType];
    if (!t) throw new Error(`unsupported TensorProto data_type ${dataType}`);
    return t;
}

function dataTypeFromOrt(name) {
    for (const [dt, [, ortName]] of Object.entries(TYPES)) {
        if (ortName === name) return Number(dt);
    }
    throw new Error(`no TensorProto data_type for onnxruntime type '${name}'`);
}

function ortTypeOf(dataType) {
    return typeInfo(dataType)[1];
}

function elementCount(dims) {
    return dims.reduce((a, b) => a * b, 1);
}

// --- reading -----------------------------------------------------------------------------------------------------

class Reader {
    constructor(buf, start = 0, end = buf.length) {
        this.buf = buf;
        this.pos = start;
        this.end = end;
    }
    done() {
        return this.pos >= this.end;
    }
    // Varints come back as BigInt because int64 fields use all 64 bits.
    varint() {
        let result = 0n;
        let shift = 0n;
        for (;;) {
            if (this.pos >= this.end) throw new Error('truncated varint');
            const b = this.buf[this.pos++];
            result |= BigInt(b & 0x7f) << shift;
            if (!(b & 0x80)) return result;
            shift += 7n;
            if (shift > 63n) throw new Error('varint longer than 10 bytes');
        }
    }
    // Small non-negative varints (tags, lengths, dims) as Number, without BigInt cost.
    smallVarint() {
        let result = 0;
        let mul = 1;
        for (;;) {
            if (this.pos >= this.end) throw new Error('truncated varint');
            const b = this.buf[this.pos++];
            result += (b & 0x7f) * mul;
            if (!(b & 0x80)) return result;
            mul *= 128;
            if (mul > 2 ** 49) throw new Error('varint too large for a length');
        }
    }
    bytes() {
        const len = this.smallVarint();
        if (this.pos + len > this.end) throw new Error('length-delimited field runs past the end');
        const start = this.pos;
        this.pos += len;
        return this.buf.subarray(start, start + len);
    }
    skip(wire) {
        if (wire === WIRE_VARINT) this.varint();
        else if (wire === WIRE_I64) this.pos += 8;
        else if (wire === WIRE_LEN) this.bytes();
        else if (wire === WIRE_I32) this.pos += 4;
        else throw new Error(`unsupported wire type ${wire}`);
        if (this.pos > this.end) throw new Error('field runs past the end');
    }
}

// Calls fn(fieldNumber, wireType, reader) for each field; fn must consume the value or return false to skip it.
function forEachField(buf, fn) {
    const r = new Reader(buf);
    while (!r.done()) {
        const key = r.smallVarint();
        const field = Math.floor(key / 8);
        const wire = key & 7;
        const before = r.pos;
        if (fn(field, wire, r) === false) {
            r.pos = before;
            r.skip(wire);
        }
    }
}

// A repeated scalar field may arrive packed (one LEN record) or one record per value; both are accepted.
function readRepeated(wire, r, scalarWire, readOne, out) {
    if (wire === WIRE_LEN) {
        const sub = new Reader(r.bytes());
        while (!sub.done()) out.push(readOne(sub));
        if (sub.pos !== sub.end) throw new Error('packed field ends inside a value');
    } else if (wire === scalarWire) {
        out.push(readOne(r));
    } else {
        throw new Error(`wire type ${wire} where ${scalarWire} or packed was expected`);
    }
}

const readF32 = (r) => {
    const v = r.buf.readFloatLE(r.pos);
    r.pos += 4;
    return v;
};
const readF64 = (r) => {
    const v = r.buf.readDoubleLE(r.pos);
    r.pos += 8;
    return v;
};
const readI64 = (r) => BigInt.asIntN(64, r.varint());
const readU64 = (r) => BigInt.asUintN(64, r.varint());
const readI32 = (r) => Number(BigInt.asIntN(32, r.varint()));
const readDim = (r) => Number(BigInt.asIntN(64, r.varint()));

// Decodes one TensorProto from a Buffer (or Uint8Array). Throws Error with a reason on malformed input.
function decode(input) {
    const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const dims = [];
    let dataType = 0;
    let name = '';
    let raw = null;
    const floats = [];
    const int32s = [];
    const int64s = [];
    const doubles = [];
    const uint64s = [];
    let external = false;
    forEachField(buf, (field, wire, r) => {
        switch (field) {
        case 1:
            readRepeated(wire, r, WIRE_VARINT, readDim, dims);
            return true;
        case 2:
            dataType = Number(r.varint());
            return true;
        case 4:
            readRepeated(wire, r, WIRE_I32, readF32, floats);
            return true;
        case 5:
            readRepeated(wire, r, WIRE_VARINT, readI32, int32s);
            return true;
        case 7:
            readRepeated(wire, r, WIRE_VARINT, readI64, int64s);
            return true;
        case 8:
            name = r.bytes().toString('utf8');
            return true;
        case 9:
            raw = r.bytes();
            return true;
        case 10:
            readRepeated(wire, r, WIRE_I64, readF64, doubles);
            return true;
        case 11:
            readRepeated(wire, r, WIRE_VARINT, readU64, uint64s);
            return true;
        case 14:
            external = Number(r.varint()) === 1;
            return true;
        default:
            return false;
        }
    });
    if (external) throw new Error(`tensor '${name}' keeps its data in an external file, which is not supported`);
    const [Ctor] = typeInfo(dataType);
    const n = elementCount(dims);
    let data;
    if (raw) {
        if (raw.length !== n * Ctor.BYTES_PER_ELEMENT)
            throw new Error(`tensor '${name}': raw_data has ${raw.length} bytes, dims ${dims} need ${n * Ctor.BYTES_PER_ELEMENT}`);
        // Copy: raw_data is rarely aligned for the typed array inside the file buffer.
        const copy = new ArrayBuffer(raw.length);
        new Uint8Array(copy).set(raw);
        data = new Ctor(copy);
    } else {
        let src;
        switch (dataType) {
        case DataType.FLOAT:
            src = floats;
            break;
        case DataType.DOUBLE:
            src = doubles;
            break;
        case DataType.INT64:
            src = int64s;
            break;
        case DataType.UINT32:
            src = uint64s.map(Number);
            break;
        case DataType.UINT64:
            src = uint64s;
            break;
        default: // int32_data carries every type of 32 bits or less, float16 as its bit pattern
            src = int32s;
        }
        if (src.length !== n) throw new Error(`tensor '${name}': ${src.length} values, dims ${dims} need ${n}`);
        data = Ctor.from(src);
    }
    return { name, dims, dataType, data };
}

function readFile(path) {
    return decode(fs.readFileSync(path));
}

// --- writing -----------------------------------------------------------------------------------------------------

function varintBytes(value) {
    let v = BigInt.asUintN(64, BigInt(value));
    const out = [];
    do {
        let b = Number(v & 0x7fn);
        v >>= 7n;
        if (v) b |= 0x80;
        out.push(b);
    } while (v);
    return out;
}

function key(field, wire) {
    return varintBytes(field * 8 + wire);
}

// Encodes a tensor with its data in raw_data (little endian), dims one record per value as protobuf's proto2
// writers do. data may be any typed array of the right element size.
function encode({ name = '', dims, dataType, data }) {
    const [Ctor] = typeInfo(dataType);
    const n = elementCount(dims);
    if (data.length !== n) throw new Error(`tensor '${name}': ${data.length} values for dims ${dims}`);
    if (data.BYTES_PER_ELEMENT !== Ctor.BYTES_PER_ELEMENT)
        throw new Error(`tensor '${name}': ${data.constructor.name} does not match data_type ${dataType}`);
    const head = [];
    for (const d of dims) head.push(...key(1, WIRE_VARINT), ...varintBytes(d));
    head.push(...key(2, WIRE_VARINT), ...varintBytes(dataType));
    const nameBytes = Buffer.from(name, 'utf8');
    if (nameBytes.length) head.push(...key(8, WIRE_LEN), ...varintBytes(nameBytes.length), ...nameBytes);
    const rawBytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    head.push(...key(9, WIRE_LEN), ...varintBytes(rawBytes.length));
    return Buffer.concat([Buffer.from(head), rawBytes]);
}

function writeFile(path, tensor) {
    fs.writeFileSync(path, encode(tensor));
}

// --- helpers -----------------------------------------------------------------------------------------------------

function halfToFloat(h) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) return sign * frac * 2 ** -24;
    if (exp === 31) return frac ? NaN : sign * Infinity;
    return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

// float32 -> float16 bit pattern, rounding to nearest even as IEEE 754 (and ONNX Runtime's Cast) do: magnitudes from
// 65520 (halfway past 65504, the largest half) up become inf, those below 2^-14 become subnormals rather than being
// flushed, and NaN stays a (quiet) NaN instead of turning into inf when its payload is cut to 10 bits.
function halfBitsOf(x) {
    const sign = (x >>> 16) & 0x8000;
    const abs = x & 0x7fffffff;
    if (abs >= 0x7f800000) return abs > 0x7f800000 ? sign | 0x7e00 | ((abs >>> 13) & 0x3ff) : sign | 0x7c00;
    if (abs >= 0x477ff000) return sign | 0x7c00; // >= 65520
    if (abs < 0x33000000) return sign; // < 2^-25, below half the smallest subnormal
    const exp = abs >>> 23;
    if (exp < 113) { // below 2^-14: a subnormal half, mantissa = value / 2^-24 with the implicit bit made explicit
        const mant = (abs & 0x7fffff) | 0x800000;
        const shift = 126 - exp;
        let h = mant >>> shift;
        const rest = mant & ((1 << shift) - 1);
        const halfway = 1 << (shift - 1);
        if (rest > halfway || (rest === halfway && (h & 1))) h += 1;
        return sign | h;
    }
    let h = ((exp - 112) << 10) | ((abs >>> 13) & 0x3ff);
    const rest = abs & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h += 1; // a carry out of the mantissa bumps the exponent
    return sign | h;
}

// Narrows a Float32Array to float16 bits (a Uint16Array, as decode() keeps float16 data).
function toFloat16(data) {
    const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
    const out = new Uint16Array(data.length);
    for (let i = 0; i < data.length; ++i) out[i] = halfBitsOf(bits[i]);
    return out;
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

function floatToHalf(f) {
    scratch[0] = f;
    return halfBitsOf(scratchBits[0]);
}

// Widens any numeric tensor's data to Float64Array for comparisons (int64 beyond 2^53 loses precision).
function toFloat64(tensor) {
    const { data, dataType } = tensor;
    const out = new Float64Array(data.length);
    if (dataType === DataType.FLOAT16) {
        for (let i = 0; i < data.length; ++i) out[i] = halfToFloat(data[i]);
    } else if (dataType === DataType.BFLOAT16) {
        const f = new Float32Array(1);
        const u = new Uint32Array(f.buffer);
        for (let i = 0; i < data.length; ++i) {
            u[0] = data[i] << 16;
            out[i] = f[0];
        }
    } else if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
        for (let i = 0; i < data.length; ++i) out[i] = Number(data[i]);
    } else {
        out.set(data);
    }
    return out;
}

module.exports = {
    DataType,
    decode,
    encode,
    readFile,
    writeFile,
    toFloat64,
    halfToFloat,
    floatToHalf,
    toFloat16,
    ortTypeOf,
    dataTypeFromOrt,
    typedArrayFor: (dataType) => typeInfo(dataType)[0],
    elementCount,
    forEachField,
    Reader,
    varintBytes,
};
