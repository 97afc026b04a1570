#pragma once

// The process's own measure of its memory, to check the ledger against (Linux /proc/self).

#include <cstddef>

namespace dl {

// Resident set now (VmRSS), in bytes; 0 when /proc cannot be read.
size_t processRssBytes();
// Peak resident set so far (VmHWM), else getrusage's maximum, in bytes.
size_t processPeakRssBytes();
// Starts the peak afresh where the kernel allows it (/proc/self/clear_refs "5"); false where it does not.
bool resetProcessPeakRss();

} // namespace dl
