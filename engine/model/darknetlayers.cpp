// Darknet layer types lowered to ONNX operators; see darknetimporter.cpp for the conventions.

#include "model/darknetlowering.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace dl::darknet {

namespace {

// Darknet's read_tree: one "name parent" line per class; a softmax group is a run of consecutive lines with the
// same parent. Returns the sizes of the groups, empty when the file cannot be read.
std::vector<int64_t> readTreeGroups(const std::string& path)
{
    std::ifstream in(path);
    std::vector<int64_t> sizes;
    std::string line;
    int64_t lastParent = -1;
    int64_t run = 0;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string id;
        int64_t parent = -1;
        fields >> id >> parent;
        if (parent != lastParent) {
            if (run > 0) sizes.push_back(run);
            run = 0;
            lastParent = parent;
        }
        ++run;
    }
    if (run > 0) sizes.push_back(run);
    return sizes;
}

} // namespace

Status Lowering::convolutional(int i, SectionReader& r)
{
    const DnValue& in = inputOf(i);
    const int64_t n = r.getInt("filters", 1);
    const int64_t size = r.getInt("size", 1);
    const int64_t stride = r.getInt("stride", 1);
    const int64_t sx = r.getInt("stride_x", stride);
    const int64_t sy = r.getInt("stride_y", stride);
    int64_t padding = r.getInt("padding", 0);
    if (r.getInt("pad", 0)) padding = size / 2;
    const int64_t groups = r.getInt("groups", 1);
    const int64_t dil = r.getInt("dilation", 1);
    const bool bn = r.getInt("batch_normalize", 0) != 0;
    const std::string act = r.getString("activation", "logistic");
    DL_TRY(r.status());
    DL_TRY(reportUnsupportedKeys(r,
        { "binary", "xnor", "share_index", "antialiasing", "flipped", "deform", "sway", "rotate", "stretch",
            "stretch_sway", "assisted_excitation" }));
    const int64_t c = in.c();
    if (n < 1 || size < 1 || sx < 1 || sy < 1 || groups < 1 || dil < 1 || padding < 0)
        return r.error("filters, size, stride, groups and dilation must be positive");
    // Windows beyond any image: refused before their products (fan-in, padded extents) are formed.
    constexpr int64_t kMaxWindow = int64_t(1) << 16;
    if (size > kMaxWindow || dil > kMaxWindow || padding > kMaxWindow)
        return r.error("size, dilation and padding must be at most " + std::to_string(kMaxWindow));
    if (c % groups || n % groups)
        return r.error("groups=" + std::to_string(groups) + " does not divide the " + std::to_string(c)
            + " input channels and " + std::to_string(n) + " filters");
    const int64_t extent = (size - 1) * dil + 1;
    const int64_t pads = padding * dil; // Darknet scales padding by the dilation in its im2col
    const int64_t oh = (in.h() + 2 * pads - extent) / sy + 1;
    const int64_t ow = (in.w() + 2 * pads - extent) / sx + 1;
    if (in.h() + 2 * pads < extent || in.w() + 2 * pads < extent)
        return r.error("a " + std::to_string(size) + "x" + std::to_string(size) + " kernel does not fit the "
            + std::to_string(in.h()) + "x" + std::to_string(in.w()) + " input");

    const std::string base = "conv_" + std::to_string(i);
    const std::string x = to4d(base, in);
    const std::string bias = param(base + ".bias", { n }, ParamKind::Bias);
    std::string scale, mean, var;
    if (bn) {
        scale = param(base + ".bn_scale", { n }, ParamKind::Scale);
        mean = param(base + ".bn_mean", { n }, ParamKind::Mean);
        var = param(base + ".bn_var", { n }, ParamKind::Variance);
    }
    const std::string weight
        = param(base + ".weight", { n, c / groups, size, size }, ParamKind::Weight, c / groups * size * size);
    std::vector<std::string> inputs = { x, weight };
    if (!bn) inputs.push_back(bias);
    std::string out = node(base, "Conv", inputs,
        { { "kernel_shape", attrInts({ size, size }) }, { "strides", attrInts({ sy, sx }) },
            { "pads", attrInts({ pads, pads, pads, pads }) }, { "dilations", attrInts({ dil, dil }) },
            { "group", attrInt(groups) } });
    if (bn)
        out = node(
            base + "_bn", "BatchNormalization", { out, scale, bias, mean, var }, { { "epsilon", attrFloat(1e-5f) } });
    DL_ASSIGN(out, activation(base, out, act, r));
    setOutput(i, out, { 1, n, oh, ow });
    return {};
}

