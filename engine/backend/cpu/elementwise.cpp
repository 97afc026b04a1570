// Elementwise operators: activations and other unary math, numpy-broadcast binary arithmetic, comparison and
// logic, the variadic Sum/Mean/Max/Min, Where, Cast, Identity and inference-mode Dropout.

// Under the default -ftrapping-math GCC keeps every float select (x < 0 ? a * x : x, clamps in the exp
// approximation) as a branch, which stops the vectoriser; no kernel here inspects floating-point exception flags.
// It must precede every include so that all inlined code in this file is compiled alike.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "backend/cpu/elementwise_util.h"

#include <cstring>

namespace dl::cpu {
namespace {

using namespace ew;
using Ins = std::vector<const Tensor*>;
using Outs = std::vector<Tensor*>;
using KernelResult = Result<std::unique_ptr<Kernel>>;

Error shapeError(const Node& node, const Error& e)
{
    return nodeError(node, e.message);
}

// ---- unary ---------------------------------------------------------------------------------------------------

template <class T, class O, class F> Status mapUnary(const Tensor& x, Tensor& y, int64_t grain, const F& f)
{
    const T* px = x.ptr<T>();
    O* py = y.ptr<O>();
    parallelFor(x.numel(), grain, [&](int64_t b, int64_t e) { unarySpan(px + b, py + b, e - b, f); });
    return {};
}

// Registers a same-type unary op. `make(node)` returns a generic callable applied to each element; S lists
// the element types it is instantiated for.
template <unsigned S, class Make>
void addUnary(OpRegistry& r, const char* name, int64_t grain, double flopsPerElement, Make make)
{
    r.add(name, withHalf([=](const KernelArgs& args) -> KernelResult {
        DL_TRY(expectInputs(args, 1, 1));
        const ValueDesc& x = args.inputs[0];
        std::unique_ptr<Kernel> k;
        visitType<S>(x.dtype, [&](auto tag) {
            using T = typename decltype(tag)::type;
            auto f = make(args.node);
            k = makeKernel(
                { { x.dtype, x.shape } },
                [f, grain](const Ins& in, const Outs& out) { return mapUnary<T, T>(*in[0], *out[0], grain, f); },
                flopsPerElement * static_cast<double>(numElements(x.shape)));
            k->inPlaceInput = 0;
        });
        if (!k) return typeUnsupported(args.node, x.dtype);
        return k;
    }));
}

// Unary ops whose output type differs from the input's (IsNaN, IsInf, Not).
template <unsigned S, class Make> void addPredicate(OpRegistry& r, const char* name, Make make)
{
    r.add(name, withHalf([=](const KernelArgs& args) -> KernelResult {
        DL_TRY(expectInputs(args, 1, 1));
        const ValueDesc& x = args.inputs[0];
        std::unique_ptr<Kernel> k;
        visitType<S>(x.dtype, [&](auto tag) {
            using T = typename decltype(tag)::type;
            auto f = make(args.node);
            k = makeKernel({ { DType::Bool, x.shape } },
                [f](const Ins& in, const Outs& out) { return mapUnary<T, uint8_t>(*in[0], *out[0], kGrain, f); });
        });
        if (!k) return typeUnsupported(args.node, x.dtype);
        return k;
    }));
}

// Wraps a parameterless elementwise function as a `make` for addUnary.
template <class F> auto plain(F f)
{
    return [f](const Node&) { return f; };
}

void registerUnary(OpRegistry& r)
{
    constexpr int64_t kMathGrain = kGrain / 4;
    addUnary<kSignedNum>(r, "Relu", kGrain, 1, plain([](auto x) {
        using T = decltype(x);
        return x < T(0) ? T(0) : x;
    }));
    addUnary<kFloat>(r, "LeakyRelu", kGrain, 2, [](const Node& n) {
        const float alpha = n.attrFloat("alpha", 0.01f);
        return [alpha](auto x) {
            using T = decltype(x);
            return x < T(0) ? T(alpha) * x : x;
        };
    });
    addUnary<kFloat>(r, "ThresholdedRelu", kGrain, 1, [](const Node& n) {
        const float alpha = n.attrFloat("alpha", 1.0f);
        return [alpha](auto x) {
            using T = decltype(x);
            return x > T(alpha) ? x : T(0);
        };
    });
    addUnary<kFloat>(r, "Sigmoid", kMathGrain, 20, plain([](auto x) { return fastSigmoid(x); }));
    addUnary<kFloat>(r, "HardSigmoid", kGrain, 4, [](const Node& n) {
        const float alpha = n.attrFloat("alpha", 0.2f);
        const float beta = n.attrFloat("beta", 0.5f);
        return [alpha, beta](auto x) {
            using T = decltype(x);
            return std::max(T(0), std::min(T(1), T(alpha) * x + T(beta)));
        };
    });
    addUnary<kFloat>(r, "HardSwish", kGrain, 5, plain([](auto x) {
        using T = decltype(x);
        return x * std::max(T(0), std::min(T(1), x * T(1.0 / 6.0) + T(0.5)));
    }));
    addUnary<kFloat>(r, "Tanh", kMathGrain, 25, plain([](auto x) { return fastTanh(x); }));
    addUnary<kFloat>(r, "Softplus", kMathGrain, 30, plain([](auto x) { return fastSoftplus(x); }));
    addUnary<kFloat>(r, "Mish", kMathGrain, 60, plain([](auto x) { return fastMish(x); }));
    addUnary<kFloat>(r, "Softsign", kGrain, 3, plain([](auto x) {
        using T = decltype(x);
        return x / (T(1) + std::fabs(x));
    }));
    addUnary<kFloat>(r, "Elu", kMathGrain, 20, [](const Node& n) {
        const float alpha = n.attrFloat("alpha", 1.0f);
        return [alpha](auto x) {
            using T = decltype(x);
            return x < T(0) ? T(alpha) * fastExpm1(x) : x;
        };
    });
    addUnary<kFloat>(r, "Selu", kMathGrain, 20, [](const Node& n) {
        const float alpha = n.attrFloat("alpha", 1.67326319217681884765625f);
        const float gamma = n.attrFloat("gamma", 1.05070102214813232421875f);
        return [alpha, gamma](auto x) {
            using T = decltype(x);
            return x <= T(0) ? T(gamma) * T(alpha) * fastExpm1(x) : T(gamma) * x;
        };
    });
    addUnary<kFloat>(r, "Celu", kMathGrain, 20, [](const Node& n) {
        const float alpha = n.attrFloat("alpha", 1.0f);
        return [alpha](auto x) {
            using T = decltype(x);
            return std::max(T(0), x) + std::min(T(0), T(alpha) * fastExpm1(x / T(alpha)));
        };
    });
    addUnary<kFloat>(r, "Gelu", kHeavyGrain, 30, [](const Node& n) {
        const bool tanhApprox = n.attrString("approximate", "none") == "tanh";
        return [tanhApprox](auto x) {
            using T = decltype(x);
            if (tanhApprox)
                return T(0.5) * x * (T(1) + fastTanh(T(0.7978845608028654) * (x + T(0.044715) * x * x * x)));
            return T(0.5) * x * (T(1) + std::erf(x * T(0.7071067811865476)));
        };
    });
    addUnary<kFloat>(r, "Exp", kMathGrain, 15, plain([](auto x) { return fastExp(x); }));
    addUnary<kFloat>(r, "Reciprocal", kGrain, 1, plain([](auto x) { return decltype(x)(1) / x; }));
    addUnary<kFloat>(r, "Sqrt", kGrain, 1, plain([](auto x) { return std::sqrt(x); }));
    addUnary<kFloat>(r, "Ceil", kGrain, 1, plain([](auto x) { return std::ceil(x); }));
    addUnary<kFloat>(r, "Floor", kGrain, 1, plain([](auto x) { return std::floor(x); }));
    // nearbyint in the default rounding mode rounds halves to even, as ONNX asks.
    addUnary<kFloat>(r, "Round", kGrain, 1, plain([](auto x) { return std::nearbyint(x); }));
    addUnary<kSignedNum>(r, "Neg", kGrain, 1, plain([](auto x) { return static_cast<decltype(x)>(-x); }));
    addUnary<kNumeric>(r, "Abs", kGrain, 1, plain([](auto x) {
        using T = decltype(x);
        if constexpr (std::is_unsigned_v<T>)
            return x;
        else
            return x < T(0) ? static_cast<T>(-x) : x;
    }));
    addUnary<kNumeric>(r, "Sign", kGrain, 1, plain([](auto x) {
        using T = decltype(x);
        if constexpr (std::is_unsigned_v<T>)
            return x > T(0) ? T(1) : T(0);
        else // keeps NaN and the sign of zero
            return x > T(0) ? T(1) : (x < T(0) ? T(-1) : x);
    }));

    // libm functions: not vectorised, so threads start at a smaller size.
#define DL_LIBM_UNARY(opName, fn) addUnary<kFloat>(r, opName, kHeavyGrain, 20, plain([](auto x) { return fn(x); }))
    DL_LIBM_UNARY("Log", std::log);
    DL_LIBM_UNARY("Erf", std::erf);
    DL_LIBM_UNARY("Sin", std::sin);
    DL_LIBM_UNARY("Cos", std::cos);
    DL_LIBM_UNARY("Tan", std::tan);
    DL_LIBM_UNARY("Asin", std::asin);
    DL_LIBM_UNARY("Acos", std::acos);
    DL_LIBM_UNARY("Atan", std::atan);
    DL_LIBM_UNARY("Sinh", std::sinh);
    DL_LIBM_UNARY("Cosh", std::cosh);
    DL_LIBM_UNARY("Asinh", std::asinh);
    DL_LIBM_UNARY("Acosh", std::acosh);
    DL_LIBM_UNARY("Atanh", std::atanh);
#undef DL_LIBM_UNARY

    addPredicate<kFloat>(r, "IsNaN", plain([](auto x) { return x != x; }));
    addPredicate<kFloat>(r, "IsInf", [](const Node& n) {
        const bool neg = n.attrInt("detect_negative", 1) != 0;
        const bool pos = n.attrInt("detect_positive", 1) != 0;
        return [neg, pos](auto x) {
            using T = decltype(x);
            const T inf = std::numeric_limits<T>::infinity();
            return (pos && x == inf) || (neg && x == -inf);
        };
    });
    addPredicate<kBool>(r, "Not", plain([](uint8_t x) { return x == 0; }));
}

// Clip: bounds are attributes before opset 11 and optional scalar inputs since, read at every run because
// they need not be constants.
KernelResult makeClip(const KernelArgs& args)
{
    DL_TRY(expectInputs(args, 1, 3));
    const ValueDesc& x = args.inputs[0];
    for (size_t i = 1; i < args.inputs.size(); ++i)
        if (args.inputs[i].present() && args.inputs[i].dtype != x.dtype)
            return nodeError(args.node,
                "bound type " + std::string(dtypeName(args.inputs[i].dtype)) + " differs from input type "
                    + dtypeName(x.dtype));
    const bool fromAttrs = args.opset < 11;
    const float amin = args.node.attrFloat("min", -std::numeric_limits<float>::infinity());
    const float amax = args.node.attrFloat("max", std::numeric_limits<float>::infinity());
    std::unique_ptr<Kernel> k;
    visitType<kNumeric>(x.dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        k = makeKernel({ { x.dtype, x.shape } }, [=](const Ins& in, const Outs& out) {
            T lo = std::numeric_limits<T>::lowest();
            T hi = std::numeric_limits<T>::max();
            if constexpr (std::is_floating_point_v<T>) {
                if (fromAttrs) {
                    lo = static_cast<T>(amin);
                    hi = static_cast<T>(amax);
                }
            }
            if (in.size() > 1 && in[1] && in[1]->numel() > 0) lo = in[1]->ptr<T>()[0];
            if (in.size() > 2 && in[2] && in[2]->numel() > 0) hi = in[2]->ptr<T>()[0];
            return mapUnary<T, T>(*in[0], *out[0], kGrain, [lo, hi](T v) { return std::min(std::max(v, lo), hi); });
        });
    });
    if (!k) return typeUnsupported(args.node, x.dtype);
    return k;
}

// ---- copies and casts ----------------------------------------------------------------------------------------

void copyBytes(const Tensor& src, Tensor& dst)
{
    if (src.data() == dst.data()) return;
    const auto* s = static_cast<const std::byte*>(src.data());
    auto* d = static_cast<std::byte*>(dst.data());
    parallelFor(static_cast<int64_t>(dst.bytes()), kGrain * 8,
        [&](int64_t b, int64_t e) { std::memcpy(d + b, s + b, static_cast<size_t>(e - b)); });
}

KernelResult makeIdentity(const KernelArgs& args)
{
    DL_TRY(expectInputs(args, 1, 1));
    const ValueDesc& x = args.inputs[0];
    if (dtypeSize(x.dtype) == 0) return typeUnsupported(args.node, x.dtype);
    return makeKernel({ { x.dtype, x.shape } }, [](const Ins& in, const Outs& out) {
        copyBytes(*in[0], *out[0]);
        return Status {};
    });
}

// Inference Dropout is the identity, with an all-true mask when asked. Training mode (opset 12+) passes only
// when the ratio is zero, which is again the identity.
KernelResult makeDropout(const KernelArgs& args)
{
    DL_TRY(expectInputs(args, 1, 3));
    const ValueDesc& x = args.inputs[0];
    const Node& node = args.node;
    if (dtypeSize(x.dtype) == 0) return typeUnsupported(node, x.dtype);
    const bool hasMask = node.outputs.size() > 1 && !node.outputs[1].empty();
    std::vector<OutputDesc> outs { { x.dtype, x.shape } };
    if (hasMask) outs.push_back({ DType::Bool, x.shape });
    return makeKernel(std::move(outs), [who = node.describe(), hasMask](const Ins& in, const Outs& out) -> Status {
        const bool training = in.size() > 2 && in[2] && firstAsDouble(*in[2]) != 0.0;
        if (training) {
            const double ratio = in.size() > 1 && in[1] && in[1]->numel() > 0 ? firstAsDouble(*in[1]) : 0.5;
            if (ratio != 0.0) return unsupported(who + ": training mode with a non-zero ratio is not supported");
        }
        copyBytes(*in[0], *out[0]);
        if (hasMask && out.size() > 1 && out[1]) std::memset(out[1]->data(), 1, out[1]->bytes());
        return {};
    });
}

template <class S, class D> inline D convertValue(S v)
{
    if constexpr (std::is_same_v<S, Half>) {
        return convertValue<float, D>(halfToFloat(v.bits));
    } else if constexpr (std::is_same_v<D, Half>) {
        return Half { floatToHalf(static_cast<float>(v)) };
    } else if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D>) {
        // Saturate: out-of-range float to integer conversion is undefined behaviour in C++.
        if (v != v) return D(0);
        if (v <= static_cast<S>(std::numeric_limits<D>::lowest())) return std::numeric_limits<D>::lowest();
        if (v >= static_cast<S>(std::numeric_limits<D>::max())) return std::numeric_limits<D>::max();
        return static_cast<D>(v);
    } else {
        return static_cast<D>(v);
    }
}

