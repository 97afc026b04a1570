#pragma once

// The bodies of the board protocol's run messages, written and read here for both ends (no Qt): a run request, which
// names its model by identity only, and a batch of trace events. Reading checks every field and every count against
// the protocol's caps, so that what a client sends can neither name a path on the board nor make the agent allocate
// beyond them.

#include "core/result.h"
#include "remote/protocol.h"
#include "session/session.h"
#include "trace/trace.h"

#include <string>
#include <vector>

namespace dl::remote {

// What a client may ask of a run: the model by sha256 (the board resolves it in its own store of uploaded models),
// the architecture and its settings, the iterations. Paths (the model file, the pack directory, a trace file, input
// files) are the board's business and never travel.
Json runRequestToJson(const RunSpec& spec);
// The spec the board runs, with the model at `modelPath` (found by the caller from the request's sha256, see
// requestedModel()). Invalid, naming the field, for a malformed request, a field out of range or a field that names
// a path.
Result<RunSpec> runSpecFromRequest(const Json& request, const std::string& modelPath);
// The model a run request names: a sha256 of 64 lowercase hex digits, else Invalid.
Result<std::string> requestedModel(const Json& request);

// Trace events as a compact array of rows [kind, stage, layer, iteration, begin_ns, end_ns, bytes] (labels do not
// travel); `dropped` counts events left out for a slow client since the previous batch.
Json eventsToJson(const std::vector<TraceEvent>& events, uint64_t dropped = 0);
struct EventBatchBody
{
    std::vector<TraceEvent> events;
    uint64_t dropped = 0;
};
// Invalid, naming the row, for a malformed batch or more rows than kMaxArrayItems.
Result<EventBatchBody> eventsFromJson(const Json& body);

} // namespace dl::remote
