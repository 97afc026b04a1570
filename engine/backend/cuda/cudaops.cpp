#include "backend/cuda/cudaops.h"

#include "backend/cuda/castkernels.h"
#include "backend/cuda/elementkernels.h"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <optional>

namespace dl::cuda {

const CublasApi* loadCublas(std::string* why)
{
    static std::once_flag once;
    static CublasApi api;
    static bool loaded = false;
    static std::string failure;
    std::call_once(once, [] {
        const std::string name = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
        void* h = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            const char* e = ::dlerror();
            failure = "cuBLAS does not load (" + name + "): " + (e ? e : "?");
            return;
        }
        auto sym = [&](auto& fn, const char* s) {
            fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(h, s));
            if (!fn && failure.empty()) failure = std::string("cuBLAS has no ") + s;
        };
        sym(api.create, "cublasCreate_v2");
        sym(api.destroy, "cublasDestroy_v2");
        sym(api.setStream, "cublasSetStream_v2");
        sym(api.sgemm, "cublasSgemm_v2");
        sym(api.sgemmBatched, "cublasSgemmStridedBatched");
        sym(api.statusName, "cublasGetStatusName");
        loaded = failure.empty(); // the library stays loaded for the process's life
    });
    if (!loaded && why) *why = failure;
    return loaded ? &api : nullptr;
}

namespace {

Error cudaError(const std::string& what, cudaError_t e)
{
    return makeError(ErrorCode::Internal, what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

#define DL_CUDA_OK(call, what)                                                                                         \
    do {                                                                                                               \
        const cudaError_t dl_e = (call);                                                                               \
        if (dl_e != cudaSuccess) return cudaError(what, dl_e);                                                         \
    } while (0)

bool defaultDomain(const Node& n)
{
    return n.domain.empty() || n.domain == "ai.onnx";
}

// A host tensor's copy in device memory, owned by the returned tensor (freed with its last copy).
Result<Tensor> toDevice(const Tensor& t)
{
    void* p = nullptr;
    DL_CUDA_OK(cudaMalloc(&p, std::max<size_t>(t.bytes(), 1)), "a constant in device memory");
    std::shared_ptr<std::byte> owned(static_cast<std::byte*>(p), [](std::byte* q) { cudaFree(q); });
    DL_CUDA_OK(cudaMemcpy(p, t.data(), t.bytes(), cudaMemcpyHostToDevice), "uploading a constant");
    return Tensor::adopt(t.dtype(), t.shape(), std::move(owned));
}

Status needF32(const KernelRequest& r, size_t k)
{
    if (k < r.inputs.size() && r.inputs[k].present() && r.inputs[k].dtype != DType::F32)
        return unsupported(r.node.describe() + ": input " + std::to_string(k) + " is " + dtypeName(r.inputs[k].dtype)
            + " (the CUDA kernels take float32)");
    return {};
}

// The kinds of op, and what each needs.
enum class Kind {
    View,
    Binary,
    Activation,
    Affine,
    Pool,
    Concat,
    Upsample,
    Gemm,
    Gather,
    Softmax,
    Cast,
    Transpose,
    Reduce
};

std::optional<Kind> kindOf(const std::string& op)
{
    static const std::map<std::string, Kind> kinds = { { "Reshape", Kind::View }, { "Flatten", Kind::View },
        { "Squeeze", Kind::View }, { "Unsqueeze", Kind::View }, { "Identity", Kind::View }, { "Dropout", Kind::View },
        { "Add", Kind::Binary }, { "Sub", Kind::Binary }, { "Mul", Kind::Binary }, { "Div", Kind::Binary },
        { "Pow", Kind::Binary }, { "Sqrt", Kind::Activation }, { "Exp", Kind::Activation }, { "Abs", Kind::Activation },
        { "Neg", Kind::Activation }, { "Reciprocal", Kind::Activation }, { "Cast", Kind::Cast },
        { "Transpose", Kind::Transpose }, { "ReduceMean", Kind::Reduce }, { "ReduceSum", Kind::Reduce },
        { "ReduceMax", Kind::Reduce }, { "ReduceMin", Kind::Reduce }, { "Relu", Kind::Activation },
        { "LeakyRelu", Kind::Activation }, { "Sigmoid", Kind::Activation }, { "Tanh", Kind::Activation },
        { "Elu", Kind::Activation }, { "HardSigmoid", Kind::Activation }, { "HardSwish", Kind::Activation },
        { "Softplus", Kind::Activation }, { "Clip", Kind::Activation }, { "BatchNormalization", Kind::Affine },
        { "MaxPool", Kind::Pool }, { "AveragePool", Kind::Pool }, { "GlobalAveragePool", Kind::Pool },
        { "GlobalMaxPool", Kind::Pool }, { "Concat", Kind::Concat }, { "Upsample", Kind::Upsample },
        { "Resize", Kind::Upsample }, { "Gemm", Kind::Gemm }, { "MatMul", Kind::Gemm }, { "Slice", Kind::Gather },
        { "Pad", Kind::Gather }, { "Softmax", Kind::Softmax }, { "LogSoftmax", Kind::Softmax } };
    auto it = kinds.find(op);
    if (it == kinds.end()) return std::nullopt;
    return it->second;
}

// ---- the kernels

class ViewKernel final : public Kernel
{
public:
    explicit ViewKernel(const CudaContext& c)
        : m_c(c)
    { }
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        if (in[0]->data() == out[0]->data()) return {};
        DL_CUDA_OK(
            cudaMemcpyAsync(out[0]->data(), in[0]->data(), out[0]->bytes(), cudaMemcpyDeviceToDevice, m_c.stream),
            "a copy on the GPU");
        return {};
    }

private:
    CudaContext m_c;
};

class BinaryKernel final : public Kernel
{
public:
    BinaryKernel(const CudaContext& c, BinaryOp op, Broadcast bc, int64_t total)
        : m_c(c)
        , m_op(op)
        , m_bc(bc)
        , m_total(total)
    { }
    int packedOf[2] = { -1, -1 }; // the packed tensor an input is read from (a constant), or -1
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        const float* a = packedOf[0] >= 0 ? packed[packedOf[0]].ptr<float>() : in[0]->ptr<float>();
        const float* b = packedOf[1] >= 0 ? packed[packedOf[1]].ptr<float>() : in[1]->ptr<float>();
        DL_CUDA_OK(launchBinary(m_op, a, b, out[0]->ptr<float>(), m_bc, m_total, m_c.stream), "an elementwise kernel");
        return {};
    }

private:
    CudaContext m_c;
    BinaryOp m_op;
    Broadcast m_bc;
    int64_t m_total;
};

class ActivationKernel final : public Kernel
{
public:
    ActivationKernel(const CudaContext& c, Activation act, float alpha, float beta)
        : m_c(c)
        , m_act(act)
        , m_alpha(alpha)
        , m_beta(beta)
    { }
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        DL_CUDA_OK(launchActivation(
                       in[0]->ptr<float>(), out[0]->ptr<float>(), out[0]->numel(), m_act, m_alpha, m_beta, m_c.stream),
            "an activation kernel");
        return {};
    }

private:
    CudaContext m_c;
    Activation m_act;
    float m_alpha, m_beta;
};