Result<std::string> Lowering::dense(const std::string& base, const std::string& x, int64_t inputs, int64_t outputs,
    bool bn, const std::string& act, SectionReader& r)
{
    const std::string bias = param(base + ".bias", { outputs }, ParamKind::Bias);
    const std::string weight = param(base + ".weight", { outputs, inputs }, ParamKind::Weight, inputs);
    m_slots.back().connectedWeight = true;
    m_slots.back().rows = outputs;
    m_slots.back().cols = inputs;
    std::vector<std::string> gemmIn = { x, weight };
    if (!bn) gemmIn.push_back(bias);
    std::string out = node(base, "Gemm", gemmIn, { { "transB", attrInt(1) } });
    if (bn) {
        const std::string scale = param(base + ".bn_scale", { outputs }, ParamKind::Scale);
        const std::string mean = param(base + ".bn_mean", { outputs }, ParamKind::Mean);
        const std::string var = param(base + ".bn_var", { outputs }, ParamKind::Variance);
        out = node(
            base + "_bn", "BatchNormalization", { out, scale, bias, mean, var }, { { "epsilon", attrFloat(1e-5f) } });
    }
    return activation(base, out, act, r);
}

std::string Lowering::zeros(const std::string& name, int64_t n)
{
    m_g.weights[name] = Tensor(DType::F32, { 1, n });
    return name;
}

Status Lowering::connected(int i, SectionReader& r)
{
    const DnValue& in = inputOf(i);
    const int64_t outputs = r.getInt("output", 1);
    const bool bn = r.getInt("batch_normalize", 0) != 0;
    const std::string act = r.getString("activation", "logistic");
    DL_TRY(r.status());
    if (outputs < 1) return r.error("output must be positive", "output");
    const std::string base = "connected_" + std::to_string(i);
    DL_ASSIGN(const std::string out, dense(base, to2d(base, in), numElements(in.shape), outputs, bn, act, r));
    setOutput(i, out, { 1, outputs });
    return {};
}

// Recurrent layers run one time step from a zero state: inference on one input, as network_predict does on a
// freshly loaded network. Each gate is a full Darknet connected layer (own bias, BN and activation), so the
// parts that read the zero state are still emitted: with BN or a bias they are not zero.

Status Lowering::rnn(int i, SectionReader& r)
{
    const DnValue& in = inputOf(i);
    const int64_t outputs = r.getInt("output", 1);
    const bool bn = r.getInt("batch_normalize", 0) != 0;
    const std::string act = r.getString("activation", "logistic");
    DL_TRY(r.status());
    if (outputs < 1) return r.error("output must be positive", "output");
    // Darknet (pjreddie) ignores hidden=: the state has `output` cells. shortcut= adds the previous state,
    // which is zero for the one step run here.
    const std::string base = "rnn_" + std::to_string(i);
    const int64_t inputs = numElements(in.shape);
    const std::string x = to2d(base, in);
    // .weights order: input layer, self layer, output layer.
    DL_ASSIGN(const std::string fromInput, dense(base + "_input", x, inputs, outputs, bn, act, r));
    DL_ASSIGN(const std::string fromState,
        dense(base + "_self", zeros(base + ".state0", outputs), outputs, outputs, bn, act, r));
    const std::string state = node(base + "_state", "Add", { fromInput, fromState });
    DL_ASSIGN(const std::string out, dense(base + "_output", state, outputs, outputs, bn, act, r));
    setOutput(i, out, { 1, outputs });
    return {};
}

Result<std::string> Lowering::sameConv(const std::string& base, const std::string& x, int64_t c, int64_t n, bool bn,
    const std::string& act, SectionReader& r)
{
    // Darknet's convolutional order in .weights: biases, BN scales, means, variances, then the filters.
    const std::string bias = param(base + ".bias", { n }, ParamKind::Bias);
    std::string scale, mean, var;
    if (bn) {
        scale = param(base + ".bn_scale", { n }, ParamKind::Scale);
        mean = param(base + ".bn_mean", { n }, ParamKind::Mean);
        var = param(base + ".bn_var", { n }, ParamKind::Variance);
    }
    const std::string weight = param(base + ".weight", { n, c, 3, 3 }, ParamKind::Weight, c * 9);
    std::vector<std::string> inputs = { x, weight };
    if (!bn) inputs.push_back(bias);
    std::string out = node(base, "Conv", inputs,
        { { "kernel_shape", attrInts({ 3, 3 }) }, { "strides", attrInts({ 1, 1 }) },
            { "pads", attrInts({ 1, 1, 1, 1 }) } });
    if (bn)
        out = node(
            base + "_bn", "BatchNormalization", { out, scale, bias, mean, var }, { { "epsilon", attrFloat(1e-5f) } });
    return activation(base, out, act, r);
}

