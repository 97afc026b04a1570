#include "modelloader.h"

#include "format.h"
#include "model/importer.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QThread>

#include <algorithm>
#include <exception>

namespace dl::ui {

namespace {

// Import dominates (parsing, weight conversion); the summary plans the graph, which is quicker but not free.
constexpr double ImportShare = 0.9;
constexpr int64_t kDynamicDimDefault = 640;

QString darknetWeightsFor(const QString& cfgPath)
{
    const QFileInfo cfg(cfgPath);
    if (cfg.suffix().compare(QStringLiteral("cfg"), Qt::CaseInsensitive) != 0) return {};
    const QFileInfo weights(cfg.dir().filePath(cfg.completeBaseName() + QStringLiteral(".weights")));
    return weights.isFile() ? weights.filePath() : QString();
}

std::shared_ptr<LoadResult> runLoad(
    const QString& path, const std::atomic<bool>& cancel, const std::function<void(double)>& progress)
{
    auto result = std::make_shared<LoadResult>();
    result->path = path;
    const auto report = [&](double fraction) {
        if (progress) progress(std::clamp(fraction, 0.0, 1.0));
    };
    const auto cancelled = [&] {
        result->status = LoadResult::Status::Cancelled;
        return result;
    };
    const auto failed = [&](const dl::Error& error) {
        if (error.code == ErrorCode::Cancelled) return cancelled();
        result->status = LoadResult::Status::Failed;
        result->error = toQString(error.message);
        return result;
    };
    if (cancel) return cancelled();

    ImportOptions options;
    result->weightsPath = darknetWeightsFor(path);
    options.darknetWeights = result->weightsPath.toStdString();
    options.progress = [&](double fraction) {
        report(fraction * ImportShare);
        return !cancel.load();
    };
    QElapsedTimer timer;
    timer.start();
    auto graph = importModel(path.toStdString(), options);
    result->importMs = timer.restart();
    if (!graph) return failed(graph.error());
    if (cancel) return cancelled();
    report(ImportShare);

    // Dynamic image sizes (PaddleOCR's N x 3 x H x W) are shown at 640, the size these models are usually run at.
    auto summary = summarizeModel(graph.value(), {}, kDynamicDimDefault);
    result->summarizeMs = timer.elapsed();
    if (!summary) return failed(summary.error());
    result->summary = std::make_shared<const ModelSummary>(std::move(summary).value());
    result->status = LoadResult::Status::Loaded;
    report(1.0);
    return result;
}

} // namespace

LoadResultPtr loadModelBlocking(
    const QString& path, const std::atomic<bool>& cancel, const std::function<void(double)>& progress)
{
    return runLoad(path, cancel, progress);
}

struct ModelLoader::Job
{
    quint64 generation = 0;
    QString path;
    std::atomic<bool> cancel { false };
};

ModelLoader::ModelLoader(QObject* parent)
    : QObject(parent)
{
    qRegisterMetaType<LoadResultPtr>();
}

ModelLoader::~ModelLoader()
{
    for (auto& running : m_jobs)
        running.job->cancel = true;
    // The workers post to this object until they return, so they must be gone before it is.
    for (auto& running : m_jobs) {
        running.thread->disconnect(this);
        running.thread->wait();
        delete running.thread;
    }
}

QString ModelLoader::currentPath() const
{
    return m_current ? m_current->path : QString();
}

quint64 ModelLoader::load(const QString& path)
{
    const bool wasBusy = isBusy();
    cancelCurrent();

    auto job = std::make_shared<Job>();
    job->generation = ++m_generation;
    job->path = path;
    m_current = job;

    QThread* thread = QThread::create([this, job] {
        std::shared_ptr<LoadResult> result;
        int lastPercent = -1;
        const auto progress = [&](double fraction) {
            const int percent = static_cast<int>(fraction * 100.0);
            if (percent == lastPercent) return;
            lastPercent = percent;
            QMetaObject::invokeMethod(
                this, [this, generation = job->generation, percent] { onProgress(generation, percent); },
                Qt::QueuedConnection);
        };
        try {
            result = runLoad(job->path, job->cancel, progress);
        } catch (const std::exception& e) {
            // The engine reports errors as values; what still gets here is the allocator giving up.
            result = std::make_shared<LoadResult>();
            result->path = job->path;
            result->status = LoadResult::Status::Failed;
            result->error = tr("Out of resources: %1").arg(QString::fromLocal8Bit(e.what()));
        }
        result->generation = job->generation;
        QMetaObject::invokeMethod(
            this, [this, result = LoadResultPtr(std::move(result))] { onResult(result); }, Qt::QueuedConnection);
    });
    thread->setObjectName(QStringLiteral("dl-model-loader"));
    connect(thread, &QThread::finished, this, [this, thread] { onThreadFinished(thread); });
    m_jobs.push_back({ thread, job });

    if (!wasBusy) Q_EMIT busyChanged(true);
    Q_EMIT started(path);
    thread->start();
    return job->generation;
}

void ModelLoader::cancel()
{
    if (!isBusy()) return;
    cancelCurrent();
    Q_EMIT busyChanged(false);
}

void ModelLoader::cancelCurrent()
{
    if (!m_current) return;
    m_current->cancel = true;
    const QString path = m_current->path;
    m_current.reset();
    Q_EMIT cancelled(path);
}

void ModelLoader::onProgress(quint64 generation, int percent)
{
    if (m_current && m_current->generation == generation) Q_EMIT progressChanged(percent);
}

void ModelLoader::onResult(const LoadResultPtr& result)
{
    if (!m_current || m_current->generation != result->generation) {
        Q_EMIT discarded(result);
        return;
    }
    m_current.reset();
    if (result->status == LoadResult::Status::Cancelled)
        Q_EMIT cancelled(result->path);
    else
        Q_EMIT finished(result);
    Q_EMIT busyChanged(false);
}

void ModelLoader::onThreadFinished(QThread* thread)
{
    std::erase_if(m_jobs, [thread](const Running& running) { return running.thread == thread; });
    thread->deleteLater();
    Q_EMIT jobEnded();
}

} // namespace dl::ui
