#include "tradeoffplanner.h"

#include "core/procstat.h"
#include "core/random.h"
#include "model/importer.h"
#include "pack/layerpack.h"
#include "pack/packcache.h"
#include "pipeline/pipeline.h"
#include "plan/config.h"
#include "runbuild.h"
#include "runstore.h"
#include "runtime/executor.h"
#include "runtime/versions.h"

#include <QDateTime>
#include <QFileInfo>
#include <QThread>

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>

namespace dl::ui {

namespace {

QString qs(const std::string& s)
{
    return QString::fromStdString(s);
}

// A file's sha256, remembered by path, size and modification time: replanning (after every run, on every change of
// architecture) must not read a model of gigabytes again.
Result<std::string> cachedSha256(const QString& path)
{
    static std::mutex mutex;
    static std::map<QString, std::pair<QString, std::string>> cache; // path -> (size:mtime, hash)
    const QFileInfo fi(path);
    const QString stamp = QStringLiteral("%1:%2").arg(fi.size()).arg(fi.lastModified().toMSecsSinceEpoch());
    {
        std::lock_guard lock(mutex);
        auto it = cache.find(path);
        if (it != cache.end() && it->second.first == stamp) return it->second.second;
    }
    DL_ASSIGN(std::string hash, fileSha256(path.toStdString()));
    std::lock_guard lock(mutex);
    cache[path] = { stamp, hash };
    return hash;
}

} // namespace

PlanResultPtr planBlocking(const PlanRequest& rq)
{
    auto out = std::make_shared<PlanResult>();
    out->request = rq;
    out->modelName = QFileInfo(rq.modelPath).fileName();
    auto sha = cachedSha256(rq.modelPath);
    if (!sha.ok()) {
        out->error = qs(sha.error().message);
        return out;
    }
    std::string weightsSha;
    if (!rq.weightsPath.isEmpty()) {
        auto w = cachedSha256(rq.weightsPath);
        if (!w.ok()) {
            out->error = qs(w.error().message);
            return out;
        }
        weightsSha = *w;
    }
    const std::string hash = modelHash(*sha, weightsSha);
    out->modelHash = qs(hash);
    if (rq.storePath.isEmpty() || !std::filesystem::exists(rq.storePath.toStdString())) {
        out->error = TradeoffPlanner::tr("No runs recorded yet: profile the model (a sequential run) to plan it");
        return out;
    }
    auto store = store::RunStore::open(rq.storePath.toStdString());
    if (!store.ok()) {
        out->error = qs(store.error().message);
        return out;
    }
    auto list = (*store)->listRuns();
    if (!list.ok()) {
        out->error = qs(list.error().message);
        return out;
    }
    // Runs of this model on this device: latencies of another machine are not this one's.
    const std::string host = dl::thisDevice().host;
    for (const auto& r : *list) {
        if (r.modelHash != hash || r.status != store::RunStatus::Ok || r.device.host != host) continue;
        out->points.push_back({ r.id, qs(r.arch), static_cast<double>(r.weightsPeak), r.latencyMedianMs, r.startedMs });
    }
    // The profiles: per split, the newest sequential run of the model (its reads ran alone), else the newest
    // streaming one. A whole-layer one must have the open model's layers; one that cannot be read is passed over.
    auto ids = store::profileRunIds(**store, hash, std::nullopt, host);
    if (!ids.ok()) {
        out->error = qs(ids.error().message);
        return out;
    }
    QString unusable;
    for (const int64_t id : *ids) {
        auto run = (*store)->run(id);
        if (!run.ok()) {
            unusable = qs(run.error().message);
            continue;
        }
        const uint64_t split = store::runSplitBytes(*run);
        if (split == 0 && static_cast<int>(run->layers.size()) != rq.layers) continue;
        auto model = store::costModelFromRun(*run);
        if (!model.ok()) {
            unusable = qs(model.error().message);
            continue;
        }
        PlanProfile p;
        p.runId = run->id;
        p.arch = qs(run->arch);
        p.splitBytes = split;
        p.model = std::move(model).value();
        // The newest pipelined run of the model here with these layers (a Run This Configuration, say) calibrates
        // the read contention; a run that cannot is left out rather than failing the plan.
        if (auto cal = store::findCalibrationRun(**store, *run); cal.ok() && *cal)
            if (auto input = store::calibrationRunOf(**cal); input.ok())
                if (auto c = plan::calibrate(p.model, *input); c.ok()) {
                    p.model.contention = c->contention;
                    p.calibrationRunId = (*cal)->id;
                }
        // And the newest paired one, the kernels' slowdown beside reads (plan::calibrateKernels()).
        if (auto paired = store::findCalibrationRun(**store, *run, true); paired.ok() && *paired)
            if (auto input = store::pairedRunOf(**paired); input.ok())
                if (auto k = plan::calibrateKernels(p.model, *input); k.ok())
                    p.model.contention.kernelMsPerMB = k->kernelMsPerMB;
        out->profiles.push_back(std::move(p));
    }
    if (out->profiles.empty()) {
        out->error = !unusable.isEmpty()
            ? unusable
            : TradeoffPlanner::tr("No streaming run of this model to profile from: profile it (a sequential run)");
        return out;
    }
    // The frontier of the profile that reaches the smallest budget, the others weighed at its speed.
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<plan::CostModel> models;
    for (const PlanProfile& p : out->profiles)
        models.push_back(p.model);
    out->base = plan::smallestReach(models, rq.arch);
    const std::vector<double> scales = plan::alignKernelSpeeds(models, out->base);
    for (size_t k = 0; k < models.size(); ++k) {
        out->profiles[k].model = models[k];
        out->profiles[k].kernelScale = scales[k];
    }
    auto f = plan::mergedFrontier(models, out->base, rq.arch, rq.points);
    out->computeMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    out->preloadMs = out->profiles[out->base].model.kernelMs();
    for (const PlanProfile& p : out->profiles)
        if (p.splitBytes == 0) out->preloadMs = p.model.kernelMs();
    if (!f.ok()) {
        out->error = qs(f.error().message);
        return out;
    }
    out->frontier = std::move(f->points);
    out->pointProfile = std::move(f->from);
    return out;
}

TradeoffPlanner::TradeoffPlanner(QObject* parent)
    : QObject(parent)
{
    qRegisterMetaType<PlanResultPtr>();
}

TradeoffPlanner::~TradeoffPlanner()
{
    for (QThread* t : m_threads) {
        t->wait();
        delete t;
    }
}

quint64 TradeoffPlanner::plan(const PlanRequest& request)
{
    const quint64 generation = ++m_generation;
    ++m_busy;
    QThread* thread = QThread::create([this, request, generation] {
        auto result = std::const_pointer_cast<PlanResult>(planBlocking(request));
        result->generation = generation;
        QMetaObject::invokeMethod(
            this,
            [this, result] {
                --m_busy;
                if (result->generation == m_generation) Q_EMIT planned(result);
            },
            Qt::QueuedConnection);
    });
    connect(thread, &QThread::finished, this, [this, thread] {
        std::erase(m_threads, thread);
        thread->deleteLater();
    });
    m_threads.push_back(thread);
    thread->start();
    return generation;
}

} // namespace dl::ui