Status Lowering::crnn(int i, SectionReader& r)
{
    const DnValue& in = inputOf(i);
    // pjreddie's parse_crnn reads output_filters= and hidden_filters= (output= and hidden= are other forks').
    const int64_t outputs = r.getInt("output_filters", 1);
    const int64_t hidden = r.getInt("hidden_filters", 1);
    const bool bn = r.getInt("batch_normalize", 0) != 0;
    const std::string act = r.getString("activation", "logistic");
    DL_TRY(r.status());
    if (outputs < 1 || hidden < 1) return r.error("output_filters and hidden_filters must be positive");
    DL_TRY(reportUnsupportedKeys(r, { "output", "hidden" }));
    // Like [rnn] with 3x3 same-size convolutions: input (c -> hidden), self (hidden -> hidden), output
    // (hidden -> output), in that .weights order.
    // Darknet's parse_crnn passes width and height to make_crnn_layer in swapped order, so the layer reads its
    // input buffer as a w x h map (rows of h cells) and hands on an out x w x h map: a reinterpretation of the
    // buffer, not a transpose. Square inputs are unaffected.
    const std::string base = "crnn_" + std::to_string(i);
    std::string x = to4d(base, in);
    if (in.h() != in.w())
        x = node(base + "_swap", "Reshape", { x, constInts(base + "_swap.shape", { 1, in.c(), in.w(), in.h() }) });
    DL_ASSIGN(const std::string fromInput, sameConv(base + "_input", x, in.c(), hidden, bn, act, r));
    Tensor zero(DType::F32, { 1, hidden, in.w(), in.h() });
    m_g.weights[base + ".state0"] = zero;
    DL_ASSIGN(const std::string fromState, sameConv(base + "_self", base + ".state0", hidden, hidden, bn, act, r));
    const std::string state = node(base + "_state", "Add", { fromInput, fromState });
    DL_ASSIGN(const std::string out, sameConv(base + "_output", state, hidden, outputs, bn, act, r));
    setOutput(i, out, { 1, outputs, in.w(), in.h() });
    return {};
}

Status Lowering::gru(int i, SectionReader& r)
{
    const DnValue& in = inputOf(i);
    const int64_t outputs = r.getInt("output", 1);
    const bool bn = r.getInt("batch_normalize", 0) != 0;
    const bool useTanh = r.getInt("tanh", 0) != 0;
    DL_TRY(r.status());
    if (outputs < 1) return r.error("output must be positive", "output");
    const std::string base = "gru_" + std::to_string(i);
    const int64_t inputs = numElements(in.shape);
    const std::string x = to2d(base, in);
    // .weights order: wz, wr, wh (on the state), then uz, ur, uh (on the input); all linear.
    // With a zero state, r * state is zero too, so wh also reads zeros.
    const std::string state0 = zeros(base + ".state0", outputs);
    DL_ASSIGN(const std::string wz, dense(base + "_wz", state0, outputs, outputs, bn, "linear", r));
    // The reset gate only scales the (zero) state: its parameters are read and left unused.
    auto unused = [&](const std::string& name, int64_t fanIn) {
        param(name + ".bias", { outputs }, ParamKind::Bias);
        param(name + ".weight", { outputs, fanIn }, ParamKind::Weight, fanIn);
        if (!bn) return;
        param(name + ".bn_scale", { outputs }, ParamKind::Scale);
        param(name + ".bn_mean", { outputs }, ParamKind::Mean);
        param(name + ".bn_var", { outputs }, ParamKind::Variance);
    };
    unused(base + "_wr", outputs);
    DL_ASSIGN(const std::string wh, dense(base + "_wh", state0, outputs, outputs, bn, "linear", r));
    DL_ASSIGN(const std::string uz, dense(base + "_uz", x, inputs, outputs, bn, "linear", r));
    unused(base + "_ur", inputs);
    DL_ASSIGN(const std::string uh, dense(base + "_uh", x, inputs, outputs, bn, "linear", r));
    const std::string z = node(base + "_z", "Sigmoid", { node(base + "_zsum", "Add", { uz, wz }) });
    const std::string hsum = node(base + "_hsum", "Add", { uh, wh });
    const std::string h = node(base + "_h", useTanh ? "Tanh" : "Sigmoid", { hsum });
    // output = z * state + (1 - z) * h, with state = 0.
    const std::string keep = node(base + "_1mz", "Sub", { constFloat(base + ".one", 1.0f), z });
    setOutput(i, node(base, "Mul", { keep, h }), { 1, outputs });
    return {};
}

