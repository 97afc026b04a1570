#include "model/fuse.h"

#include <cmath>
#include <limits>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace dl {
namespace {

bool defaultDomain(const Node& n)
{
    return n.domain.empty() || n.domain == "ai.onnx";
}

bool near(double v, double want)
{
    return std::fabs(v - want) <= 1e-6 * std::max(1.0, std::fabs(want));
}

class Fuser
{
public:
    Fuser(Graph& g, const std::set<std::string>& activations)
        : m_g(g)
        , m_activations(activations)
        , m_dead(g.nodes.size(), false)
        , m_names(g)
    { }

    Status run()
    {
        index();
        for (size_t i = 0; i < m_g.nodes.size(); ++i)
            if (!m_dead[i] && isConv(m_g.nodes[i])) DL_TRY(foldLinear(i));
        index();
        for (size_t i = 0; i < m_g.nodes.size(); ++i)
            if (!m_dead[i] && isConv(m_g.nodes[i]) && !m_g.nodes[i].has("_activation")) fuseActivation(i);
        finish();
        return {};
    }

private:
    static bool isConv(const Node& n) { return n.opType == "Conv" && defaultDomain(n) && n.outputs.size() == 1; }

    void index()
    {
        m_consumers.clear();
        m_graphOutputs.clear();
        for (size_t i = 0; i < m_g.nodes.size(); ++i) {
            if (m_dead[i]) continue;
            for (const auto& in : m_g.nodes[i].inputs)
                if (!in.empty()) m_consumers[in].push_back(i);
        }
        for (const auto& out : m_g.outputs)
            m_graphOutputs.insert(out.name);
    }

    // Node indices reading `value`, one entry per read.
    const std::vector<size_t>& consumers(const std::string& value) const
    {
        static const std::vector<size_t> none;
        auto it = m_consumers.find(value);
        return it == m_consumers.end() ? none : it->second;
    }

    // A value that only feeds into the nodes a rewrite removes.
    bool internal(const std::string& value, size_t uses) const
    {
        return !m_graphOutputs.count(value) && consumers(value).size() == uses;
    }

    // The single node reading `value` when it is internal to a rewrite, else nullptr.
    const Node* soleConsumer(const std::string& value, size_t* index = nullptr) const
    {
        if (!internal(value, 1)) return nullptr;
        const size_t i = consumers(value)[0];
        if (index) *index = i;
        const Node& n = m_g.nodes[i];
        return defaultDomain(n) && !n.outputs.empty() ? &n : nullptr;
    }

    const Tensor* f32Weight(const std::string& name, int64_t numel) const
    {
        auto it = m_g.weights.find(name);
        if (it == m_g.weights.end() || it->second.dtype() != DType::F32) return nullptr;
        if (numel >= 0 && it->second.numel() != numel) return nullptr;
        return &it->second;
    }

    // A constant scalar's value, or NaN.
    double scalar(const std::string& name) const
    {
        const Tensor* t = f32Weight(name, 1);
        return t ? t->ptr<float>()[0] : std::numeric_limits<double>::quiet_NaN();
    }

    // One value per output channel of a constant that broadcasts only along the channel axis of a Conv
    // output of rank `rank` with `m` channels (a scalar, [m,1,1], [1,m,1,1], ...); empty otherwise, since
    // folding anything else would change the result's shape or meaning.
    std::vector<double> channelValues(const std::string& name, size_t rank, int64_t m) const
    {
        const Tensor* t = f32Weight(name, -1);
        if (!t || static_cast<size_t>(t->rank()) > rank) return {};
        Shape s(rank - t->rank(), 1);
        s.insert(s.end(), t->shape().begin(), t->shape().end());
        for (size_t i = 0; i < rank; ++i)
            if (s[i] != 1 && !(i == 1 && s[i] == m)) return {};
        std::vector<double> v(m);
        for (int64_t c = 0; c < m; ++c)
            v[c] = t->ptr<float>()[t->numel() == 1 ? 0 : c];
        return v;
    }

