// Reductions (ReduceSum and its nine siblings), ArgMax/ArgMin and CumSum.

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

enum class Red { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };
enum class Combine { Add, Max, Min, Mul };

constexpr Combine combineOf(Red op)
{
    switch (op) {
    case Red::Max:
        return Combine::Max;
    case Red::Min:
        return Combine::Min;
    case Red::Prod:
        return Combine::Mul;
    default:
        return Combine::Add;
    }
}

constexpr unsigned redTypes(Red op)
{
    switch (op) {
    case Red::L2:
    case Red::LogSum:
    case Red::LogSumExp:
        return kFloat;
    default:
        return kNumeric;
    }
}

// A reduction is init, map each element, combine, then finish with the element count.
template <Red op, class T> struct Reducer
{
    static T init()
    {
        if constexpr (op == Red::Max)
            return std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                        : std::numeric_limits<T>::lowest();
        else if constexpr (op == Red::Min)
            return std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity()
                                                        : std::numeric_limits<T>::max();
        else if constexpr (op == Red::Prod)
            return T(1);
        else
            return T(0);
    }
    static T map(T x)
    {
        if constexpr (op == Red::L1) {
            if constexpr (std::is_unsigned_v<T>)
                return x;
            else
                return x < T(0) ? static_cast<T>(-x) : x;
        } else if constexpr (op == Red::L2 || op == Red::SumSquare) {
            return static_cast<T>(x * x);
        } else {
            return x;
        }
    }
    static T combine(T a, T b)
    {
        if constexpr (combineOf(op) == Combine::Max)
            return std::max(a, b);
        else if constexpr (combineOf(op) == Combine::Min)
            return std::min(a, b);
        else if constexpr (combineOf(op) == Combine::Mul)
            return static_cast<T>(a * b);
        else
            return static_cast<T>(a + b);
    }
    static T finish(T acc, int64_t count)
    {
        if constexpr (op == Red::Mean)
            return count == 0 ? acc : static_cast<T>(acc / static_cast<T>(count));
        else if constexpr (op == Red::L2)
            return std::sqrt(acc);
        else if constexpr (op == Red::LogSum)
            return std::log(acc);
        else
            return acc;
    }
};

// Reduces n contiguous elements; the reduction clauses let the compiler keep one accumulator per lane.
template <Red op, class T> DL_SIMD_CLONES T reduceContiguous(const T* x, int64_t n)
{
    using R = Reducer<op, T>;
    T acc = R::init();
    if constexpr (combineOf(op) == Combine::Max) {
#pragma omp simd reduction(max : acc)
        for (int64_t i = 0; i < n; ++i)
            acc = x[i] > acc ? x[i] : acc;
    } else if constexpr (combineOf(op) == Combine::Min) {
#pragma omp simd reduction(min : acc)
        for (int64_t i = 0; i < n; ++i)
            acc = x[i] < acc ? x[i] : acc;
    } else if constexpr (combineOf(op) == Combine::Mul) {
#pragma omp simd reduction(* : acc)
        for (int64_t i = 0; i < n; ++i)
            acc = static_cast<T>(acc * x[i]);
    } else {
#pragma omp simd reduction(+ : acc)
        for (int64_t i = 0; i < n; ++i)
            acc = static_cast<T>(acc + R::map(x[i]));
    }
    return acc;
}

// acc[i] = combine(acc[i], map(x[i])).
template <Red op, class T> DL_SIMD_CLONES void accumulateRow(const T* x, T* acc, int64_t n)
{
    using R = Reducer<op, T>;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i)
        acc[i] = R::combine(acc[i], R::map(x[i]));
}

// Where the reduced axes lie in the input. With one block of adjacent reduced axes (the usual case) the
// input is outer x count x inner; otherwise every output element sums over a list of offsets.
struct ReducePlan
{
    bool simple = true;
    int64_t outer = 1, count = 1, inner = 1;
    std::vector<int64_t> keptOffsets; // general case: input offset of each output element
    std::vector<int64_t> reducedOffsets; // general case: offsets of the reduced elements
};

