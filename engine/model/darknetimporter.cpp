// Darknet import: a .cfg (and optionally a .weights file) lowered to ONNX operators (opset 13) in the engine's
// graph IR.
//
// Choices worth knowing:
// - Batch norm stays a BatchNormalization node after a bias-less Conv (or Gemm), epsilon 1e-5 as in the AlexeyAB
//   fork that YOLOv4 comes from (it normalises by sqrt(var + .00001)); the executor's fusion pass folds it. The
//   graph's parameters are then exactly the floats of the .weights file, in the same count.
// - Nodes are named after the Darknet layer index ("conv_12", "conv_12_bn", "conv_12_mish") so that tools show
//   Darknet's numbering. Layers that compute nothing at inference (dropout, cost, yolo, a one-input route) add
//   no node: they pass their input's value on.
// - The graph outputs are the inputs of the yolo / region / detection layers (decoding boxes is left to the
//   caller), or the last layer's output for networks without them.
// - Where the two Darknet forks differ, the original (pjreddie, Debian's libdarknet) is followed: a shortcut
//   from a larger layer adds every stride-th cell (ResNet's down-sampling blocks), where AlexeyAB's adds a flat
//   prefix. Both agree on everything the YOLOv4 family uses. The importer was checked layer by layer against
//   libdarknet on 30 of Debian's cfgs (largest relative difference 4.5e-4, from the forks' BN epsilons).
// - Recurrent layers ([rnn], [gru], [crnn]) run one time step from a zero state, which is what Darknet's
//   network_predict computes on a freshly loaded network. Checked against libdarknet as well (rnn, gru, go,
//   darknet9000 and small crnn cfgs: relative differences at most 1e-4).

#include "model/darknetlowering.h"

#include <algorithm>
#include <new>
#include <set>