    // conv(x) * scale + shift per output channel, as new weights of the Conv (W*scale, B*scale + shift).
    void applyAffine(Node& conv, const std::vector<double>& scale, const std::vector<double>& shift)
    {
        const Tensor& w = m_g.weights.at(conv.inputs[1]);
        const int64_t m = w.dim(0), per = w.numel() / m;
        const bool hasBias = conv.inputs.size() > 2 && !conv.inputs[2].empty();
        const float* bias = hasBias ? m_g.weights.at(conv.inputs[2]).ptr<float>() : nullptr;
        const std::string base = conv.name.empty() ? conv.outputs[0] : conv.name;
        bool scales = false;
        for (double s : scale)
            scales = scales || s != 1.0;
        if (scales) {
            Tensor newW(DType::F32, w.shape());
            for (int64_t oc = 0; oc < m; ++oc)
                for (int64_t i = 0; i < per; ++i)
                    newW.ptr<float>()[oc * per + i] = static_cast<float>(w.ptr<float>()[oc * per + i] * scale[oc]);
            const std::string name = m_names.make(base + ".folded.weight");
            m_g.weights[name] = std::move(newW);
            m_touched.insert(conv.inputs[1]);
            m_touched.insert(name);
            conv.inputs[1] = name;
        }
        Tensor newB(DType::F32, { m });
        for (int64_t oc = 0; oc < m; ++oc)
            newB.ptr<float>()[oc] = static_cast<float>((bias ? bias[oc] : 0.0) * scale[oc] + shift[oc]);
        const std::string name = m_names.make(base + ".folded.bias");
        m_g.weights[name] = std::move(newB);
        m_touched.insert(name);
        if (hasBias) m_touched.insert(conv.inputs[2]);
        conv.inputs.resize(3);
        conv.inputs[2] = name;
    }

    // Folds the per-channel affine steps that follow a Conv (BatchNormalization; Mul, Div, Add, Sub by
    // constants) into its weights and bias, as long as they form a private chain.
    Status foldLinear(size_t ci)
    {
        Node& conv = m_g.nodes[ci];
        if (conv.inputs.size() < 2) return {};
        for (;;) {
            const Tensor* w = f32Weight(conv.inputs[1], -1);
            const bool hasBias = conv.inputs.size() > 2 && !conv.inputs[2].empty();
            if (!w || w->rank() < 3 || (hasBias && !f32Weight(conv.inputs[2], w->dim(0)))) return {};
            const int64_t m = w->dim(0);
            if (m < 1 || w->numel() % m != 0)
                return invalid(conv.describe() + ": weight shape " + shapeToString(w->shape()) + " cannot be folded");
            size_t ni = 0;
            const Node* next = soleConsumer(conv.outputs[0], &ni);
            if (!next) return {};
            std::vector<double> scale(m, 1.0), shift(m, 0.0);
            if (!affineOf(*next, conv.outputs[0], static_cast<size_t>(w->rank()), m, scale, shift)) return {};
            for (const auto& in : next->inputs)
                if (in != conv.outputs[0] && m_g.weights.count(in)) m_touched.insert(in);
            applyAffine(conv, scale, shift);
            conv.outputs[0] = next->outputs[0];
            m_dead[ni] = true;
        }
    }

    // The per-channel scale and shift that node `n` applies to `y`; false when it is not such a node.
    bool affineOf(const Node& n, const std::string& y, size_t rank, int64_t m, std::vector<double>& scale,
        std::vector<double>& shift) const
    {
        if (n.inputs.empty() || n.inputs[0].empty()) return false;
        if (n.opType == "BatchNormalization") {
            if (n.inputs.size() != 5 || n.inputs[0] != y || n.attrInt("training_mode", 0) != 0
                || n.attrInt("spatial", 1) == 0 || (n.has("is_test") && n.attrInt("is_test", 1) == 0))
                return false;
            for (size_t o = 1; o < n.outputs.size(); ++o)
                if (!n.outputs[o].empty() && !internal(n.outputs[o], 0)) return false;
            const Tensor* s = f32Weight(n.inputs[1], m);
            const Tensor* b = f32Weight(n.inputs[2], m);
            const Tensor* mean = f32Weight(n.inputs[3], m);
            const Tensor* var = f32Weight(n.inputs[4], m);
            if (!s || !b || !mean || !var) return false;
            const double eps = n.attrFloat("epsilon", 1e-5f);
            for (int64_t c = 0; c < m; ++c) {
                scale[c] = s->ptr<float>()[c] / std::sqrt(static_cast<double>(var->ptr<float>()[c]) + eps);
                shift[c] = b->ptr<float>()[c] - mean->ptr<float>()[c] * scale[c];
            }
            return true;
        }
        const bool commutative = n.opType == "Mul" || n.opType == "Add";
        if ((!commutative && n.opType != "Sub" && n.opType != "Div") || n.outputs.size() != 1) return false;
        if (n.inputs.size() != 2 || (n.inputs[0] != y && !(commutative && n.inputs[1] == y))) return false;
        const std::vector<double> c = channelValues(n.inputs[0] == y ? n.inputs[1] : n.inputs[0], rank, m);
        if (c.empty()) return false;
        for (int64_t k = 0; k < m; ++k) {
            if (n.opType == "Mul")
                scale[k] = c[k];
            else if (n.opType == "Add")
                shift[k] = c[k];
            else if (n.opType == "Sub")
                shift[k] = -c[k];
            else if (c[k] == 0.0)
                return false;
            else
                scale[k] = 1.0 / c[k];
        }
        return true;
    }