Status Lowering::maxpool(int i, SectionReader& r)
{
    const DnValue& in = inputOf(i);
    const int64_t stride = r.getInt("stride", 1);
    const int64_t sx = r.getInt("stride_x", stride);
    const int64_t sy = r.getInt("stride_y", stride);
    const int64_t size = r.getInt("size", stride);
    const int64_t padding = r.getInt("padding", size - 1);
    DL_TRY(r.status());
    DL_TRY(reportUnsupportedKeys(r, { "maxpool_depth", "antialiasing", "out_channels" }));
    if (size < 1 || sx < 1 || sy < 1 || padding < 0)
        return r.error("size and stride must be positive, padding not negative");
    if (in.h() + padding < size || in.w() + padding < size)
        return r.error("a " + std::to_string(size) + "x" + std::to_string(size) + " window does not fit the "
            + std::to_string(in.h()) + "x" + std::to_string(in.w()) + " input");
    // Darknet: out = (in + padding - size) / stride + 1, windows starting at -padding/2, cells outside the
    // input skipped. That is a MaxPool with padding/2 before and whatever the last window needs after.
    const int64_t oh = (in.h() + padding - size) / sy + 1;
    const int64_t ow = (in.w() + padding - size) / sx + 1;
    const int64_t begin = padding / 2;
    const int64_t endH = std::max<int64_t>(0, (oh - 1) * sy + size - in.h() - begin);
    const int64_t endW = std::max<int64_t>(0, (ow - 1) * sx + size - in.w() - begin);
    const std::string base = "maxpool_" + std::to_string(i);
    const std::string x = to4d(base, in);
    const std::string out = node(base, "MaxPool", { x },
        { { "kernel_shape", attrInts({ size, size }) }, { "strides", attrInts({ sy, sx }) },
            { "pads", attrInts({ begin, begin, endH, endW }) } });
    setOutput(i, out, { 1, in.c(), oh, ow });
    return {};
}

Status Lowering::route(int i, SectionReader& r)
{
    const std::vector<int64_t> refs = r.getInts("layers");
    const int64_t groups = r.getInt("groups", 1);
    const int64_t groupId = r.getInt("group_id", 0);
    DL_TRY(r.status());
    if (refs.empty()) return r.error("needs layers=");
    if (groups < 1 || groupId < 0 || groupId >= groups) return r.error("group_id must lie in [0, groups)", "group_id");
    const std::string base = "route_" + std::to_string(i);
    std::vector<DnValue> parts;
    for (size_t k = 0; k < refs.size(); ++k) {
        DL_ASSIGN(const int idx, reference(i, refs[k], r, "layers"));
        DnValue v = m_layers[static_cast<size_t>(idx)];
        if (groups > 1) {
            if (v.c() % groups)
                return r.error("groups=" + std::to_string(groups) + " does not divide the " + std::to_string(v.c())
                    + " channels of layer " + std::to_string(idx));
            const int64_t part = v.c() / groups;
            const std::string x = to4d(base + "_" + std::to_string(k), v);
            v.value = slice(base + (refs.size() > 1 ? "_slice" + std::to_string(k) : std::string()), x,
                { groupId * part }, { (groupId + 1) * part }, { 1 });
            v.shape = { 1, part, v.h(), v.w() };
        }
        parts.push_back(std::move(v));
    }
    if (parts.size() == 1) {
        setOutput(i, parts[0].value, parts[0].shape);
        return {};
    }
    // Darknet concatenates flat buffers; as tensors that is a channel concat of maps of one size, or a concat
    // of vectors.
    const bool allFlat = std::all_of(parts.begin(), parts.end(), [](const DnValue& v) { return v.h() * v.w() == 1; });
    const bool anyVector
        = std::any_of(parts.begin(), parts.end(), [](const DnValue& v) { return v.shape.size() == 2; });
    std::vector<std::string> inputs;
    int64_t channels = 0;
    for (size_t k = 0; k < parts.size(); ++k) {
        const DnValue& v = parts[k];
        if (!allFlat && (v.h() != parts[0].h() || v.w() != parts[0].w()))
            return r.error("cannot concatenate layers of different sizes: " + shapeToString(parts[0].shape) + " and "
                + shapeToString(v.shape));
        channels += v.c();
        const std::string part = base + "_in" + std::to_string(k);
        inputs.push_back(allFlat && anyVector ? to2d(part, v) : to4d(part, v));
    }
    const std::string out = node(base, "Concat", inputs, { { "axis", attrInt(1) } });
    setOutput(i, out, allFlat && anyVector ? Shape { 1, channels } : Shape { 1, channels, parts[0].h(), parts[0].w() });
    return {};
}

