#pragma once

// Weight readers: the demand-layering pipeline streams each layer's weight blob (4 KiB-aligned offsets and sizes in a
// layer pack) from storage into aligned buffers just before the layer runs. A reader keeps several reads in flight:
// the caller submits, then reaps completions.
//
// Threading: a reader is used from one thread at a time (it is not internally synchronised); it may be handed to
// another thread with the usual happens-before (e.g. created on the main thread, then used by the reader thread).
// Lifetime: destroying a reader waits for its reads in flight, so their destination buffers may be freed right after.

#include "core/result.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dl {

// Offsets, sizes and buffer addresses of O_DIRECT reads are multiples of this.
constexpr size_t kDirectIoAlignment = 4096;

struct ReadRequest
{
    uint64_t offset = 0; // in the source
    size_t bytes = 0; // at least 1
    void* dst = nullptr; // the caller keeps it alive until the read's completion is reaped
    uint64_t tag = 0; // returned in the completion; the reader does not interpret it
};

struct ReadCompletion
{
    uint64_t tag = 0;
    size_t bytes = 0; // bytes that landed in dst: the whole request when status is ok
    Status status; // ok, or why this read failed (Io, Corrupt)
};

class WeightReader
{
public:
    virtual ~WeightReader() = default;

    // Queues one read. Fails Invalid when queueDepth() reads are already in flight, when the range is empty or passes
    // size(), when dst is null, or when offset, bytes or dst do not respect alignment(); Io when the OS refuses the
    // submission (the reader is then unusable and every later call fails Io).
    // A reader may hold submitted reads until flush() or the next reap() (io_uring hands a batch to the kernel in one
    // system call): callers that submit several and then do something else flush first.
    virtual Status submit(const ReadRequest& r) = 0;
    // Hands every read submitted so far to the OS. Io as submit() when the OS refuses them.
    virtual Status flush() { return {}; }
    // Appends finished reads to `out`. With block=true waits (without spinning) until at least one has finished;
    // returns at once when none is in flight. A failed read is a completion carrying its error (Io naming the offset
    // and the OS's reason; Corrupt "the file ends at N bytes ..." when the file is shorter than it was at open), not a
    // failed reap: reap itself fails (Io) only when the mechanism breaks.
    virtual Status reap(std::vector<ReadCompletion>& out, bool block) = 0;

    virtual size_t inFlight() const = 0; // submitted and not yet reaped
    virtual size_t queueDepth() const = 0;
    virtual uint64_t size() const = 0; // bytes in the source (for a file: its size when opened)
    virtual size_t alignment() const = 0; // kDirectIoAlignment with O_DIRECT, else 1
    virtual bool directIo() const = 0;
    // Whether reads progress while the caller does something else (io_uring: the device fills the buffers), so that
    // one thread may submit, go on computing and reap later. False where reap() itself performs the reads (pread,
    // memory).
    virtual bool asynchronous() const = 0;
    // Which mechanism runs and why, e.g. "io_uring, O_DIRECT", "pread, O_DIRECT",
    // "pread (O_DIRECT refused: Invalid argument)", "memory".
    virtual std::string describe() const = 0;
};

// The checks every reader's submit() makes (in flight, empty, bounds, alignment); ok when `r` may be submitted.
Status checkReadRequest(const WeightReader& reader, const ReadRequest& r);

struct FileReaderOptions
{
    bool direct = true; // O_DIRECT: bypass the page cache
    bool uring = true; // io_uring; else (or when unavailable) pread
    unsigned queueDepth = 8; // reads in flight at most, 1..4096
};

// Opens `path` for reading. direct: O_DIRECT, falling back to buffered reads when the file system refuses it (tmpfs
// before Linux 6.6 and procfs give EINVAL at open); uring: io_uring when built in and the kernel allows it
// (io_uring_queue_init fails with ENOSYS/EPERM in some sandboxes), else pread. describe() says which path runs and why.
// The pread path has no asynchrony: submit() only queues, and each reap() (blocking or not) performs the oldest queued
// read, so a non-blocking reap may take as long as one read.
// Fails Io naming the path when the file cannot be opened, Invalid when it is not a regular file or queueDepth is out
// of range.
Result<std::unique_ptr<WeightReader>> openFileReader(const std::string& path, const FileReaderOptions& options = {});

// Reads from `bytes` bytes at `data`, which the caller keeps alive and unchanged while the reader exists (tests, packs
// already in RAM). Reads are copies made in reap(); alignment() is 1. A queueDepth of 0 counts as 1.
std::unique_ptr<WeightReader> memoryReader(const void* data, size_t bytes, unsigned queueDepth = 8);

// Faults to inject into a wrapped reader, for tests of error paths. Counts are 0-based; -1 (or 0 delay) disables.
struct FaultPlan
{
    int failRead = -1; // the n-th read that was submitted successfully completes with Io ("injected fault")
    int64_t corruptOffset = -1; // flip (xor 0xFF) the byte at this source offset in every successful read covering it
    int delayUs = 0; // each completion is held back this long after the inner reader finished it
    int failSubmit = -1; // the n-th submit() call itself fails with Io (nothing is queued)
};

// Wraps `inner` (owned) to inject `plan`'s faults; everything else behaves as `inner`.
std::unique_ptr<WeightReader> faultInjectingReader(std::unique_ptr<WeightReader> inner, FaultPlan plan);

// One stretch of a source to read: a layer's blob, say.
struct ReadRange
{
    uint64_t offset = 0;
    uint64_t bytes = 0;
};

// Reads every range once, in order, in requests of at most chunkBytes with as many in flight as the reader, the
// buffer and maxInFlight allow, into `buffer` cut into chunk-sized slots taken round robin, as a staging ring is
// (so that one read at a time into a large buffer lands in new memory each time, as the run's reads do); the data
// is discarded. What one reader gets from its device with nothing else running (the disk reference `dlayer run
// --paired-disk` takes between inferences). Returns the seconds from the first submission to the last completion.
// Fails Invalid when the buffer cannot hold one chunk or is not aligned to reader.alignment(), or when chunkBytes is
// not a multiple of it; Io or Corrupt as the reader's completions say, naming the offset; the reader has no read in
// flight afterwards either way.
Result<double> readPass(WeightReader& reader, const std::vector<ReadRange>& ranges, std::byte* buffer,
    size_t bufferBytes, size_t chunkBytes, size_t maxInFlight = SIZE_MAX);

// Owning aligned allocation, e.g. a destination buffer for O_DIRECT reads. The deleter remembers how it was made.
struct AlignedFree
{
    size_t bytes = 0;
    size_t alignment = 0;
    bool mapped = false; // on huge pages (core/largepages.h)
    void operator()(std::byte* p) const;
};
using AlignedBuffer = std::unique_ptr<std::byte, AlignedFree>;
// `bytes` (rounded up to a multiple of `alignment`, a power of two) of uninitialised memory; null when out of memory.
// From 2 MiB up it sits on transparent huge pages where the kernel offers them (core/largepages.h).
AlignedBuffer allocateAligned(size_t bytes, size_t alignment = kDirectIoAlignment);

} // namespace dl
