#include "core/random.h"

#include <vector>

namespace dl {

Tensor seededTensor(DType dtype, const Shape& shape, uint64_t seed)
{
    SplitMix64 rng(seed);
    const int64_t n = numElements(shape);
    if (dtype == DType::F32) {
        Tensor t(dtype, shape);
        float* p = t.ptr<float>();
        for (int64_t i = 0; i < n; ++i)
            p[i] = rng.uniform();
        return t;
    }
    Tensor ints(DType::I64, shape);
    int64_t* p = ints.ptr<int64_t>();
    const bool isFloat = dtype == DType::F64 || dtype == DType::F16;
    if (isFloat) {
        Tensor f(DType::F32, shape);
        float* q = f.ptr<float>();
        for (int64_t i = 0; i < n; ++i)
            q[i] = rng.uniform();
        return f.cast(dtype);
    }
    const uint64_t range = dtype == DType::Bool ? 2 : 10;
    for (int64_t i = 0; i < n; ++i)
        p[i] = static_cast<int64_t>(rng.next() % range);
    return ints.cast(dtype);
}

} // namespace dl