template <class S> inline bool nonZero(S v)
{
    if constexpr (std::is_same_v<S, Half>)
        return (v.bits & 0x7fffu) != 0;
    else
        return v != S(0);
}

constexpr unsigned kCastTypes = kNumeric | kBool | kHalf;

void castData(const Tensor& src, Tensor& dst)
{
    if (src.dtype() == dst.dtype()) {
        copyBytes(src, dst);
        return;
    }
    const int64_t n = src.numel();
    visitType<kCastTypes>(src.dtype(), [&](auto stag) {
        using S = typename decltype(stag)::type;
        const S* s = src.ptr<S>();
        if (dst.dtype() == DType::Bool) {
            uint8_t* d = dst.ptr<uint8_t>();
            parallelFor(n, kGrain, [&](int64_t b, int64_t e) {
                for (int64_t i = b; i < e; ++i)
                    d[i] = nonZero(s[i]);
            });
            return;
        }
        visitType<kCastTypes>(dst.dtype(), [&](auto dtag) {
            using D = typename decltype(dtag)::type;
            D* d = dst.ptr<D>();
            parallelFor(n, kGrain, [&](int64_t b, int64_t e) {
                for (int64_t i = b; i < e; ++i)
                    d[i] = convertValue<S, D>(s[i]);
            });
        });
    });
}