// Offsets of every index combination of `dims` (with `strides`), in row-major order.
std::vector<int64_t> offsetsOf(const std::vector<int64_t>& dims, const std::vector<int64_t>& strides)
{
    std::vector<int64_t> out { 0 };
    for (size_t d = 0; d < dims.size(); ++d) {
        std::vector<int64_t> next;
        next.reserve(out.size() * static_cast<size_t>(dims[d]));
        for (int64_t base : out)
            for (int64_t i = 0; i < dims[d]; ++i)
                next.push_back(base + i * strides[d]);
        out.swap(next);
    }
    return out;
}

ReducePlan planReduce(const Shape& in, const std::vector<bool>& reduced, bool forceGeneral)
{
    ReducePlan p;
    // Merge adjacent axes with the same role; size-1 axes play no part.
    std::vector<int64_t> dims;
    std::vector<bool> roles;
    for (size_t d = 0; d < in.size(); ++d) {
        if (in[d] == 1) continue;
        if (!dims.empty() && roles.back() == reduced[d]) {
            dims.back() *= in[d];
        } else {
            dims.push_back(in[d]);
            roles.push_back(reduced[d]);
        }
    }
    int reducedBlocks = 0;
    for (bool r : roles)
        reducedBlocks += r ? 1 : 0;
    if (reducedBlocks <= 1 && !forceGeneral) {
        bool seen = false;
        for (size_t i = 0; i < dims.size(); ++i) {
            if (roles[i]) {
                p.count = dims[i];
                seen = true;
            } else if (seen) {
                p.inner *= dims[i];
            } else {
                p.outer *= dims[i];
            }
        }
        return p;
    }
    p.simple = false;
    std::vector<int64_t> strides(dims.size());
    int64_t s = 1;
    for (size_t i = dims.size(); i-- > 0;) {
        strides[i] = s;
        s *= dims[i];
    }
    std::vector<int64_t> kd, ks, rd, rs;
    for (size_t i = 0; i < dims.size(); ++i) {
        (roles[i] ? rd : kd).push_back(dims[i]);
        (roles[i] ? rs : ks).push_back(strides[i]);
    }
    p.keptOffsets = offsetsOf(kd, ks);
    p.reducedOffsets = offsetsOf(rd, rs);
    p.count = static_cast<int64_t>(p.reducedOffsets.size());
    return p;
}

template <Red op, class T> void runReduce(const ReducePlan& p, const T* x, T* y)
{
    using R = Reducer<op, T>;
    const int64_t count = p.count;
    const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(count, 1));
    if constexpr (op == Red::LogSumExp) {
        // Subtracting the maximum keeps exp() from overflowing.
        const int64_t outputs = static_cast<int64_t>(p.keptOffsets.size());
        parallelFor(outputs, grain, [&](int64_t b, int64_t e) {
            for (int64_t o = b; o < e; ++o) {
                const T* base = x + p.keptOffsets[o];
                T m = -std::numeric_limits<T>::infinity();
                for (int64_t off : p.reducedOffsets)
                    m = std::max(m, base[off]);
                if (std::isinf(m)) {
                    y[o] = m;
                    continue;
                }
                T sum = 0;
                for (int64_t off : p.reducedOffsets)
                    sum += std::exp(base[off] - m);
                y[o] = m + std::log(sum);
            }
        });
    } else if (!p.simple) {
        const int64_t outputs = static_cast<int64_t>(p.keptOffsets.size());
        parallelFor(outputs, grain, [&](int64_t b, int64_t e) {
            for (int64_t o = b; o < e; ++o) {
                const T* base = x + p.keptOffsets[o];
                T acc = R::init();
                for (int64_t off : p.reducedOffsets)
                    acc = R::combine(acc, R::map(base[off]));
                y[o] = R::finish(acc, count);
            }
        });
    } else if (p.inner == 1) {
        parallelFor(p.outer, grain, [&](int64_t b, int64_t e) {
            for (int64_t o = b; o < e; ++o)
                y[o] = R::finish(reduceContiguous<op, T>(x + o * count, count), count);
        });
    } else {
        // Accumulate whole rows so that the inner loop runs over contiguous memory.
        const int64_t inner = p.inner;
        parallelFor(p.outer * inner, grain, [&](int64_t b, int64_t e) {
            while (b < e) {
                const int64_t o = b / inner;
                const int64_t i0 = b % inner;
                const int64_t i1 = std::min(inner, i0 + (e - b));
                T* out = y + o * inner;
                const T* in = x + o * count * inner;
                for (int64_t i = i0; i < i1; ++i)
                    out[i] = R::init();
                for (int64_t j = 0; j < count; ++j)
                    accumulateRow<op, T>(in + j * inner + i0, out + i0, i1 - i0);
                for (int64_t i = i0; i < i1; ++i)
                    out[i] = R::finish(out[i], count);
                b += i1 - i0;
            }
        });
    }
}

