#pragma once

// Dense tensors. A Tensor is a shape, an element type and a pointer to memory that it either shares
// ownership of (allocated, 64-byte aligned, zeroed) or merely views (memory owned elsewhere, e.g. an arena).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace dl {

// Numbering follows ONNX TensorProto.DataType so that importers convert by cast.
enum class DType : uint8_t {
    Undefined = 0,
    F32 = 1,
    U8 = 2,
    I8 = 3,
    U16 = 4,
    I16 = 5,
    I32 = 6,
    I64 = 7,
    String = 8,
    Bool = 9,
    F16 = 10,
    F64 = 11,
    U32 = 12,
    U64 = 13,
};

// Bytes per element; 0 for Undefined and String.
size_t dtypeSize(DType t);
const char* dtypeName(DType t);

using Shape = std::vector<int64_t>;

// Product of the dimensions (1 for a scalar).
int64_t numElements(const Shape& s);
// "1x3x224x224"; "scalar" for rank 0.
std::string shapeToString(const Shape& s);

float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);

class Tensor
{
public:
    Tensor() = default;
    // Allocates zeroed, 64-byte aligned storage for the shape.
    Tensor(DType dtype, Shape shape);
    // A non-owning view of `data`, which must outlive every copy of the view.
    static Tensor view(DType dtype, Shape shape, void* data);
    // Owns `storage` (allocated elsewhere, freed by its deleter when the last copy goes: device memory, for one).
    static Tensor adopt(DType dtype, Shape shape, std::shared_ptr<std::byte> storage);

    bool valid() const { return m_dtype != DType::Undefined; }
    DType dtype() const { return m_dtype; }
    const Shape& shape() const { return m_shape; }
    int64_t dim(int i) const { return m_shape[i < 0 ? i + rank() : i]; }
    int rank() const { return static_cast<int>(m_shape.size()); }
    int64_t numel() const { return numElements(m_shape); }
    size_t bytes() const { return static_cast<size_t>(numel()) * dtypeSize(m_dtype); }

    void* data() { return m_data; }
    const void* data() const { return m_data; }
    template <typename T> T* ptr() { return reinterpret_cast<T*>(m_data); }
    template <typename T> const T* ptr() const { return reinterpret_cast<const T*>(m_data); }
    template <typename T> std::span<const T> values() const { return { ptr<T>(), static_cast<size_t>(numel()) }; }

    // Same storage, another shape of the same element count.
    Tensor reshaped(Shape shape) const;
    // A deep copy into fresh storage.
    Tensor clone() const;
    // Reads an integer tensor (I64, I32, ...) as int64 values; empty for non-integer types.
    std::vector<int64_t> toInt64() const;
    // Reads any numeric tensor as doubles.
    std::vector<double> toDouble() const;
    // Converts to another numeric element type (F16 included), in fresh storage.
    Tensor cast(DType to) const;

private:
    DType m_dtype = DType::Undefined;
    Shape m_shape;
    std::shared_ptr<std::byte> m_storage;
    std::byte* m_data = nullptr;
};

} // namespace dl