Status Lowering::shortcut(int i, SectionReader& r)
{
    const DnValue& prev = inputOf(i);
    const std::vector<int64_t> refs = r.getInts("from");
    const std::string act = r.getString("activation", "linear");
    const float alpha = r.getFloat("alpha", 1.0f);
    const float beta = r.getFloat("beta", 1.0f);
    const std::string weightsType = r.getString("weights_type", "none");
    DL_TRY(r.status());
    if (refs.empty()) return r.error("needs from=");
    if (weightsType != "none")
        return r.unsupportedError(
            "weighted shortcuts (weights_type=" + weightsType + ") are not supported", "weights_type");
    if (i == 0) return r.error("a shortcut cannot be the first layer");
    const std::string base = "shortcut_" + std::to_string(i);
    std::string acc = prev.value;
    if (alpha != 1.0f) acc = node(base + "_alpha", "Mul", { acc, constFloat(base + ".alpha", alpha) });
    for (size_t k = 0; k < refs.size(); ++k) {
        DL_ASSIGN(const int idx, reference(i, refs[k], r, "from"));
        const DnValue& from = m_layers[static_cast<size_t>(idx)];
        const std::string tag = refs.size() > 1 ? "_" + std::to_string(k) : std::string();
        std::string add = from.value;
        if (from.shape != prev.shape) {
            // Darknet (shortcut_cpu) adds the overlap: the channels both have, and when `from` is larger by an
            // integer factor, every stride-th cell of it. Cells of the previous layer outside the overlap are
            // kept, which is adding zeros.
            const int64_t stride = std::max<int64_t>(1, from.w() / prev.w());
            const int64_t sample = std::max<int64_t>(1, prev.w() / from.w());
            if (from.shape.size() != 4 || prev.shape.size() != 4 || sample > 1
                || stride != std::max<int64_t>(1, from.h() / prev.h()))
                return r.unsupportedError("adding layer " + std::to_string(idx) + " (" + shapeToString(from.shape)
                    + ") to " + shapeToString(prev.shape) + " is not supported");
            const int64_t minc = std::min(from.c(), prev.c());
            const int64_t minh = std::min(from.h(), prev.h());
            const int64_t minw = std::min(from.w(), prev.w());
            if (stride > 1 || minc < from.c() || minh < from.h() || minw < from.w())
                add = slice(base + tag + "_overlap", add, { 0, 0, 0 },
                    { minc, (minh - 1) * stride + 1, (minw - 1) * stride + 1 }, { 1, 2, 3 }, { 1, stride, stride });
            if (minc < prev.c() || minh < prev.h() || minw < prev.w())
                add = node(base + tag + "_pad", "Pad",
                    { add,
                        constInts(base + tag + "_pad.pads",
                            { 0, 0, 0, 0, 0, prev.c() - minc, prev.h() - minh, prev.w() - minw }) });
        }
        if (beta != 1.0f) add = node(base + tag + "_beta", "Mul", { add, constFloat(base + tag + ".beta", beta) });
        acc = node(k + 1 == refs.size() ? base : base + tag + "_add", "Add", { acc, add });
    }
    DL_ASSIGN(const std::string out, activation(base, acc, act, r));
    setOutput(i, out, prev.shape);
    return {};
}

Status Lowering::upsample(int i, SectionReader& r)
{
    const DnValue& in = inputOf(i);
    const int64_t stride = r.getInt("stride", 2);
    const float scale = r.getFloat("scale", 1.0f);
    DL_TRY(r.status());
    if (stride < 1)
        return r.unsupportedError("stride=" + std::to_string(stride) + " (down-sampling) is not supported", "stride");
    const std::string base = "upsample_" + std::to_string(i);
    const std::string x = to4d(base, in);
    Tensor scales(DType::F32, { 4 });
    float* s = scales.ptr<float>();
    s[0] = s[1] = 1.0f;
    s[2] = s[3] = static_cast<float>(stride);
    m_g.weights[base + ".scales"] = scales;
    std::string out = node(base, "Resize", { x, "", base + ".scales" },
        { { "mode", attrString("nearest") }, { "coordinate_transformation_mode", attrString("asymmetric") },
            { "nearest_mode", attrString("floor") } });
    if (scale != 1.0f) out = node(base + "_scale", "Mul", { out, constFloat(base + ".scale", scale) });
    setOutput(i, out, { 1, in.c(), in.h() * stride, in.w() * stride });
    return {};
}

Status Lowering::softmax(int i, SectionReader& r)
{
    const DnValue& in = inputOf(i);
    const int64_t groups = r.getInt("groups", 1);
    const float temperature = r.getFloat("temperature", 1.0f);
    const bool spatial = r.getInt("spatial", 0) != 0;
    DL_TRY(r.status());
    const int64_t n = numElements(in.shape);
    if (r.has("tree")) return treeSoftmax(i, r, temperature);
    if (groups < 1 || n % groups)
        return r.error(
            "groups=" + std::to_string(groups) + " does not divide the " + std::to_string(n) + " inputs", "groups");
    if (temperature <= 0.0f) return r.error("temperature must be positive", "temperature");
    const std::string base = "softmax_" + std::to_string(i);
    std::string x = spatial ? to4d(base, in) : to2d(base, in);
    if (temperature != 1.0f)
        x = node(base + "_temperature", "Mul", { x, constFloat(base + ".inv_temperature", 1.0f / temperature) });
    if (spatial) {
        setOutput(i, node(base, "Softmax", { x }, { { "axis", attrInt(1) } }), { 1, in.c(), in.h(), in.w() });
        return {};
    }
    if (groups == 1) {
        setOutput(i, node(base, "Softmax", { x }, { { "axis", attrInt(1) } }), { 1, n });
        return {};
    }
    const std::string grouped
        = node(base + "_groups", "Reshape", { x, constInts(base + "_groups.shape", { 1, groups, n / groups }) });
    const std::string sm = node(base + "_grouped", "Softmax", { grouped }, { { "axis", attrInt(2) } });
    setOutput(i, node(base, "Reshape", { sm, constInts(base + ".shape", { 1, n }) }), { 1, n });
    return {};
}