// Axes come from the second input when it is given (ReduceSum since opset 13, all reductions since 18),
// else from the attribute. An input must be a constant: it decides the output shape.
Result<std::vector<int64_t>> reduceAxes(const KernelArgs& args)
{
    if (args.inputs.size() > 1 && args.inputs[1].present()) {
        const ValueDesc& a = args.inputs[1];
        if (!a.constant && numElements(a.shape) == 0) return std::vector<int64_t> {};
        if (!a.constant) return nodeUnsupported(args.node, "axes given as a non-constant input are not supported");
        if (a.dtype != DType::I64 && a.dtype != DType::I32)
            return nodeError(args.node, std::string("axes have type ") + dtypeName(a.dtype) + ", expected int64");
        return a.constant->toInt64();
    }
    return args.node.attrInts("axes");
}

template <Red op> KernelResult makeReduce(const KernelArgs& args)
{
    const Node& node = args.node;
    DL_TRY(expectInputs(args, 1, 2));
    const ValueDesc& x = args.inputs[0];
    DL_ASSIGN(std::vector<int64_t> axes, reduceAxes(args));
    const bool keep = node.attrInt("keepdims", 1) != 0;
    const int rank = static_cast<int>(x.shape.size());
    std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty());
    const bool noop = axes.empty() && node.attrInt("noop_with_empty_axes", 0) != 0;
    if (noop) reduced.assign(static_cast<size_t>(rank), false);
    for (int64_t a : axes) {
        DL_ASSIGN(int ax, normalizeAxis(node, a, rank));
        reduced[static_cast<size_t>(ax)] = true;
    }
    Shape out;
    for (int d = 0; d < rank; ++d) {
        if (!reduced[static_cast<size_t>(d)])
            out.push_back(x.shape[static_cast<size_t>(d)]);
        else if (keep)
            out.push_back(1);
    }
    ReducePlan plan = planReduce(x.shape, reduced, op == Red::LogSumExp);
    const double flops = static_cast<double>(numElements(x.shape));
    std::unique_ptr<Kernel> k;
    visitType<redTypes(op)>(x.dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        k = makeKernel(
            { { x.dtype, out } },
            [plan = std::move(plan)](const Ins& in, const Outs& o) {
                runReduce<op, T>(plan, in[0]->ptr<T>(), o[0]->ptr<T>());
                return Status {};
            },
            flops);
    });
    if (!k) return typeUnsupported(node, x.dtype);
    return k;
}

// ---- ArgMax / ArgMin -----------------------------------------------------------------------------------------

template <bool isMax> KernelResult makeArg(const KernelArgs& args)
{
    const Node& node = args.node;
    DL_TRY(expectInputs(args, 1, 1));
    const ValueDesc& x = args.inputs[0];
    const int rank = static_cast<int>(x.shape.size());
    DL_ASSIGN(int axis, normalizeAxis(node, node.attrInt("axis", 0), rank));
    const bool keep = node.attrInt("keepdims", 1) != 0;
    const bool last = node.attrInt("select_last_index", 0) != 0;
    int64_t outer = 1, count = 1, inner = 1;
    Shape out;
    for (int d = 0; d < rank; ++d) {
        const int64_t n = x.shape[static_cast<size_t>(d)];
        if (d < axis)
            outer *= n;
        else if (d > axis)
            inner *= n;
        else
            count = n;
        if (d != axis)
            out.push_back(n);
        else if (keep)
            out.push_back(1);
    }
    if (count == 0)
        return nodeError(node, "cannot take an arg" + std::string(isMax ? "max" : "min") + " over an empty axis");
    std::unique_ptr<Kernel> k;
    visitType<kNumeric>(x.dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        k = makeKernel({ { DType::I64, out } }, [=](const Ins& in, const Outs& o) {
            const T* px = in[0]->ptr<T>();
            int64_t* py = o[0]->ptr<int64_t>();
            parallelFor(outer * inner, std::max<int64_t>(1, kGrain / count), [&](int64_t b, int64_t e) {
                for (int64_t idx = b; idx < e; ++idx) {
                    const T* p = px + (idx / inner) * count * inner + idx % inner;
                    T best = p[0];
                    int64_t at = 0;
                    for (int64_t j = 1; j < count; ++j) {
                        const T v = p[j * inner];
                        const bool better = isMax ? (last ? v >= best : v > best) : (last ? v <= best : v < best);
                        if (better) {
                            best = v;
                            at = j;
                        }
                    }
                    py[idx] = at;
                }
            });
            return Status {};
        });
    });
    if (!k) return typeUnsupported(node, x.dtype);
    return k;
}

