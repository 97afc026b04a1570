#include "tradeoffplanner.h"

#include "engineheaders.h"

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
    // The profile: the newest sequential run of the model (its reads ran alone), else the newest streaming one.
    std::vector<int64_t> sequential, streaming;
    // Runs of this model on this device: latencies of another machine are not this one's.
    const std::string host = store::thisDevice().host;
    for (const auto& r : *list) {
        if (r.modelHash != hash || r.status != store::RunStatus::Ok || r.device.host != host) continue;
        out->points.push_back({ r.id, qs(r.arch), static_cast<double>(r.weightsPeak), r.latencyMedianMs, r.startedMs });
        if (r.arch == "in-memory" || r.arch == "preload") continue;
        (r.arch == "sequential" ? sequential : streaming).push_back(r.id);
    }
    std::optional<store::Run> profile;
    for (auto* ids : { &sequential, &streaming })
        for (auto it = ids->rbegin(); it != ids->rend() && !profile; ++it) {
            auto run = (*store)->run(*it);
            if (run.ok() && static_cast<int>(run->layers.size()) == rq.layers && store::runSplitBytes(*run) == 0)
                profile = std::move(run).value();
        }
    if (!profile) {
        out->error
            = TradeoffPlanner::tr("No streaming run of this model to profile from: profile it (a sequential run)");
        return out;
    }
    out->profileRunId = profile->id;
    out->profileArch = qs(profile->arch);
    auto model = store::costModelFromRun(*profile);
    if (!model.ok()) {
        out->error = qs(model.error().message);
        return out;
    }
    out->model = std::move(model).value();
    // The newest pipelined run of the model here (a Run This Configuration, say) calibrates the read contention; a
    // run that cannot is left out rather than failing the plan.
    if (auto cal = store::findCalibrationRun(**store, *profile); cal.ok() && *cal)
        if (auto input = store::calibrationRunOf(**cal); input.ok())
            if (auto c = plan::calibrate(out->model, *input); c.ok()) {
                out->model.contention = c->contention;
                out->calibrationRunId = (*cal)->id;
            }
    // And the newest paired one, the kernels' slowdown beside reads (plan::calibrateKernels()).
    if (auto paired = store::findCalibrationRun(**store, *profile, true); paired.ok() && *paired)
        if (auto input = store::pairedRunOf(**paired); input.ok())
            if (auto k = plan::calibrateKernels(out->model, *input); k.ok())
                out->model.contention.kernelMsPerMB = k->kernelMsPerMB;
    const auto t0 = std::chrono::steady_clock::now();
    auto f = plan::frontier(out->model, rq.arch, rq.points);
    out->computeMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!f.ok()) {
        out->error = qs(f.error().message);
        return out;
    }
    out->frontier = std::move(f).value();
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
