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

// Writes `bytes` to `path` (beside it, then renamed into place) on a worker thread; `done(error)` is called on
// `context`'s thread afterwards, with an empty error on success. Returns the thread, which deletes itself when done;
// `context` must wait for it (QPointer<QThread> and wait()) before it goes away.
QThread* writeFileInBackground(
    QObject* context, const QString& path, const QByteArray& bytes, std::function<void(const QString&)> done);

} // namespace dl::ui