Status Lowering::treeSoftmax(int i, SectionReader& r, float temperature)
{
    // Darknet resolves the path against its working directory; the cfg's directory is tried as well.
    std::string path = r.getString("tree", "");
    DL_TRY(r.status());
    if (r.getInt("spatial", 0)) return r.unsupportedError("a spatial softmax with tree= is not supported", "tree");
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && std::filesystem::path(path).is_relative())
        path = (std::filesystem::path(m_cfgPath).parent_path() / path).string();
    const std::vector<int64_t> groups = readTreeGroups(path);
    if (groups.empty()) return r.error("cannot read the tree file '" + r.getString("tree", "") + "'", "tree");
    const DnValue& in = inputOf(i);
    const int64_t n = numElements(in.shape);
    int64_t classes = 0, widest = 0;
    for (int64_t g : groups) {
        classes += g;
        widest = std::max(widest, g);
    }
    if (classes > n)
        return r.error(
            "the tree has " + std::to_string(classes) + " classes, more than the " + std::to_string(n) + " inputs",
            "tree");
    // Each group gets a softmax of its own (one per set of siblings in the hierarchy). The groups are gathered
    // into the rows of a [groups, widest] table, padded with a very negative logit that weighs nothing, and
    // gathered back; inputs past the tree's classes stay zero, as in Darknet's never-written output.
    const auto rows = static_cast<int64_t>(groups.size());
    const std::string base = "softmax_" + std::to_string(i);
    std::string x = to2d(base, in);
    if (temperature != 1.0f)
        x = node(base + "_temperature", "Mul", { x, constFloat(base + ".inv_temperature", 1.0f / temperature) });
    Tensor pad(DType::F32, { 1, 1 });
    *pad.ptr<float>() = -1e30f;
    m_g.weights[base + ".pad"] = pad;
    const std::string padded = node(base + "_padded", "Concat", { x, base + ".pad" }, { { "axis", attrInt(1) } });
    Tensor table(DType::I64, { rows, widest });
    Tensor back(DType::I64, { n });
    int64_t* t = table.ptr<int64_t>();
    int64_t* b = back.ptr<int64_t>();
    std::fill(b, b + n, rows * widest);
    int64_t offset = 0;
    for (int64_t g = 0; g < rows; ++g) {
        const int64_t size = groups[static_cast<size_t>(g)];
        for (int64_t k = 0; k < widest; ++k) {
            t[g * widest + k] = k < size ? offset + k : n;
            if (k < size) b[offset + k] = g * widest + k;
        }
        offset += size;
    }
    m_g.weights[base + ".groups"] = table;
    m_g.weights[base + ".back"] = back;
    const std::string grouped
        = node(base + "_grouped", "Gather", { padded, base + ".groups" }, { { "axis", attrInt(1) } });
    const std::string sm = node(base + "_groupwise", "Softmax", { grouped }, { { "axis", attrInt(2) } });
    const std::string flat
        = node(base + "_flat", "Reshape", { sm, constInts(base + "_flat.shape", { 1, rows * widest }) });
    Tensor zero(DType::F32, { 1, 1 });
    m_g.weights[base + ".zero"] = zero;
    const std::string withZero = node(base + "_tail", "Concat", { flat, base + ".zero" }, { { "axis", attrInt(1) } });
    setOutput(i, node(base, "Gather", { withZero, base + ".back" }, { { "axis", attrInt(1) } }), { 1, n });
    return {};
}