bool castable(DType t)
{
    return visitType<kCastTypes>(t, [](auto) {});
}

KernelResult makeCastTo(const KernelArgs& args, DType to)
{
    const ValueDesc& x = args.inputs[0];
    if (!castable(x.dtype)) return typeUnsupported(args.node, x.dtype);
    if (!castable(to)) return nodeUnsupported(args.node, std::string("cast to ") + dtypeName(to) + " is not supported");
    return makeKernel({ { to, x.shape } }, [](const Ins& in, const Outs& out) {
        castData(*in[0], *out[0]);
        return Status {};
    });
}

KernelResult makeCast(const KernelArgs& args)
{
    DL_TRY(expectInputs(args, 1, 1));
    const int64_t to = args.node.attrInt("to", 0);
    if (to <= 0 || to > static_cast<int64_t>(DType::U64))
        return nodeUnsupported(args.node, "cast to ONNX type " + std::to_string(to) + " is not supported");
    return makeCastTo(args, static_cast<DType>(to));
}

KernelResult makeCastLike(const KernelArgs& args)
{
    DL_TRY(expectInputs(args, 2, 2));
    return makeCastTo(args, args.inputs[1].dtype);
}

// ---- binary --------------------------------------------------------------------------------------------------

enum class Bin { Add, Sub, Mul, Div, Max, Min, Mod, FMod, PRelu, Eq, Lt, Gt, Le, Ge, And, Or, Xor, Shl, Shr };

