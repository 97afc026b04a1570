#include "runtime/executor.h"
#include "runtime/versions.h"

#include "backend/cpu/cpubackend.h"
#include "core/align.h"
#include "memory/arena.h"
#include "model/fuse.h"
#include "model/layering.h"
#include "model/split.h"

#include <algorithm>
#include <cstring>
#include <set>

namespace dl {

Result<std::map<std::string, Shape>> resolveInputShapes(
    const Graph& g, const std::map<std::string, Shape>& given, int64_t dynamicDefault)
{
    std::set<std::string> names;
    for (const auto& in : g.inputs)
        names.insert(in.name);
    for (const auto& [name, shape] : given)
        if (!names.count(name)) {
            std::string list;
            for (const auto& n : names)
                list += (list.empty() ? "" : ", ") + n;
            return invalid("the model has no input named '" + name + "' (its inputs: " + list + ")");
        }
    std::map<std::string, Shape> out;
    for (const auto& in : g.inputs) {
        auto it = given.find(in.name);
        if (it != given.end()) {
            const Shape& s = it->second;
            if (in.hasShape) {
                if (s.size() != in.dims.size())
                    return invalid("input '" + in.name + "' has rank " + std::to_string(in.dims.size())
                        + " in the model, but the shape given is " + shapeToString(s));
                for (size_t d = 0; d < s.size(); ++d)
                    if (in.dims[d].value >= 0 && in.dims[d].value != s[d])
                        return invalid("input '" + in.name + "' dimension " + std::to_string(d) + " is fixed at "
                            + std::to_string(in.dims[d].value) + " by the model, but the shape given is "
                            + shapeToString(s));
            }
            for (int64_t d : s)
                if (d < 0) return invalid("input '" + in.name + "': negative dimension in " + shapeToString(s));
            out[in.name] = s;
            continue;
        }
        if (!in.hasShape)
            return invalid(
                "input '" + in.name + "' has no declared shape: give one with --shape " + in.name + "=1x3x224x224");
        Shape s;
        for (size_t d = 0; d < in.dims.size(); ++d) {
            if (in.dims[d].value >= 0)
                s.push_back(in.dims[d].value);
            else if (d == 0)
                s.push_back(1);
            else if (dynamicDefault > 0)
                s.push_back(dynamicDefault);
            else
                return invalid("input '" + in.name + "' dimension " + std::to_string(d) + " ('" + in.dims[d].param
                    + "') is dynamic: give a shape with --shape " + in.name + "=...");
        }
        out[in.name] = s;
    }
    return out;
}

Executor::Executor(Graph graph)
    : m_graph(std::move(graph))
{ }

Executor::~Executor() = default;

Result<std::unique_ptr<Executor>> Executor::create(
    const Graph& graph, const std::map<std::string, Shape>& inputShapes, const ExecutorOptions& options)
{
    std::unique_ptr<Executor> e(new Executor(graph));
    e->m_backend = options.backend ? options.backend : makeCpuBackend(options.threads);
    // Folding computes at plan time and reads its results at once: on the CPU backend itself, else on one of its own.
    e->m_folder = dynamic_cast<cpu::CpuBackend*>(e->m_backend.get()) ? e->m_backend : makeCpuBackend(options.threads);
    const BackendHints& hints = e->m_backend->hints();
    e->m_precision = widenHalfCompute(e->m_graph);
    DL_TRY(fuseGraph(e->m_graph, hints.fusableActivations));
    e->m_split
        = splitLargeLayers(e->m_graph, options.splitBytes, SplitBlocks { hints.splitBlock, hints.finestSplitBlock });
    DL_ASSIGN(auto shapes, resolveInputShapes(e->m_graph, inputShapes));
    DL_TRY(e->plan(shapes, options));
    e->m_captureGraphs = options.captureGraphs;
    if (!options.captureGraphs)
        e->m_graphNote = "not captured: turned off";
    else if (!e->m_backend->canCapture())
        e->m_graphNote = std::string("not captured: the ") + e->m_backend->name() + " backend runs kernels as launched";
    else if (e->fallbackNodes() > 0)
        e->m_graphNote = "not captured: " + std::to_string(e->fallbackNodes()) + " nodes run on the CPU";
    else
        e->m_graphNote = "captured after the first run, replayed as one CUDA graph";
    return e;
}

int Executor::valueId(const std::string& name) const
{
    auto it = m_ids.find(name);
    return it == m_ids.end() ? -1 : it->second;
}

Status Executor::plan(const std::map<std::string, Shape>& inputShapes, const ExecutorOptions& options)
{
    const bool deviceIsHost = m_backend->deviceIsHost();
    auto addValue = [&](const std::string& name, DType dt, Shape shape, bool constant) {
        const int id = static_cast<int>(m_values.size());
        m_values.push_back(ValuePlan { name, dt, std::move(shape), constant });
        m_buffers.emplace_back();
        m_ids[name] = id;
        return id;
    };
    for (const auto& in : m_graph.inputs) {
        DType dt = in.dtype == DType::Undefined ? DType::F32 : in.dtype;
        auto frozen = options.frozenInputs.find(in.name);
        if (frozen != options.frozenInputs.end()) {
            if (frozen->second.dtype() != dt || frozen->second.shape() != inputShapes.at(in.name))
                return invalid("frozen input '" + in.name + "' does not match its declared type and shape");
            m_inputIds.push_back(addValue(in.name, dt, frozen->second.shape(), true));
            m_buffers[m_inputIds.back()] = frozen->second;
            continue;
        }
        m_inputIds.push_back(addValue(in.name, dt, inputShapes.at(in.name), false));
    }
    std::set<std::string> weightsHeld;
    m_nodeFirstOutput.assign(m_graph.nodes.size(), -1);
    for (size_t ni = 0; ni < m_graph.nodes.size(); ++ni) {
        const Node& node = m_graph.nodes[ni];
        KernelRequest args { node, {}, m_graph.opset, options.halfCompute };
        std::vector<int> inIds;
        bool allConstant = true;
        for (const auto& inName : node.inputs) {
            if (inName.empty()) {
                inIds.push_back(-1);
                args.inputs.emplace_back();
                continue;
            }
            int id = valueId(inName);
            if (id < 0) {
                auto w = m_graph.weights.find(inName);
                if (w == m_graph.weights.end())
                    return invalid(node.describe() + ": input '" + inName + "' is not produced by any earlier node");
                id = addValue(inName, w->second.dtype(), w->second.shape(), true);
                m_buffers[id] = w->second;
            }
            inIds.push_back(id);
            const ValuePlan& v = m_values[id];
            // The constant pointer is filled in below: addValue() may still grow m_buffers in this loop.
            args.inputs.push_back(ValueDesc { v.dtype, v.shape, nullptr });
            allConstant = allConstant && v.constant;
        }
        for (size_t k = 0; k < inIds.size(); ++k)
            if (inIds[k] >= 0 && m_values[inIds[k]].constant) args.inputs[k].constant = &m_buffers[inIds[k]];
        // Shape and Size read only their input's shape, which planning knows: their outputs are constants.
        const bool shapeOnly
            = (node.opType == "Shape" || node.opType == "Size") && (node.domain.empty() || node.domain == "ai.onnx");
        if (shapeOnly) allConstant = true;
        // Folded nodes compute once, here, on the host; the rest on the backend, or where it cannot run them, on the
        // CPU backend (which falls back to nothing: its errors are the node's).
        std::string fallback;
        std::unique_ptr<Kernel> kernel;
        if (!allConstant && m_folder != m_backend) {
            auto st = m_backend->supports(args);
            Result<std::unique_ptr<Kernel>> made = st.ok() ? m_backend->createKernel(args) : st.error();
            if (made.ok())
                kernel = std::move(made).value();
            else if (made.error().code == ErrorCode::Unsupported)
                fallback = made.error().message;
            else
                return made.error();
        }
        if (!kernel) {
            DL_ASSIGN(kernel, (allConstant || !fallback.empty() ? *m_folder : *m_backend).createKernel(args));
        }
        if (kernel->outputs.size() < node.outputs.size()) {
            // Trailing optional outputs a kernel does not produce must be unused.
            for (size_t o = kernel->outputs.size(); o < node.outputs.size(); ++o)
                if (!node.outputs[o].empty())
                    return unsupported(node.describe() + ": optional output " + std::to_string(o) + " ('"
                        + node.outputs[o] + "') is not supported");
        }
        // Every op's first output is required (ONNX omits only optional ones): kernels write it.
        if (!kernel->outputs.empty() && (node.outputs.empty() || node.outputs[0].empty()))
            return invalid(node.describe() + ": its first output is missing");
        std::vector<int> outIds;
        for (size_t o = 0; o < node.outputs.size(); ++o) {
            if (node.outputs[o].empty() || o >= kernel->outputs.size()) {
                outIds.push_back(-1);
                continue;
            }
            if (m_ids.count(node.outputs[o]))
                return invalid(node.describe() + ": value '" + node.outputs[o] + "' is produced twice");
            const auto& od = kernel->outputs[o];
            for (int64_t d : od.shape)
                if (d < 0) return makeError(ErrorCode::Internal, node.describe() + ": negative output dimension");
            const int id = addValue(node.outputs[o], od.dtype, od.shape, allConstant);
            // Activations get their memory from the arena once every node is planned.
            if (allConstant || (!options.arena && deviceIsHost)) {
                m_buffers[id] = Tensor(od.dtype, od.shape);
            } else if (options.arena) {
                m_buffers[id] = Tensor::view(od.dtype, od.shape, nullptr);
            } else {
                DL_ASSIGN(auto buffer,
                    m_backend->allocate(MemorySpace::Device, MemTag::Activations,
                        std::max<size_t>(Tensor::view(od.dtype, od.shape, nullptr).bytes(), 1), nullptr));
                m_buffers[id] = Tensor::view(od.dtype, od.shape, buffer.data());
                m_deviceBuffers.push_back(std::move(buffer));
            }
            outIds.push_back(id);
        }
        if (!outIds.empty()) m_nodeFirstOutput[ni] = outIds[0];

        std::vector<const Tensor*> inPtrs;
        for (int id : inIds)
            inPtrs.push_back(id < 0 ? nullptr : &m_buffers[id]);
        std::vector<Tensor*> outPtrs;
        for (int id : outIds)
            outPtrs.push_back(id < 0 ? nullptr : &m_buffers[id]);
        if (allConstant) {
            // Folded now: shape arithmetic and weight transforms never run per inference.
            auto st = kernel->run(inPtrs, outPtrs);
            if (!st.ok()) return st.error();
            continue;
        }
        for (size_t k = 0; k < inIds.size(); ++k) {
            if (inIds[k] < 0 || !m_values[inIds[k]].constant) continue;
            if (kernel->packed.empty() && weightsHeld.insert(m_values[inIds[k]].name).second)
                m_weightBytes += m_buffers[inIds[k]].bytes();
        }
        for (const auto& p : kernel->packed)
            m_weightBytes += p.bytes();
        for (int id : outIds)
            if (id >= 0) m_activationBytes += m_buffers[id].bytes();
        NodePlan np;
        np.node = ni;
        np.inputs = std::move(inIds);
        np.outputs = std::move(outIds);
        np.flops = kernel->flops();
        np.kernel = std::move(kernel);
        np.fallback = std::move(fallback);
        m_nodes.push_back(std::move(np));
    }
    // Consecutive nodes on one input (the pieces of a split layer) may share its re-laid-out copy.
    for (size_t p = 1; p < m_nodes.size(); ++p) {
        NodePlan& np = m_nodes[p];
        const NodePlan& before = m_nodes[p - 1];
        if (!np.inputs.empty() && !before.inputs.empty() && np.inputs[0] >= 0 && np.inputs[0] == before.inputs[0])
            np.sharesSource = np.kernel->shareSourceLayout(*before.kernel);
    }
    for (const auto& out : m_graph.outputs) {
        int id = valueId(out.name);
        if (id < 0) {
            auto w = m_graph.weights.find(out.name);
            if (w == m_graph.weights.end()) return invalid("graph output '" + out.name + "' is produced by no node");
            id = addValue(out.name, w->second.dtype(), w->second.shape(), true);
            m_buffers[id] = w->second;
        }
        m_outputIds.push_back(id);
    }
    m_activationSum = m_activationBytes;
    m_activationLowerBound = m_activationBytes;
    if (options.arena) DL_TRY(planArena());
    if (!deviceIsHost) {
        // The inputs are uploaded into device buffers of their own, the outputs downloaded into host ones.
        for (int id : m_inputIds) {
            if (m_values[id].constant) continue;
            const ValuePlan& v = m_values[id];
            DL_ASSIGN(auto buffer,
                m_backend->allocate(MemorySpace::Device, MemTag::Activations,
                    std::max<size_t>(Tensor::view(v.dtype, v.shape, nullptr).bytes(), 1), nullptr));
            m_buffers[id] = Tensor::view(v.dtype, v.shape, buffer.data());
            m_deviceBuffers.push_back(std::move(buffer));
        }
        for (int id : m_outputIds)
            m_hostOutputs.push_back(m_values[id].constant ? Tensor() : Tensor(m_values[id].dtype, m_values[id].shape));
        // Fallback nodes compute on host copies of the activations they read and write.
        for (const NodePlan& np : m_nodes) {
            if (!np.onHost()) continue;
            for (const auto* ids : { &np.inputs, &np.outputs })
                for (int id : *ids)
                    if (id >= 0 && !m_values[id].constant && !m_hostMirrors.count(id))
                        m_hostMirrors.emplace(id, Tensor(m_values[id].dtype, m_values[id].shape));
        }
        for (const auto& [id, t] : m_hostMirrors)
            m_activationBytes += t.bytes();
    }
    planLayers();
    return {};
}

Status Executor::planArena()
{
    // Activations: non-constant values a kernel writes (graph inputs are the caller's buffers).
    std::vector<int> slotOf(m_values.size(), -1);
    std::vector<int> ids;
    std::vector<ArenaValue> av;
    for (size_t p = 0; p < m_nodes.size(); ++p)
        for (int id : m_nodes[p].outputs)
            if (id >= 0 && !m_values[id].constant && slotOf[id] < 0) {
                slotOf[id] = static_cast<int>(ids.size());
                ids.push_back(id);
                av.push_back(ArenaValue { m_buffers[id].bytes(), static_cast<int>(p), static_cast<int>(p), -1 });
            }
    for (size_t p = 0; p < m_nodes.size(); ++p)
        for (int id : m_nodes[p].inputs)
            if (id >= 0 && slotOf[id] >= 0) av[slotOf[id]].last = static_cast<int>(p);
    for (int id : m_outputIds)
        if (slotOf[id] >= 0) av[slotOf[id]].last = static_cast<int>(m_nodes.size());
    for (size_t p = 0; p < m_nodes.size(); ++p) {
        const auto& np = m_nodes[p];
        const int k = np.kernel->inPlaceInput;
        if (k < 0 || static_cast<size_t>(k) >= np.inputs.size() || np.outputs.empty() || np.outputs[0] < 0) continue;
        const int in = np.inputs[k];
        const int out = np.outputs[0];
        if (in < 0 || slotOf[in] < 0 || slotOf[out] < 0) continue;
        // The input must not be read again by this node through another operand position at another index.
        int uses = 0;
        for (int id : np.inputs)
            uses += id == in;
        if (uses > 1) continue;
        av[slotOf[out]].inPlaceOf = slotOf[in];
    }
    const ArenaPlan plan = dl::planArena(av);
    DL_TRY(verifyArena(av, plan));
    DL_ASSIGN(m_arena,
        m_backend->allocate(MemorySpace::Device, MemTag::Activations, std::max<size_t>(plan.arenaBytes, 1), nullptr));
    std::byte* base = m_arena.data();
    for (size_t i = 0; i < ids.size(); ++i) {
        const int id = ids[i];
        m_buffers[id] = Tensor::view(m_values[id].dtype, m_values[id].shape, base + plan.offsets[i]);
    }
    m_activationBytes = plan.arenaBytes;
    m_activationSum = plan.sumBytes;
    m_activationLowerBound = plan.lowerBound;
    return {};
}

void Executor::planLayers()
{
    const auto groups = groupLayers(m_graph);
    std::vector<int> layerOfNode(m_graph.nodes.size(), -1);
    for (const Layer& l : groups)
        for (size_t n : l.nodes)
            layerOfNode[n] = l.index;
    // Which layers read each directly-read constant: one layer streams it, several pin it.
    std::map<int, std::set<int>> readers;
    for (const auto& np : m_nodes)
        if (np.kernel->packed.empty())
            for (int id : np.inputs)
                if (id >= 0 && m_values[id].constant) readers[id].insert(layerOfNode[np.node]);
    std::set<int> outputs(m_outputIds.begin(), m_outputIds.end());
    std::set<int> pinned;
    size_t pinnedPacked = 0;
    m_layers.clear();
    size_t p = 0;
    for (const Layer& l : groups) {
        LayerPlan lp;
        lp.index = l.index;
        lp.name = l.name;
        lp.nodeBegin = p;
        while (p < m_nodes.size() && layerOfNode[m_nodes[p].node] == l.index)
            ++p;
        lp.nodeEnd = p;
        std::set<int> taken;
        auto addSlot = [&](WeightSlot s) {
            s.offset = lp.blobBytes;
            lp.blobBytes += alignUp(s.bytes, m_backend->slotAlignment());
            lp.slots.push_back(std::move(s));
        };
        for (size_t n = lp.nodeBegin; n < lp.nodeEnd; ++n) {
            const auto& kernel = *m_nodes[n].kernel;
            if (m_nodes[n].onHost()) {
                lp.fallbackOps.push_back(m_graph.nodes[m_nodes[n].node].opType);
                if (!m_backend->deviceIsHost()) {
                    // Its weights stay where the CPU reads them: pinned, never streamed into device memory.
                    for (const auto& t : kernel.packed)
                        pinnedPacked += t.bytes();
                    if (kernel.packed.empty())
                        for (int id : m_nodes[n].inputs)
                            if (id >= 0 && m_values[id].constant && m_buffers[id].data()) pinned.insert(id);
                    continue;
                }
            }
            for (size_t k = 0; k < kernel.packed.size(); ++k) {
                const Tensor& t = kernel.packed[k];
                addSlot(WeightSlot { n, static_cast<int>(k), -1, t.dtype(), t.shape(), t.bytes(), 0 });
            }
            if (!kernel.packed.empty()) continue;
            for (int id : m_nodes[n].inputs) {
                if (id < 0 || !m_values[id].constant || !m_buffers[id].data()) continue;
                if (readers[id].size() > 1 || outputs.count(id)) {
                    pinned.insert(id);
                    continue;
                }
                if (!taken.insert(id).second) continue;
                const Tensor& t = m_buffers[id];
                addSlot(WeightSlot { n, -1, id, t.dtype(), t.shape(), t.bytes(), 0 });
            }
        }
        m_layers.push_back(std::move(lp));
    }
    m_pinnedBytes = pinnedPacked;
    for (int id : pinned)
        m_pinnedBytes += m_buffers[id].bytes();
}

std::string Executor::layoutTag()
{
    return cpu::CpuBackend::cpuLayoutTag();
}

size_t Executor::workspaceBytes() const
{
    return m_backend->workspaceBytes();
}

void Executor::copyLayerWeights(size_t layer, std::byte* dst) const
{
    const bool host = m_backend->deviceIsHost();
    for (const auto& s : m_layers[layer].slots) {
        const Tensor& t = s.packed >= 0 ? m_nodes[s.node].kernel->packed[s.packed] : m_buffers[s.value];
        if (host || s.packed < 0)
            std::memcpy(dst + s.offset, t.data(), s.bytes);
        else
            (void)m_backend->computeStream().copy(dst + s.offset, t.data(), s.bytes); // packed in device memory
    }
    if (!host) (void)m_backend->computeStream().synchronize();
}

void Executor::bindLayer(size_t layer, const std::byte* base)
{
    ++m_bindings;
    for (const auto& s : m_layers[layer].slots) {
        void* p = base ? const_cast<std::byte*>(base + s.offset) : nullptr;
        Tensor view = Tensor::view(s.dtype, s.shape, p);
        if (s.packed >= 0)
            m_nodes[s.node].kernel->packed[s.packed] = std::move(view);
        else
            m_buffers[s.value] = std::move(view);
    }
}

void Executor::unbindLayer(size_t layer)
{
    bindLayer(layer, nullptr);
}

void Executor::releaseWeights()
{
    std::set<int> keep; // constants still read at run time without a slot: pinned ones, outputs and frozen inputs
    for (int id : m_inputIds)
        keep.insert(id);
    for (int id : m_outputIds)
        keep.insert(id);
    std::set<int> slotted;
    for (const auto& l : m_layers)
        for (const auto& s : l.slots)
            if (s.value >= 0) slotted.insert(s.value);
    for (const auto& np : m_nodes)
        if (np.kernel->packed.empty())
            for (int id : np.inputs)
                if (id >= 0 && m_values[id].constant && !slotted.count(id)) keep.insert(id);
    for (size_t l = 0; l < m_layers.size(); ++l)
        unbindLayer(l);
    for (size_t id = 0; id < m_values.size(); ++id)
        if (m_values[id].constant && !keep.count(static_cast<int>(id)) && !slotted.count(static_cast<int>(id)))
            m_buffers[id] = Tensor();
    decltype(m_graph.weights) kept;
    for (int id : keep) {
        auto w = m_graph.weights.find(m_values[id].name);
        if (w != m_graph.weights.end()) kept.insert(*w);
    }
    m_graph.weights = std::move(kept);
}

Result<std::vector<Tensor>> Executor::run(const std::vector<Tensor>& inputs)
{
    DL_TRY(beginRun(inputs));
    auto st = runAllNodes();
    if (!st.ok()) {
        (void)finishRun();
        return st.error();
    }
    return finishRun();
}

Status Executor::beginRun(const std::vector<Tensor>& inputs)
{
    m_cancel = false;
    m_lastRan = static_cast<size_t>(-1);
    m_backend->beginRun();
    if (inputs.size() != m_inputIds.size())
        return invalid("the model takes " + std::to_string(m_inputIds.size()) + " inputs, "
            + std::to_string(inputs.size()) + " were given");
    for (size_t i = 0; i < inputs.size(); ++i) {
        const ValuePlan& v = m_values[m_inputIds[i]];
        if (inputs[i].dtype() != v.dtype)
            return invalid(
                "input '" + v.name + "' must be " + dtypeName(v.dtype) + ", got " + dtypeName(inputs[i].dtype()));
        if (inputs[i].shape() != v.shape)
            return invalid("input '" + v.name + "' was planned for shape " + shapeToString(v.shape) + ", got "
                + shapeToString(inputs[i].shape()));
        if (v.constant) continue;
        if (m_backend->deviceIsHost())
            m_buffers[m_inputIds[i]] = inputs[i];
        else
            DL_TRY(m_backend->upload(inputs[i], m_buffers[m_inputIds[i]]));
    }
    return {};
}

Status Executor::runNodes(size_t begin, size_t end)
{
    std::vector<const Tensor*> in;
    std::vector<Tensor*> out;
    for (size_t n = begin; n < end && n < m_nodes.size(); ++n) {
        auto& np = m_nodes[n];
        if (m_cancel.load(std::memory_order_relaxed)) return makeError(ErrorCode::Cancelled, "run cancelled");
        in.clear();
        out.clear();
        for (int id : np.inputs)
            in.push_back(id < 0 ? nullptr : &m_buffers[id]);
        for (int id : np.outputs)
            out.push_back(id < 0 ? nullptr : &m_buffers[id]);
        if (np.sharesSource) np.kernel->sourceLaidOut = n > 0 && m_lastRan == n - 1;
        m_lastRan = static_cast<size_t>(-1);
        auto st = np.onHost() && !m_backend->deviceIsHost() ? runOnHost(np, in, out) : np.kernel->run(in, out);
        if (!st.ok()) return st.error();
        m_lastRan = n;
    }
    return {};
}

bool Executor::capturable() const
{
    return m_captureGraphs && m_backend->canCapture() && fallbackNodes() == 0;
}

Status Executor::runAllNodes()
{
    if (!capturable()) return runNodes(0, m_nodes.size());
    if (m_captured && m_capturedAt == m_bindings) {
        if (m_cancel.load(std::memory_order_relaxed)) return makeError(ErrorCode::Cancelled, "run cancelled");
        return m_captured->launch();
    }
    if (m_capturedAt != m_bindings) {
        m_captured.reset();
        m_capturedAt = m_bindings;
        m_uncapturedRuns = 0;
    }
    // The first run as it comes (anything the libraries set up lazily happens outside a capture), then record.
    if (m_uncapturedRuns++ < 1) return runNodes(0, m_nodes.size());
    DL_TRY(m_backend->beginCapture());
    auto st = runNodes(0, m_nodes.size());
    auto work = m_backend->endCapture();
    if (!st.ok()) return st;
    if (!work.ok()) {
        // Not capturable after all: run as launched from now on, saying why.
        m_captureGraphs = false;
        m_graphNote = "not captured: " + work.error().message;
        return runNodes(0, m_nodes.size());
    }
    m_captured = std::move(work).value();
    return m_captured->launch();
}

Status Executor::runOnHost(NodePlan& np, std::vector<const Tensor*>& in, std::vector<Tensor*>& out)
{
    // The device's work before the node produced its inputs: download them, compute, upload what it made.
    Stream& stream = m_backend->computeStream();
    for (size_t k = 0; k < np.inputs.size(); ++k) {
        auto mirror = m_hostMirrors.find(np.inputs[k]);
        if (mirror == m_hostMirrors.end()) continue;
        DL_TRY(m_backend->download(m_buffers[np.inputs[k]], mirror->second));
        in[k] = &mirror->second;
    }
    DL_TRY(stream.synchronize());
    for (size_t k = 0; k < np.outputs.size(); ++k) {
        auto mirror = m_hostMirrors.find(np.outputs[k]);
        if (mirror != m_hostMirrors.end()) out[k] = &mirror->second;
    }
    m_folder->beginRun();
    DL_TRY(np.kernel->run(in, out));
    for (size_t k = 0; k < np.outputs.size(); ++k) {
        auto mirror = m_hostMirrors.find(np.outputs[k]);
        if (mirror != m_hostMirrors.end()) DL_TRY(m_backend->upload(mirror->second, m_buffers[np.outputs[k]]));
    }
    // The mirrors are the next run's to overwrite: the uploads must have read them by then.
    return stream.synchronize();
}

size_t Executor::fallbackNodes() const
{
    return static_cast<size_t>(
        std::count_if(m_nodes.begin(), m_nodes.end(), [](const NodePlan& np) { return np.onHost(); }));
}

size_t Executor::halfConvolutions() const
{
    return static_cast<size_t>(std::count_if(m_nodes.begin(), m_nodes.end(),
        [](const NodePlan& np) { return np.kernel && !np.onHost() && np.kernel->computesHalf(); }));
}

std::pair<double, size_t> Executor::measuredKernelMs() const
{
    double ms = 0;
    size_t n = 0;
    for (const NodePlan& np : m_nodes)
        if (np.kernel && !np.onHost() && np.kernel->measuredMs() > 0) {
            ms += np.kernel->measuredMs();
            ++n;
        }
    return { ms, n };
}

Result<std::vector<Tensor>> Executor::finishRun()
{
    std::vector<Tensor> results;
    // The kernels may still be running on the compute stream: the outputs are ready once it is done.
    DL_TRY(m_backend->computeStream().synchronize());
    if (!m_backend->deviceIsHost()) {
        for (size_t k = 0; k < m_outputIds.size(); ++k) {
            const int id = m_outputIds[k];
            if (m_values[id].constant) {
                results.push_back(m_buffers[id]);
                continue;
            }
            DL_TRY(m_backend->download(m_buffers[id], m_hostOutputs[k]));
            results.push_back(m_hostOutputs[k]);
        }
        DL_TRY(m_backend->computeStream().synchronize());
        return results;
    }
    for (int id : m_outputIds)
        results.push_back(m_buffers[id]);
    // Drop the views of the caller's inputs.
    for (int id : m_inputIds)
        if (!m_values[id].constant) m_buffers[id] = Tensor();
    return results;
}

std::vector<double> Executor::nodeFlops() const
{
    std::vector<double> f(m_graph.nodes.size(), 0.0);
    for (const auto& np : m_nodes)
        f[np.node] = np.flops;
    return f;
}

std::vector<Shape> Executor::nodeOutputShapes() const
{
    std::vector<Shape> s(m_graph.nodes.size());
    for (size_t i = 0; i < m_nodeFirstOutput.size(); ++i)
        if (m_nodeFirstOutput[i] >= 0) s[i] = m_values[m_nodeFirstOutput[i]].shape;
    return s;
}

} // namespace dl
