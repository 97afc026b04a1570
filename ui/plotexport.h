#pragma once

// PNG and PDF of any plot. The picture is drawn into memory on the GUI thread (QCustomPlot draws only there), and
// the bytes are written to the file on a worker thread, so the GUI thread never waits on the disk.

#include <QByteArray>
#include <QObject>
#include <QString>

#include <functional>

class QCustomPlot;
class QThread;

namespace dl::ui {

// The plot as PNG (twice the on-screen resolution) or PDF (vector), chosen by the path's suffix (.pdf: PDF; else
// PNG). Empty when the plot has no size.
QByteArray renderPlot(QCustomPlot* plot, const QString& path);

class WorkerThreads;

// Writes `bytes` to `path` (beside it, then renamed into place) on one of `workers`; `done(error)` is called on their
// owner's thread afterwards, with an empty error on success.
void writeFileInBackground(
    WorkerThreads& workers, const QString& path, const QByteArray& bytes, std::function<void(const QString&)> done);

} // namespace dl::ui
