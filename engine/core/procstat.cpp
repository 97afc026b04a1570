#include "core/procstat.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/resource.h>

namespace dl {

namespace {

// A "Name:   1234 kB" line of /proc/self/status, in bytes; 0 when missing.
size_t statusBytes(const char* field)
{
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return 0;
    const size_t len = std::strlen(field);
    char line[256];
    size_t bytes = 0;
    while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, field, len) == 0) {
            bytes = static_cast<size_t>(std::strtoull(line + len, nullptr, 10)) * 1024;
            break;
        }
    std::fclose(f);
    return bytes;
}

} // namespace

size_t processRssBytes()
{
    return statusBytes("VmRSS:");
}

size_t processPeakRssBytes()
{
    if (const size_t hwm = statusBytes("VmHWM:")) return hwm;
    struct rusage ru
    {
    };
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<size_t>(ru.ru_maxrss) * 1024;
}

bool resetProcessPeakRss()
{
    std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
    if (!f) return false;
    const bool ok = std::fputs("5", f) >= 0;
    return std::fclose(f) == 0 && ok;
}

} // namespace dl
