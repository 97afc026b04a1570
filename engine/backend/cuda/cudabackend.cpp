#include "backend/cuda/cudabackend.h"

#include "backend/cpu/cpubackend.h"
#include "backend/cuda/activationkernels.h"
#include "backend/cuda/castkernels.h"
#include "backend/cuda/cudaops.h"
#include "backend/cuda/cudaprobe.h"
#include "trace/trace.h"

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstring>
#include <mutex>

namespace dl::cuda {
namespace {

std::string cudaText(cudaError_t e)
{
    return std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ")";
}

Error cudaFailure(const std::string& what, cudaError_t e)
{
    return makeError(ErrorCode::Internal, what + ": " + cudaText(e));
}

Error cudnnFailure(const std::string& what, cudnnStatus_t st)
{
    return makeError(ErrorCode::Internal, what + ": " + cudnnGetErrorString(st));
}

#define DL_CUDA(call, what)                                                                                            \
    do {                                                                                                               \
        const cudaError_t dl_e = (call);                                                                               \
        if (dl_e != cudaSuccess) return cudaFailure(what, dl_e);                                                       \
    } while (0)
#define DL_CUDNN(call, what)                                                                                           \
    do {                                                                                                               \
        const cudnnStatus_t dl_s = (call);                                                                             \
        if (dl_s != CUDNN_STATUS_SUCCESS) return cudnnFailure(what, dl_s);                                             \
    } while (0)

const char* algoName(cudnnConvolutionFwdAlgo_t a)
{
    switch (a) {
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM:
        return "IMPLICIT_GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM:
        return "IMPLICIT_PRECOMP_GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_GEMM:
        return "GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_DIRECT:
        return "DIRECT";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT:
        return "FFT";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING:
        return "FFT_TILING";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD:
        return "WINOGRAD";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED:
        return "WINOGRAD_NONFUSED";
    default:
        return "OTHER";
    }
}

const char* bwdDataAlgoName(cudnnConvolutionBwdDataAlgo_t a)
{
    switch (a) {
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_0:
        return "BWD_DATA_ALGO_0";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_1:
        return "BWD_DATA_ALGO_1";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT:
        return "BWD_DATA_FFT";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING:
        return "BWD_DATA_FFT_TILING";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD:
        return "BWD_DATA_WINOGRAD";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED:
        return "BWD_DATA_WINOGRAD_NONFUSED";
    default:
        return "BWD_DATA_OTHER";
    }
}

std::optional<Activation> activationOf(const Node& node)
{
    if (!node.has("_activation")) return Activation::None;
    const std::string a = node.attrString("_activation", "");
    const std::pair<const char*, Activation> names[] = { { "Relu", Activation::Relu },
        { "LeakyRelu", Activation::LeakyRelu }, { "Elu", Activation::Elu }, { "Clip", Activation::Clip },
        { "Sigmoid", Activation::Sigmoid }, { "HardSigmoid", Activation::HardSigmoid },
        { "HardSwish", Activation::HardSwish }, { "Tanh", Activation::Tanh }, { "Mish", Activation::Mish },
        { "Softplus", Activation::Softplus }, { "Swish", Activation::Swish } };
    for (const auto& [name, act] : names)
        if (a == name) return act;
    return std::nullopt;
}

// The descriptors of one convolution, freed with it.
struct ConvDescriptors
{
    cudnnTensorDescriptor_t x = nullptr, y = nullptr;
    cudnnFilterDescriptor_t w = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;
    ConvDescriptors() = default;
    ConvDescriptors(const ConvDescriptors&) = delete;
    ConvDescriptors& operator=(const ConvDescriptors&) = delete;
    ~ConvDescriptors()
    {
        if (x) cudnnDestroyTensorDescriptor(x);
        if (y) cudnnDestroyTensorDescriptor(y);
        if (w) cudnnDestroyFilterDescriptor(w);
        if (conv) cudnnDestroyConvolutionDescriptor(conv);
    }