constexpr bool boolResult(Bin op)
{
    return op >= Bin::Eq && op <= Bin::Xor;
}

constexpr unsigned binTypes(Bin op)
{
    switch (op) {
    case Bin::PRelu:
        return kSignedNum;
    case Bin::Eq:
        return kNumeric | kBool;
    case Bin::And:
    case Bin::Or:
    case Bin::Xor:
        return kBool;
    case Bin::Shl:
    case Bin::Shr:
        return kUnsigned;
    default:
        return kNumeric;
    }
}

// Integer division that neither traps (x / 0, INT_MIN / -1) nor aborts the process on bad data.
template <class T> inline T safeDiv(T a, T b)
{
    if (b == T(0)) return T(0);
    if constexpr (std::is_signed_v<T>)
        if (b == T(-1)) return static_cast<T>(T(0) - static_cast<std::make_unsigned_t<T>>(a));
    return static_cast<T>(a / b);
}

template <class T> inline T safeRem(T a, T b)
{
    if (b == T(0)) return T(0);
    if constexpr (std::is_signed_v<T>)
        if (b == T(-1)) return T(0);
    return static_cast<T>(a % b);
}

template <Bin op, class T> auto binFn()
{
    if constexpr (op == Bin::Add)
        return [](T a, T b) { return static_cast<T>(a + b); };
    else if constexpr (op == Bin::Sub)
        return [](T a, T b) { return static_cast<T>(a - b); };
    else if constexpr (op == Bin::Mul)
        return [](T a, T b) { return static_cast<T>(a * b); };
    else if constexpr (op == Bin::Div && std::is_floating_point_v<T>)
        return [](T a, T b) { return a / b; };
    else if constexpr (op == Bin::Div)
        return [](T a, T b) { return safeDiv(a, b); };
    else if constexpr (op == Bin::Max)
        return [](T a, T b) { return std::max(a, b); };
    else if constexpr (op == Bin::Min)
        return [](T a, T b) { return std::min(a, b); };
    else if constexpr (op == Bin::FMod && std::is_floating_point_v<T>)
        return [](T a, T b) { return std::fmod(a, b); };
    else if constexpr (op == Bin::FMod)
        return [](T a, T b) { return safeRem(a, b); };
    else if constexpr (op == Bin::Mod) {
        // The result takes the divisor's sign (Python's %).
        return [](T a, T b) {
            T m;
            if constexpr (std::is_floating_point_v<T>)
                m = std::fmod(a, b);
            else
                m = safeRem(a, b);
            if constexpr (std::is_signed_v<T> || std::is_floating_point_v<T>)
                if (m != T(0) && ((m < T(0)) != (b < T(0)))) m = static_cast<T>(m + b);
            return m;
        };
    } else if constexpr (op == Bin::PRelu)
        return [](T x, T s) { return x < T(0) ? static_cast<T>(x * s) : x; };
    else if constexpr (op == Bin::Eq)
        return [](T a, T b) -> uint8_t { return a == b; };
    else if constexpr (op == Bin::Lt)
        return [](T a, T b) -> uint8_t { return a < b; };
    else if constexpr (op == Bin::Gt)
        return [](T a, T b) -> uint8_t { return a > b; };
    else if constexpr (op == Bin::Le)
        return [](T a, T b) -> uint8_t { return a <= b; };
    else if constexpr (op == Bin::Ge)
        return [](T a, T b) -> uint8_t { return a >= b; };
    else if constexpr (op == Bin::And)
        return [](T a, T b) -> uint8_t { return a != 0 && b != 0; };
    else if constexpr (op == Bin::Or)
        return [](T a, T b) -> uint8_t { return a != 0 || b != 0; };
    else if constexpr (op == Bin::Xor)
        return [](T a, T b) -> uint8_t { return (a != 0) != (b != 0); };
    else if constexpr (op == Bin::Shl)
        return [](T a, T b) { return b >= T(sizeof(T) * 8) ? T(0) : static_cast<T>(a << b); };
    else
        return [](T a, T b) { return b >= T(sizeof(T) * 8) ? T(0) : static_cast<T>(a >> b); };
}