Status Lowering::crop(int i, SectionReader& r)
{
    const DnValue& in = inputOf(i);
    const int64_t oh = r.getInt("crop_height", 1);
    const int64_t ow = r.getInt("crop_width", 1);
    const bool noadjust = r.getInt("noadjust", 0) != 0;
    DL_TRY(r.status());
    if (oh < 1 || ow < 1 || oh > in.h() || ow > in.w())
        return r.error("a " + std::to_string(oh) + "x" + std::to_string(ow) + " crop does not fit the "
            + std::to_string(in.h()) + "x" + std::to_string(in.w()) + " input");
    // At inference Darknet takes the centred window (no flip, no jitter) and maps [0, 1] to [-1, 1].
    const std::string base = "crop_" + std::to_string(i);
    const int64_t dh = (in.h() - oh) / 2;
    const int64_t dw = (in.w() - ow) / 2;
    std::string out
        = slice(noadjust ? base : base + "_window", to4d(base, in), { dh, dw }, { dh + oh, dw + ow }, { 2, 3 });
    if (!noadjust) {
        out = node(base + "_scale", "Mul", { out, constFloat(base + ".scale", 2.0f) });
        out = node(base, "Add", { out, constFloat(base + ".shift", -1.0f) });
    }
    setOutput(i, out, { 1, in.c(), oh, ow });
    return {};
}

Status Lowering::reorg(int i, SectionReader& r)
{
    const DnValue& in = inputOf(i);
    const int64_t s = r.getInt("stride", 1);
    const int64_t extra = r.getInt("extra", 0);
    DL_TRY(r.status());
    DL_TRY(reportUnsupportedKeys(r, { "reverse", "flatten" }));
    if (extra < 0) return r.error("extra must not be negative", "extra");
    if (extra > 0) {
        // Darknet then ignores the stride: it copies its input to a flat buffer `extra` floats longer, whose
        // tail is never written and stays zero (go.cfg's "pass" move, next to the board's 361 cells).
        const std::string base = "reorg_" + std::to_string(i);
        const int64_t n = numElements(in.shape);
        setOutput(i,
            node(base, "Concat", { to2d(base, in), zeros(base + ".extra", extra) }, { { "axis", attrInt(1) } }),
            { 1, n + extra });
        return {};
    }
    const int64_t c = in.c(), h = in.h(), w = in.w();
    if (s < 1 || h % s || w % s || c % (s * s))
        return r.error("stride=" + std::to_string(s) + " does not divide the input " + shapeToString(in.shape));
    if (s == 1) {
        setOutput(i, in.value, in.shape);
        return {};
    }
    // Darknet's reorg reads its input as if it were (c/s^2) x (h*s) x (w*s) and writes the blocks channel-
    // major: a permutation of the flat buffer that differs from SpaceToDepth. Written as reshape-transpose.
    const std::string base = "reorg_" + std::to_string(i);
    const std::string x = to4d(base, in);
    const std::string view
        = node(base + "_view", "Reshape", { x, constInts(base + "_view.shape", { 1, c / (s * s), h, s, w, s }) });
    const std::string perm
        = node(base + "_perm", "Transpose", { view }, { { "perm", attrInts({ 0, 3, 5, 1, 2, 4 }) } });
    const Shape outShape = { 1, c * s * s, h / s, w / s };
    setOutput(i, node(base, "Reshape", { perm, constInts(base + ".shape", outShape) }), outShape);
    return {};
}

