#include "model/split.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_set>

namespace dl {
namespace {

bool defaultDomain(const Node& n)
{
    return n.domain.empty() || n.domain == "ai.onnx";
}

// How a node's output channels map onto its constant operands.
struct Cut
{
    int64_t channels = 0; // output channels (Conv M, Gemm/MatMul N)
    int axis = 1; // the output axis the channels run along (the Concat axis)
    const Tensor* weight = nullptr;
    bool weightRows = true; // channels are the weight's rows (else its columns, in a 2-D weight)
    int biasInput = -1; // input holding a per-channel bias to slice, -1: none (or one shared by every piece)
    size_t bytes = 0; // weight plus sliced bias
};

const Tensor* weightOf(const Graph& g, const Node& n, size_t input)
{
    if (input >= n.inputs.size() || n.inputs[input].empty()) return nullptr;
    auto it = g.weights.find(n.inputs[input]);
    return it == g.weights.end() ? nullptr : &it->second;
}

bool present(const Node& n, size_t input)
{
    return input < n.inputs.size() && !n.inputs[input].empty();
}

// The cut for a node that can be split along its output channels; nullopt otherwise.
std::optional<Cut> cutFor(const Graph& g, const Node& n, int64_t blockChannels)
{
    if (!defaultDomain(n) || n.outputs.size() != 1) return std::nullopt;
    Cut c;
    if (n.opType == "Conv") {
        c.weight = weightOf(g, n, 1);
        if (!c.weight || c.weight->rank() < 3 || n.attrInt("group", 1) != 1) return std::nullopt;
        c.channels = c.weight->dim(0);
        if (present(n, 2)) {
            const Tensor* b = weightOf(g, n, 2);
            if (!b || b->numel() != c.channels) return std::nullopt;
            c.biasInput = 2;
        }
    } else if (n.opType == "Gemm" || n.opType == "MatMul") {
        c.weight = weightOf(g, n, 1);
        if (!c.weight || c.weight->rank() != 2) return std::nullopt;
        const bool transB = n.opType == "Gemm" && n.attrInt("transB", 0) != 0;
        c.weightRows = transB;
        c.channels = transB ? c.weight->dim(0) : c.weight->dim(1);
        c.axis = n.opType == "Gemm" ? 1 : -1;
        if (n.opType == "Gemm" && present(n, 2)) {
            // C broadcasts to [M, N]: a per-column C is sliced with the columns, a single value is shared.
            const Tensor* bias = weightOf(g, n, 2);
            if (!bias) return std::nullopt;
            const Shape& s = bias->shape();
            const bool perColumn = (s.size() == 1 && s[0] == c.channels && c.channels > 1)
                || (s.size() == 2 && s[0] == 1 && s[1] == c.channels && c.channels > 1);
            if (perColumn)
                c.biasInput = 2;
            else if (bias->numel() != 1)
                return std::nullopt;
        }
    } else {
        return std::nullopt;
    }
    if (c.channels <= blockChannels || dtypeSize(c.weight->dtype()) == 0) return std::nullopt;
    c.bytes = c.weight->bytes();
    if (c.biasInput >= 0) c.bytes += weightOf(g, n, c.biasInput)->bytes();
    return c;
}

// Channels [begin, end) of `t` along its first axis (rows) or, for a 2-D tensor, its second (columns).
Tensor sliceChannels(const Tensor& t, bool rows, int64_t begin, int64_t end)
{
    const size_t elem = dtypeSize(t.dtype());
    Shape s = t.shape();
    const auto* src = static_cast<const std::byte*>(t.data());
    if (rows || s.size() == 1) {
        const size_t rowBytes = t.bytes() / static_cast<size_t>(s[0]);
        s[0] = end - begin;
        Tensor out(t.dtype(), s);
        std::memcpy(out.data(), src + begin * rowBytes, static_cast<size_t>(end - begin) * rowBytes);
        return out;
    }
    // A [1, N] bias or a [K, N] weight: a strided copy of the columns.
    const int64_t k = s[0], n = s[1];
    s[1] = end - begin;
    Tensor out(t.dtype(), s);
    auto* dst = static_cast<std::byte*>(out.data());
    const size_t width = static_cast<size_t>(end - begin) * elem;
    for (int64_t r = 0; r < k; ++r)
        std::memcpy(dst + r * width, src + (r * n + begin) * elem, width);
    return out;
}

class Splitter
{
public:
    Splitter(Graph& g, const SplitBlocks& blocks)
        : m_g(g)
        , m_block(blocks)
        , m_names(g)
    { }