class AffineKernel final : public Kernel
{
public:
    AffineKernel(const CudaContext& c, int64_t channels, int64_t inner)
        : m_c(c)
        , m_channels(channels)
        , m_inner(inner)
    { }
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        DL_CUDA_OK(launchAffineChannel(in[0]->ptr<float>(), out[0]->ptr<float>(), packed[0].ptr<float>(),
                       packed[1].ptr<float>(), m_channels, m_inner, out[0]->numel(), m_c.stream),
            "a batch normalization kernel");
        return {};
    }

private:
    CudaContext m_c;
    int64_t m_channels, m_inner;
};

class PoolKernel final : public Kernel
{
public:
    explicit PoolKernel(const CudaContext& c)
        : m_c(c)
    { }
    ~PoolKernel() override
    {
        if (x) cudnnDestroyTensorDescriptor(x);
        if (y) cudnnDestroyTensorDescriptor(y);
        if (pool) cudnnDestroyPoolingDescriptor(pool);
    }
    cudnnTensorDescriptor_t x = nullptr, y = nullptr;
    cudnnPoolingDescriptor_t pool = nullptr;
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        const float one = 1.0f, zero = 0.0f;
        const cudnnStatus_t st = cudnnPoolingForward(m_c.cudnn, pool, &one, x, in[0]->data(), &zero, y, out[0]->data());
        if (st != CUDNN_STATUS_SUCCESS)
            return makeError(ErrorCode::Internal, std::string("cudnnPoolingForward: ") + cudnnGetErrorString(st));
        return {};
    }

private:
    CudaContext m_c;
};

class ConcatKernel final : public Kernel
{
public:
    explicit ConcatKernel(const CudaContext& c)
        : m_c(c)
    { }
    int64_t outer = 1; // the product of the dimensions before the axis
    std::vector<size_t> rowBytes; // per input: its bytes per outer index
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        size_t total = 0;
        for (size_t b : rowBytes)
            total += b;
        size_t at = 0;
        for (size_t k = 0; k < in.size(); ++k) {
            if (rowBytes[k] == 0) continue;
            DL_CUDA_OK(cudaMemcpy2DAsync(static_cast<std::byte*>(out[0]->data()) + at, total, in[k]->data(),
                           rowBytes[k], rowBytes[k], static_cast<size_t>(outer), cudaMemcpyDeviceToDevice, m_c.stream),
                "a concatenation on the GPU");
            at += rowBytes[k];
        }
        return {};
    }

private:
    CudaContext m_c;
};

class UpsampleKernel final : public Kernel
{
public:
    UpsampleKernel(const CudaContext& c, int64_t planes, int64_t h, int64_t w, int64_t sh, int64_t sw)
        : m_c(c)
        , m_planes(planes)
        , m_h(h)
        , m_w(w)
        , m_sh(sh)
        , m_sw(sw)
    { }
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        DL_CUDA_OK(launchUpsampleNearest(
                       in[0]->ptr<float>(), out[0]->ptr<float>(), m_planes, m_h, m_w, m_sh, m_sw, m_c.stream),
            "an upsampling kernel");
        return {};
    }

private:
    CudaContext m_c;
    int64_t m_planes, m_h, m_w, m_sh, m_sw;
};

class GatherKernel final : public Kernel
{
public:
    GatherKernel(const CudaContext& c, Gather g, float fill)
        : m_c(c)
        , m_g(g)
        , m_fill(fill)
    { }
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        DL_CUDA_OK(launchGather(in[0]->ptr<float>(), out[0]->ptr<float>(), m_g, out[0]->numel(), m_fill, m_c.stream),
            "a slice or pad kernel");
        return {};
    }

private:
    CudaContext m_c;
    Gather m_g;
    float m_fill;
};

class SoftmaxKernel final : public Kernel
{
public:
    SoftmaxKernel(const CudaContext& c, bool log)
        : m_c(c)
        , m_log(log)
    { }
    ~SoftmaxKernel() override
    {
        if (desc) cudnnDestroyTensorDescriptor(desc);
    }
    cudnnTensorDescriptor_t desc = nullptr;
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        const float one = 1.0f, zero = 0.0f;
        const cudnnStatus_t st = cudnnSoftmaxForward(m_c.cudnn, m_log ? CUDNN_SOFTMAX_LOG : CUDNN_SOFTMAX_ACCURATE,
            CUDNN_SOFTMAX_MODE_CHANNEL, &one, desc, in[0]->data(), &zero, desc, out[0]->data());
        if (st != CUDNN_STATUS_SUCCESS)
            return makeError(ErrorCode::Internal, std::string("cudnnSoftmaxForward: ") + cudnnGetErrorString(st));
        return {};
    }

private:
    CudaContext m_c;
    bool m_log;
};

