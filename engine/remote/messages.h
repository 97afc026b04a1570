#pragma once

// The bodies of the board protocol's run messages, written and read here for both ends (no Qt): a run request, which
// names its model by identity only, and a batch of trace events. Reading checks every field and every count against
// the protocol's caps, so that what a client sends can neither name a path on the board nor make the agent allocate
// beyond them.

#include "core/result.h"
#include "remote/protocol.h"
#include "runtime/modelinfo.h"
#include "session/session.h"
#include "trace/trace.h"

#include <string>
#include <vector>

namespace dl::remote {

// What a client may ask of a run (`live`: false runs it without a live trace for anyone, as the benchmark of the
// agent's own cost compares): the model by sha256 (the board resolves it in its own store of uploaded models),
// the architecture and its settings, the iterations. Paths (the model file, the pack directory, a trace file, input
// files) are the board's business and never travel.
// `model` is the spec's identity (modelHash); a Darknet model with a weights file names its two files by their own
// sha256 too (`modelFile`, `weightsFile`), as they were uploaded.
Json runRequestToJson(
    const RunSpec& spec, const std::string& modelFileSha256 = {}, const std::string& weightsFileSha256 = {});
// The spec the board runs, with the model at `modelPath` and its weights at `weightsPath` (found by the caller from
// the request's files, see requestedFiles()). Invalid, naming the field, for a malformed request, a field out of
// range or a field that names a path.
Result<RunSpec> runSpecFromRequest(
    const Json& request, const std::string& modelPath, const std::string& weightsPath = {});
// The model a run request names: a sha256 of 64 lowercase hex digits, else Invalid.
Result<std::string> requestedModel(const Json& request);
// The files to run: the model file's sha256 (the identity itself unless the request says otherwise) and the weights
// file's (empty: none).
struct RequestedFiles
{
    std::string model, weights;
};
Result<RequestedFiles> requestedFiles(const Json& request);
bool isSha256(const std::string& s);

// What a run produced since the previous batch, as the studio's live views take it (the local session's EventBatch,
// without Qt): trace events (labels do not travel) and the ledger's counter samples, each kind as fixed-width
// little-endian records in one byte string; the latencies of the iterations that ended, the agent's RSS, and how
// many events were left out for a slow client since the previous batch (`dropped`; the latencies and the last
// counters always travel).
struct LiveBatch
{
    std::vector<TraceEvent> events;
    std::vector<CounterSample> counters;
    std::vector<std::pair<int, double>> latencies; // (iteration, ms), warm-up included
    std::vector<std::pair<int64_t, int64_t>> rss; // (trace-clock ns, bytes)
    int iterationsDone = 0, iterationsPlanned = 0; // warm-up included; planned 0: continuous
    uint64_t dropped = 0;
};
Json batchToJson(const LiveBatch& batch);
// Invalid, naming the row, for a malformed batch or more rows than kMaxArrayItems.
Result<LiveBatch> batchFromJson(const Json& body);

// What a prepared run streams (RunStarted): the session's set-up without the board's paths, and the trace clock's
// time at its end (`originNs`, the views' time zero: event times are the agent's clock).
Json setupToJson(const SessionSetup& setup, int64_t originNs);
struct RemoteSetup
{
    SessionSetup setup; // modelPath, weightsPath and packPath are empty: they name files on the board
    int64_t originNs = 0;
};
Result<RemoteSetup> setupFromJson(const Json& body);

// A model's summary as `dlayer info --json` prints it and an agent answers Info with.
Json summaryToJson(const ModelSummary& s);

Json progressToJson(const Progress& p);
Result<Progress> progressFromJson(const Json& body);

} // namespace dl::remote
