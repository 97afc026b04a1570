#include "core/procstat.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

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

std::optional<BlockDeviceCounters> blockDeviceCounters(const std::string& path)
{
    struct stat st
    {
    };
    if (::stat(path.c_str(), &st) != 0 || major(st.st_dev) == 0) return std::nullopt; // major 0: no block device
    const std::string dir
        = "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
    std::FILE* f = std::fopen((dir + "/stat").c_str(), "r");
    if (!f) return std::nullopt;
    // Documentation/block/stat.rst: reads completed, reads merged, sectors read, ms reading, writes (4 fields),
    // in flight, io_ticks, ... Sectors are 512 bytes whatever the device's own.
    unsigned long long v[10] = {};
    const int n = std::fscanf(f, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
        &v[5], &v[6], &v[7], &v[8], &v[9]);
    std::fclose(f);
    if (n != 10) return std::nullopt;
    BlockDeviceCounters c;
    char link[512];
    const ssize_t len = ::readlink(dir.c_str(), link, sizeof link - 1);
    if (len > 0) {
        link[len] = '\0';
        const char* slash = std::strrchr(link, '/');
        c.device = slash ? slash + 1 : link;
    } else {
        c.device = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
    }
    c.bytesRead = v[2] * 512ULL;
    c.busyMs = v[9];
    return c;
}

double deviceReadMBps(const BlockDeviceCounters& before, const BlockDeviceCounters& after, uint64_t minBusyMs)
{
    if (after.device != before.device || after.busyMs < before.busyMs + std::max<uint64_t>(minBusyMs, 1)
        || after.bytesRead < before.bytesRead)
        return 0.0;
    return static_cast<double>(after.bytesRead - before.bytesRead) / static_cast<double>(after.busyMs - before.busyMs)
        / 1e3;
}

} // namespace dl
