#pragma once

// dlayer run --record DB: a run, its per-layer times, memory timeline and trace events into the run store; and
// dlayer runs DB list|show|export|import|delete.

#include "cli.h"

#include "memory/ledger.h"
#include "pack/packcache.h"
#include "trace/trace.h"

#include <string>
#include <vector>

namespace dlcli {

struct RecordedRun
{
    const json* report = nullptr; // what run --json prints (or would)
    std::string modelHash, modelPath;
    int64_t weightBytes = 0;
    std::vector<std::string> layerNames; // by layer index
    std::vector<int64_t> layerBytes; // by layer: padded weight bytes
    std::vector<bool> layerResident; // by layer: held from set-up on
    int warmup = 0;
    std::vector<double> timesMs; // timed iterations
    std::vector<dl::TraceEvent> events;
    std::vector<dl::MemoryLedger::Sample> timeline;
    std::array<size_t, dl::kMemTagCount> peaks {};
    size_t peakTotal = 0, rssPeak = 0;
    double stallMs = 0;
    double diskMBps = 0; // the device's read rate, when the run measured it alone (sequential reads)
    json config = json::object();
    int64_t startedMs = 0;
    bool failed = false;
    std::string error;
};

int64_t unixMs();
// Fails the command when `db` cannot be opened as a run store (a foreign or newer file, no permission).
void checkRecordable(const std::string& db);
// Stores `r` in the store at o.record; a store that cannot be opened or written fails the command, naming it.
int64_t recordRun(const Options& o, const RecordedRun& r);

int cmdRuns(const Options& o);

} // namespace dlcli