namespace dl::darknet {

Kind classify(const std::string& type)
{
    static const std::set<std::string> supported = { "convolutional", "conv", "connected", "conn", "maxpool", "max",
        "avgpool", "avg", "route", "shortcut", "upsample", "softmax", "soft", "dropout", "cost", "yolo",
        "Gaussian_yolo", "gaussian_yolo", "region", "detection", "local", "crop", "reorg", "sam", "scale_channels",
        "batchnorm", "activation", "logistic", "empty", "rnn", "gru", "crnn" };
    static const std::set<std::string> recurrent = { "lstm", "conv_lstm", "history" };
    static const std::set<std::string> other = { "deconvolutional", "deconv", "normalization", "lrn", "l2norm", "iseg",
        "reorg3d", "reorg_old", "implicit_add", "implicit_mul", "contrastive", "local_avgpool", "silence", "xnor" };
    if (supported.count(type)) return Kind::Supported;
    if (recurrent.count(type)) return Kind::Recurrent;
    if (other.count(type)) return Kind::Unsupported;
    return Kind::Unknown;
}

std::string Lowering::node(const std::string& name, const std::string& op, std::vector<std::string> inputs,
    std::map<std::string, Attribute> attrs)
{
    Node n;
    n.name = name;
    n.opType = op;
    n.inputs = std::move(inputs);
    n.outputs = { name };
    n.attrs = std::move(attrs);
    m_g.nodes.push_back(std::move(n));
    return name;
}

std::string Lowering::constInts(const std::string& name, const std::vector<int64_t>& v)
{
    Tensor t(DType::I64, { static_cast<int64_t>(v.size()) });
    std::copy(v.begin(), v.end(), t.ptr<int64_t>());
    m_g.weights[name] = std::move(t);
    return name;
}

std::string Lowering::constFloat(const std::string& name, float v)
{
    Tensor t(DType::F32, {});
    *t.ptr<float>() = v;
    m_g.weights[name] = std::move(t);
    return name;
}

void Lowering::checkValueSize(const Shape& shape)
{
    constexpr int64_t kMaxValue = int64_t(1) << 36;
    int64_t count = 1;
    for (int64_t d : shape)
        count = (d > 0 && count <= kMaxValue / d) ? count * d : kMaxValue + 1;
    if (count > kMaxValue && m_tooLarge.empty())
        m_tooLarge
            = "its output of shape " + shapeToString(shape) + " is past " + std::to_string(kMaxValue) + " values";
}

std::string Lowering::param(const std::string& name, Shape shape, ParamKind kind, int64_t fanIn)
{
    // A typo such as filters=1000000000 must end in an error, not in an allocation failure: sizes are checked
    // here, storage is allocated only once the whole network is known (fillParameters).
    const int64_t kMaxElements = m_options.maxWeightBytes
        ? static_cast<int64_t>(std::min<uint64_t>(m_options.maxWeightBytes / 4, uint64_t(1) << 32))
        : int64_t(1) << 32; // 16 GiB of float32, per tensor and in all
    int64_t count = 1;
    for (int64_t d : shape)
        count = (d > 0 && count <= kMaxElements / d) ? count * d : kMaxElements + 1;
    m_paramElements += std::min(count, kMaxElements + 1);
    if ((count > kMaxElements || m_paramElements > kMaxElements) && m_tooLarge.empty())
        m_tooLarge = "parameter '" + name + "' of shape " + shapeToString(shape) + " takes the network's weights past "
            + std::to_string(kMaxElements * 4) + " bytes";
    ParamSlot slot;
    slot.name = name;
    slot.shape = std::move(shape);
    slot.kind = kind;
    slot.fanIn = fanIn;
    slot.inFile = !m_dontLoad && !(m_dontLoadScales && kind != ParamKind::Bias && kind != ParamKind::Weight);
    // A residual branch that starts small keeps activations in range through deep stacks of shortcuts when
    // the weights are generated; trained weights are not touched.
    if (kind == ParamKind::Weight && m_feedsShortcut[static_cast<size_t>(m_currentLayer)]) slot.gain = 0.25f;
    m_slots.push_back(std::move(slot));
    return name;
}

std::string Lowering::slice(const std::string& name, const std::string& input, std::vector<int64_t> starts,
    std::vector<int64_t> ends, std::vector<int64_t> axes, std::vector<int64_t> steps)
{
    std::vector<std::string> in = { input, constInts(name + ".starts", starts), constInts(name + ".ends", ends),
        constInts(name + ".axes", axes) };
    if (!steps.empty()) in.push_back(constInts(name + ".steps", steps));
    return node(name, "Slice", std::move(in));
}

std::string Lowering::to4d(const std::string& base, const DnValue& v)
{
    if (v.shape.size() == 4) return v.value;
    const std::string name = base + "_reshape";
    return node(name, "Reshape", { v.value, constInts(name + ".shape", { 1, v.c(), 1, 1 }) });
}

std::string Lowering::to2d(const std::string& base, const DnValue& v)
{
    if (v.shape.size() == 2) return v.value;
    return node(base + "_flatten", "Flatten", { v.value }, { { "axis", attrInt(1) } });
}

Result<std::string> Lowering::activation(
    const std::string& base, const std::string& input, const std::string& act, SectionReader& r)
{
    if (act == "linear") return input;
    const std::string name = base + "_" + act;
    if (act == "leaky") return node(name, "LeakyRelu", { input }, { { "alpha", attrFloat(0.1f) } });
    if (act == "relie") return node(name, "LeakyRelu", { input }, { { "alpha", attrFloat(0.01f) } });
    if (act == "relu") return node(name, "Relu", { input });
    if (act == "logistic") return node(name, "Sigmoid", { input });
    if (act == "tanh") return node(name, "Tanh", { input });
    if (act == "elu") return node(name, "Elu", { input }, { { "alpha", attrFloat(1.0f) } });
    if (act == "selu") // Darknet's constants, which ONNX's defaults round differently
        return node(name, "Selu", { input }, { { "alpha", attrFloat(1.6732f) }, { "gamma", attrFloat(1.0507f) } });
    if (act == "relu6" || act == "hardtan") {
        const float lo = act == "relu6" ? 0.0f : -1.0f;
        const float hi = act == "relu6" ? 6.0f : 1.0f;
        return node(name, "Clip", { input, constFloat(name + ".min", lo), constFloat(name + ".max", hi) });
    }
    if (act == "mish") { // x * tanh(softplus(x)); Mish is an operator only from opset 18
        const std::string sp = node(name + "_softplus", "Softplus", { input });
        const std::string th = node(name + "_tanh", "Tanh", { sp });
        return node(name, "Mul", { input, th });
    }
    if (act == "swish") {
        const std::string sg = node(name + "_sigmoid", "Sigmoid", { input });
        return node(name, "Mul", { input, sg });
    }
    if (act == "ramp") { // x * (x > 0) + 0.1 * x
        const std::string rl = node(name + "_relu", "Relu", { input });
        const std::string sc = node(name + "_scaled", "Mul", { input, constFloat(name + ".slope", 0.1f) });
        return node(name, "Add", { rl, sc });
    }
    if (act == "loggy") { // 2 * sigmoid(x) - 1
        const std::string sg = node(name + "_sigmoid", "Sigmoid", { input });
        const std::string tw = node(name + "_twice", "Mul", { sg, constFloat(name + ".two", 2.0f) });
        return node(name, "Sub", { tw, constFloat(name + ".one", 1.0f) });
    }
    static const std::set<std::string> known = { "plse", "lhtan", "stair", "gelu", "hard_mish", "normalize_channels",
        "normalize_channels_softmax", "normalize_channels_softmax_maxval", "revleaky" };
    if (known.count(act)) return r.unsupportedError("activation '" + act + "' is not supported", "activation");
    return r.error("unknown activation '" + act + "'", "activation");
}

Result<int> Lowering::reference(int i, int64_t ref, SectionReader& r, const std::string& key) const
{
    const int64_t idx = ref < 0 ? i + ref : ref;
    if (idx < 0 || idx >= i)
        return r.error("layer " + std::to_string(ref) + " does not name an earlier layer (this is layer "
                + std::to_string(i) + ")",
            key);
    if (m_layers[static_cast<size_t>(idx)].detector)
        return r.unsupportedError(
            "reads the output of detection layer " + std::to_string(idx) + ", which the importer leaves undecoded",
            key);
    return static_cast<int>(idx);
}

Status Lowering::reportUnsupportedKeys(SectionReader& r, std::initializer_list<const char*> keys) const
{
    for (const char* k : keys)
        if (r.has(k) && r.getString(k, "0") != "0")
            return r.unsupportedError(std::string("option '") + k + "' is not supported", k);
    return {};
}

Status Lowering::checkTypes() const
{
    // Every section is classified before anything is lowered, so that a network with an unsupported layer fails
    // on that layer and not on some earlier consequence of it (recurrent networks have no image size, say).
    for (size_t k = 1; k < m_cfg.sections.size(); ++k) {
        const CfgSection& s = m_cfg.sections[k];
        const std::string where = m_cfg.name + ":" + std::to_string(s.line) + ": ";
        const std::string layer = " (layer " + std::to_string(k - 1) + ")";
        switch (classify(s.type)) {
        case Kind::Supported:
            break;
        case Kind::Recurrent:
            return unsupported(where + "unsupported layer type [" + s.type + "]" + layer
                + ": recurrent layers are not supported by the Darknet importer");
        case Kind::Unsupported:
            return unsupported(where + "unsupported layer type [" + s.type + "]" + layer);
        case Kind::Unknown:
            if (s.type == "net" || s.type == "network")
                return invalid(where + "[" + s.type + "] may only be the first section");
            return invalid(where + "unknown layer type [" + s.type + "]" + layer);
        }
    }
    return {};
}

Status Lowering::lowerNet(const CfgSection& s)
{
    SectionReader r(m_cfg, s);
    const int64_t h = r.getInt("height", 0);
    const int64_t w = r.getInt("width", 0);
    const int64_t c = r.getInt("channels", 0);
    const int64_t inputs = r.getInt("inputs", 0);
    DL_TRY(r.status());
    Shape shape;
    if (h > 0 && w > 0 && c > 0)
        shape = { 1, c, h, w };
    else if (inputs > 0 && h == 0 && w == 0)
        shape = { 1, inputs };
    else
        return r.error("height, width and channels must be positive (got " + std::to_string(h) + "x" + std::to_string(w)
            + "x" + std::to_string(c) + ")");
    // Darknet's batch is a training setting; inference runs one image at a time.
    checkValueSize(shape);
    if (!m_tooLarge.empty()) return r.error("the input: " + m_tooLarge);
    m_input = DnValue { "data", shape, false };
    ValueInfo vi;
    vi.name = "data";
    vi.dtype = DType::F32;
    vi.hasShape = true;
    for (int64_t d : shape)
        vi.dims.push_back(Dim { d, {} });
    m_g.inputs.push_back(std::move(vi));
    return {};
}

Status Lowering::lowerLayer(int i, const CfgSection& s)
{
    SectionReader r(m_cfg, s);
    m_currentLayer = i;
    m_dontLoad = r.getInt("dontload", 0) != 0;
    m_dontLoadScales = r.getInt("dontloadscales", 0) != 0;
    DL_TRY(r.status());
    const std::string& t = s.type;
    const DnValue& in = inputOf(i);
    if (t == "convolutional" || t == "conv") return convolutional(i, r);
    if (t == "connected" || t == "conn") return connected(i, r);
    if (t == "maxpool" || t == "max") return maxpool(i, r);
    if (t == "route") return route(i, r);
    if (t == "shortcut") return shortcut(i, r);
    if (t == "upsample") return upsample(i, r);
    if (t == "softmax" || t == "soft") return softmax(i, r);
    if (t == "local") return local(i, r);
    if (t == "crop") return crop(i, r);
    if (t == "reorg") return reorg(i, r);
    if (t == "sam" || t == "scale_channels") return multiply(i, r, t == "scale_channels");
    if (t == "batchnorm") return batchnorm(i, r);
    if (t == "rnn") return rnn(i, r);
    if (t == "gru") return gru(i, r);
    if (t == "crnn") return crnn(i, r);
    if (t == "avgpool" || t == "avg") {
        const std::string base = "avgpool_" + std::to_string(i);
        setOutput(i, node(base, "GlobalAveragePool", { to4d(base, in) }), { 1, in.c(), 1, 1 });
        return {};
    }
    if (t == "activation" || t == "logistic") {
        const std::string act = t == "logistic" ? "logistic" : r.getString("activation", "linear");
        DL_ASSIGN(const std::string out, activation("activation_" + std::to_string(i), in.value, act, r));
        setOutput(i, out, in.shape);
        return {};
    }
    // dropout (identity at inference), cost (training only), empty, and the detection layers, whose input is
    // what the graph returns.
    const bool detector
        = t == "yolo" || t == "region" || t == "detection" || t == "Gaussian_yolo" || t == "gaussian_yolo";
    setOutput(i, in.value, in.shape, detector);
    return {};
}

Status Lowering::fillParameters()
{
    const auto& progress = m_options.progress;
    if (progress && !progress(0.0))
        return makeError(ErrorCode::Cancelled, "importing " + m_cfg.name + " was cancelled");
    try {
        for (auto& slot : m_slots) {
            slot.tensor = Tensor(DType::F32, slot.shape);
            m_g.weights[slot.name] = slot.tensor;
        }
    } catch (const std::bad_alloc&) {
        return makeError(ErrorCode::Io,
            "not enough memory for the " + std::to_string(m_paramElements * 4) + " bytes of " + m_cfg.name
                + "'s weights");
    }
    if (m_options.darknetWeights.empty()) {
        fillRandom(m_slots, m_options.seed, false);
    } else {
        DL_TRY(readWeightsFile(m_options.darknetWeights, m_cfg.name, m_slots, progress));
        fillRandom(m_slots, m_options.seed, true);
    }
    if (progress && !progress(1.0))
        return makeError(ErrorCode::Cancelled, "importing " + m_cfg.name + " was cancelled");
    return {};
}

Result<Graph> Lowering::run(const std::string& cfgPath)
{
    if (m_cfg.sections.empty()) return invalid(m_cfg.name + ": no sections; is this a Darknet .cfg file?");
    const CfgSection& net = m_cfg.sections[0];
    if (net.type != "net" && net.type != "network")
        return invalid(
            m_cfg.name + ":" + std::to_string(net.line) + ": the first section must be [net], not [" + net.type + "]");
    if (m_cfg.sections.size() < 2) return invalid(m_cfg.name + ": the network has no layers");
    DL_TRY(checkTypes());
    m_cfgPath = cfgPath;
    DL_TRY(lowerNet(net));

    const size_t count = m_cfg.sections.size() - 1;
    m_layers.resize(count);
    m_feedsShortcut.assign(count, false);
    for (size_t k = 1; k < count; ++k)
        if (m_cfg.sections[k + 1].type == "shortcut") m_feedsShortcut[k - 1] = true;
    for (size_t k = 0; k < count; ++k) {
        const CfgSection& s = m_cfg.sections[k + 1];
        DL_TRY(lowerLayer(static_cast<int>(k), s));
        if (!m_tooLarge.empty())
            return invalid(m_cfg.name + ":" + std::to_string(s.line) + ": [" + s.type + "] " + m_tooLarge);
    }

    std::vector<const DnValue*> outs;
    for (const auto& l : m_layers)
        if (l.detector) outs.push_back(&l);
    if (outs.empty()) outs.push_back(&m_layers.back());
    std::set<std::string> seen;
    for (const DnValue* v : outs) {
        if (!seen.insert(v->value).second) continue;
        ValueInfo vi;
        vi.name = v->value;
        vi.dtype = DType::F32;
        vi.hasShape = true;
        for (int64_t d : v->shape)
            vi.dims.push_back(Dim { d, {} });
        m_g.outputs.push_back(std::move(vi));
    }

    DL_TRY(fillParameters());
    m_g.sourcePath = cfgPath;
    m_g.name = m_cfg.name.size() > 4 && m_cfg.name.ends_with(".cfg") ? m_cfg.name.substr(0, m_cfg.name.size() - 4)
                                                                     : m_cfg.name;
    m_g.producer = "darknet";
    m_g.format = "darknet";
    m_g.opset = 13;
    DL_TRY(topologicalSort(m_g));
    return std::move(m_g);
}

} // namespace dl::darknet

namespace dl {

Result<Graph> importDarknet(const std::string& cfgPath, const ImportOptions& options)
{
    DL_ASSIGN(const darknet::CfgFile cfg, darknet::parseCfgFile(cfgPath));
    darknet::Lowering lowering(cfg, options);
    return lowering.run(cfgPath);
}

} // namespace dl
