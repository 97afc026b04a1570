#include "backend/cpu/cpucontext.h"
#include "backend/cpu/kernel.h"

#include <omp.h>

namespace dl::cpu {

CpuContext::CpuContext(int threads)
    : m_threads(threads > 0 ? threads : omp_get_max_threads())
    , m_engine(dnnl::engine::kind::cpu, 0)
    , m_stream(m_engine)
{
    applyThreads();
}

void CpuContext::applyThreads() const
{
    omp_set_num_threads(m_threads);
}

const OpRegistry& OpRegistry::instance()
{
    static const OpRegistry registry = [] {
        OpRegistry r;
        registerElementwiseOps(r);
        registerTensorOps(r);
        registerReduceOps(r);
        registerDnnlOps(r);
        return r;
    }();
    return registry;
}

void OpRegistry::add(const std::string& opType, KernelFactory factory)
{
    m_factories[opType] = std::move(factory);
}

const KernelFactory* OpRegistry::find(const std::string& opType) const
{
    auto it = m_factories.find(opType);
    return it == m_factories.end() ? nullptr : &it->second;
}

std::vector<std::string> OpRegistry::ops() const
{
    std::vector<std::string> out;
    for (const auto& [name, f] : m_factories)
        out.push_back(name);
    return out;
}

Result<std::unique_ptr<Kernel>> createKernel(const KernelArgs& args)
{
    const Node& node = args.node;
    if (!node.domain.empty() && node.domain != "ai.onnx")
        return nodeUnsupported(node, "operator domain '" + node.domain + "' is not supported");
    const KernelFactory* f = OpRegistry::instance().find(node.opType);
    if (!f) return nodeUnsupported(node, "operator '" + node.opType + "' is not supported by the CPU backend");
    return (*f)(args);
}

Error nodeError(const Node& node, const std::string& what)
{
    return invalid(node.describe() + ": " + what);
}

Error nodeUnsupported(const Node& node, const std::string& what)
{
    return unsupported(node.describe() + ": " + what);
}

Result<Shape> broadcastShapes(const Shape& a, const Shape& b)
{
    const size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (size_t i = 0; i < rank; ++i) {
        const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (da == db || db == 1)
            out[i] = da;
        else if (da == 1)
            out[i] = db;
        else
            return invalid("shapes " + shapeToString(a) + " and " + shapeToString(b) + " do not broadcast");
    }
    return out;
}

Result<int> normalizeAxis(const Node& node, int64_t axis, int rank)
{
    const int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= std::max(rank, 1))
        return nodeError(node, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
    return static_cast<int>(a);
}

} // namespace dl::cpu
