#include "format.h"

#include <QLocale>

namespace dl::ui {

QString formatBytes(size_t bytes)
{
    return QLocale().formattedDataSize(static_cast<qint64>(bytes), 1, QLocale::DataSizeIecFormat);
}

QString formatCount(int64_t value)
{
    return QLocale().toString(static_cast<qlonglong>(value));
}

QString formatShape(const Shape& shape)
{
    return toQString(shapeToString(shape));
}

QString formatScaled(double value, double unit, int decimals)
{
    return QLocale().toString(value / unit, 'f', decimals);
}

} // namespace dl::ui