template <class A, class B, class O, class F>
std::unique_ptr<Kernel> binaryKernel(const Shape& sa, const Shape& sb, const Shape& so, DType odt, F f)
{
    Broadcast bc = Broadcast::make({ sa, sb }, so);
    const int inPlace = sa == so && sizeof(A) == sizeof(O) ? 0 : sb == so && sizeof(B) == sizeof(O) ? 1 : -1;
    auto k = makeKernel(
        { { odt, so } },
        [bc = std::move(bc), f](const Ins& in, const Outs& out) {
            const A* a = in[0]->ptr<A>();
            const B* b = in[1]->ptr<B>();
            O* o = out[0]->ptr<O>();
            bc.forEach(kGrain, [&](const Offsets& off, int64_t at, int64_t n) {
                binarySpan(a + off[0], bc.step(0), b + off[1], bc.step(1), o + at, n, f);
            });
            return Status {};
        },
        static_cast<double>(numElements(so)));
    k->inPlaceInput = inPlace;
    return k;
}

Result<Shape> broadcastFor(const KernelArgs& args)
{
    DL_TRY(expectInputs(args, 2, 2));
    if (!args.inputs[1].present()) return nodeError(args.node, "second input is missing");
    auto so = broadcastShapes(args.inputs[0].shape, args.inputs[1].shape);
    if (!so.ok()) return shapeError(args.node, so.error());
    return so;
}

