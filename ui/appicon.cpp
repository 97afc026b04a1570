#include "appicon.h"

#include <QImageReader>
#include <QPainter>
#include <QPainterPath>
#include <QPixmap>

namespace dl::ui {

// Three stacked layers with the top one lifting off: weights arriving on demand. Drawn on a 64-unit grid, the
// same geometry as resources/icons/dlstudio.svg.
static QPixmap paintIcon(int size)
{
    QPixmap pixmap(size, size);
    pixmap.fill(Qt::transparent);
    QPainter p(&pixmap);
    p.setRenderHint(QPainter::Antialiasing);
    p.scale(size / 64.0, size / 64.0);

    p.setPen(Qt::NoPen);
    p.setBrush(QColor(0x1e, 0x29, 0x3b));
    p.drawRoundedRect(QRectF(2, 2, 60, 60), 12, 12);

    const auto layer = [&p](qreal y, const QColor& color) {
        QPainterPath path;
        path.moveTo(32, y);
        path.lineTo(54, y + 9);
        path.lineTo(32, y + 18);
        path.lineTo(10, y + 9);
        path.closeSubpath();
        p.setBrush(color);
        p.drawPath(path);
    };
    layer(36, QColor(0x33, 0x41, 0x55));
    layer(27, QColor(0x0e, 0xa5, 0xe9));
    layer(12, QColor(0xf5, 0x9e, 0x0b));
    return pixmap;
}

QIcon appIcon()
{
    const QString svg = QStringLiteral(":/icons/dlstudio.svg");
    if (QImageReader::supportedImageFormats().contains("svg")) {
        QIcon icon(svg);
        if (!icon.isNull() && !icon.availableSizes().isEmpty()) return icon;
    }
    QIcon icon;
    for (int size : { 16, 24, 32, 48, 64, 128, 256 })
        icon.addPixmap(paintIcon(size));
    return icon;
}

} // namespace dl::ui