// ---- CumSum --------------------------------------------------------------------------------------------------

KernelResult makeCumSum(const KernelArgs& args)
{
    const Node& node = args.node;
    DL_TRY(expectInputs(args, 2, 2));
    const ValueDesc& x = args.inputs[0];
    if (args.inputs[1].dtype != DType::I32 && args.inputs[1].dtype != DType::I64)
        return typeUnsupported(node, args.inputs[1].dtype, "axis");
    const bool exclusive = node.attrInt("exclusive", 0) != 0;
    const bool reverse = node.attrInt("reverse", 0) != 0;
    const Shape shape = x.shape;
    std::unique_ptr<Kernel> k;
    visitType<kNumeric>(x.dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        // The axis is read at run time: it does not change the output shape, so it need not be a constant.
        k = makeKernel({ { x.dtype, shape } }, [=, who = node.describe()](const Ins& in, const Outs& o) -> Status {
            const int rank = static_cast<int>(shape.size());
            const int64_t a = static_cast<int64_t>(firstAsDouble(*in[1]));
            if (in[1]->numel() != 1 || a < -rank || a >= std::max(rank, 1))
                return invalid(who + ": axis must be one value in [-rank, rank)");
            const int axis = static_cast<int>(a < 0 ? a + rank : a);
            int64_t outer = 1, n = 1, inner = 1;
            for (int d = 0; d < rank; ++d)
                (d < axis ? outer : d > axis ? inner : n) *= shape[static_cast<size_t>(d)];
            const T* px = in[0]->ptr<T>();
            T* py = o[0]->ptr<T>();
            parallelFor(
                outer, std::max<int64_t>(1, kGrain / std::max<int64_t>(n * inner, 1)), [&](int64_t b, int64_t e) {
                    for (int64_t ob = b; ob < e; ++ob) {
                        const T* src = px + ob * n * inner;
                        T* dst = py + ob * n * inner;
                        for (int64_t step = 0; step < n; ++step) {
                            const int64_t j = reverse ? n - 1 - step : step;
                            const int64_t prev = reverse ? j + 1 : j - 1;
                            T* row = dst + j * inner;
                            const T* prevRow = dst + prev * inner;
                            const T* prevSrc = src + prev * inner;
                            const T* cur = src + j * inner;
                            for (int64_t i = 0; i < inner; ++i) {
                                if (step == 0)
                                    row[i] = exclusive ? T(0) : cur[i];
                                else
                                    row[i] = static_cast<T>(prevRow[i] + (exclusive ? prevSrc[i] : cur[i]));
                            }
                        }
                    }
                });
            return {};
        });
    });
    if (!k) return typeUnsupported(node, x.dtype);
    return k;
}

} // namespace

void registerReduceOps(OpRegistry& r)
{
    r.add("ReduceSum", withHalf(makeReduce<Red::Sum>));
    r.add("ReduceMean", withHalf(makeReduce<Red::Mean>));
    r.add("ReduceMax", withHalf(makeReduce<Red::Max>));
    r.add("ReduceMin", withHalf(makeReduce<Red::Min>));
    r.add("ReduceProd", withHalf(makeReduce<Red::Prod>));
    r.add("ReduceL1", withHalf(makeReduce<Red::L1>));
    r.add("ReduceL2", withHalf(makeReduce<Red::L2>));
    r.add("ReduceLogSum", withHalf(makeReduce<Red::LogSum>));
    r.add("ReduceLogSumExp", withHalf(makeReduce<Red::LogSumExp>));
    r.add("ReduceSumSquare", withHalf(makeReduce<Red::SumSquare>));
    r.add("ArgMax", withHalf(makeArg<true>));
    r.add("ArgMin", withHalf(makeArg<false>));
    r.add("CumSum", withHalf(makeCumSum));
}

} // namespace dl::cpu