// PyTorch's older exports give PRelu a per-channel slope of shape C for NxCx...; ONNX broadcasting would
// align it with the last axis instead.
Shape preluSlopeShape(const Shape& x, const Shape& slope)
{
    auto so = broadcastShapes(x, slope);
    if ((!so.ok() || so.value() != x) && slope.size() == 1 && x.size() >= 2 && slope[0] == x[1]) {
        Shape s(x.size() - 1, 1);
        s[0] = slope[0];
        return s;
    }
    return slope;
}

template <Bin op> KernelResult makeBinary(const KernelArgs& args)
{
    KernelArgs adjusted = args;
    if (op == Bin::PRelu && args.inputs.size() == 2)
        adjusted.inputs[1].shape = preluSlopeShape(args.inputs[0].shape, args.inputs[1].shape);
    DL_ASSIGN(Shape so, broadcastFor(adjusted));
    const ValueDesc& a = adjusted.inputs[0];
    const ValueDesc& b = adjusted.inputs[1];
    if (a.dtype != b.dtype)
        return nodeError(
            args.node, std::string("input types ") + dtypeName(a.dtype) + " and " + dtypeName(b.dtype) + " differ");
    if (op == Bin::PRelu && so != a.shape)
        return nodeError(args.node,
            "slope shape " + shapeToString(b.shape) + " does not broadcast to input shape " + shapeToString(a.shape));
    std::unique_ptr<Kernel> k;
    visitType<binTypes(op)>(a.dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        using O = std::conditional_t<boolResult(op), uint8_t, T>;
        k = binaryKernel<T, T, O>(a.shape, b.shape, so, boolResult(op) ? DType::Bool : a.dtype, binFn<op, T>());
    });
    if (!k) return typeUnsupported(args.node, a.dtype);
    return k;
}

// Integer power by squaring, wrapping on overflow as integer arithmetic does.
template <class A, class B> inline A intPow(A base, B exp)
{
    if constexpr (std::is_signed_v<B>) {
        if (exp < 0) {
            if (base == 1) return A(1);
            if (base == -1) return (exp & 1) ? A(-1) : A(1);
            return A(0);
        }
    }
    uint64_t result = 1;
    uint64_t b = static_cast<uint64_t>(static_cast<int64_t>(base));
    for (uint64_t e = static_cast<uint64_t>(exp); e; e >>= 1) {
        if (e & 1) result *= b;
        b *= b;
    }
    return static_cast<A>(result);
}

template <class A, class B> auto powFn()
{
    if constexpr (std::is_floating_point_v<A>)
        return [](A a, B b) { return std::pow(a, static_cast<A>(b)); };
    else if constexpr (std::is_floating_point_v<B>)
        return
            [](A a, B b) { return convertValue<double, A>(std::pow(static_cast<double>(a), static_cast<double>(b))); };
    else
        return [](A a, B b) { return intPow(a, b); };
}

