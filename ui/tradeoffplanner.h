#pragma once

// The trade-off's background work: for the open model, the recorded runs of it on this device (each a point of
// memory against latency), a cost model from its best profile run of each split (whole layers, and layers cut at
// the sizes it was profiled with), and the planner's frontier over them and lower bound for an architecture. Everything
// (hashing the model file, reading the store, planning) runs on a worker thread and comes back as an immutable
// PlanResult by queued signal; a newer request makes older ones stale, and their results are dropped.

#include "pack/layerpack.h"
#include "pipeline/arch.h"
#include "plan/planner.h"
#include "workerthreads.h"

#include <QMetaType>
#include <QObject>
#include <QString>

#include <memory>
#include <vector>

namespace dl::ui {

struct PlanRequest
{
    QString storePath;
    QString modelPath;
    QString weightsPath; // Darknet .weights, if any: part of the model's hash
    dl::Arch arch = dl::Arch::TwoStage;
    int layers = 0; // the open model's layer count: a profile of whole layers must have as many
    int points = 64; // budgets on the frontier
    QString deviceHost; // whose runs to weigh: a board's host name; empty: this machine's
    // The packs planned for: the profiles are runs of packs of this precision (dl::plan::chooseProfiles), and so are
    // the configurations the frontier's points become.
    dl::Precision precision = dl::Precision::F32;
};

struct RunPoint
{
    qint64 runId = 0;
    QString arch;
    double weightsBytes = 0; // the ledger's weight peak (resident + staging)
    double latencyMs = 0; // median
    qint64 startedMs = 0;
};

// A profile the plan weighed: one per split the store has a run of (the model's newest sequential run of that split,
// else its newest streaming one), its cost model calibrated and weighed at the frontier profile's speed.
struct PlanProfile
{
    qint64 runId = 0;
    QString arch;
    uint64_t splitBytes = 0; // 0: whole layers
    qint64 calibrationRunId = 0; // the pipelined run its read contention was calibrated on, 0: none
    double kernelScale = 1; // its kernel times × this, to the speed of the frontier's profile
    plan::CostModel model;
};

struct PlanResult
{
    quint64 generation = 0;
    PlanRequest request;
    QString error; // why there is no frontier (no store, no profile run, a planner error); points may still be there
    QString modelHash;
    QString modelName;
    std::vector<RunPoint> points; // every finished run of the model on this device (host), oldest first
    std::vector<plan::Choice> frontier; // from the smallest budget to the whole model
    // Every profile weighed; the frontier is profiles[base]'s (the one reaching the smallest budget), each point its
    // profile's choice (pointProfile, by point): another split's where that one predicts less at the budget.
    std::vector<PlanProfile> profiles;
    size_t base = 0;
    std::vector<size_t> pointProfile;
    double preloadMs = 0; // the kernels with every layer whole and at hand: the whole-layer profile's, else base's
    // The frontier's own profile; there is one whenever a profile was found (always with a frontier).
    const PlanProfile* frontierProfile() const { return profiles.empty() ? nullptr : &profiles[base]; }
    const PlanProfile& profileOf(size_t point) const
    {
        return profiles[point < pointProfile.size() ? pointProfile[point] : base];
    }
    // The profile of the frontier's point that is `choice` (a copy of it will do): the frontier's own when none is.
    const PlanProfile& profileOf(const plan::Choice& choice) const
    {
        for (size_t i = 0; i < frontier.size(); ++i)
            if (frontier[i].budgetBytes == choice.budgetBytes && frontier[i].config.resident == choice.config.resident
                && frontier[i].config.stagingBytes == choice.config.stagingBytes)
                return profileOf(i);
        return profiles[base];
    }
    double computeMs = 0; // the planner's time for the frontier
    bool hasFrontier() const { return !frontier.empty(); }
    // The same plan for packs of the other precision, drawn beside it so that what halving the bytes read buys (or
    // costs) shows; empty when the store has no profile of that precision (otherError says what to record).
    dl::Precision otherPrecision = dl::Precision::F16;
    std::vector<plan::Choice> otherFrontier;
    QString otherError;
};
using PlanResultPtr = std::shared_ptr<const PlanResult>;

// Runs a plan on the calling thread (what the worker does).
PlanResultPtr planBlocking(const PlanRequest& request);

class TradeoffPlanner : public QObject
{
    Q_OBJECT
public:
    explicit TradeoffPlanner(QObject* parent = nullptr);
    // Waits for the workers (each finishes its step; planning a frontier takes well under a second).
    ~TradeoffPlanner() override;

    // Starts planning; returns the generation. An older request still working is stale from now on.
    quint64 plan(const PlanRequest& request);
    bool isBusy() const { return m_busy > 0; }
    quint64 generation() const { return m_generation; }

Q_SIGNALS:
    void planned(dl::ui::PlanResultPtr result);

private:
    WorkerThreads* m_workers = new WorkerThreads(this);
    quint64 m_generation = 0;
    int m_busy = 0;
};

} // namespace dl::ui

Q_DECLARE_METATYPE(dl::ui::PlanResultPtr)
