#pragma once

// The engine session: the only thing the views talk to. It starts, streams and stops runs, and delivers what a run
// produces as immutable structs by queued signal: the set-up (RunInfo), batches of trace events and counters at most
// ~30 a second (EventBatch), and the outcome (RunOutcome). The local session embeds the engine on a worker thread;
// a remote one (an agent on the board) implements the same interface over a socket, so that the views never know
// which one they watch. Every run carries an id; signals of a run the views no longer follow are theirs to drop.

#include "core/tensor.h"
#include "memory/ledger.h"
#include "pipeline/arch.h"
#include "runstore.h"
#include "session/session.h"
#include "trace/trace.h"

#include <QMetaType>
#include <QObject>
#include <QString>

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dl::ui {

struct RunRequest
{
    QString modelPath;
    QString weightsPath; // Darknet .weights; empty for ONNX or seeded weights
    std::map<std::string, Shape> inputShapes; // as the model was planned for its summary; empty: the model's own
    dl::Arch arch = dl::Arch::TwoStage;
    qint64 stagingBytes = 0; // async and two-stage rings; 0: the smallest that works
    std::vector<int> resident; // layer indices held from set-up on
    qint64 budgetBytes = 0; // > 0: the budget rule picks staging and resident layers (the two above are ignored)
    // > 0: layers whose weights exceed it are cut into pieces (dl::ExecutorOptions::splitBytes); 0: whole layers, or
    // with a budget the split it asks for (dl::splitForBudget), as dlayer run --budget picks it
    qint64 splitBytes = 0;
    // How the pack stores the weights (dl::RunSpec::precision); none: the model's own (fp16 for a float16 model)
    std::optional<dl::Precision> precision;
    dl::BackendKind backend = dl::BackendKind::Cpu; // what computes (dl::RunSpec::backend)
    int warmup = 1;
    int iterations = 5;
    bool continuous = false; // run until stop(); iterations is then ignored
    int threads = 0; // 0: the engine's default
    qint64 memoryLimitBytes = 0; // > 0: the engine's memory ledger refuses more (dl::RunSpec::memoryLimitBytes)
    QString packDir; // the pack cache; empty: dl::defaultPackDir()
};

// What a run streams, once it is set up (packed, buffers allocated, resident layers read).
struct RunInfo
{
    quint64 id = 0;
    QString modelPath;
    QString packPath;
    dl::Arch arch = dl::Arch::TwoStage;
    std::vector<std::string> layerNames; // by layer index
    std::vector<int64_t> layerBytes; // padded weight bytes a read covers
    std::vector<std::string> layerStored; // how the pack stores each layer ("fp16", "fp32", "fp16+fp32"); may be empty
    dl::Precision precision = dl::Precision::F32; // the pack's
    std::vector<bool> resident;
    qint64 stagingBytes = 0;
    qint64 residentBytes = 0;
    qint64 budgetBytes = 0; // as asked; 0 for none
    qint64 splitBytes = 0; // the split the run's layers were cut at; 0: whole layers
    qint64 modelWeightBytes = 0;
    QString reader; // which read path ran (io_uring + O_DIRECT, pread, ...)
    bool directIo = false;
    int64_t originNs = 0; // trace-clock time of the set-up's end: the views' time zero
    bool continuous = false; // runs until stopped: the views keep only its latest part
};

// Everything a run produced since the previous batch.
struct EventBatch
{
    quint64 id = 0;
    std::vector<dl::TraceEvent> events;
    std::vector<dl::CounterSample> counters;
    std::vector<std::pair<int64_t, qint64>> rss; // (trace-clock ns, resident set bytes), sampled with each batch
    std::vector<std::pair<int, double>> latencies; // (iteration, ms) of the inferences that ended, warm-up included
    int iterationsDone = 0; // warm-up included
    int iterationsPlanned = 0; // warm-up included; 0 for a continuous run
};

struct RunOutcome
{
    enum class Status { Ok, Failed, Cancelled };
    quint64 id = 0;
    Status status = Status::Failed;
    QString error; // Failed: the engine's message, naming the layer where one is at fault
    std::shared_ptr<const RunInfo> info; // null when the run failed before it was set up
    std::vector<double> latenciesMs; // the timed iterations
    double medianMs = 0;
    std::array<size_t, kMemTagCount> peaks {}; // ledger peaks by MemTag, from the first timed iteration on
    size_t peakTotal = 0;
    size_t rssPeak = 0;
    double readMBps = 0;
    uint64_t readBytes = 0; // per inference
    double stallMs = 0; // kernel stall per inference
    std::vector<dl::store::LayerStats> layers; // per layer, the mean over the timed iterations kept
    // What a recorder keeps (report, events, timeline); null when the run failed before it was set up.
    std::shared_ptr<const dl::SessionOutcome> engine;
    // A board's run: the board's stored run (its uuid, its device), which the recorder keeps as it is.
    std::shared_ptr<const dl::store::Run> boardRun;
    qint64 storedRunId = 0; // set by a RunRecorder; 0 when not recorded
    QString storeError; // why recording failed, when it did (the run itself may still be Ok)
};

// The engine's spec of a studio request (source "studio"); its model path is this machine's.
dl::RunSpec runSpecOf(const RunRequest& request);
// What the views need of a run that is set up: its layers, buffers and reader, with time zero now.
std::shared_ptr<RunInfo> runInfoOf(quint64 id, const RunRequest& request, const dl::SessionSetup& setup);

using RunInfoPtr = std::shared_ptr<const RunInfo>;
using EventBatchPtr = std::shared_ptr<const EventBatch>;
using RunOutcomePtr = std::shared_ptr<const RunOutcome>;

class EngineSession : public QObject
{
    Q_OBJECT
public:
    explicit EngineSession(QObject* parent = nullptr)
        : QObject(parent)
    { }

    // Starts a run and returns its id (ids grow). One run at a time: while one is in progress this returns 0 and
    // starts nothing. Everything else, bad input included, is reported through runFinished().
    virtual quint64 start(const RunRequest& request) = 0;
    // Asks the run in progress to stop (within one layer); runFinished() follows with Cancelled, or with Ok for a
    // continuous run that had timed iterations. Does nothing when idle.
    virtual void stop() = 0;
    virtual bool isRunning() const = 0;
    // Where runs go, for the window's status bar: "local engine", "agent at host:port".
    virtual QString description() const = 0;

Q_SIGNALS:
    // Set-up progress: what is happening ("importing", "packing 12/161 layers") and a percentage, -1 when unknown.
    void progressChanged(quint64 id, const QString& phase, int percent);
    void runStarted(dl::ui::RunInfoPtr info);
    void eventsArrived(dl::ui::EventBatchPtr batch);
    void runFinished(dl::ui::RunOutcomePtr outcome);
    void busyChanged(bool busy);
};

} // namespace dl::ui

Q_DECLARE_METATYPE(dl::ui::RunInfoPtr)
Q_DECLARE_METATYPE(dl::ui::EventBatchPtr)
Q_DECLARE_METATYPE(dl::ui::RunOutcomePtr)