// Pow takes the base's type; the exponent may have another. A constant scalar exponent of 0.5, 1, 2 or 3
// (x^2 in normalisations) avoids pow() altogether.
KernelResult makePow(const KernelArgs& args)
{
    DL_ASSIGN(Shape so, broadcastFor(args));
    const ValueDesc& a = args.inputs[0];
    const ValueDesc& b = args.inputs[1];
    if (a.dtype == DType::F32 && b.constant && b.constant->numel() == 1 && so == a.shape) {
        const double e = b.constant->toDouble()[0];
        auto fast = [&](auto f) {
            return makeKernel(
                { { a.dtype, so } },
                [f](const Ins& in, const Outs& out) { return mapUnary<float, float>(*in[0], *out[0], kGrain, f); },
                static_cast<double>(numElements(so)));
        };
        if (e == 2.0) return fast([](float x) { return x * x; });
        if (e == 3.0) return fast([](float x) { return x * x * x; });
        if (e == 1.0) return fast([](float x) { return x; });
        if (e == 0.5) return fast([](float x) { return std::sqrt(x); });
    }
    std::unique_ptr<Kernel> k;
    visitType<kFloat | kSigned>(a.dtype, [&](auto atag) {
        using A = typename decltype(atag)::type;
        visitType<kNumeric>(b.dtype, [&](auto btag) {
            using B = typename decltype(btag)::type;
            k = binaryKernel<A, B, A>(a.shape, b.shape, so, a.dtype, powFn<A, B>());
        });
    });
    if (!k)
        return nodeUnsupported(
            args.node, std::string("types ") + dtypeName(a.dtype) + " ^ " + dtypeName(b.dtype) + " are not supported");
    return k;
}

// Sum, Mean, Max, Min over any number of inputs: the first two combine into the output, every further input
// is folded into it in place.
template <Bin op> KernelResult makeVariadic(const KernelArgs& args, bool mean)
{
    const Node& node = args.node;
    DL_TRY(expectInputs(args, 1, 1u << 16));
    const DType dt = args.inputs[0].dtype;
    Shape so = args.inputs[0].shape;
    std::vector<Shape> shapes;
    for (const auto& v : args.inputs) {
        if (!v.present()) return nodeError(node, "an input is missing");
        if (v.dtype != dt)
            return nodeError(
                node, std::string("input types ") + dtypeName(dt) + " and " + dtypeName(v.dtype) + " differ");
        auto s = broadcastShapes(so, v.shape);
        if (!s.ok()) return shapeError(node, s.error());
        so = s.value();
        shapes.push_back(v.shape);
    }
    std::vector<Broadcast> plans;
    if (shapes.size() == 1)
        plans.push_back(Broadcast::make({ shapes[0], shapes[0] }, so));
    else
        plans.push_back(Broadcast::make({ shapes[0], shapes[1] }, so));
    for (size_t i = 2; i < shapes.size(); ++i)
        plans.push_back(Broadcast::make({ so, shapes[i] }, so));
    const int64_t count = static_cast<int64_t>(shapes.size());
    std::unique_ptr<Kernel> k;
    visitType<kNumeric>(dt, [&](auto tag) {
        using T = typename decltype(tag)::type;
        k = makeKernel(
            { { dt, so } },
            [plans, mean, count](const Ins& in, const Outs& out) {
                T* o = out[0]->ptr<T>();
                auto f = binFn<op, T>();
                if (count == 1) {
                    copyBytes(*in[0], *out[0]);
                }
                for (size_t p = 0; p < plans.size() && count > 1; ++p) {
                    const Broadcast& bc = plans[p];
                    const T* a = p == 0 ? in[0]->ptr<T>() : o;
                    const T* b = in[p + 1]->ptr<T>();
                    bc.forEach(kGrain, [&](const Offsets& off, int64_t at, int64_t n) {
                        binarySpan(a + off[0], bc.step(0), b + off[1], bc.step(1), o + at, n, f);
                    });
                }
                if (mean && count > 1) {
                    if constexpr (std::is_floating_point_v<T>) {
                        const T scale = T(1) / static_cast<T>(count);
                        parallelFor(out[0]->numel(), kGrain, [&](int64_t b, int64_t e) {
#pragma omp simd
                            for (int64_t i = b; i < e; ++i)
                                o[i] *= scale;
                        });
                    } else {
                        for (int64_t i = 0; i < out[0]->numel(); ++i)
                            o[i] = static_cast<T>(o[i] / static_cast<T>(count));
                    }
                }
                return Status {};
            },
            static_cast<double>(numElements(so) * count));
    });
    if (!k) return typeUnsupported(node, dt);
    return k;
}

// ---- Where ---------------------------------------------------------------------------------------------------

template <class T>
DL_SIMD_CLONES void whereSpan(
    const uint8_t* c, int64_t sc, const T* x, int64_t sx, const T* y, int64_t sy, T* o, int64_t n)
{
    if (sc && sx && sy) {
#pragma omp simd
        for (int64_t i = 0; i < n; ++i)
            o[i] = c[i] ? x[i] : y[i];
    } else {
        for (int64_t i = 0; i < n; ++i)
            o[i] = c[i * sc] ? x[i * sx] : y[i * sy];
    }
}

