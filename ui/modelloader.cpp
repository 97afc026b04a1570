#include "modelloader.h"

#include "workerthreads.h"

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
    , m_workers(new WorkerThreads(this))
{
    qRegisterMetaType<LoadResultPtr>();
    m_workers->onThreadEnded([this] { Q_EMIT jobEnded(); });
}

ModelLoader::~ModelLoader()
{
    for (auto& job : m_jobs)
        job->cancel = true;
    // The workers post to this object until they return, so they must be gone before it is.
    delete m_workers;
}

int ModelLoader::runningJobs() const
{
    return m_workers->running();
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

    m_jobs.push_back(job);
    m_workers->run(
        QStringLiteral("dl-model-loader"),
        [this, job] {
            int lastPercent = -1;
            const auto progress = [&](double fraction) {
                const int percent = static_cast<int>(fraction * 100.0);
                if (percent == lastPercent) return;
                lastPercent = percent;
                m_workers->post([this, generation = job->generation, percent] { onProgress(generation, percent); });
            };
            std::shared_ptr<LoadResult> result = runLoad(job->path, job->cancel, progress);
            result->generation = job->generation;
            return LoadResultPtr(std::move(result));
        },
        [this, job](const LoadResultPtr& result) {
            std::erase(m_jobs, job);
            onResult(result);
        },
        [this, job](const QString& what) {
            // The engine reports errors as values; what still gets here is the allocator giving up.
            auto result = std::make_shared<LoadResult>();
            result->path = job->path;
            result->status = LoadResult::Status::Failed;
            result->error = tr("Out of resources: %1").arg(what);
            result->generation = job->generation;
            std::erase(m_jobs, job);
            onResult(result);
        });

    if (!wasBusy) Q_EMIT busyChanged(true);
    Q_EMIT started(path);
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

} // namespace dl::ui