    Status make(const ConvKey& k, Shape& output)
    {
        const cudnnDataType_t type = k.dtype == "fp16" ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
        auto i32 = [](int64_t v) { return static_cast<int>(v); };
        DL_CUDNN(cudnnCreateTensorDescriptor(&x), "cudnnCreateTensorDescriptor");
        DL_CUDNN(cudnnCreateTensorDescriptor(&y), "cudnnCreateTensorDescriptor");
        DL_CUDNN(cudnnCreateFilterDescriptor(&w), "cudnnCreateFilterDescriptor");
        DL_CUDNN(cudnnCreateConvolutionDescriptor(&conv), "cudnnCreateConvolutionDescriptor");
        DL_CUDNN(cudnnSetTensor4dDescriptor(
                     x, CUDNN_TENSOR_NCHW, type, i32(k.input[0]), i32(k.input[1]), i32(k.input[2]), i32(k.input[3])),
            "the convolution's input descriptor");
        DL_CUDNN(cudnnSetFilter4dDescriptor(w, type, CUDNN_TENSOR_NCHW, i32(k.filter[0]), i32(k.filter[1]),
                     i32(k.filter[2]), i32(k.filter[3])),
            "the convolution's filter descriptor");
        // float16 data accumulates in float32 (cuDNN's pseudo-half configuration, what tensor cores take).
        DL_CUDNN(
            cudnnSetConvolution2dDescriptor(conv, i32(k.pads[0]), i32(k.pads[1]), i32(k.strides[0]), i32(k.strides[1]),
                i32(k.dilations[0]), i32(k.dilations[1]), CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
            "the convolution descriptor");
        DL_CUDNN(cudnnSetConvolutionGroupCount(conv, i32(k.groups)), "the convolution's group count");
        const cudnnMathType_t math = k.math == "tensor_op" ? CUDNN_TENSOR_OP_MATH
            : k.math == "tensor_op_allow_conversion"       ? CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION
            : k.math == "fma"                              ? CUDNN_FMA_MATH
                                                           : CUDNN_DEFAULT_MATH;
        DL_CUDNN(cudnnSetConvolutionMathType(conv, math), "the convolution's math type");
        int n = 0, c = 0, h = 0, wd = 0;
        DL_CUDNN(cudnnGetConvolution2dForwardOutputDim(conv, x, w, &n, &c, &h, &wd), "the convolution's output shape");
        DL_CUDNN(
            cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, type, n, c, h, wd), "the convolution's output descriptor");
        output = { n, c, h, wd };
        return {};
    }
};

} // namespace

Status checkConvActivation(const Node& node)
{
    if (!activationOf(node))
        return unsupported(
            node.describe() + ": fused activation '" + node.attrString("_activation", "") + "' has no CUDA kernel");
    return {};
}

namespace {

// The math a convolution's key asks cuDNN for: tensor ops for float16 data; for float32 data of float16 weights,
// tensor ops converting to float16; otherwise float32 multiply-adds (cuDNN's default would allow TF32 tensor cores
// from Ampere on, which round the data to 10 bits of mantissa: float32 means float32 here).
const char* convMath(DType dtype, bool halfCompute)
{
    if (dtype == DType::F16) return "tensor_op";
    return halfCompute ? "tensor_op_allow_conversion" : "fma";
}

// The window checks both convolutions share (symmetric, non-negative pads; positive strides and dilations; a
// window), then the key of the forward convolution of `input` with `w` and its cuDNN descriptors: Unsupported where
// cuDNN refuses them (the CPU computes it), with the forward output in `forward`.
Result<ConvKey> convKey(const Node& node, const Shape& input, const Shape& w, const std::vector<int64_t>& strides,
    const std::vector<int64_t>& dilations, const std::vector<int64_t>& pads, int64_t groups, DType dtype,
    bool halfCompute, Shape& forward)
{
    if (pads[0] != pads[2] || pads[1] != pads[3])
        return unsupported(node.describe() + ": asymmetric pads (cuDNN pads both sides alike)");
    if (pads[0] < 0 || pads[1] < 0 || w[2] < 1 || w[3] < 1)
        return unsupported(node.describe() + ": negative pads or an empty window");
    for (int64_t v : strides)
        if (v < 1) return invalid(node.describe() + ": strides must be positive");
    for (int64_t v : dilations)
        if (v < 1) return invalid(node.describe() + ": dilations must be positive");
    ConvKey key { input, w, { pads[0], pads[1] }, strides, dilations, groups, dtype == DType::F16 ? "fp16" : "fp32",
        convMath(dtype, halfCompute) };
    ConvDescriptors desc;
    if (auto st = desc.make(key, forward); !st.ok()) // cuDNN refusing the descriptors: the CPU computes it
        return unsupported(node.describe() + ": " + st.error().message);
    return key;
}

} // namespace

Result<ConvDescription> describeConv(const Node& node, const Shape& x, const Shape& w, DType dtype, bool halfCompute)
{
    if (node.opType != "Conv" || !(node.domain.empty() || node.domain == "ai.onnx"))
        return unsupported(node.describe() + ": not a convolution");
    if (x.size() != 4 || w.size() != 4)
        return unsupported(node.describe() + ": only 2-D convolutions (input " + shapeToString(x) + ")");
    if (dtype != DType::F32 && dtype != DType::F16)
        return unsupported(node.describe() + ": " + dtypeName(dtype) + " convolutions");
    for (int64_t d : x)
        if (d <= 0 || d > (int64_t(1) << 30)) return unsupported(node.describe() + ": input " + shapeToString(x));
    const int64_t groups = node.attrInt("group", 1);
    if (groups < 1 || x[1] % groups != 0 || w[1] * groups != x[1] || w[0] % groups != 0)
        return invalid(node.describe() + ": weight shape " + shapeToString(w) + " does not fit input "
            + shapeToString(x) + " with group " + std::to_string(groups));
    const std::vector<int64_t> strides = node.attrInts("strides", { 1, 1 });
    const std::vector<int64_t> dilations = node.attrInts("dilations", { 1, 1 });
    std::vector<int64_t> pads = node.attrInts("pads", { 0, 0, 0, 0 });
    if (strides.size() != 2 || dilations.size() != 2 || pads.size() != 4)
        return invalid(node.describe() + ": strides, dilations and pads do not fit a 2-D convolution");
    const std::string autoPad = node.attrString("auto_pad", "NOTSET");
    if (autoPad == "VALID") {
        pads = { 0, 0, 0, 0 };
    } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
        for (int d = 0; d < 2; ++d) {
            const int64_t out = (x[2 + d] + strides[d] - 1) / strides[d];
            const int64_t span = (w[2 + d] - 1) * dilations[d] + 1;
            const int64_t total = std::max<int64_t>(0, (out - 1) * strides[d] + span - x[2 + d]);
            pads[d] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
            pads[2 + d] = total - pads[d];
        }
    } else if (autoPad != "NOTSET") {
        return invalid(node.describe() + ": unknown auto_pad '" + autoPad + "'");
    }
    ConvDescription d;
    DL_ASSIGN(d.key, convKey(node, x, w, strides, dilations, pads, groups, dtype, halfCompute, d.output));
    d.input = x;
    return d;
}