KernelResult makeWhere(const KernelArgs& args)
{
    DL_TRY(expectInputs(args, 3, 3));
    const ValueDesc& c = args.inputs[0];
    const ValueDesc& x = args.inputs[1];
    const ValueDesc& y = args.inputs[2];
    if (c.dtype != DType::Bool) return typeUnsupported(args.node, c.dtype, "condition");
    if (x.dtype != y.dtype)
        return nodeError(
            args.node, std::string("input types ") + dtypeName(x.dtype) + " and " + dtypeName(y.dtype) + " differ");
    auto s1 = broadcastShapes(c.shape, x.shape);
    if (!s1.ok()) return shapeError(args.node, s1.error());
    auto so = broadcastShapes(s1.value(), y.shape);
    if (!so.ok()) return shapeError(args.node, so.error());
    Broadcast bc = Broadcast::make({ c.shape, x.shape, y.shape }, so.value());
    auto build = [&](auto tag) {
        using T = typename decltype(tag)::type;
        return makeKernel({ { x.dtype, so.value() } }, [bc](const Ins& in, const Outs& out) {
            const uint8_t* pc = in[0]->ptr<uint8_t>();
            const T* px = in[1]->ptr<T>();
            const T* py = in[2]->ptr<T>();
            T* po = out[0]->ptr<T>();
            bc.forEach(kGrain, [&](const Offsets& off, int64_t at, int64_t n) {
                whereSpan(pc + off[0], bc.step(0), px + off[1], bc.step(1), py + off[2], bc.step(2), po + at, n);
            });
            return Status {};
        });
    };
    switch (dtypeSize(x.dtype)) {
    case 1:
        return build(Tag<uint8_t> {});
    case 2:
        return build(Tag<uint16_t> {});
    case 4:
        return build(Tag<uint32_t> {});
    case 8:
        return build(Tag<uint64_t> {});
    default:
        return typeUnsupported(args.node, x.dtype);
    }
}

} // namespace

void registerElementwiseOps(OpRegistry& r)
{
    registerUnary(r);
    r.add("Clip", withHalf(makeClip));
    r.add("Identity", makeIdentity);
    r.add("Dropout", makeDropout);
    r.add("Cast", makeCast);
    r.add("CastLike", makeCastLike);
    r.add("Where", makeWhere);

    r.add("Add", withHalf(makeBinary<Bin::Add>));
    r.add("Sub", withHalf(makeBinary<Bin::Sub>));
    r.add("Mul", withHalf(makeBinary<Bin::Mul>));
    r.add("Div", withHalf(makeBinary<Bin::Div>));
    r.add("PRelu", withHalf(makeBinary<Bin::PRelu>));
    r.add("Equal", withHalf(makeBinary<Bin::Eq>));
    r.add("Less", withHalf(makeBinary<Bin::Lt>));
    r.add("Greater", withHalf(makeBinary<Bin::Gt>));
    r.add("LessOrEqual", withHalf(makeBinary<Bin::Le>));
    r.add("GreaterOrEqual", withHalf(makeBinary<Bin::Ge>));
    r.add("And", makeBinary<Bin::And>);
    r.add("Or", makeBinary<Bin::Or>);
    r.add("Xor", makeBinary<Bin::Xor>);
    r.add("Pow", withHalf(makePow));
    r.add("Mod", withHalf([](const KernelArgs& args) {
        return args.node.attrInt("fmod", 0) != 0 ? makeBinary<Bin::FMod>(args) : makeBinary<Bin::Mod>(args);
    }));
    r.add("BitShift", [](const KernelArgs& args) -> KernelResult {
        const std::string dir = args.node.attrString("direction", "");
        if (dir == "LEFT") return makeBinary<Bin::Shl>(args);
        if (dir == "RIGHT") return makeBinary<Bin::Shr>(args);
        return nodeError(args.node, "direction '" + dir + "' is neither LEFT nor RIGHT");
    });
    r.add("Sum", withHalf([](const KernelArgs& args) { return makeVariadic<Bin::Add>(args, false); }));
    r.add("Mean", withHalf([](const KernelArgs& args) { return makeVariadic<Bin::Add>(args, true); }));
    r.add("Max", withHalf([](const KernelArgs& args) { return makeVariadic<Bin::Max>(args, false); }));
    r.add("Min", withHalf([](const KernelArgs& args) { return makeVariadic<Bin::Min>(args, false); }));
}

} // namespace dl::cpu