    SplitSummary run(size_t maxBytes)
    {
        SplitSummary s;
        std::vector<Node> nodes;
        nodes.reserve(m_g.nodes.size());
        std::vector<std::string> cutWeights;
        for (Node& n : m_g.nodes) {
            auto cut = cutFor(m_g, n, m_block.block);
            if (!cut || cut->bytes <= maxBytes) {
                nodes.push_back(std::move(n));
                continue;
            }
            const size_t perChannel = std::max<size_t>(1, cut->bytes / static_cast<size_t>(cut->channels));
            const bool product = n.opType != "Conv";
            int64_t block = m_block.block;
            while (product && block > m_block.finest && perChannel * static_cast<size_t>(block) > maxBytes)
                block /= 2;
            const int64_t fit = std::max<int64_t>(block, static_cast<int64_t>(maxBytes / perChannel) / block * block);
            const int64_t pieces = (cut->channels + fit - 1) / fit;
            if (pieces < 2) {
                nodes.push_back(std::move(n));
                continue;
            }
            // Even pieces of whole channel blocks.
            const int64_t per = ((cut->channels + pieces - 1) / pieces + block - 1) / block * block;
            ++s.layersSplit;
            cutWeights.push_back(n.inputs[1]);
            if (cut->biasInput >= 0) cutWeights.push_back(n.inputs[cut->biasInput]);
            Node concat;
            concat.name = m_names.make(n.name + ".concat");
            concat.opType = "Concat";
            concat.domain = n.domain;
            concat.outputs = n.outputs;
            concat.attrs["axis"] = attrInt(cut->axis);
            int k = 0;
            for (int64_t begin = 0; begin < cut->channels; begin += per, ++k) {
                const int64_t end = std::min(cut->channels, begin + per);
                Node piece = n;
                piece.name = m_names.make(n.name + "." + std::to_string(k));
                piece.outputs = { m_names.make(n.outputs[0] + "." + std::to_string(k)) };
                piece.inputs[1] = addWeight(n.inputs[1], k, sliceChannels(*cut->weight, cut->weightRows, begin, end));
                if (cut->biasInput >= 0) {
                    const Tensor& bias = m_g.weights.at(n.inputs[cut->biasInput]);
                    piece.inputs[cut->biasInput]
                        = addWeight(n.inputs[cut->biasInput], k, sliceChannels(bias, bias.rank() == 1, begin, end));
                }
                concat.inputs.push_back(piece.outputs[0]);
                nodes.push_back(std::move(piece));
                ++s.pieces;
            }
            nodes.push_back(std::move(concat));
        }
        m_g.nodes = std::move(nodes);
        dropUnread(cutWeights);
        return s;
    }

private:
    std::string addWeight(const std::string& base, int piece, Tensor t)
    {
        std::string name = m_names.make(base + "." + std::to_string(piece));
        m_g.weights.emplace(name, std::move(t));
        return name;
    }

    void dropUnread(const std::vector<std::string>& candidates)
    {
        std::unordered_set<std::string> read;
        for (const Node& n : m_g.nodes)
            read.insert(n.inputs.begin(), n.inputs.end());
        for (const auto& o : m_g.outputs)
            read.insert(o.name);
        for (const auto& name : candidates)
            if (!read.count(name)) m_g.weights.erase(name);
    }

    Graph& m_g;
    SplitBlocks m_block;
    UniqueNames m_names;
};

} // namespace

SplitSummary splitLargeLayers(Graph& g, size_t maxBytes, const SplitBlocks& blocks)
{
    if (maxBytes == 0) return {};
    return Splitter(g, blocks).run(maxBytes);
}

} // namespace dl