Result<ConvDescription> describeConvTranspose(
    const Node& node, const Shape& x, const Shape& w, const Shape& y, DType dtype, bool halfCompute)
{
    if (node.opType != "ConvTranspose" || !(node.domain.empty() || node.domain == "ai.onnx"))
        return unsupported(node.describe() + ": not a transposed convolution");
    if (x.size() != 4 || w.size() != 4 || y.size() != 4)
        return unsupported(node.describe() + ": only 2-D transposed convolutions (input " + shapeToString(x) + ")");
    if (dtype != DType::F32 && dtype != DType::F16)
        return unsupported(node.describe() + ": " + dtypeName(dtype) + " transposed convolutions");
    for (const Shape* s : { &x, &y })
        for (int64_t d : *s)
            if (d <= 0 || d > (int64_t(1) << 30)) return unsupported(node.describe() + ": shape " + shapeToString(*s));
    const int64_t groups = node.attrInt("group", 1);
    // Weights C_in x C_out/group x R x S: as a forward convolution of the output, K = C_in filters of C_out/group.
    if (groups < 1 || w[0] != x[1] || x[1] % groups != 0 || w[1] * groups != y[1])
        return invalid(node.describe() + ": weight shape " + shapeToString(w) + " does not fit input "
            + shapeToString(x) + " and output " + shapeToString(y) + " with group " + std::to_string(groups));
    const std::string autoPad = node.attrString("auto_pad", "NOTSET");
    if (autoPad != "NOTSET" && autoPad != "VALID")
        return unsupported(node.describe() + ": auto_pad " + autoPad + " (the pads it makes may be asymmetric)");
    if (node.has("output_shape")) return unsupported(node.describe() + ": output_shape (its pads may be asymmetric)");
    const std::vector<int64_t> strides = node.attrInts("strides", { 1, 1 });
    const std::vector<int64_t> dilations = node.attrInts("dilations", { 1, 1 });
    std::vector<int64_t> pads
        = autoPad == "VALID" ? std::vector<int64_t> { 0, 0, 0, 0 } : node.attrInts("pads", { 0, 0, 0, 0 });
    if (strides.size() != 2 || dilations.size() != 2 || pads.size() != 4)
        return invalid(node.describe() + ": strides, dilations and pads do not fit a 2-D convolution");
    ConvDescription d;
    Shape forward;
    DL_ASSIGN(d.key, convKey(node, y, w, strides, dilations, pads, groups, dtype, halfCompute, forward));
    d.key.transposed = true;
    d.input = x;
    d.output = y;
    // output_padding makes the output longer than the forward convolution needs, which it drops: the same x.
    if (forward != x)
        return unsupported(node.describe() + ": cuDNN's convolution of the output " + shapeToString(y) + " gives "
            + shapeToString(forward) + ", not the input " + shapeToString(x));
    return d;
}