    // The activation `act` computes from the Conv's output, as attributes; false when it is not fusable.
    bool activationAttrs(const Node& act, std::map<std::string, Attribute>& attrs) const
    {
        const std::string& op = act.opType;
        if (!m_activations.count(op)) return false;
        static const std::set<std::string> plain = { "Relu", "Sigmoid", "HardSwish", "Tanh", "Mish", "Softplus" };
        if (plain.count(op)) {
            attrs["_activation"] = attrString(op);
            return act.inputs.size() == 1;
        }
        if (op == "LeakyRelu" || op == "Elu") {
            attrs["_activation"] = attrString(op);
            attrs["_alpha"] = attrFloat(act.attrFloat("alpha", op == "Elu" ? 1.0f : 0.01f));
            return act.inputs.size() == 1;
        }
        if (op == "HardSigmoid") {
            attrs["_activation"] = attrString(op);
            attrs["_alpha"] = attrFloat(act.attrFloat("alpha", 0.2f));
            attrs["_beta"] = attrFloat(act.attrFloat("beta", 0.5f));
            return act.inputs.size() == 1;
        }
        if (op == "Clip") {
            float lo = 0.0f, hi = 0.0f;
            if (!clipBounds(act, lo, hi)) return false;
            attrs["_activation"] = attrString(op);
            attrs["_alpha"] = attrFloat(lo);
            attrs["_beta"] = attrFloat(hi);
            return true;
        }
        return false;
    }

    // Clip's bounds: attributes before opset 11, optional constant inputs after.
    bool clipBounds(const Node& clip, float& lo, float& hi) const
    {
        lo = clip.attrFloat("min", std::numeric_limits<float>::lowest());
        hi = clip.attrFloat("max", std::numeric_limits<float>::max());
        if (clip.inputs.size() > 3) return false;
        for (size_t i = 1; i < clip.inputs.size(); ++i) {
            if (clip.inputs[i].empty()) continue;
            const double v = scalar(clip.inputs[i]);
            if (std::isnan(v)) return false;
            (i == 1 ? lo : hi) = static_cast<float>(v);
        }
        return !std::isnan(lo) && !std::isnan(hi);
    }

    void fuseActivation(size_t ci)
    {
        Node& conv = m_g.nodes[ci];
        const std::string y = conv.outputs[0];
        if (m_graphOutputs.count(y)) return;
        const auto& uses = consumers(y);
        if (uses.size() == 1) {
            Node& act = m_g.nodes[uses[0]];
            std::map<std::string, Attribute> attrs;
            if (!defaultDomain(act) || act.outputs.size() != 1 || act.inputs.empty() || act.inputs[0] != y
                || !activationAttrs(act, attrs))
                return;
            for (auto& [k, v] : attrs)
                conv.attrs[k] = v;
            conv.outputs[0] = act.outputs[0];
            m_dead[uses[0]] = true;
            return;
        }
        if (uses.size() == 2) {
            const size_t a = uses[0], b = uses[1];
            if (fuseGated(ci, a, b) || fuseGated(ci, b, a) || fuseHardSwishChain(ci, a, b)
                || fuseHardSwishChain(ci, b, a))
                return;
        }
    }

    // y * gate(y), with gate one of: Sigmoid (swish), HardSigmoid(1/6, 1/2) (hard-swish), Tanh(Softplus)
    // (mish). `mi` must be the Mul, `gi` the gate's first node.
    bool fuseGated(size_t ci, size_t mi, size_t gi)
    {
        Node& conv = m_g.nodes[ci];
        const std::string y = conv.outputs[0];
        const Node& mul = m_g.nodes[mi];
        const Node& g1 = m_g.nodes[gi];
        if (mi == gi || mul.opType != "Mul" || !defaultDomain(mul) || mul.inputs.size() != 2 || mul.outputs.size() != 1)
            return false;
        if (!defaultDomain(g1) || g1.inputs.size() != 1 || g1.inputs[0] != y || g1.outputs.size() != 1) return false;
        if (mul.inputs[0] != y && mul.inputs[1] != y) return false;
        const std::string other = mul.inputs[0] == y ? mul.inputs[1] : mul.inputs[0];
        std::string activation;
        std::vector<size_t> removed = { mi, gi };
        if (g1.opType == "Sigmoid" && g1.outputs[0] == other) {
            activation = "Swish";
        } else if (g1.opType == "HardSigmoid" && g1.outputs[0] == other && near(g1.attrFloat("alpha", 0.2f), 1.0 / 6.0)
            && near(g1.attrFloat("beta", 0.5f), 0.5)) {
            activation = "HardSwish";
        } else if (g1.opType == "Softplus") {
            size_t ti = 0;
            const Node* tanh = soleConsumer(g1.outputs[0], &ti);
            if (!tanh || tanh->opType != "Tanh" || tanh->outputs.size() != 1 || tanh->outputs[0] != other) return false;
            activation = "Mish";
            removed.push_back(ti);
        } else {
            return false;
        }
        if (!m_activations.count(activation) || !internal(other, 1)) return false;
        conv.attrs["_activation"] = attrString(activation);
        conv.outputs[0] = mul.outputs[0];
        for (size_t r : removed)
            m_dead[r] = true;
        return true;
    }

