#pragma once

// Text forms of engine quantities for the studio's views. Every function follows the current QLocale so that
// a Korean or German user reads their own digit grouping.

#include "core/tensor.h"

#include <QString>

#include <cstddef>
#include <cstdint>
#include <string>

namespace dl::ui {

// "24.3 MiB" (IEC units, one decimal).
QString formatBytes(size_t bytes);
// "1,234,567" with the locale's grouping.
QString formatCount(int64_t value);
// "1x3x224x224"; "scalar" for rank 0.
QString formatShape(const Shape& shape);
// A value in a fixed unit: formatScaled(3.2e9, 1e9) → "3.20" (GFLOPs).
QString formatScaled(double value, double unit, int decimals = 2);
// Engine strings are UTF-8.
inline QString toQString(const std::string& s)
{
    return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size()));
}

} // namespace dl::ui