namespace {

// A ConvTranspose's description, its output shape from the CPU backend's kernel for the same request.
Result<ConvDescription> transposedOf(const KernelRequest& r, Backend& cpu)
{
    DL_ASSIGN(std::unique_ptr<Kernel> shapes, cpu.createKernel(r));
    if (shapes->outputs.empty()) return unsupported(r.node.describe() + ": no output");
    return describeConvTranspose(
        r.node, r.inputs[0].shape, r.inputs[1].shape, shapes->outputs[0].shape, r.inputs[0].dtype, r.halfCompute);
}

bool isConvolution(const Node& node)
{
    return node.opType == "Conv" || node.opType == "ConvTranspose";
}

class CudaBackend;

class CudaEvent final : public Event
{
public:
    CudaEvent(CudaBackend& owner, cudaEvent_t e)
        : m_owner(owner)
        , m_event(e)
    { }
    ~CudaEvent() override { cudaEventDestroy(m_event); }
    bool query() override
    {
        const cudaError_t e = cudaEventQuery(m_event);
        return e != cudaErrorNotReady; // done, or failed (wait() says how)
    }
    Status wait() override
    {
        DL_CUDA(cudaEventSynchronize(m_event), "waiting for the GPU");
        return {};
    }
    int64_t timeNs() override;
    cudaEvent_t handle() const { return m_event; }

private:
    CudaBackend& m_owner;
    cudaEvent_t m_event;
};

class CudaStream final : public Stream
{
public:
    CudaStream(CudaBackend& owner, cudaStream_t s)
        : m_owner(owner)
        , m_stream(s)
    { }
    ~CudaStream() override
    {
        cudaStreamSynchronize(m_stream);
        cudaStreamDestroy(m_stream);
    }
    Status copy(void* dst, const void* src, size_t bytes) override
    {
        if (bytes == 0) return {};
        DL_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, m_stream),
            "a copy of " + std::to_string(bytes) + " bytes");
        return {};
    }
    Result<std::unique_ptr<Event>> record() override
    {
        cudaEvent_t e = nullptr;
        DL_CUDA(cudaEventCreateWithFlags(&e, cudaEventDefault), "cudaEventCreate");
        if (const cudaError_t r = cudaEventRecord(e, m_stream); r != cudaSuccess) {
            cudaEventDestroy(e);
            return cudaFailure("cudaEventRecord", r);
        }
        return std::unique_ptr<Event>(new CudaEvent(m_owner, e));
    }
    Status waitFor(Event& event) override
    {
        auto* e = dynamic_cast<CudaEvent*>(&event);
        if (!e) return event.wait(); // another backend's: wait on the host
        DL_CUDA(cudaStreamWaitEvent(m_stream, e->handle(), 0), "cudaStreamWaitEvent");
        return {};
    }
    Status synchronize() override
    {
        DL_CUDA(cudaStreamSynchronize(m_stream), "waiting for the GPU");
        return {};
    }
    cudaStream_t handle() const { return m_stream; }

private:
    CudaBackend& m_owner;
    cudaStream_t m_stream;
};

// A capture of the compute stream, instantiated once and replayed.
class CudaGraph final : public CapturedWork
{
public:
    CudaGraph(cudaGraph_t g, cudaGraphExec_t e, cudaStream_t s)
        : m_graph(g)
        , m_exec(e)
        , m_stream(s)
    { }
    ~CudaGraph() override
    {
        cudaGraphExecDestroy(m_exec);
        cudaGraphDestroy(m_graph);
    }
    Status launch() override
    {
        DL_CUDA(cudaGraphLaunch(m_exec, m_stream), "cudaGraphLaunch");
        return {};
    }

private:
    cudaGraph_t m_graph;
    cudaGraphExec_t m_exec;
    cudaStream_t m_stream;
};

class CudaBackend;

// A convolution on cuDNN (a transposed one: its backward-data convolution), then the bias and the fused activation by
// our kernel, in place over the output.
class ConvKernel final : public Kernel
{
public:
    ConvKernel(CudaBackend& b, ConvDescription d, Activation act, float alpha, float beta)
        : m_backend(b)
        , m_desc(std::move(d))
        , m_act(act)
        , m_alpha(alpha)
        , m_beta(beta)
    { }
    Status init(const Tensor& weight, const Tensor* bias);
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override;
    bool computesHalf() const override
    {
        return m_desc.key.dtype == "fp16" || m_desc.key.math.rfind("tensor_op", 0) == 0;
    }
    double measuredMs() const override { return m_measuredMs; }
    double flops() const override
    {
        // Per element of the forward convolution's output (a transposed one's input), C/groups R S products.
        const auto& k = m_desc.key;
        return 2.0 * static_cast<double>(numElements(k.transposed ? m_desc.input : m_desc.output))
            * static_cast<double>(k.filter[1] * k.filter[2] * k.filter[3]);
    }

private:
    CudaBackend& m_backend;
    ConvDescription m_desc;
    ConvDescriptors m_d;
    int m_algo = 0; // cudnnConvolutionFwdAlgo_t, or cudnnConvolutionBwdDataAlgo_t where transposed
    double m_measuredMs = 0; // the algorithm's time as cuDNN measured it
    size_t m_workspace = 0;
    Activation m_act;
    float m_alpha, m_beta;
    bool m_hasBias = false;
};

