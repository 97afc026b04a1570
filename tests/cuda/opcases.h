#pragma once

// Every op the CUDA backend takes, as small one-op graphs with seeded inputs and weights, in the spirit of ggml's
// test-backend-ops: each case runs on the CPU backend and on the CUDA backend, and their outputs must agree within
// the case's tolerance (normalised error ||cuda - cpu|| / ||cpu||). test_cuda_library checks, without a GPU, that
// every case plans and that the CUDA backend takes its op (so that the device test compares GPU kernels, not
// fallbacks); test_cuda_device runs them on the GPU.

#include "core/random.h"
#include "model/graph.h"

#include <functional>
#include <span>
#include <string>
#include <vector>

namespace dltest {

struct OpCase
{
    std::string name;
    std::string op; // the node the CUDA backend must take (after fusion)
    dl::Graph graph;
    double tolerance = 1e-5;
};

inline dl::Attribute opInts(std::vector<int64_t> v)
{
    dl::Attribute a;
    a.kind = dl::Attribute::Kind::Ints;
    a.ints = std::move(v);
    return a;
}

inline dl::Attribute opInt(int64_t v)
{
    dl::Attribute a;
    a.kind = dl::Attribute::Kind::Int;
    a.i = v;
    return a;
}

inline dl::Attribute opFloat(float v)
{
    dl::Attribute a;
    a.kind = dl::Attribute::Kind::Float;
    a.f = v;
    return a;
}

inline dl::Attribute opString(std::string v)
{
    dl::Attribute a;
    a.kind = dl::Attribute::Kind::String;
    a.s = std::move(v);
    return a;
}

// A graph of one input per shape ("x0", "x1", ...), the nodes `make` adds reading them, and one output "y".
inline dl::Graph opGraph(
    const std::vector<dl::Shape>& inputs, const std::function<void(dl::Graph&)>& make, int64_t opset = 13)
{
    dl::Graph g;
    g.name = "op";
    g.format = "onnx";
    g.opset = opset;
    for (size_t i = 0; i < inputs.size(); ++i) {
        dl::ValueInfo v;
        v.name = "x" + std::to_string(i);
        v.dtype = dl::DType::F32;
        v.hasShape = true;
        for (int64_t d : inputs[i])
            v.dims.push_back({ d, {} });
        g.inputs.push_back(v);
    }
    make(g);
    dl::ValueInfo out;
    out.name = "y";
    g.outputs.push_back(out);
    return g;
}

inline dl::Node opNode(const std::string& op, std::vector<std::string> in, std::string out = "y")
{
    dl::Node n;
    n.opType = op;
    n.name = op + "_" + out;
    n.inputs = std::move(in);
    n.outputs = { std::move(out) };
    return n;
}

inline std::vector<OpCase> cudaOpCases()
{
    using dl::DType;
    using dl::Graph;
    std::vector<OpCase> cases;
    uint64_t seed = 100;
    auto weight = [&](Graph& g, const std::string& name, dl::Shape s) {
        g.weights[name] = dl::seededTensor(DType::F32, std::move(s), seed++);
        return name;
    };
    auto ints64 = [](Graph& g, const std::string& name, std::vector<int64_t> v) {
        dl::Tensor t(DType::I64, { static_cast<int64_t>(v.size()) });
        for (size_t i = 0; i < v.size(); ++i)
            t.ptr<int64_t>()[i] = v[i];
        g.weights[name] = t;
        return name;
    };
    // Convolutions: plain, strided, grouped, with a fused activation.
    struct ConvShape
    {
        const char* name;
        dl::Shape x, w;
        int64_t stride, pad, group;
        const char* act;
    };
    for (const ConvShape& c : { ConvShape { "Conv 3x3", { 1, 8, 17, 19 }, { 16, 8, 3, 3 }, 1, 1, 1, "" },
             ConvShape { "Conv 3x3 stride 2, LeakyRelu", { 2, 16, 20, 20 }, { 32, 16, 3, 3 }, 2, 1, 1, "LeakyRelu" },
             ConvShape { "Conv 1x1, Sigmoid", { 1, 32, 9, 9 }, { 24, 32, 1, 1 }, 1, 0, 1, "Sigmoid" },
             ConvShape { "Conv depthwise 3x3, Relu", { 1, 16, 12, 12 }, { 16, 1, 3, 3 }, 1, 1, 16, "Relu" } })
        cases.push_back({ c.name, "Conv",
            opGraph({ c.x },
                [&](Graph& g) {
                    dl::Node n
                        = opNode("Conv", { "x0", weight(g, "w", c.w), weight(g, "b", { c.w[0] }) }, *c.act ? "c" : "y");
                    n.attrs["strides"] = opInts({ c.stride, c.stride });
                    n.attrs["pads"] = opInts({ c.pad, c.pad, c.pad, c.pad });
                    n.attrs["group"] = opInt(c.group);
                    g.nodes.push_back(n);
                    if (*c.act) {
                        dl::Node a = opNode(c.act, { "c" });
                        if (std::string(c.act) == "LeakyRelu") a.attrs["alpha"] = opFloat(0.1f);
                        g.nodes.push_back(a);
                    }
                }),
            1e-4 });
    for (const char* op : { "Add", "Sub", "Mul", "Div" }) {
        cases.push_back(
            { std::string(op) + " two inputs", op, opGraph({ { 2, 8, 5, 5 }, { 2, 8, 5, 5 } }, [&](Graph& g) {
                 g.nodes.push_back(opNode(op, { "x0", "x1" }));
             }) });
        cases.push_back({ std::string(op) + " broadcast constant", op, opGraph({ { 2, 8, 5, 5 } }, [&](Graph& g) {
                             g.nodes.push_back(opNode(op, { "x0", weight(g, "k", { 1, 8, 1, 1 }) }));
                         }) });
    }
    for (const char* op : { "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Elu", "HardSigmoid", "HardSwish", "Softplus" })
        cases.push_back(
            { op, op, opGraph({ { 3, 7, 11 } }, [&](Graph& g) { g.nodes.push_back(opNode(op, { "x0" })); }) });
    cases.push_back({ "Clip", "Clip", opGraph({ { 4, 100 } }, [&](Graph& g) {
                         dl::Tensor lo(DType::F32, {}), hi(DType::F32, {});
                         lo.ptr<float>()[0] = -0.25f;
                         hi.ptr<float>()[0] = 0.5f;
                         g.weights["lo"] = lo;
                         g.weights["hi"] = hi;
                         g.nodes.push_back(opNode("Clip", { "x0", "lo", "hi" }));
                     }) });
    cases.push_back(
        { "BatchNormalization", "BatchNormalization", opGraph({ { 2, 6, 7, 7 } }, [&](Graph& g) {
             g.weights["var"] = dl::seededTensor(DType::F32, { 6 }, seed++);
             for (float& v : std::span(g.weights["var"].ptr<float>(), 6))
                 v = 0.5f + v * v;
             g.nodes.push_back(opNode("BatchNormalization",
                 { "x0", weight(g, "scale", { 6 }), weight(g, "bias", { 6 }), weight(g, "mean", { 6 }), "var" }));
         }) });
    struct PoolShape
    {
        const char* name;
        const char* op;
        int64_t k, s, p;
    };
    for (const PoolShape& p : { PoolShape { "MaxPool 2x2 stride 2", "MaxPool", 2, 2, 0 },
             PoolShape { "MaxPool 5x5 stride 1 pad 2", "MaxPool", 5, 1, 2 },
             PoolShape { "AveragePool 3x3 pad 1", "AveragePool", 3, 1, 1 } })
        cases.push_back({ p.name, p.op, opGraph({ { 1, 8, 16, 18 } }, [&](Graph& g) {
                             dl::Node n = opNode(p.op, { "x0" });
                             n.attrs["kernel_shape"] = opInts({ p.k, p.k });
                             n.attrs["strides"] = opInts({ p.s, p.s });
                             n.attrs["pads"] = opInts({ p.p, p.p, p.p, p.p });
                             g.nodes.push_back(n);
                         }) });
    cases.push_back({ "GlobalAveragePool", "GlobalAveragePool",
        opGraph({ { 2, 16, 7, 7 } }, [&](Graph& g) { g.nodes.push_back(opNode("GlobalAveragePool", { "x0" })); }) });
    cases.push_back({ "Concat channels", "Concat", opGraph({ { 1, 3, 5, 5 }, { 1, 7, 5, 5 } }, [&](Graph& g) {
                         dl::Node n = opNode("Concat", { "x0", "x1" });
                         n.attrs["axis"] = opInt(1);
                         g.nodes.push_back(n);
                     }) });
    cases.push_back({ "Resize nearest x2", "Resize", opGraph({ { 1, 4, 6, 5 } }, [&](Graph& g) {
                         dl::Tensor scales(DType::F32, { 4 });
                         const float sc[] = { 1, 1, 2, 2 };
                         std::copy(sc, sc + 4, scales.ptr<float>());
                         g.weights["scales"] = scales;
                         dl::Node n = opNode("Resize", { "x0", "", "scales" });
                         n.attrs["mode"] = opString("nearest");
                         n.attrs["coordinate_transformation_mode"] = opString("asymmetric");
                         n.attrs["nearest_mode"] = opString("floor");
                         g.nodes.push_back(n);
                     }) });
    cases.push_back({ "Gemm transB with bias", "Gemm",
        opGraph({ { 3, 40 } },
            [&](Graph& g) {
                dl::Node n = opNode("Gemm", { "x0", weight(g, "w", { 24, 40 }), weight(g, "b", { 24 }) });
                n.attrs["transB"] = opInt(1);
                g.nodes.push_back(n);
            }),
        1e-4 });
    cases.push_back({ "MatMul 2-D", "MatMul",
        opGraph({ { 5, 33 } },
            [&](Graph& g) {
                g.nodes.push_back(opNode("MatMul", { "x0", weight(g, "w", { 33, 17 }) }));
            }),
        1e-4 });
    cases.push_back({ "Slice strided", "Slice", opGraph({ { 2, 10, 9 } }, [&](Graph& g) {
                         g.nodes.push_back(opNode("Slice",
                             { "x0", ints64(g, "st", { 1, -8 }), ints64(g, "en", { 9, 100 }), ints64(g, "ax", { 1, 2 }),
                                 ints64(g, "sp", { 2, 3 }) }));
                     }) });
    cases.push_back({ "Pad constant", "Pad", opGraph({ { 1, 3, 4, 5 } }, [&](Graph& g) {
                         dl::Tensor v(DType::F32, {});
                         v.ptr<float>()[0] = 1.5f;
                         g.weights["v"] = v;
                         g.nodes.push_back(opNode("Pad", { "x0", ints64(g, "pads", { 0, 2, 1, 0, 0, 1, 0, 3 }), "v" }));
                     }) });
    cases.push_back({ "Softmax last axis", "Softmax",
        opGraph({ { 3, 4, 10 } }, [&](Graph& g) { g.nodes.push_back(opNode("Softmax", { "x0" })); }) });
    // The ops the OCR and segmentation networks added: powers and roots of normalisations, attention's batched
    // products and transposes, reductions, linear resizing, ceil-mode pooling, transposed convolutions.
    auto scalar = [](Graph& g, const std::string& name, float v) {
        dl::Tensor t(DType::F32, {});
        t.ptr<float>()[0] = v;
        g.weights[name] = t;
        return name;
    };
    cases.push_back({ "Pow by constant 2", "Pow", opGraph({ { 1, 40, 120 } }, [&](Graph& g) {
                         g.nodes.push_back(opNode("Pow", { "x0", scalar(g, "e", 2.0f) }));
                     }) });
    cases.push_back({ "Pow by constant 1.5 of a square", "Pow",
        opGraph({ { 3, 50 } },
            [&](Graph& g) {
                g.nodes.push_back(opNode("Mul", { "x0", "x0" }, "sq"));
                g.nodes.push_back(opNode("Pow", { "sq", scalar(g, "e", 1.5f) }));
            }),
        1e-5 });
    cases.push_back({ "Sqrt of a square", "Sqrt", opGraph({ { 1, 40, 1 } }, [&](Graph& g) {
                         g.nodes.push_back(opNode("Mul", { "x0", "x0" }, "sq"));
                         g.nodes.push_back(opNode("Sqrt", { "sq" }));
                     }) });
    cases.push_back({ "Reciprocal of Exp", "Reciprocal", opGraph({ { 4, 30 } }, [&](Graph& g) {
                         g.nodes.push_back(opNode("Exp", { "x0" }, "e"));
                         g.nodes.push_back(opNode("Reciprocal", { "e" }));
                     }) });
    for (const char* op : { "Abs", "Neg" })
        cases.push_back(
            { op, op, opGraph({ { 2, 9, 7 } }, [&](Graph& g) { g.nodes.push_back(opNode(op, { "x0" })); }) });
    cases.push_back({ "Cast to float32", "Cast", opGraph({ { 1, 16, 8, 8 } }, [&](Graph& g) {
                         dl::Node n = opNode("Cast", { "x0" });
                         n.attrs["to"] = opInt(static_cast<int64_t>(DType::F32));
                         g.nodes.push_back(n);
                     }) });
    struct Perm
    {
        dl::Shape x;
        std::vector<int64_t> perm;
    };
    for (const Perm& p : { Perm { { 1, 8, 40, 15 }, { 0, 2, 1, 3 } }, Perm { { 1, 40, 3, 8, 15 }, { 2, 0, 3, 1, 4 } },
             Perm { { 1, 120, 40 }, { 0, 2, 1 } } })
        cases.push_back({ "Transpose rank " + std::to_string(p.x.size()), "Transpose", opGraph({ p.x }, [&](Graph& g) {
                             dl::Node n = opNode("Transpose", { "x0" });
                             n.attrs["perm"] = opInts(p.perm);
                             g.nodes.push_back(n);
                         }) });
    cases.push_back({ "ReduceMean last axis", "ReduceMean", opGraph({ { 1, 40, 120 } }, [&](Graph& g) {
                         dl::Node n = opNode("ReduceMean", { "x0" });
                         n.attrs["axes"] = opInts({ -1 });
                         g.nodes.push_back(n);
                     }) });
    cases.push_back({ "ReduceSum middle axes, no keepdims", "ReduceSum", opGraph({ { 2, 5, 6, 3 } }, [&](Graph& g) {
                         dl::Node n = opNode("ReduceSum", { "x0", ints64(g, "axes", { 1, 2 }) });
                         n.attrs["keepdims"] = opInt(0);
                         g.nodes.push_back(n);
                     }) });
    cases.push_back({ "ReduceMax channels", "ReduceMax", opGraph({ { 2, 7, 4, 4 } }, [&](Graph& g) {
                         dl::Node n = opNode("ReduceMax", { "x0" });
                         n.attrs["axes"] = opInts({ 1 });
                         g.nodes.push_back(n);
                     }) });
    struct OwnPool
    {
        const char* name;
        const char* op;
        std::vector<int64_t> pads, dilations;
        int64_t ceil;
    };
    for (const OwnPool& p : { OwnPool { "MaxPool 2x2 stride 2 ceil_mode", "MaxPool", { 0, 0, 0, 0 }, { 1, 1 }, 1 },
             OwnPool {
                 "AveragePool 2x2 stride 2 ceil_mode, asymmetric pads", "AveragePool", { 0, 1, 1, 0 }, { 1, 1 }, 1 },
             OwnPool { "MaxPool 2x2 dilated", "MaxPool", { 1, 1, 1, 1 }, { 2, 2 }, 0 } })
        cases.push_back({ p.name, p.op, opGraph({ { 1, 8, 15, 17 } }, [&](Graph& g) {
                             dl::Node n = opNode(p.op, { "x0" });
                             n.attrs["kernel_shape"] = opInts({ 2, 2 });
                             n.attrs["strides"] = opInts({ 2, 2 });
                             n.attrs["pads"] = opInts(p.pads);
                             n.attrs["dilations"] = opInts(p.dilations);
                             n.attrs["ceil_mode"] = opInt(p.ceil);
                             g.nodes.push_back(n);
                         }) });
    struct Linear
    {
        const char* coord;
        dl::Shape x;
        std::vector<int64_t> sizes;
    };
    for (const Linear& l : { Linear { "half_pixel", { 1, 4, 16, 16 }, { 1, 4, 32, 32 } },
             Linear { "align_corners", { 1, 3, 7, 9 }, { 1, 3, 13, 20 } },
             Linear { "pytorch_half_pixel", { 2, 2, 12, 10 }, { 2, 2, 5, 1 } },
             Linear { "asymmetric", { 1, 2, 6, 6 }, { 1, 2, 9, 15 } } })
        cases.push_back({ std::string("Resize linear ") + l.coord, "Resize", opGraph({ l.x }, [&](Graph& g) {
                             dl::Node n = opNode("Resize", { "x0", "", "", ints64(g, "sizes", l.sizes) });
                             n.attrs["mode"] = opString("linear");
                             n.attrs["coordinate_transformation_mode"] = opString(l.coord);
                             g.nodes.push_back(n);
                         }) });
    cases.push_back({ "MatMul batched, two computed operands", "MatMul",
        opGraph({ { 1, 8, 40, 15 }, { 1, 8, 15, 40 } },
            [&](Graph& g) {
                g.nodes.push_back(opNode("MatMul", { "x0", "x1" }));
            }),
        1e-4 });
    cases.push_back({ "MatMul batched times one matrix", "MatMul",
        opGraph({ { 2, 3, 4, 5 }, { 5, 6 } },
            [&](Graph& g) {
                g.nodes.push_back(opNode("MatMul", { "x0", "x1" }));
            }),
        1e-4 });
    cases.push_back({ "MatMul 3-D times constant weights", "MatMul",
        opGraph({ { 1, 40, 120 } },
            [&](Graph& g) {
                g.nodes.push_back(opNode("MatMul", { "x0", weight(g, "w", { 120, 96 }) }));
            }),
        1e-4 });
    struct Transposed
    {
        const char* name;
        dl::Shape x, w;
        int64_t k, stride, pad, outPad, group;
    };
    for (const Transposed& t :
        { Transposed { "ConvTranspose 2x2 stride 2", { 1, 24, 20, 20 }, { 24, 24, 2, 2 }, 2, 2, 0, 0, 1 },
            Transposed { "ConvTranspose 3x3 stride 2 pad 1 output_padding 1 group 2", { 1, 8, 9, 11 }, { 8, 3, 3, 3 },
                3, 2, 1, 1, 2 } })
        cases.push_back({ t.name, "ConvTranspose",
            opGraph({ t.x },
                [&](Graph& g) {
                    dl::Node n
                        = opNode("ConvTranspose", { "x0", weight(g, "w", t.w), weight(g, "b", { t.w[1] * t.group }) });
                    n.attrs["kernel_shape"] = opInts({ t.k, t.k });
                    n.attrs["strides"] = opInts({ t.stride, t.stride });
                    n.attrs["pads"] = opInts({ t.pad, t.pad, t.pad, t.pad });
                    n.attrs["output_padding"] = opInts({ t.outPad, t.outPad });
                    n.attrs["group"] = opInt(t.group);
                    g.nodes.push_back(n);
                }),
            1e-4 });
    cases.push_back({ "Flatten", "Flatten",
        opGraph({ { 2, 3, 4, 5 } }, [&](Graph& g) { g.nodes.push_back(opNode("Flatten", { "x0" })); }) });
    return cases;
}

} // namespace dltest
