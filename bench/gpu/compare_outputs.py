#!/usr/bin/env python3
"""Compares the outputs of one run with reference outputs: ONNX TensorProto files (output_<i>.pb, as dlayer
--save-outputs and bench/ort/ort_run.js write them), pairwise by name. For the GPU machine, which has Python but
neither node nor the onnx package: the reader keeps to the TensorProto fields those two writers use.

  compare_outputs.py WANT_DIR GOT_DIR --metric rel|norm --tolerance T

rel:  max|got - want| / max|want|      (float32 runs against ONNX Runtime, as tests/models/compare_with_ort.js)
norm: ||got - want||2 / ||want||2      (float16 runs)
Prints one line per output and exits 1 when a shape differs, a value is not finite, or an error passes T.
"""
import math
import os
import struct
import sys

FLOAT, INT32, INT64, FLOAT16, DOUBLE = 1, 6, 7, 10, 11


def varint(buf, at):
    value, shift = 0, 0
    while True:
        if at >= len(buf):
            raise ValueError("truncated varint")
        b = buf[at]
        at += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, at
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def half(bits):
    return struct.unpack("<e", struct.pack("<H", bits & 0xFFFF))[0]


def read_tensor(path):
    """(dims, values as floats) of the TensorProto in `path`."""
    with open(path, "rb") as f:
        buf = f.read()
    dims, dtype, raw, floats, ints = [], FLOAT, None, [], []
    at = 0
    while at < len(buf):
        key, at = varint(buf, at)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, at = varint(buf, at)
            if field == 1:
                dims.append(v)
            elif field == 2:
                dtype = v
            elif field == 5:
                ints.append(v)
        elif wire == 2:
            n, at = varint(buf, at)
            chunk = buf[at:at + n]
            if len(chunk) != n:
                raise ValueError("%s: truncated field %d" % (path, field))
            at += n
            if field == 1:  # packed dims
                p = 0
                while p < len(chunk):
                    v, p = varint(chunk, p)
                    dims.append(v)
            elif field == 4:
                floats.extend(struct.unpack("<%df" % (n // 4), chunk))
            elif field == 5:
                p = 0
                while p < len(chunk):
                    v, p = varint(chunk, p)
                    ints.append(v)
            elif field == 9:
                raw = chunk
        elif wire == 5:
            chunk = buf[at:at + 4]
            at += 4
            if field == 4:
                floats.append(struct.unpack("<f", chunk)[0])
        elif wire == 1:
            at += 8
        else:
            raise ValueError("%s: wire type %d" % (path, wire))
    count = 1
    for d in dims:
        count *= d
    if raw is not None:
        fmt = {FLOAT: "f", DOUBLE: "d", INT32: "i", INT64: "q", FLOAT16: "H"}.get(dtype)
        if fmt is None:
            raise ValueError("%s: data type %d" % (path, dtype))
        values = list(struct.unpack("<%d%s" % (len(raw) // struct.calcsize(fmt), fmt), raw))
        if dtype == FLOAT16:
            values = [half(v) for v in values]
    elif floats:
        values = floats
    else:
        values = [half(v) for v in ints] if dtype == FLOAT16 else [float(v) for v in ints]
    if len(values) != count:
        raise ValueError("%s: %d values for dims %s" % (path, len(values), dims))
    return dims, values


def main(argv):
    args = argv[1:]
    metric, tolerance = "rel", 1e-3
    if "--metric" in args:
        i = args.index("--metric")
        metric = args[i + 1]
        del args[i:i + 2]
    if "--tolerance" in args:
        i = args.index("--tolerance")
        tolerance = float(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2 or metric not in ("rel", "norm"):
        print(__doc__.strip().splitlines()[3], file=sys.stderr)
        return 2
    want_dir, got_dir = args
    names = sorted(n for n in os.listdir(want_dir) if n.startswith("output_") and n.endswith(".pb"))
    if not names:
        print("no output_*.pb in %s" % want_dir)
        return 1
    ok = True
    for name in names:
        got_path = os.path.join(got_dir, name)
        if not os.path.exists(got_path):
            print("%s: missing from %s" % (name, got_dir))
            ok = False
            continue
        try:
            wd, wv = read_tensor(os.path.join(want_dir, name))
            gd, gv = read_tensor(got_path)
        except ValueError as e:
            print("%s: unreadable: %s" % (name, e))
            ok = False
            continue
        if wd != gd:
            print("%s: shape %s, want %s" % (name, gd, wd))
            ok = False
            continue
        if not all(math.isfinite(v) for v in gv):
            print("%s: values that are not finite" % name)
            ok = False
            continue
        if metric == "rel":
            scale = max((abs(v) for v in wv), default=0.0)
            err = max((abs(a - b) for a, b in zip(gv, wv)), default=0.0) / (scale or 1.0)
        else:
            scale = math.sqrt(sum(v * v for v in wv))
            err = math.sqrt(sum((a - b) ** 2 for a, b in zip(gv, wv))) / (scale or 1.0)
        passed = err <= tolerance
        ok = ok and passed
        print("%s %s: %s %.2e (tolerance %.0e) %s" % (name, "x".join(map(str, gd)),
                                                       "max_rel_err" if metric == "rel" else "norm_err", err,
                                                       tolerance, "ok" if passed else "FAILS"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