class CudaBackend final : public Backend
{
public:
    CudaBackend(int hostThreads, std::string algoCachePath)
        : m_cpu(hostThreads)
        , m_algoCachePath(std::move(algoCachePath))
    { }
    ~CudaBackend() override
    {
        if (m_compute) cudaStreamSynchronize(m_compute->handle());
        m_compute.reset();
        if (m_cudnn) cudnnDestroy(m_cudnn);
        if (m_cublas) m_ops.blas->destroy(m_cublas);
        if (m_anchor) cudaEventDestroy(m_anchor);
        m_workspace.reset();
    }

    Status init()
    {
        m_probe = probeDevice();
        if (!m_probe.usable) return unsupported("no usable CUDA device: " + m_probe.reason);
        DL_CUDA(cudaSetDevice(0), "cudaSetDevice");
        cudaStream_t s = nullptr;
        DL_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
        m_compute = std::make_unique<CudaStream>(*this, s);
        const cudnnStatus_t st = cudnnCreate(&m_cudnn);
        if (st != CUDNN_STATUS_SUCCESS) {
            m_cudnn = nullptr;
            return unsupported(
                std::string("cuDNN ") + cudnnLoadedVersion() + " does not start: " + cudnnGetErrorString(st));
        }
        DL_CUDNN(cudnnSetStream(m_cudnn, s), "cudnnSetStream");
        m_ops.stream = s;
        m_ops.cudnn = m_cudnn;
        m_ops.cpu = &m_cpu;
        // cuBLAS where it loads and starts; without it Gemm and MatMul fall back to the CPU, saying why.
        m_ops.blas = loadCublas(&m_ops.cublasWhy);
        if (m_ops.blas) {
            if (const cublasStatus_t b = m_ops.blas->create(&m_cublas); b != CUBLAS_STATUS_SUCCESS) {
                m_cublas = nullptr;
                m_ops.cublasWhy = std::string("cuBLAS does not start: ") + m_ops.blas->statusName(b);
            } else if (m_ops.blas->setStream(m_cublas, s) != CUBLAS_STATUS_SUCCESS) {
                return makeError(ErrorCode::Internal, "cublasSetStream failed");
            }
        }
        m_ops.cublas = m_cublas;
        DL_CUDA(cudaEventCreateWithFlags(&m_anchor, cudaEventDefault), "cudaEventCreate");
        DL_TRY(reanchor());
        m_deviceName
            = m_probe.name + ", compute " + std::to_string(m_probe.major) + "." + std::to_string(m_probe.minor);
        if (!m_algoCachePath.empty()) {
            auto cache = AlgoCache::load(m_algoCachePath);
            if (cache.ok() && cache->mismatch(m_deviceName, cudnnLoadedVersion()).empty()) m_algos = std::move(*cache);
        }
        m_algos.device = m_deviceName;
        m_algos.cudnn = cudnnLoadedVersion();
        return {};
    }

    // The trace clock's time of an event: the anchor's plus the GPU's time between them.
    int64_t eventTimeNs(cudaEvent_t e)
    {
        std::lock_guard lock(m_anchorMutex);
        float ms = 0;
        if (cudaEventElapsedTime(&ms, m_anchor, e) != cudaSuccess) return traceClockNs();
        return m_anchorNs + static_cast<int64_t>(static_cast<double>(ms) * 1e6);
    }

    BackendKind kind() const override { return BackendKind::Cuda; }
    std::string describe() const override
    {
        return "cuda: " + m_deviceName + ", CUDA runtime " + std::to_string(m_probe.runtimeVersion) + ", cuDNN "
            + cudnnLoadedVersion() + (m_probe.integrated ? ", integrated" : "");
    }

    MemorySpaceInfo memorySpace(MemorySpace space) const override
    {
        MemorySpaceInfo i;
        i.space = space;
        i.available = true;
        switch (space) {
        case MemorySpace::Host:
            i.alignment = 4096;
            i.hostVisible = true;
            i.note = "pageable host memory";
            break;
        case MemorySpace::PinnedHost:
            i.alignment = 4096;
            i.hostVisible = true;
            i.note = "page-locked host memory (cudaHostAlloc), what the copy engine reads at full speed";
            break;
        case MemorySpace::Device:
            i.alignment = 256;
            i.note = m_probe.integrated ? "device memory in the board's shared DRAM (cudaMalloc)"
                                        : "the GPU's own memory (cudaMalloc)";
            break;
        case MemorySpace::Mapped:
            i.alignment = 4096;
            i.hostVisible = true;
            i.note = m_probe.integrated ? "mapped host memory the GPU reads in place, without a copy"
                                        : "mapped pinned host memory the GPU reads over the bus, without a copy";
            break;
        }
        return i;
    }