Status Lowering::local(int i, SectionReader& r)
{
    const DnValue& in = inputOf(i);
    const int64_t n = r.getInt("filters", 1);
    const int64_t size = r.getInt("size", 1);
    const int64_t stride = r.getInt("stride", 1);
    const int64_t pad = r.getInt("pad", 0);
    const std::string act = r.getString("activation", "logistic");
    DL_TRY(r.status());
    const int64_t c = in.c(), h = in.h(), w = in.w();
    if (n < 1 || size < 1 || stride < 1 || pad < 0)
        return r.error("filters, size and stride must be positive, pad not negative");
    if (size > (int64_t(1) << 12) || pad > (int64_t(1) << 12)) return r.error("size and pad must be at most 4096");
    if (h + 2 * pad < size || w + 2 * pad < size)
        return r.error("a " + std::to_string(size) + "x" + std::to_string(size) + " kernel does not fit the "
            + std::to_string(h) + "x" + std::to_string(w) + " input");
    // Darknet sizes the output as (h - (pad ? 1 : size)) / stride + 1 but fills it through an im2col with `pad`
    // zero cells on each side; the two agree for pad=0, and for pad=1 with size=3 (the only use in the wild).
    const int64_t oh = (h - (pad ? 1 : size)) / stride + 1;
    const int64_t ow = (w - (pad ? 1 : size)) / stride + 1;
    if ((h + 2 * pad - size) / stride + 1 != oh || (w + 2 * pad - size) / stride + 1 != ow)
        return r.unsupportedError("pad=" + std::to_string(pad) + " with size=" + std::to_string(size)
            + ": Darknet's output size and its im2col disagree");
    const int64_t L = oh * ow;
    const int64_t k2 = size * size;
    const std::string base = "local_" + std::to_string(i);
    const std::string bias = param(base + ".bias", { 1, n, oh, ow }, ParamKind::Bias);
    // c is at most 2^36 (checkValueSize), k2 at most 2^24: their product fits.
    const std::string weight = param(base + ".weight", { L, n, c * k2 }, ParamKind::Weight, c * k2);

    // Every output position has its own filters: gather the patches (c * size * size values per position, in
    // Darknet's im2col order), then one batched MatMul over positions.
    std::string x = to4d(base, in);
    if (pad) x = node(base + "_pad", "Pad", { x, constInts(base + "_pad.pads", { 0, 0, pad, pad, 0, 0, pad, pad }) });
    std::vector<std::string> taps;
    for (int64_t kh = 0; kh < size; ++kh)
        for (int64_t kw = 0; kw < size; ++kw) {
            const std::string tap = base + "_tap" + std::to_string(kh * size + kw);
            const std::string s = slice(tap, x, { kh, kw }, { kh + stride * (oh - 1) + 1, kw + stride * (ow - 1) + 1 },
                { 2, 3 }, { stride, stride });
            taps.push_back(node(tap + "_col", "Reshape", { s, constInts(tap + "_col.shape", { c, 1, L }) }));
        }
    const std::string cols
        = taps.size() == 1 ? taps[0] : node(base + "_cols", "Concat", taps, { { "axis", attrInt(1) } });
    const std::string byPos = node(base + "_bypos", "Transpose", { cols }, { { "perm", attrInts({ 2, 0, 1 }) } });
    const std::string patches
        = node(base + "_patches", "Reshape", { byPos, constInts(base + "_patches.shape", { L, c * k2, 1 }) });
    const std::string prod = node(base + "_matmul", "MatMul", { weight, patches });
    const std::string flat = node(base + "_flat", "Reshape", { prod, constInts(base + "_flat.shape", { L, n }) });
    const std::string nl = node(base + "_nl", "Transpose", { flat }, { { "perm", attrInts({ 1, 0 }) } });
    const std::string map = node(base + "_map", "Reshape", { nl, constInts(base + "_map.shape", { 1, n, oh, ow }) });
    std::string out = node(base, "Add", { map, bias });
    DL_ASSIGN(out, activation(base, out, act, r));
    setOutput(i, out, { 1, n, oh, ow });
    return {};
}

Status Lowering::multiply(int i, SectionReader& r, bool channels)
{
    const DnValue& prev = inputOf(i);
    const std::vector<int64_t> refs = r.getInts("from");
    const std::string act = r.getString("activation", "linear");
    const bool scaleWh = r.getInt("scale_wh", 0) != 0;
    DL_TRY(r.status());
    if (refs.size() != 1) return r.error("needs exactly one layer in from=", "from");
    DL_ASSIGN(const int idx, reference(i, refs[0], r, "from"));
    const DnValue& from = m_layers[static_cast<size_t>(idx)];
    const std::string base = (channels ? "scale_channels_" : "sam_") + std::to_string(i);
    Shape outShape;
    std::string out;
    if (channels) {
        // The previous layer holds one factor per channel (or per position with scale_wh) of layer `from`.
        const bool fits = scaleWh ? (prev.c() == 1 && prev.h() == from.h() && prev.w() == from.w())
                                  : (prev.c() == from.c() && prev.h() == 1 && prev.w() == 1);
        if (!fits)
            return r.error("cannot scale layer " + std::to_string(idx) + " (" + shapeToString(from.shape) + ") by "
                + shapeToString(prev.shape));
        out = node(base, "Mul", { to4d(base + "_from", from), to4d(base, prev) });
        outShape = { 1, from.c(), from.h(), from.w() };
    } else {
        if (from.shape != prev.shape)
            return r.error("cannot multiply layer " + std::to_string(idx) + " (" + shapeToString(from.shape) + ") with "
                + shapeToString(prev.shape));
        out = node(base, "Mul", { prev.value, from.value });
        outShape = prev.shape;
    }
    DL_ASSIGN(out, activation(base, out, act, r));
    setOutput(i, out, outShape);
    return {};
}

Status Lowering::batchnorm(int i, SectionReader& r)
{
    DL_TRY(r.status());
    const DnValue& in = inputOf(i);
    const int64_t c = in.c();
    const std::string base = "batchnorm_" + std::to_string(i);
    const std::string scale = param(base + ".scale", { c }, ParamKind::Scale);
    const std::string mean = param(base + ".mean", { c }, ParamKind::Mean);
    const std::string var = param(base + ".var", { c }, ParamKind::Variance);
    // Darknet keeps a bias for this layer but neither trains nor stores it: it stays zero.
    m_g.weights[base + ".bias"] = Tensor(DType::F32, { c });
    const std::string x = to4d(base, in);
    setOutput(i,
        node(base, "BatchNormalization", { x, scale, base + ".bias", mean, var }, { { "epsilon", attrFloat(1e-5f) } }),
        { 1, c, in.h(), in.w() });
    return {};
}

} // namespace dl::darknet
