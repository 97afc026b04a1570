#pragma once

// dlayer run --record DB: the outcome of a run (its report, per-layer times, memory timeline and trace events) into
// the run store; and
// dlayer runs DB list|show|export|import|delete.

#include "cli.h"

#include "session/session.h"

#include <string>

namespace dlcli {

// Fails the command when `db` cannot be opened as a run store (a foreign or newer file, no permission).
void checkRecordable(const std::string& db);
// Stores the run's outcome in the store `db` (store::runFromOutcome); a store that cannot be opened or written fails
// the command, naming it. Returns the run's id there.
int64_t recordRun(const std::string& db, const dl::SessionOutcome& outcome);
// The report as `dlayer run --json` and `dlayer runs DB show ID --json` print it: the report's own document, with
// {"recorded": {"store", "run_id"}} added when it was recorded.
std::string reportWithRecord(const dl::RunReport& report, const std::string& db, int64_t runId);
std::string reportWithRecord(const std::string& reportJson, const std::string& db, int64_t runId);

int cmdRuns(const Options& o);

} // namespace dlcli
