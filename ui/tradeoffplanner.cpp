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
    const std::string host = rq.deviceHost.isEmpty() ? dl::thisDevice().host : rq.deviceHost.toStdString();
    for (const auto& r : *list) {
        if (r.modelHash != hash || r.status != store::RunStatus::Ok || r.device.host != host) continue;
        out->points.push_back({ r.id, qs(r.arch), static_cast<double>(r.weightsPeak), r.latencyMedianMs, r.startedMs });
    }
    // The profiles and their calibrations, chosen as dlayer plan chooses them (plan/profiles.h), of this device.
    store::ProfileQuery query;
    query.modelHash = hash;
    query.host = host;
    query.layers = static_cast<size_t>(std::max(0, rq.layers));
    query.precision = precisionName(rq.precision);
    auto loaded = store::loadProfiles(**store, query);
    if (!loaded.ok()) {
        out->error = qs(loaded.error().message);
    } else {
        for (store::LoadedProfile& lp : *loaded) {
            PlanProfile p;
            p.runId = lp.run.id;
            p.arch = qs(lp.run.arch);
            p.splitBytes = lp.splitBytes;
            p.model = std::move(lp.model);
            p.calibrationRunId = lp.calibration ? lp.calibration->id : 0;
            out->profiles.push_back(std::move(p));
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
        } else {
            out->frontier = std::move(f->points);
            out->pointProfile = std::move(f->from);
        }
    }
    // The other precision's frontier, to draw beside this one.
    out->otherPrecision = rq.precision == Precision::F32 ? Precision::F16 : Precision::F32;
    query.precision = precisionName(out->otherPrecision);
    auto other = store::loadProfiles(**store, query);
    if (!other.ok()) {
        out->otherError = qs(other.error().message);
        return out;
    }
    std::vector<plan::CostModel> models;
    for (const store::LoadedProfile& lp : *other)
        models.push_back(lp.model);
    const size_t base = plan::smallestReach(models, rq.arch);
    plan::alignKernelSpeeds(models, base);
    auto f = plan::mergedFrontier(models, base, rq.arch, rq.points);
    if (f.ok())
        out->otherFrontier = std::move(f->points);
    else
        out->otherError = qs(f.error().message);
    return out;
}

TradeoffPlanner::TradeoffPlanner(QObject* parent)
    : QObject(parent)
{
    qRegisterMetaType<PlanResultPtr>();
}

TradeoffPlanner::~TradeoffPlanner() = default; // m_workers waits for the plans in progress

quint64 TradeoffPlanner::plan(const PlanRequest& request)
{
    const quint64 generation = ++m_generation;
    ++m_busy;
    const auto deliver = [this](const std::shared_ptr<PlanResult>& result) {
        --m_busy;
        if (result->generation == m_generation) Q_EMIT planned(result);
    };
    m_workers->run(
        QStringLiteral("dl-plan"),
        [request, generation] {
            auto result = std::const_pointer_cast<PlanResult>(planBlocking(request));
            result->generation = generation;
            return result;
        },
        deliver,
        [deliver, request, generation](const QString& what) {
            auto result = std::make_shared<PlanResult>();
            result->request = request;
            result->generation = generation;
            result->error = what;
            deliver(result);
        });
    return generation;
}

} // namespace dl::ui