// Whole numbers of a constant input (int64 or int32), or of an attribute where the opset has them there.
std::optional<std::vector<int64_t>> constantInts(const KernelRequest& r, size_t input)
{
    if (input >= r.inputs.size() || !r.inputs[input].present()) return std::vector<int64_t> {};
    const Tensor* t = r.inputs[input].constant;
    if (!t || (t->dtype() != DType::I64 && t->dtype() != DType::I32)) return std::nullopt;
    return t->toInt64();
}

// Y[M, N] = A[M, K] B (+ bias[N]): B constant, K x N, or N x K with transB.
class GemmKernel final : public Kernel
{
public:
    GemmKernel(const CudaContext& c, int64_t m, int64_t n, int64_t k, bool transB, bool bias)
        : m_c(c)
        , m_m(m)
        , m_n(n)
        , m_k(k)
        , m_transB(transB)
        , m_bias(bias)
    { }
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        // Row-major Y = A B is column-major Y^T = B^T A^T: cuBLAS sees B's rows as its columns.
        const float one = 1.0f, zero = 0.0f;
        const cublasStatus_t st = m_c.blas->sgemm(m_c.cublas, m_transB ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N,
            static_cast<int>(m_n), static_cast<int>(m_m), static_cast<int>(m_k), &one, packed[0].ptr<float>(),
            static_cast<int>(m_transB ? m_k : m_n), in[0]->ptr<float>(), static_cast<int>(m_k), &zero,
            out[0]->ptr<float>(), static_cast<int>(m_n));
        if (st != CUBLAS_STATUS_SUCCESS)
            return makeError(ErrorCode::Internal, std::string("cublasSgemm: ") + m_c.blas->statusName(st));
        if (m_bias)
            DL_CUDA_OK(launchBiasActivation(out[0]->ptr<float>(), packed[1].ptr<float>(), m_n, 1, m_m * m_n,
                           Activation::None, 0.0f, 0.0f, m_c.stream),
                "the product's bias");
        return {};
    }
    double flops() const override { return 2.0 * double(m_m) * double(m_n) * double(m_k); }

private:
    CudaContext m_c;
    int64_t m_m, m_n, m_k;
    bool m_transB, m_bias;
};

// C[b] = A[b] B[b] for `batch` row-major products of computed operands (a stride of 0 broadcasts one operand).
class BatchedGemmKernel final : public Kernel
{
public:
    BatchedGemmKernel(
        const CudaContext& c, int64_t m, int64_t n, int64_t k, int64_t batch, bool aBatched, bool bBatched)
        : m_c(c)
        , m_m(m)
        , m_n(n)
        , m_k(k)
        , m_batch(batch)
        , m_strideA(aBatched ? m * k : 0)
        , m_strideB(bBatched ? k * n : 0)
    { }
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        // As GemmKernel: cuBLAS computes the column-major transpose, C^T = B^T A^T, batch by batch.
        const float one = 1.0f, zero = 0.0f;
        const cublasStatus_t st = m_c.blas->sgemmBatched(m_c.cublas, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(m_n),
            static_cast<int>(m_m), static_cast<int>(m_k), &one, in[1]->ptr<float>(), static_cast<int>(m_n), m_strideB,
            in[0]->ptr<float>(), static_cast<int>(m_k), m_strideA, &zero, out[0]->ptr<float>(), static_cast<int>(m_n),
            m_m * m_n, static_cast<int>(m_batch));
        if (st != CUBLAS_STATUS_SUCCESS)
            return makeError(
                ErrorCode::Internal, std::string("cublasSgemmStridedBatched: ") + m_c.blas->statusName(st));
        return {};
    }
    double flops() const override { return 2.0 * double(m_batch) * double(m_m) * double(m_n) * double(m_k); }

private:
    CudaContext m_c;
    int64_t m_m, m_n, m_k, m_batch, m_strideA, m_strideB;
};

class CastKernel final : public Kernel
{
public:
    CastKernel(const CudaContext& c, DType from, DType to)
        : m_c(c)
        , m_from(from)
        , m_to(to)
    { }
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        const size_t n = static_cast<size_t>(out[0]->numel());
        if (m_from == DType::F32 && m_to == DType::F16)
            DL_CUDA_OK(launchFloatToHalf(in[0]->ptr<float>(), out[0]->data(), n, m_c.stream), "a cast to float16");
        else if (m_from == DType::F16 && m_to == DType::F32)
            DL_CUDA_OK(launchHalfToFloat(in[0]->data(), out[0]->ptr<float>(), n, m_c.stream), "a cast to float32");
        else if (in[0]->data() != out[0]->data())
            DL_CUDA_OK(
                cudaMemcpyAsync(out[0]->data(), in[0]->data(), out[0]->bytes(), cudaMemcpyDeviceToDevice, m_c.stream),
                "a cast to the same type");
        return {};
    }

private:
    CudaContext m_c;
    DType m_from, m_to;
};

class ReduceKernel final : public Kernel
{
public:
    ReduceKernel(const CudaContext& c, ReduceOp op, int64_t outer, int64_t mid, int64_t inner)
        : m_c(c)
        , m_op(op)
        , m_outer(outer)
        , m_mid(mid)
        , m_inner(inner)
    { }
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        DL_CUDA_OK(launchReduce(m_op, in[0]->ptr<float>(), out[0]->ptr<float>(), m_outer, m_mid, m_inner, m_c.stream),
            "a reduction kernel");
        return {};
    }

private:
    CudaContext m_c;
    ReduceOp m_op;
    int64_t m_outer, m_mid, m_inner;
};

// Pooling cuDNN does not describe (ceil_mode, asymmetric pads, dilations), by our kernel.
class OwnPoolKernel final : public Kernel
{
public:
    OwnPoolKernel(const CudaContext& c, Pool2d p)
        : m_c(c)
        , m_p(p)
    { }
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        DL_CUDA_OK(launchPool2d(in[0]->ptr<float>(), out[0]->ptr<float>(), m_p, m_c.stream), "a pooling kernel");
        return {};
    }

private:
    CudaContext m_c;
    Pool2d m_p;
};

class ResizeLinearKernel final : public Kernel
{
public:
    ResizeLinearKernel(const CudaContext& c, ResizeLinear r)
        : m_c(c)
        , m_r(r)
    { }
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        DL_CUDA_OK(
            launchResizeLinear(in[0]->ptr<float>(), out[0]->ptr<float>(), m_r, m_c.stream), "a linear resizing kernel");
        return {};
    }

