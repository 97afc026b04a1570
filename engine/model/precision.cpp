#include "model/precision.h"

#include <algorithm>
#include <set>

namespace dl {

namespace {

bool defaultDomain(const Node& n)
{
    return n.domain.empty() || n.domain == "ai.onnx";
}

Node castNode(const std::string& name, const std::string& from, const std::string& to, DType type)
{
    Node n;
    n.name = name;
    n.opType = "Cast";
    n.inputs = { from };
    n.outputs = { to };
    n.attrs["to"] = attrInt(static_cast<int64_t>(type));
    return n;
}

// Renames value `from` to `to` wherever a node reads or writes it, and where it is a weight.
void renameValue(Graph& g, const std::string& from, const std::string& to)
{
    for (Node& n : g.nodes) {
        std::replace(n.inputs.begin(), n.inputs.end(), from, to);
        std::replace(n.outputs.begin(), n.outputs.end(), from, to);
    }
    auto w = g.weights.find(from);
    if (w != g.weights.end()) {
        Tensor t = std::move(w->second);
        g.weights.erase(w);
        g.weights[to] = std::move(t);
    }
}

// Makes a node that produces float16 produce float32; true when it changed.
bool retarget(Node& n)
{
    if (!defaultDomain(n)) return false;
    const auto half = static_cast<int64_t>(DType::F16);
    if (n.opType == "Cast") {
        if (n.attrInt("to", 0) != half) return false;
        n.attrs["to"] = attrInt(static_cast<int64_t>(DType::F32));
        return true;
    }
    if (n.opType == "ConstantOfShape") {
        auto v = n.attrs.find("value");
        if (v == n.attrs.end() || v->second.kind != Attribute::Kind::Tensor || v->second.t.dtype() != DType::F16)
            return false;
        v->second.t = v->second.t.cast(DType::F32);
        return true;
    }
    static const std::set<std::string> generators { "EyeLike", "RandomNormal", "RandomUniform", "RandomNormalLike",
        "RandomUniformLike", "Multinomial", "Bernoulli" };
    if (generators.count(n.opType) && n.has("dtype") && n.attrInt("dtype", 0) == half) {
        n.attrs["dtype"] = attrInt(static_cast<int64_t>(DType::F32));
        return true;
    }
    return false;
}

} // namespace

PrecisionSummary widenHalfCompute(Graph& g)
{
    PrecisionSummary s;
    s.halfWeights = g.halfWeights;
    for (Node& n : g.nodes)
        if (retarget(n)) ++s.retargeted;

    UniqueNames names(g);
    std::set<std::string> inputNames;
    for (const ValueInfo& in : g.inputs)
        inputNames.insert(in.name);

    std::vector<Node> entry;
    for (const ValueInfo& in : g.inputs) {
        if (in.dtype != DType::F16) continue;
        const bool read = std::any_of(g.nodes.begin(), g.nodes.end(),
            [&](const Node& n) { return std::find(n.inputs.begin(), n.inputs.end(), in.name) != n.inputs.end(); });
        if (!read) continue;
        const std::string wide = names.make(in.name + "_f32");
        for (Node& n : g.nodes)
            std::replace(n.inputs.begin(), n.inputs.end(), in.name, wide);
        entry.push_back(castNode(names.make(in.name + "_widen"), in.name, wide, DType::F32));
        ++s.halfInputs;
    }
    std::vector<Node> exit;
    std::set<std::string> narrowed;
    for (const ValueInfo& out : g.outputs) {
        // An input passed straight through keeps its own type; an output listed twice is narrowed once.
        if (out.dtype != DType::F16 || inputNames.count(out.name) || !narrowed.insert(out.name).second) continue;
        const std::string wide = names.make(out.name + "_f32");
        renameValue(g, out.name, wide);
        exit.push_back(castNode(names.make(out.name + "_narrow"), wide, out.name, DType::F16));
        ++s.halfOutputs;
    }
    if (!entry.empty()) g.nodes.insert(g.nodes.begin(), entry.begin(), entry.end());
    g.nodes.insert(g.nodes.end(), exit.begin(), exit.end());
    return s;
}

} // namespace dl