    Result<BackendBuffer> allocate(MemorySpace space, MemTag tag, size_t bytes, MemoryLedger* ledger) override
    {
        if (space == MemorySpace::Host) {
            DL_ASSIGN(LedgerBuffer host, LedgerBuffer::tryAllocate(ledger, tag, bytes, 4096));
            return BackendBuffer::fromHost(space, std::move(host));
        }
        if (bytes == 0) return BackendBuffer();
        if (ledger) DL_TRY(ledger->reserve(tag, bytes));
        void* p = nullptr;
        const cudaError_t e = space == MemorySpace::Device ? cudaMalloc(&p, bytes)
            : space == MemorySpace::PinnedHost             ? cudaHostAlloc(&p, bytes, cudaHostAllocDefault)
                                                           : cudaHostAlloc(&p, bytes, cudaHostAllocMapped);
        if (e != cudaSuccess) {
            if (ledger) ledger->add(tag, -static_cast<int64_t>(bytes));
            return makeError(ErrorCode::Internal,
                std::string("out of memory: ") + memorySpaceName(space) + " allocation of " + std::to_string(bytes)
                    + " bytes: " + cudaText(e));
        }
        return BackendBuffer::adopt(this, space, tag, static_cast<std::byte*>(p), bytes, ledger);
    }

    Result<std::unique_ptr<Stream>> createStream(StreamRole) override
    {
        cudaStream_t s = nullptr;
        DL_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
        return std::unique_ptr<Stream>(new CudaStream(*this, s));
    }
    Stream& computeStream() override { return *m_compute; }
    cudaStream_t stream() const { return m_compute->handle(); }
    cudnnHandle_t cudnn() const { return m_cudnn; }

    Status supports(const KernelRequest& r) const override { return supportsNode(r, m_ops); }

    Result<std::unique_ptr<Kernel>> createKernel(const KernelRequest& r) override
    {
        if (!isConvolution(r.node)) return createOp(r, m_ops);
        DL_TRY(supports(r));
        DL_ASSIGN(ConvDescription d,
            r.node.opType == "Conv"
                ? describeConv(r.node, r.inputs[0].shape, r.inputs[1].shape, r.inputs[0].dtype, r.halfCompute)
                : transposedOf(r, m_cpu));
        const Activation act = *activationOf(r.node);
        auto k = std::make_unique<ConvKernel>(
            *this, std::move(d), act, r.node.attrFloat("_alpha", 0.0f), r.node.attrFloat("_beta", 0.0f));
        const Tensor* bias = r.inputs.size() > 2 && r.inputs[2].present() ? r.inputs[2].constant : nullptr;
        auto st = k->init(*r.inputs[1].constant, bias);
        if (!st.ok()) return makeError(st.error().code, r.node.describe() + ": " + st.error().message);
        return std::unique_ptr<Kernel>(std::move(k));
    }