    // Hard-swish spelled out as (y * Clip(y + 3, 0, 6)) / 6, as paddle2onnx and others export it. `ai` must
    // be the Add, `mi` the Mul reading y directly.
    bool fuseHardSwishChain(size_t ci, size_t ai, size_t mi)
    {
        if (!m_activations.count("HardSwish")) return false;
        Node& conv = m_g.nodes[ci];
        const std::string y = conv.outputs[0];
        const Node& add = m_g.nodes[ai];
        const Node& mul = m_g.nodes[mi];
        if (ai == mi || add.opType != "Add" || !defaultDomain(add) || add.inputs.size() != 2 || add.outputs.size() != 1)
            return false;
        if (mul.opType != "Mul" || !defaultDomain(mul) || mul.inputs.size() != 2 || mul.outputs.size() != 1)
            return false;
        const std::string& three = add.inputs[0] == y ? add.inputs[1] : add.inputs[0];
        if ((add.inputs[0] != y && add.inputs[1] != y) || !near(scalar(three), 3.0)) return false;
        size_t clipIndex = 0;
        const Node* clip = soleConsumer(add.outputs[0], &clipIndex);
        float lo = 0.0f, hi = 0.0f;
        if (!clip || clip->opType != "Clip" || clip->outputs.size() != 1 || clip->inputs[0] != add.outputs[0]
            || !clipBounds(*clip, lo, hi) || lo != 0.0f || hi != 6.0f)
            return false;
        const std::string& gate = clip->outputs[0];
        if (!internal(gate, 1)
            || !((mul.inputs[0] == y && mul.inputs[1] == gate) || (mul.inputs[1] == y && mul.inputs[0] == gate)))
            return false;
        size_t di = 0;
        const Node* div = soleConsumer(mul.outputs[0], &di);
        if (!div || div->outputs.size() != 1 || div->inputs.size() != 2 || div->inputs[0] != mul.outputs[0])
            return false;
        const double d = scalar(div->inputs[1]);
        if (!((div->opType == "Div" && near(d, 6.0)) || (div->opType == "Mul" && near(d, 1.0 / 6.0)))) return false;
        conv.attrs["_activation"] = attrString("HardSwish");
        conv.outputs[0] = div->outputs[0];
        for (size_t r : { ai, clipIndex, mi, di })
            m_dead[r] = true;
        return true;
    }

    // Drops removed nodes and the replaced weights that nothing reads any more.
    void finish()
    {
        std::vector<Node> kept;
        kept.reserve(m_g.nodes.size());
        for (size_t i = 0; i < m_g.nodes.size(); ++i)
            if (!m_dead[i]) kept.push_back(std::move(m_g.nodes[i]));
        m_g.nodes = std::move(kept);
        std::unordered_set<std::string> read;
        for (const auto& n : m_g.nodes)
            for (const auto& in : n.inputs)
                read.insert(in);
        for (const auto& out : m_g.outputs)
            read.insert(out.name);
        for (const auto& name : m_touched)
            if (!read.count(name)) m_g.weights.erase(name);
    }

    Graph& m_g;
    const std::set<std::string>& m_activations; // the ones the backend's convolutions fuse
    std::vector<bool> m_dead;
    std::unordered_map<std::string, std::vector<size_t>> m_consumers;
    std::unordered_set<std::string> m_graphOutputs;
    UniqueNames m_names;
    std::set<std::string> m_touched; // weights a rewrite replaced or created: dropped when left unread
};

} // namespace

Status fuseGraph(Graph& g, const std::set<std::string>& activations)
{
    return Fuser(g, activations).run();
}

} // namespace dl
