#include "plotexport.h"

#include "workerthreads.h"

#include "qcustomplotheader.h"

#include <QBuffer>
#include <QPdfWriter>
#include <QPointer>
#include <QSaveFile>
#include <QThread>

namespace dl::ui {

QByteArray renderPlot(QCustomPlot* plot, const QString& path)
{
    const int w = plot->width(), h = plot->height();
    if (w <= 0 || h <= 0) return {};
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    if (path.endsWith(QStringLiteral(".pdf"), Qt::CaseInsensitive)) {
        QPdfWriter pdf(&buffer);
        pdf.setCreator(QStringLiteral("Demand Layering Studio"));
        pdf.setPageSize(QPageSize(QSizeF(w, h), QPageSize::Point));
        pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
        pdf.setResolution(72); // one point per pixel: the plot keeps its on-screen proportions
        QCPPainter painter(&pdf);
        painter.setMode(QCPPainter::pmVectorized);
        painter.setMode(QCPPainter::pmNoCaching);
        plot->toPainter(&painter, w, h);
        painter.end();
    } else {
        plot->toPixmap(w, h, 2.0).save(&buffer, "PNG");
    }
    return bytes;
}

void writeFileInBackground(
    WorkerThreads& workers, const QString& path, const QByteArray& bytes, std::function<void(const QString&)> done)
{
    workers.run(
        QStringLiteral("dl-write"),
        [path, bytes] {
            QSaveFile file(path);
            QString error;
            if (bytes.isEmpty())
                error = QObject::tr("nothing to write: the plot has no size");
            else if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit())
                error = QObject::tr("cannot write %1: %2").arg(path, file.errorString());
            return error;
        },
        done, done);
}

} // namespace dl::ui
