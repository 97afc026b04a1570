#include "runrecorder.h"

#include "workerthreads.h"

#include "runbuild.h"
#include "runstore.h"

#include <filesystem>

namespace dl::ui {

RunRecorder::RunRecorder(QObject* parent)
    : QObject(parent)
    , m_workers(new WorkerThreads(this))
{
    qRegisterMetaType<RunOutcomePtr>();
}

RunRecorder::~RunRecorder() = default;

void RunRecorder::attach(EngineSession* session)
{
    connect(session, &EngineSession::runFinished, this, &RunRecorder::record);
}

void RunRecorder::record(const RunOutcomePtr& outcome)
{
    // Every run that ran is kept: a stopped one as cancelled, with the iterations it finished.
    // A board's run is the board's stored run, kept as it is (its uuid and the board's device identity).
    const bool ran = outcome->boardRun
        || (outcome->engine
            && (outcome->status != RunOutcome::Status::Cancelled || !outcome->engine->report.latenciesMs.empty()));
    if (m_storePath.isEmpty() || !ran) {
        Q_EMIT recorded(outcome);
        return;
    }
    const std::string path = m_storePath.toStdString();
    m_workers->run(
        QStringLiteral("dl-record"),
        [outcome, path] {
            auto stored = std::make_shared<RunOutcome>(*outcome);
            std::error_code ec;
            const auto parent = std::filesystem::path(path).parent_path();
            if (!parent.empty()) std::filesystem::create_directories(parent, ec); // a failure shows in open()
            auto store = store::RunStore::open(path);
            Result<int64_t> id = store.ok() ? Result<int64_t>(int64_t(0)) : Result<int64_t>(store.error());
            if (store.ok() && outcome->boardRun) {
                // Already there when a sync fetched it first.
                id = (*store)->runIdByUuid(outcome->boardRun->uuid);
                if (id.ok() && *id == 0) id = (*store)->addRun(*outcome->boardRun);
            } else if (store.ok()) {
                id = (*store)->addRun(store::runFromOutcome(*outcome->engine));
            }
            if (id.ok())
                stored->storedRunId = *id;
            else
                stored->storeError = QString::fromStdString(id.error().message);
            return RunOutcomePtr(std::move(stored));
        },
        [this](const RunOutcomePtr& stored) { Q_EMIT recorded(stored); });
}

} // namespace dl::ui