private:
    CudaContext m_c;
    ResizeLinear m_r;
};

// Floating-point values of a constant input (scales), empty where the input is omitted or empty.
std::optional<std::vector<double>> constantDoubles(const KernelRequest& r, size_t input)
{
    if (input >= r.inputs.size() || !r.inputs[input].present() || numElements(r.inputs[input].shape) == 0)
        return std::vector<double> {};
    const Tensor* t = r.inputs[input].constant;
    if (!t || (t->dtype() != DType::F32 && t->dtype() != DType::F64)) return std::nullopt;
    return t->toDouble();
}

// cuBLAS takes its sizes as int: each must fit, and a product over nothing (K = 0) is left to the CPU.
Status fitsBlas(const Node& node, std::initializer_list<int64_t> sizes)
{
    for (int64_t v : sizes)
        if (v <= 0 || v > std::numeric_limits<int>::max())
            return unsupported(node.describe() + ": a size cuBLAS cannot take (" + std::to_string(v) + ")");
    return {};
}

// ---- what each op takes, and its kernel (allocate false: the checks only, no device touched)

Result<std::unique_ptr<Kernel>> make(const KernelRequest& r, const CudaContext& c, bool allocate)
{
    const Node& node = r.node;
    if (!defaultDomain(node)) return unsupported(node.describe() + ": operator domain '" + node.domain + "'");
    const auto kind = kindOf(node.opType);
    if (!kind) return unsupported(node.describe() + ": no CUDA kernel for " + node.opType + " yet");
    if (r.inputs.empty() || !r.inputs[0].present()) return unsupported(node.describe() + ": no input");
    if (*kind != Kind::View && *kind != Kind::Cast) DL_TRY(needF32(r, 0));
    // The CPU backend's kernel for the same request gives the output shapes (and refuses what is malformed).
    DL_ASSIGN(std::unique_ptr<Kernel> shapes, c.cpu->createKernel(r));
    const auto& outs = shapes->outputs;
    if (outs.empty() || outs[0].dtype == DType::Undefined) return unsupported(node.describe() + ": no output");
    const Shape& x = r.inputs[0].shape;
    const Shape& y = outs[0].shape;
    std::unique_ptr<Kernel> k;
    switch (*kind) {
    case Kind::View: {
        if (r.inputs[0].constant) return unsupported(node.describe() + ": a constant input");
        if (node.opType == "Dropout" && outs.size() > 1) return unsupported(node.describe() + ": a mask output");
        if (numElements(x) != numElements(y) || outs[0].dtype != r.inputs[0].dtype)
            return unsupported(node.describe() + ": not a view of its input");
        k = std::make_unique<ViewKernel>(c);
        break;
    }
    case Kind::Binary: {
        if (r.inputs.size() != 2) return unsupported(node.describe() + ": two inputs expected");
        DL_TRY(needF32(r, 1));
        if (node.opType == "Pow" && r.inputs[1].constant && r.inputs[1].constant->numel() == 1 && y == x) {
            // As the CPU backend: x^2 (normalisations), x^3, x^1 and x^0.5 without pow().
            const float e = r.inputs[1].constant->ptr<float>()[0];
            const std::map<float, Activation> quick = { { 2.0f, Activation::Square }, { 3.0f, Activation::Cube },
                { 1.0f, Activation::None }, { 0.5f, Activation::Sqrt } };
            if (auto q = quick.find(e); q != quick.end()) {
                k = std::make_unique<ActivationKernel>(c, q->second, 0.0f, 0.0f);
                break;
            }
        }
        if (r.inputs[0].constant && r.inputs[1].constant) return unsupported(node.describe() + ": both constant");
        if (y.size() > static_cast<size_t>(kMaxRank)) return unsupported(node.describe() + ": rank above 6");
        Broadcast bc;
        bc.rank = static_cast<int>(y.size());
        for (int side = 0; side < 2; ++side) {
            const Shape& s = r.inputs[side].shape;
            int64_t stride = 1;
            for (int d = bc.rank - 1; d >= 0; --d) {
                const int sd = d - (bc.rank - static_cast<int>(s.size()));
                const int64_t extent = sd >= 0 ? s[sd] : 1;
                (side ? bc.strideB : bc.strideA)[d] = extent == 1 ? 0 : stride;
                stride *= extent;
            }
        }
        for (int d = 0; d < bc.rank; ++d)
            bc.extent[d] = y[d];
        const std::map<std::string, BinaryOp> ops = { { "Add", BinaryOp::Add }, { "Sub", BinaryOp::Sub },
            { "Mul", BinaryOp::Mul }, { "Div", BinaryOp::Div }, { "Pow", BinaryOp::Pow } };
        auto b = std::make_unique<BinaryKernel>(c, ops.at(node.opType), bc, numElements(y));
        for (int side = 0; side < 2 && allocate; ++side)
            if (r.inputs[side].constant) {
                DL_ASSIGN(Tensor t, toDevice(*r.inputs[side].constant));
                b->packedOf[side] = static_cast<int>(b->packed.size());
                b->packed.push_back(std::move(t));
            }
        k = std::move(b);
        break;
    }
    case Kind::Activation: {
        const std::string& op = node.opType;
        float alpha = 0.0f, beta = 0.0f;
        Activation act = Activation::Relu;
        if (op == "LeakyRelu") {
            act = Activation::LeakyRelu;
            alpha = node.attrFloat("alpha", 0.01f);
        } else if (op == "Elu") {
            act = Activation::Elu;
            alpha = node.attrFloat("alpha", 1.0f);
        } else if (op == "HardSigmoid") {
            act = Activation::HardSigmoid;
            alpha = node.attrFloat("alpha", 0.2f);
            beta = node.attrFloat("beta", 0.5f);
        } else if (op == "Clip") {
            act = Activation::Clip;
            alpha = node.attrFloat("min", -INFINITY);
            beta = node.attrFloat("max", INFINITY);
            for (size_t i = 1; i < 3 && i < r.inputs.size(); ++i) {
                if (!r.inputs[i].present()) continue;
                const Tensor* t = r.inputs[i].constant;
                if (!t || t->dtype() != DType::F32 || t->numel() != 1)
                    return unsupported(node.describe() + ": Clip bounds computed at run time");
                (i == 1 ? alpha : beta) = t->ptr<float>()[0];
            }
        } else {
            const std::map<std::string, Activation> plain
                = { { "Relu", Activation::Relu }, { "Sigmoid", Activation::Sigmoid }, { "Tanh", Activation::Tanh },
                      { "HardSwish", Activation::HardSwish }, { "Softplus", Activation::Softplus },
                      { "Sqrt", Activation::Sqrt }, { "Exp", Activation::Exp }, { "Abs", Activation::Abs },
                      { "Neg", Activation::Neg }, { "Reciprocal", Activation::Reciprocal } };
            act = plain.at(op);
        }
        k = std::make_unique<ActivationKernel>(c, act, alpha, beta);
        break;
    }
    case Kind::Affine: {
        if (r.inputs.size() < 5 || x.size() < 2) return unsupported(node.describe() + ": inputs");
        for (size_t i = 1; i < 5; ++i)
            if (!r.inputs[i].constant || r.inputs[i].constant->dtype() != DType::F32
                || r.inputs[i].constant->numel() != x[1])
                return unsupported(node.describe() + ": its parameters must be constant float32, one per channel");
        if (outs.size() > 1) return unsupported(node.describe() + ": training outputs");
        int64_t inner = 1;
        for (size_t d = 2; d < x.size(); ++d)
            inner *= x[d];
        auto a = std::make_unique<AffineKernel>(c, x[1], inner);
        if (allocate) {
            const float eps = node.attrFloat("epsilon", 1e-5f);
            Tensor scale(DType::F32, { x[1] }), shift(DType::F32, { x[1] });
            const float *g = r.inputs[1].constant->ptr<float>(), *b = r.inputs[2].constant->ptr<float>(),
                        *mean = r.inputs[3].constant->ptr<float>(), *var = r.inputs[4].constant->ptr<float>();
            for (int64_t ch = 0; ch < x[1]; ++ch) {
                scale.ptr<float>()[ch] = g[ch] / std::sqrt(var[ch] + eps);
                shift.ptr<float>()[ch] = b[ch] - mean[ch] * scale.ptr<float>()[ch];
            }
            DL_ASSIGN(Tensor s, toDevice(scale));
            DL_ASSIGN(Tensor t, toDevice(shift));
            a->packed = { std::move(s), std::move(t) };
        }
        k = std::move(a);
        break;
    }
    case Kind::Pool: {
        if (x.size() != 4 || y.size() != 4) return unsupported(node.describe() + ": only 2-D pooling");
        if (outs.size() > 1) return unsupported(node.describe() + ": an indices output");
        const bool global = node.opType.rfind("Global", 0) == 0;
        const bool max = node.opType.find("Max") != std::string::npos;
        std::vector<int64_t> kernel = global ? std::vector<int64_t> { x[2], x[3] } : node.attrInts("kernel_shape");
        std::vector<int64_t> strides = global ? std::vector<int64_t> { 1, 1 } : node.attrInts("strides", { 1, 1 });
        std::vector<int64_t> pads
            = global ? std::vector<int64_t> { 0, 0, 0, 0 } : node.attrInts("pads", { 0, 0, 0, 0 });
        std::vector<int64_t> dilations = global ? std::vector<int64_t> { 1, 1 } : node.attrInts("dilations", { 1, 1 });
        if (kernel.size() != 2 || strides.size() != 2 || pads.size() != 4 || dilations.size() != 2)
            return unsupported(node.describe() + ": a window that is not 2-D");
        const std::string autoPad = global ? "NOTSET" : node.attrString("auto_pad", "NOTSET");
        if (autoPad == "VALID") {
            pads = { 0, 0, 0, 0 };
        } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
            for (int d = 0; d < 2; ++d) { // as the CPU backend pads: the odd one at the end (UPPER) or start
                const int64_t extent = (kernel[d] - 1) * dilations[d] + 1;
                const int64_t total = std::max<int64_t>((y[2 + d] - 1) * strides[d] + extent - x[2 + d], 0);
                pads[d] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
                pads[2 + d] = total - pads[d];
            }
        } else if (autoPad != "NOTSET") {
            return unsupported(node.describe() + ": auto_pad " + autoPad);
        }
        const bool includePad = !max && node.attrInt("count_include_pad", 0) != 0;
        const bool ceil = !global && node.attrInt("ceil_mode", 0) != 0;
        const bool cudnnFits
            = !ceil && pads[0] == pads[2] && pads[1] == pads[3] && dilations == std::vector<int64_t> { 1, 1 };
        if (!cudnnFits) {
            // Our kernel, over the window the CPU backend's output shape implies.
            Pool2d pp;
            pp.planes = x[0] * x[1];
            pp.h = x[2];
            pp.w = x[3];
            pp.oh = y[2];
            pp.ow = y[3];
            pp.kh = kernel[0];
            pp.kw = kernel[1];
            pp.sh = strides[0];
            pp.sw = strides[1];
            pp.dh = dilations[0];
            pp.dw = dilations[1];
            pp.padTop = pads[0];
            pp.padLeft = pads[1];
            pp.padBottom = pads[2];
            pp.padRight = pads[3];
            pp.max = max;
            pp.includePad = includePad;
            for (int d = 0; d < 2; ++d) // a window wholly in the padding has no value to take
                if (pads[d] < 0 || pads[d + 2] < 0
                    || std::max(pads[d], pads[d + 2]) >= (kernel[d] - 1) * dilations[d] + 1)
                    return unsupported(node.describe() + ": pads as wide as the window");
            if (y[0] != x[0] || y[1] != x[1]) return unsupported(node.describe() + ": shapes");
            k = std::make_unique<OwnPoolKernel>(c, pp);
            break;
        }
        auto p = std::make_unique<PoolKernel>(c);
        const cudnnPoolingMode_t mode = max ? CUDNN_POOLING_MAX
            : includePad                    ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                                            : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
        auto i32 = [](int64_t v) { return static_cast<int>(v); };
        if (cudnnCreateTensorDescriptor(&p->x) != CUDNN_STATUS_SUCCESS
            || cudnnCreateTensorDescriptor(&p->y) != CUDNN_STATUS_SUCCESS
            || cudnnCreatePoolingDescriptor(&p->pool) != CUDNN_STATUS_SUCCESS
            || cudnnSetTensor4dDescriptor(
                   p->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, i32(x[0]), i32(x[1]), i32(x[2]), i32(x[3]))
                != CUDNN_STATUS_SUCCESS
            || cudnnSetPooling2dDescriptor(p->pool, mode, CUDNN_NOT_PROPAGATE_NAN, i32(kernel[0]), i32(kernel[1]),
                   i32(pads[0]), i32(pads[1]), i32(strides[0]), i32(strides[1]))
                != CUDNN_STATUS_SUCCESS)
            return unsupported(node.describe() + ": cuDNN cannot describe this pooling");
        int n = 0, ch = 0, h = 0, w = 0;
        if (cudnnGetPooling2dForwardOutputDim(p->pool, p->x, &n, &ch, &h, &w) != CUDNN_STATUS_SUCCESS
            || Shape { n, ch, h, w } != y)
            return unsupported(node.describe() + ": cuDNN's pooling gives another shape than " + shapeToString(y));
        if (cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, ch, h, w) != CUDNN_STATUS_SUCCESS)
            return unsupported(node.describe() + ": cuDNN cannot describe the pooling's output");
        k = std::move(p);
        break;
    }
    case Kind::Concat: {
        const int64_t rank = static_cast<int64_t>(y.size());
        int64_t axis = node.attrInt("axis", 0);
        if (axis < 0) axis += rank;
        if (axis < 0 || axis >= rank) return unsupported(node.describe() + ": axis");
        auto cc = std::make_unique<ConcatKernel>(c);
        for (int64_t d = 0; d < axis; ++d)
            cc->outer *= y[d];
        for (size_t i = 0; i < r.inputs.size(); ++i) {
            DL_TRY(needF32(r, i));
            if (!r.inputs[i].present() || r.inputs[i].constant)
                return unsupported(node.describe() + ": a constant or missing input");
            int64_t inner = 1;
            for (int64_t d = axis; d < rank; ++d)
                inner *= r.inputs[i].shape[d];
            cc->rowBytes.push_back(static_cast<size_t>(inner) * sizeof(float));
        }
        k = std::move(cc);
        break;
    }
    case Kind::Upsample: {
        if (x.size() != 4 || y.size() != 4 || y[0] != x[0] || y[1] != x[1] || x[2] == 0 || x[3] == 0)
            return unsupported(node.describe() + ": only spatial resizing of N C H W");
        const std::string mode = node.attrString("mode", "nearest");
        if (mode == "linear" || mode == "bilinear") {
            const bool upsample = node.opType == "Upsample";
            if (!upsample && r.opset < 11) return unsupported(node.describe() + ": linear Resize before opset 11");
            if (node.attrInt("antialias", 0) != 0 || node.has("axes")
                || node.attrString("keep_aspect_ratio_policy", "stretch") != "stretch")
                return unsupported(node.describe() + ": antialias, axes or an aspect ratio policy");
            static const std::map<std::string, ResizeCoord> coords
                = { { "half_pixel", ResizeCoord::HalfPixel }, { "pytorch_half_pixel", ResizeCoord::PytorchHalfPixel },
                      { "align_corners", ResizeCoord::AlignCorners }, { "asymmetric", ResizeCoord::Asymmetric } };
            const std::string coord
                = upsample ? "asymmetric" : node.attrString("coordinate_transformation_mode", "half_pixel");
            auto cm = coords.find(coord);
            if (cm == coords.end()) return unsupported(node.describe() + ": coordinate_transformation_mode " + coord);
            // The scales the CPU backend resizes by: the node's where it gives scales, else output / input.
            std::vector<double> scales;
            if (upsample && r.inputs.size() < 2) {
                for (float f : node.attrFloats("scales"))
                    scales.push_back(f);
            } else {
                const auto sizes = constantInts(r, 3);
                auto given = constantDoubles(r, upsample ? 1 : 2);
                if (!given || !sizes) return unsupported(node.describe() + ": scales or sizes computed at run time");
                if (sizes->empty()) scales = *given;
                for (size_t d = 0; d < sizes->size() && d < 4; ++d)
                    scales.push_back(static_cast<double>(y[d]) / static_cast<double>(x[d]));
            }
            if (scales.size() != 4 || scales[0] != 1.0 || scales[1] != 1.0)
                return unsupported(node.describe() + ": only the last two axes resized");
            ResizeLinear rl;
            rl.planes = x[0] * x[1];
            rl.h = x[2];
            rl.w = x[3];
            rl.oh = y[2];
            rl.ow = y[3];
            rl.scaleH = scales[2];
            rl.scaleW = scales[3];
            rl.coord = cm->second;
            k = std::make_unique<ResizeLinearKernel>(c, rl);
            break;
        }
        if (mode != "nearest") return unsupported(node.describe() + ": mode " + mode);
        const std::string coord = node.attrString("coordinate_transformation_mode", "half_pixel");
        // With whole factors, nearest under these lands every output on floor(i / factor).
        if (y[2] % x[2] != 0 || y[3] % x[3] != 0)
            return unsupported(node.describe() + ": nearest upsampling by other than whole factors");
        if (node.opType == "Resize" && coord != "asymmetric" && coord != "half_pixel")
            return unsupported(node.describe() + ": coordinate_transformation_mode " + coord);
        if (node.opType == "Resize" && coord == "asymmetric"
            && node.attrString("nearest_mode", "round_prefer_floor") != "floor")
            return unsupported(node.describe() + ": asymmetric coordinates round other than down");
        k = std::make_unique<UpsampleKernel>(c, x[0] * x[1], x[2], x[3], y[2] / x[2], y[3] / x[3]);
        break;
    }
    case Kind::Gather: {
        const int rank = static_cast<int>(x.size());
        if (rank > kMaxRank || y.size() != x.size()) return unsupported(node.describe() + ": rank");
        Gather g;
        g.rank = rank;
        int64_t stride = 1;
        for (int d = rank - 1; d >= 0; --d) {
            g.inExtent[d] = x[d];
            g.outExtent[d] = y[d];
            g.inStride[d] = stride;
            stride *= x[d];
            g.step[d] = 1;
        }
        float fill = 0.0f;
        const bool slice = node.opType == "Slice";
        const bool attrs = r.opset < (slice ? 10 : 11);
        if (slice) {
            auto starts = attrs ? std::optional(node.attrInts("starts")) : constantInts(r, 1);
            auto axes = attrs ? std::optional(node.attrInts("axes")) : constantInts(r, 3);
            auto steps = attrs ? std::optional(std::vector<int64_t> {}) : constantInts(r, 4);
            if (!starts || !axes || !steps) return unsupported(node.describe() + ": bounds computed at run time");
            if (axes->empty())
                for (size_t a = 0; a < starts->size(); ++a)
                    axes->push_back(static_cast<int64_t>(a));
            if (axes->size() != starts->size() || (!steps->empty() && steps->size() != starts->size()))
                return unsupported(node.describe() + ": bounds of different lengths");
            for (size_t a = 0; a < axes->size(); ++a) {
                int64_t axis = (*axes)[a] < 0 ? (*axes)[a] + rank : (*axes)[a];
                if (axis < 0 || axis >= rank) return unsupported(node.describe() + ": axis");
                const int64_t step = steps->empty() ? 1 : (*steps)[a];
                if (step == 0) return unsupported(node.describe() + ": a step of 0");
                const int64_t dim = x[axis];
                int64_t s = (*starts)[a];
                if (s < 0) s += dim;
                s = step > 0 ? std::clamp<int64_t>(s, 0, dim) : std::clamp<int64_t>(s, 0, dim - 1);
                g.start[axis] = s;
                g.step[axis] = step;
            }
        } else {
            if (node.attrString("mode", "constant") != "constant")
                return unsupported(node.describe() + ": not constant mode");
            auto pads = attrs ? std::optional(node.attrInts("pads")) : constantInts(r, 1);
            if (!pads || pads->size() != 2 * x.size() || (r.inputs.size() > 3 && r.inputs[3].present()))
                return unsupported(node.describe() + ": pads computed at run time, or over chosen axes");
            if (attrs) {
                fill = node.attrFloat("value", 0.0f);
            } else if (r.inputs.size() > 2 && r.inputs[2].present()) {
                const Tensor* v = r.inputs[2].constant;
                if (!v || v->dtype() != DType::F32 || v->numel() != 1)
                    return unsupported(node.describe() + ": a pad value computed at run time");
                fill = v->ptr<float>()[0];
            }
            for (int d = 0; d < rank; ++d)
                g.start[d] = -(*pads)[d];
        }
        k = std::make_unique<GatherKernel>(c, g, fill);
        break;
    }
    case Kind::Softmax: {
        const int64_t rank = static_cast<int64_t>(x.size());
        int64_t axis = node.attrInt("axis", r.opset < 13 ? 1 : -1);
        if (axis < 0) axis += rank;
        if (axis < 0 || axis >= rank) return unsupported(node.describe() + ": axis");
        int64_t outer = 1, mid = 1, inner = 1;
        for (int64_t d = 0; d < rank; ++d)
            (d < axis ? outer : (d == axis || r.opset < 13) ? mid : inner) *= x[d];
        const int64_t limit = int64_t(1) << 31;
        if (outer >= limit || mid >= limit || inner >= limit) return unsupported(node.describe() + ": too large");
        auto sm = std::make_unique<SoftmaxKernel>(c, node.opType == "LogSoftmax");
        if (cudnnCreateTensorDescriptor(&sm->desc) != CUDNN_STATUS_SUCCESS
            || cudnnSetTensor4dDescriptor(sm->desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, static_cast<int>(outer),
                   static_cast<int>(mid), static_cast<int>(inner), 1)
                != CUDNN_STATUS_SUCCESS)
            return unsupported(node.describe() + ": cuDNN cannot describe this softmax");
        k = std::move(sm);
        break;
    }
    case Kind::Gemm: {
        if (c.stream && !c.cublas)
            return unsupported(node.describe() + ": " + c.cublasWhy); // on a device, cuBLAS must have loaded
        if (r.inputs.size() < 2 || !r.inputs[1].present()) return unsupported(node.describe() + ": two operands");
        DL_TRY(needF32(r, 1));
        const bool gemm = node.opType == "Gemm";
        const Shape& w = r.inputs[1].shape;
        if (!gemm && !r.inputs[1].constant) {
            // Two computed operands, [batch..., M, K] x [batch..., K, N]: batched, each operand's batch either the
            // output's or a single matrix for all.
            if (x.size() < 2 || w.size() < 2 || y.size() < 2 || y.size() > static_cast<size_t>(kMaxRank))
                return unsupported(node.describe() + ": operands of rank below 2");
            const int64_t m = x[x.size() - 2], kk = x.back(), n = w.back();
            if (w[w.size() - 2] != kk || y[y.size() - 2] != m || y.back() != n)
                return unsupported(node.describe() + ": shapes");
            const Shape outBatch(y.begin(), y.end() - 2);
            auto batched = [&](const Shape& s) -> std::optional<bool> {
                const Shape b(s.begin(), s.end() - 2);
                if (numElements(b) == 1) return false;
                Shape padded(outBatch.size() - std::min(outBatch.size(), b.size()), 1);
                padded.insert(padded.end(), b.begin(), b.end());
                if (padded == outBatch) return true;
                return std::nullopt;
            };
            const auto ab = batched(x), bb = batched(w);
            if (!ab || !bb) return unsupported(node.describe() + ": a batch broadcast other than one matrix for all");
            DL_TRY(fitsBlas(node, { m, n, kk, numElements(outBatch), m * n }));
            k = std::make_unique<BatchedGemmKernel>(c, m, n, kk, numElements(outBatch), *ab, *bb);
            break;
        }
        if (!r.inputs[1].constant || x.size() < 2 || w.size() != 2 || (gemm && x.size() != 2))
            return unsupported(node.describe() + ": only an input times constant 2-D weights");
        if (gemm
            && (node.attrInt("transA", 0) != 0 || node.attrFloat("alpha", 1.0f) != 1.0f
                || node.attrFloat("beta", 1.0f) != 1.0f))
            return unsupported(node.describe() + ": transA, alpha or beta");
        const bool transB = gemm && node.attrInt("transB", 0) != 0;
        // [..., K] x [K, N]: the leading axes are rows of one product.
        const int64_t kk = x.back(), m = numElements(x) / std::max<int64_t>(kk, 1), n = transB ? w[0] : w[1];
        Shape expect(x.begin(), x.end() - 1);
        expect.push_back(n);
        if ((transB ? w[1] : w[0]) != kk || y != expect) return unsupported(node.describe() + ": shapes");
        const Tensor* bias = nullptr;
        if (gemm && r.inputs.size() > 2 && r.inputs[2].present()) {
            bias = r.inputs[2].constant;
            if (!bias || bias->dtype() != DType::F32 || bias->numel() != n)
                return unsupported(node.describe() + ": a bias that is not constant, one per output column");
        }
        DL_TRY(fitsBlas(node, { m, n, kk }));
        auto g = std::make_unique<GemmKernel>(c, m, n, kk, transB, bias != nullptr);
        if (allocate) {
            DL_ASSIGN(Tensor wt, toDevice(*r.inputs[1].constant));
            g->packed.push_back(std::move(wt));
            if (bias) {
                DL_ASSIGN(Tensor bt, toDevice(bias->reshaped({ n })));
                g->packed.push_back(std::move(bt));
            }
        }
        k = std::move(g);
        break;
    }
    case Kind::Cast: {
        if (r.inputs[0].constant) return unsupported(node.describe() + ": a constant input");
        const DType from = r.inputs[0].dtype, to = outs[0].dtype;
        const bool halfs = (from == DType::F32 && to == DType::F16) || (from == DType::F16 && to == DType::F32);
        if (from != to && !halfs)
            return unsupported(node.describe() + ": a cast from " + dtypeName(from) + " to " + dtypeName(to)
                + " (the CUDA kernels cast between float32 and float16)");
        k = std::make_unique<CastKernel>(c, from, to);
        break;
    }
    case Kind::Transpose: {
        const int rank = static_cast<int>(x.size());
        if (rank > kMaxRank || y.size() != x.size()) return unsupported(node.describe() + ": rank");
        std::vector<int64_t> perm = node.attrInts("perm");
        if (perm.empty())
            for (int d = rank - 1; d >= 0; --d)
                perm.push_back(d);
        if (static_cast<int>(perm.size()) != rank) return unsupported(node.describe() + ": perm");
        int64_t inStride[kMaxRank] = {};
        int64_t stride = 1;
        for (int d = rank - 1; d >= 0; --d) {
            inStride[d] = stride;
            stride *= x[d];
        }
        // Output axis d walks input axis perm[d]: a gather with the input's strides permuted.
        Gather g;
        g.rank = rank;
        for (int d = 0; d < rank; ++d) {
            const int64_t p = perm[d] < 0 ? perm[d] + rank : perm[d];
            if (p < 0 || p >= rank || x[p] != y[d]) return unsupported(node.describe() + ": perm");
            g.outExtent[d] = y[d];
            g.inExtent[d] = x[p];
            g.inStride[d] = inStride[p];
            g.step[d] = 1;
        }
        k = std::make_unique<GatherKernel>(c, g, 0.0f);
        break;
    }
    case Kind::Reduce: {
        const int64_t rank = static_cast<int64_t>(x.size());
        if (rank == 0) return unsupported(node.describe() + ": a scalar");
        // Axes: as the CPU backend takes them, the second input where there is one, else the attribute.
        const bool fromInput = r.inputs.size() > 1 && r.inputs[1].present();
        auto axes = fromInput ? constantInts(r, 1) : std::optional(node.attrInts("axes"));
        if (!axes) return unsupported(node.describe() + ": axes computed at run time");
        if (axes->empty()) {
            if (node.attrInt("noop_with_empty_axes", 0) != 0) return unsupported(node.describe() + ": no-op");
            for (int64_t d = 0; d < rank; ++d)
                axes->push_back(d);
        }
        for (int64_t& a : *axes) {
            if (a < 0) a += rank;
            if (a < 0 || a >= rank) return unsupported(node.describe() + ": axis");
        }
        std::sort(axes->begin(), axes->end());
        axes->erase(std::unique(axes->begin(), axes->end()), axes->end());
        if (axes->back() - axes->front() + 1 != static_cast<int64_t>(axes->size()))
            return unsupported(node.describe() + ": axes that are not adjacent");
        int64_t outer = 1, mid = 1, inner = 1;
        for (int64_t d = 0; d < rank; ++d)
            (d < axes->front() ? outer : d <= axes->back() ? mid : inner) *= x[d];
        if (mid == 0 || numElements(y) != outer * inner) return unsupported(node.describe() + ": shapes");
        const std::map<std::string, ReduceOp> ops = { { "ReduceMean", ReduceOp::Mean }, { "ReduceSum", ReduceOp::Sum },
            { "ReduceMax", ReduceOp::Max }, { "ReduceMin", ReduceOp::Min } };
        k = std::make_unique<ReduceKernel>(c, ops.at(node.opType), outer, mid, inner);
        break;
    }
    }
    k->outputs = { OutputDesc { outs[0].dtype, y } };
    return k;
}

} // namespace

Status supportsOp(const KernelRequest& request, const CudaContext& ctx)
{
    auto k = make(request, ctx, false);
    if (!k.ok()) return k.error();
    return {};
}

Result<std::unique_ptr<Kernel>> createOp(const KernelRequest& request, const CudaContext& ctx)
{
    return make(request, ctx, true);
}

} // namespace dl::cuda
