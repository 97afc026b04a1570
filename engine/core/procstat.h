#pragma once

// The process's own measure of its memory, to check the ledger against (Linux /proc/self), and the block device's
// own count of what it read and how long it was busy (Linux /sys/dev/block), to check the reader against.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace dl {

// Resident set now (VmRSS), in bytes; 0 when /proc cannot be read.
size_t processRssBytes();
// Peak resident set so far (VmHWM), else getrusage's maximum, in bytes.
size_t processPeakRssBytes();
// Starts the peak afresh where the kernel allows it (/proc/self/clear_refs "5"); false where it does not.
bool resetProcessPeakRss();

// What the block device holding a file has done since boot, by its own accounting (the device's, or its partition's,
// stat file): bytes read, and the time it had at least one request in flight. That time comes from the block layer,
// so it does not depend on when a reader reaps its completions; it counts every process's requests, not only ours.
struct BlockDeviceCounters
{
    std::string device; // the kernel's name for it: vda, nvme0n1p2, mmcblk0p1, dm-0
    uint64_t bytesRead = 0; // sectors read × 512
    uint64_t busyMs = 0; // io_ticks
};
// Absent where the file is on no block device (tmpfs, overlay, network and btrfs's anonymous devices) or /sys is
// not mounted.
std::optional<BlockDeviceCounters> blockDeviceCounters(const std::string& path);
// The device's read rate between two samples of its counters, in MB/s: bytes over busy time, when it was busy at
// least minBusyMs (busy time comes in scheduler ticks, 4 ms at HZ=250); else 0.
double deviceReadMBps(const BlockDeviceCounters& before, const BlockDeviceCounters& after, uint64_t minBusyMs = 10);

} // namespace dl