    bool canCapture() const override { return true; }
    Status beginCapture() override
    {
        DL_CUDA(cudaStreamBeginCapture(stream(), cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
        return {};
    }
    Result<std::unique_ptr<CapturedWork>> endCapture() override
    {
        cudaGraph_t g = nullptr;
        DL_CUDA(cudaStreamEndCapture(stream(), &g), "capturing the inference");
        cudaGraphExec_t e = nullptr;
        if (const cudaError_t r = cudaGraphInstantiateWithFlags(&e, g, 0); r != cudaSuccess) {
            cudaGraphDestroy(g);
            return cudaFailure("cudaGraphInstantiate", r);
        }
        return std::unique_ptr<CapturedWork>(new CudaGraph(g, e, stream()));
    }

    void beginRun() override
    {
        m_cpu.beginRun(); // the fallback nodes' threads
        // Float milliseconds between events lose precision over hours: keep the anchor recent.
        if (traceClockNs() - m_anchorNs > int64_t(60) * 1000000000) (void)reanchor();
    }

    const BackendHints& hints() const override
    {
        // Our kernel applies every activation fuseGraph records; cuDNN's filters are plain K C R S, so a split may
        // cut anywhere: blocks of 32 channels keep each piece's output aligned for tensor cores.
        static const BackendHints h { cpu::CpuBackend::cpuHints().fusableActivations, 32, 8 };
        return h;
    }
    std::string layoutTag() const override
    {
        return "cuda-cudnn " + cudnnLoadedVersion() + " sm " + std::to_string(m_probe.major)
            + std::to_string(m_probe.minor) + " pack 1";
    }
    size_t slotAlignment() const override { return 256; }
    size_t workspaceBytes() const override { return m_workspace.size(); }

    // The shared cuDNN workspace, grown at plan time to the largest a convolution's algorithm needs.
    Result<std::byte*> workspace(size_t bytes)
    {
        if (bytes > m_workspace.size()) {
            DL_TRY(m_compute->synchronize());
            m_workspace.reset();
            DL_ASSIGN(m_workspace, allocate(MemorySpace::Device, MemTag::Workspace, bytes, nullptr));
        }
        return m_workspace.data();
    }
    std::byte* workspaceData() { return m_workspace.data(); }
    AlgoCache& algos() { return m_algos; }
    void saveAlgos()
    {
        if (!m_algoCachePath.empty()) (void)m_algos.save(m_algoCachePath);
    }

    Status upload(const Tensor& host, Tensor& device) override
    {
        if (host.bytes() != device.bytes()) return invalid("upload: sizes differ");
        return m_compute->copy(device.data(), host.data(), host.bytes());
    }
    Status download(const Tensor& device, Tensor& host) override
    {
        if (host.bytes() != device.bytes()) return invalid("download: sizes differ");
        return m_compute->copy(host.data(), device.data(), device.bytes());
    }
    Status widenHalf(Stream& stream, const void* src, float* dst, size_t n) override
    {
        auto* s = dynamic_cast<CudaStream*>(&stream);
        if (!s) return invalid("widening float16 on a stream that is not the CUDA backend's");
        DL_CUDA(launchHalfToFloat(src, dst, n, s->handle()), "widening float16 weights on the GPU");
        return {};
    }

protected:
    void deallocate(MemorySpace space, std::byte* data, size_t) override
    {
        if (space == MemorySpace::Device)
            cudaFree(data);
        else
            cudaFreeHost(data);
    }

private:
    Status reanchor()
    {
        DL_CUDA(cudaEventRecord(m_anchor, m_compute->handle()), "cudaEventRecord");
        DL_CUDA(cudaEventSynchronize(m_anchor), "waiting for the GPU");
        std::lock_guard lock(m_anchorMutex);
        m_anchorNs = traceClockNs();
        return {};
    }

    cpu::CpuBackend m_cpu;
    std::string m_algoCachePath;
    DeviceProbe m_probe;
    std::string m_deviceName;
    std::unique_ptr<CudaStream> m_compute;
    cudnnHandle_t m_cudnn = nullptr;
    cublasHandle_t m_cublas = nullptr;
    CudaContext m_ops; // what the other ops' kernels run with (cudaops.h)
    cudaEvent_t m_anchor = nullptr;
    std::mutex m_anchorMutex;
    int64_t m_anchorNs = 0;
    BackendBuffer m_workspace;
    AlgoCache m_algos;
};

int64_t CudaEvent::timeNs()
{
    return m_owner.eventTimeNs(m_event);
}

Status ConvKernel::init(const Tensor& weight, const Tensor* bias)
{
    Shape forward; // the forward convolution's output: this one's, or a transposed one's input
    DL_TRY(m_d.make(m_desc.key, forward));
    outputs = { OutputDesc { DType::F32, m_desc.output } };
    // The weights in device memory, owned by the packed tensors: a streaming pipeline re-points them at its buffers,
    // and the device copies go with the last view of them.
    auto upload = [&](const Tensor& t) -> Result<Tensor> {
        void* p = nullptr;
        DL_CUDA(cudaMalloc(&p, std::max<size_t>(t.bytes(), 1)), "the convolution's weights");
        std::shared_ptr<std::byte> owned(static_cast<std::byte*>(p), [](std::byte* q) { cudaFree(q); });
        DL_CUDA(cudaMemcpy(p, t.data(), t.bytes(), cudaMemcpyHostToDevice), "uploading the convolution's weights");
        return Tensor::adopt(t.dtype(), t.shape(), std::move(owned));
    };
    DL_ASSIGN(Tensor w, upload(weight));
    packed.push_back(std::move(w));
    if (bias) {
        DL_ASSIGN(Tensor b, upload(*bias));
        packed.push_back(std::move(b));
        m_hasBias = true;
    }
    // The algorithm: the one measured before on this device and cuDNN, else measured now on scratch input and output.
    if (auto known = m_backend.algos().find(m_desc.key)) {
        m_algo = known->algo;
        m_measuredMs = known->ms;
        m_workspace = known->workspaceBytes;
        DL_TRY(m_backend.workspace(m_workspace));
        return {};
    }
    const size_t xBytes = static_cast<size_t>(numElements(m_desc.key.input)) * sizeof(float);
    const size_t yBytes = static_cast<size_t>(numElements(forward)) * sizeof(float);
    void *x = nullptr, *y = nullptr;
    DL_CUDA(cudaMalloc(&x, xBytes), "scratch input to measure the convolution");
    std::unique_ptr<void, decltype(&cudaFree)> xOwned(x, &cudaFree);
    DL_CUDA(cudaMalloc(&y, yBytes), "scratch output to measure the convolution");
    std::unique_ptr<void, decltype(&cudaFree)> yOwned(y, &cudaFree);
    DL_CUDA(cudaMemset(m_desc.key.transposed ? y : x, 0, m_desc.key.transposed ? yBytes : xBytes), "cudaMemset");
    // Measured with as much scratch as the device spares (up to 256 MiB), kept only for the measuring: the shared
    // workspace grows to what the chosen algorithm needs.
    BackendBuffer measure;
    for (size_t bytes = size_t(256) << 20; bytes >= (size_t(4) << 20) && measure.empty(); bytes /= 4) {
        auto m = m_backend.allocate(MemorySpace::Device, MemTag::Workspace, bytes, nullptr);
        if (m.ok()) measure = std::move(m).value();
    }
    // The fastest algorithm that ran, kept with the plan.
    auto keep = [&](const auto* perf, int found, auto name) -> std::optional<Status> {
        for (int i = 0; i < found; ++i) {
            if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
            m_algo = static_cast<int>(perf[i].algo);
            m_workspace = perf[i].memory;
            m_measuredMs = static_cast<double>(perf[i].time);
            measure.reset();
            if (auto ws = m_backend.workspace(m_workspace); !ws.ok()) return Status(ws.error());
            m_backend.algos().put(m_desc.key,
                ConvChoice { m_algo, name(perf[i].algo), perf[i].memory, static_cast<double>(perf[i].time),
                    m_desc.key.math, perf[i].determinism == CUDNN_DETERMINISTIC });
            m_backend.saveAlgos();
            return Status();
        }
        return std::nullopt;
    };
    int found = 0;
    std::optional<Status> kept;
    if (m_desc.key.transposed) {
        cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        DL_CUDNN(
            cudnnFindConvolutionBackwardDataAlgorithmEx(m_backend.cudnn(), m_d.w, packed[0].data(), m_d.y, y, m_d.conv,
                m_d.x, x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &found, perf, measure.data(), measure.size()),
            "measuring the transposed convolution's algorithms");
        kept = keep(perf, found, bwdDataAlgoName);
    } else {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        DL_CUDNN(cudnnFindConvolutionForwardAlgorithmEx(m_backend.cudnn(), m_d.x, x, m_d.w, packed[0].data(), m_d.conv,
                     m_d.y, y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf, measure.data(), measure.size()),
            "measuring the convolution's algorithms");
        kept = keep(perf, found, algoName);
    }
    if (kept) return *kept;
    return makeError(ErrorCode::Unsupported, "cuDNN found no algorithm for " + m_desc.key.text());
}

Status ConvKernel::run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out)
{
    const float one = 1.0f, zero = 0.0f;
    if (!packed[0].data()) return makeError(ErrorCode::Internal, "the convolution's weights are not bound");
    if (m_desc.key.transposed)
        DL_CUDNN(cudnnConvolutionBackwardData(m_backend.cudnn(), &one, m_d.w, packed[0].data(), m_d.y, in[0]->data(),
                     m_d.conv, static_cast<cudnnConvolutionBwdDataAlgo_t>(m_algo), m_backend.workspaceData(),
                     m_workspace, &zero, m_d.x, out[0]->data()),
            "cudnnConvolutionBackwardData");
    else
        DL_CUDNN(cudnnConvolutionForward(m_backend.cudnn(), &one, m_d.x, in[0]->data(), m_d.w, packed[0].data(),
                     m_d.conv, static_cast<cudnnConvolutionFwdAlgo_t>(m_algo), m_backend.workspaceData(), m_workspace,
                     &zero, m_d.y, out[0]->data()),
            "cudnnConvolutionForward");
    if (m_hasBias || m_act != Activation::None) {
        const Shape& y = m_desc.output;
        DL_CUDA(launchBiasActivation(out[0]->ptr<float>(), m_hasBias ? packed[1].ptr<float>() : nullptr, y[1],
                    y[2] * y[3], numElements(y), m_act, m_alpha, m_beta, m_backend.stream()),
            "the convolution's bias and activation");
    }
    return {};
}

} // namespace

Status supportsNode(const KernelRequest& r, const CudaContext& ctx)
{
    const Node& node = r.node;
    if (!isConvolution(node)) return supportsOp(r, ctx);
    if (r.inputs.size() < 2 || !r.inputs[1].constant)
        return unsupported(node.describe() + ": weights computed at run time");
    if (r.inputs.size() > 2 && r.inputs[2].present() && !r.inputs[2].constant)
        return unsupported(node.describe() + ": a bias computed at run time");
    if (r.inputs[0].dtype != DType::F32) return unsupported(node.describe() + ": only float32 convolutions yet");
    DL_TRY(checkConvActivation(node));
    auto d = node.opType == "Conv"
        ? describeConv(node, r.inputs[0].shape, r.inputs[1].shape, r.inputs[0].dtype, r.halfCompute)
        : transposedOf(r, *ctx.cpu);
    if (!d.ok()) return d.error();
    return {};
}

Result<std::shared_ptr<Backend>> makeCudaBackend(int hostThreads, const std::string& algoCachePath)
{
    auto b = std::make_shared<CudaBackend>(hostThreads, algoCachePath);
    DL_TRY(b->init());
    return std::shared_ptr<Backend>(std::move(b));
}

} // namespace dl::cuda
