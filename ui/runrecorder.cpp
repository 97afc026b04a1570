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
    const bool ran = outcome->engine
        && (outcome->status != RunOutcome::Status::Cancelled || !outcome->engine->report.latenciesMs.empty());
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
            auto id = store.ok() ? (*store)->addRun(store::runFromOutcome(*outcome->engine))
                                 : Result<int64_t>(store.error());
            if (id.ok())
                stored->storedRunId = *id;
            else
                stored->storeError = QString::fromStdString(id.error().message);
            return RunOutcomePtr(std::move(stored));
        },
        [this](const RunOutcomePtr& stored) { Q_EMIT recorded(stored); });
}

} // namespace dl::ui
