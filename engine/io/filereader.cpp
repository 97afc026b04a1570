// File readers: io_uring (when built with DL_HAVE_URING and the kernel allows it) or pread, each with O_DIRECT when the
// file system takes it.

#include "io/weightreader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef DL_HAVE_URING
#include <liburing.h>
#endif

namespace dl {

namespace {

// One system call reads at most this much (Linux stops a read at 2 GiB - 4 KiB anyway); longer reads continue as
// short ones do. A multiple of kDirectIoAlignment, so O_DIRECT continuations stay aligned.
constexpr size_t kMaxChunk = size_t(1) << 30;
// EINTR/EAGAIN in a row before a read is given up as failed.
constexpr int kMaxRetries = 64;
constexpr unsigned kMaxQueueDepth = 4096;

class Fd
{
public:
    Fd() = default;
    explicit Fd(int fd)
        : m_fd(fd)
    { }
    Fd(Fd&& o) noexcept
        : m_fd(std::exchange(o.m_fd, -1))
    { }
    Fd& operator=(Fd&& o) noexcept
    {
        if (this != &o) {
            reset();
            m_fd = std::exchange(o.m_fd, -1);
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }

    int get() const { return m_fd; }
    explicit operator bool() const { return m_fd >= 0; }
    void reset()
    {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = -1;
    }

private:
    int m_fd = -1;
};

struct OpenFile
{
    Fd fd;
    std::string path;
    uint64_t size = 0; // when opened
    bool direct = false;
    std::string describe;
};

std::string readName(const ReadRequest& r)
{
    return "read of " + std::to_string(r.bytes) + " bytes at offset " + std::to_string(r.offset);
}

// The file came up short of a read that was within its size at open: it was truncated or replaced since.
Error endOfFile(const OpenFile& f, const ReadRequest& r, size_t done)
{
    uint64_t end = r.offset + done;
    struct stat st
    {
    };
    // A read past the end returns 0 wherever it starts; the file's size now names the real end.
    if (::fstat(f.fd.get(), &st) == 0) end = std::min<uint64_t>(end, static_cast<uint64_t>(st.st_size));
    return makeError(ErrorCode::Corrupt,
        "the file ends at " + std::to_string(end) + " bytes, short of the " + readName(r) + ": '" + f.path + "' was "
            + std::to_string(f.size) + " bytes when opened and has been truncated or replaced since");
}

enum class Step { Finished, Continue, Failed };

// Accounts one read system call's result `res` (bytes, or -errno) for request `r`, of which `done` bytes had landed.
// Continue: read the remainder (or retry the same piece after EINTR/EAGAIN). Failed: `error` says why.
Step advance(const OpenFile& f, const ReadRequest& r, size_t& done, int& retries, long res, Error& error)
{
    if ((res == -EINTR || res == -EAGAIN) && ++retries <= kMaxRetries) return Step::Continue;
    if (res < 0) {
        error = makeError(ErrorCode::Io,
            "cannot read '" + f.path + "' at offset " + std::to_string(r.offset + done) + " (" + readName(r)
                + "): " + std::strerror(static_cast<int>(-res)));
        return Step::Failed;
    }
    retries = 0;
    if (res == 0) {
        error = endOfFile(f, r, done);
        return Step::Failed;
    }
    done += static_cast<size_t>(res);
    if (done >= r.bytes) return Step::Finished;
    // Short reads before the end are legal and continue. O_DIRECT gives a partial block only at the end of the file,
    // and could not continue from an unaligned position anyway.
    if (f.direct && (r.offset + done) % kDirectIoAlignment != 0) {
        error = endOfFile(f, r, done);
        return Step::Failed;
    }
    return Step::Continue;
}

// No asynchrony: submit() queues, and each reap() performs the oldest queued read.
class PreadReader final : public WeightReader
{
public:
    PreadReader(OpenFile file, unsigned depth)
        : m_file(std::move(file))
        , m_depth(depth)
    { }

    Status submit(const ReadRequest& r) override
    {
        DL_TRY(checkReadRequest(*this, r));
        m_queued.push_back(r);
        return {};
    }
    Status reap(std::vector<ReadCompletion>& out, bool) override
    {
        if (m_queued.empty()) return {};
        const ReadRequest r = m_queued.front();
        m_queued.pop_front();
        out.push_back(perform(r));
        return {};
    }
    size_t inFlight() const override { return m_queued.size(); }
    size_t queueDepth() const override { return m_depth; }
    uint64_t size() const override { return m_file.size; }
    size_t alignment() const override { return m_file.direct ? kDirectIoAlignment : 1; }
    bool directIo() const override { return m_file.direct; }
    bool asynchronous() const override { return false; }
    std::string describe() const override { return m_file.describe; }

private:
    ReadCompletion perform(const ReadRequest& r) const
    {
        size_t done = 0;
        int retries = 0;
        for (;;) {
            const size_t chunk = std::min(r.bytes - done, kMaxChunk);
            const ssize_t n = ::pread(
                m_file.fd.get(), static_cast<std::byte*>(r.dst) + done, chunk, static_cast<off_t>(r.offset + done));
            Error error;
            switch (advance(m_file, r, done, retries, n < 0 ? -errno : n, error)) {
            case Step::Finished:
                return { r.tag, done, {} };
            case Step::Continue:
                break;
            case Step::Failed:
                return { r.tag, done, std::move(error) };
            }
        }
    }

    OpenFile m_file;
    size_t m_depth;
    std::deque<ReadRequest> m_queued;
};

#ifdef DL_HAVE_URING

// One ring per reader, sized to the queue depth; each read in flight owns a slot whose index rides in user_data.
// At most one operation per slot is in the kernel, so the submission queue never overflows.
class UringReader final : public WeightReader
{
public:
    explicit UringReader(unsigned depth)
        : m_slots(depth)
    {
        for (unsigned i = depth; i-- > 0;)
            m_free.push_back(i);
    }
    // 0, or -errno from io_uring_queue_init (ENOSYS, EPERM in sandboxes; ENOMEM under a low RLIMIT_MEMLOCK).
    // Cooperative task running where the kernel has it (5.19+): a finished read does not interrupt the thread that
    // submitted it (with inline reads, a compute thread) to post its completion; that waits for the thread's next
    // entry into the kernel, at the latest the next reap. Older kernels refuse the flags (EINVAL): plain ring then.
    int initRing()
    {
        const unsigned depth = static_cast<unsigned>(m_slots.size());
        int rc = io_uring_queue_init(depth, &m_ring, IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG);
        if (rc == -EINVAL) rc = io_uring_queue_init(depth, &m_ring, 0);
        m_ringLive = rc == 0;
        return rc;
    }
    void adopt(OpenFile file) { m_file = std::move(file); }

    ~UringReader() override
    {
        if (!m_ringLive) return;
        drain();
        io_uring_queue_exit(&m_ring);
    }

    Status submit(const ReadRequest& r) override
    {
        if (!m_broken.empty()) return makeError(ErrorCode::Io, m_broken);
        DL_TRY(checkReadRequest(*this, r));
        const uint32_t index = m_free.back();
        m_free.pop_back();
        m_slots[index] = Slot { r, 0, 0 };
        ++m_inFlight;
        return queue(index);
    }

    Status flush() override { return pushQueued(); }

    Status reap(std::vector<ReadCompletion>& out, bool block) override
    {
        if (!m_broken.empty()) return makeError(ErrorCode::Io, m_broken);
        size_t produced = 0;
        // Reads queued since the last flush go to the kernel first.
        DL_TRY(pushQueued());
        for (;;) {
            io_uring_cqe* cqe = nullptr;
            while (io_uring_peek_cqe(&m_ring, &cqe) == 0) {
                const auto index = static_cast<uint32_t>(io_uring_cqe_get_data64(cqe));
                const int res = cqe->res;
                io_uring_cqe_seen(&m_ring, cqe);
                --m_inKernel;
                if (index >= m_slots.size()) return broke("io_uring returned an unknown operation");
                produced += handle(index, res, out);
                if (!m_broken.empty()) return makeError(ErrorCode::Io, m_broken);
            }
            // The remainders of short reads that handle() queued, before waiting on them.
            DL_TRY(pushQueued());
            if (produced > 0 || !block || m_inFlight == 0) return {};
            // Sleeps in the kernel until a completion arrives; the peek loop above then takes it.
            const int rc = io_uring_wait_cqe(&m_ring, &cqe);
            if (rc < 0 && rc != -EINTR) return broke(std::string("waiting on io_uring failed: ") + std::strerror(-rc));
        }
    }

    size_t inFlight() const override { return m_inFlight; }
    size_t queueDepth() const override { return m_slots.size(); }
    uint64_t size() const override { return m_file.size; }
    size_t alignment() const override { return m_file.direct ? kDirectIoAlignment : 1; }
    bool directIo() const override { return m_file.direct; }
    bool asynchronous() const override { return true; }
    std::string describe() const override { return m_file.describe; }

private:
    struct Slot
    {
        ReadRequest request;
        size_t done = 0;
        int retries = 0;
    };

    Error broke(std::string why)
    {
        m_broken = "the io_uring reader of '" + m_file.path + "' broke: " + why;
        return makeError(ErrorCode::Io, m_broken);
    }

    // Puts the slot's next piece (the remainder after `done`) into the submission queue; pushQueued() hands it to the
    // kernel, with whatever else was queued, in one system call.
    Status queue(uint32_t index)
    {
        Slot& s = m_slots[index];
        io_uring_sqe* sqe = io_uring_get_sqe(&m_ring);
        if (!sqe) return broke("its submission queue is full");
        const size_t chunk = std::min(s.request.bytes - s.done, kMaxChunk);
        io_uring_prep_read(sqe, m_file.fd.get(), static_cast<std::byte*>(s.request.dst) + s.done,
            static_cast<unsigned>(chunk), s.request.offset + s.done);
        io_uring_sqe_set_data64(sqe, index);
        ++m_inKernel;
        ++m_queued;
        return {};
    }

    Status pushQueued()
    {
        while (m_queued > 0) {
            int rc = 0;
            for (int tries = 0; tries < kMaxRetries; ++tries) {
                rc = io_uring_submit(&m_ring);
                if (rc != -EINTR && rc != -EAGAIN) break;
            }
            // The entries may still sit in the ring and be picked up by a later submit, so the reader cannot go on as
            // if the reads never happened: it is marked broken.
            if (rc < 0) return broke(std::string("the kernel refused a submission: ") + std::strerror(-rc));
            if (rc == 0) return broke("the kernel took no submission");
            m_queued -= std::min<size_t>(m_queued, static_cast<size_t>(rc));
        }
        return {};
    }

    // Accounts one completion of the slot's operation; returns how many reads it finished (0 or 1).
    size_t handle(uint32_t index, int res, std::vector<ReadCompletion>& out)
    {
        Slot& s = m_slots[index];
        Error error;
        switch (advance(m_file, s.request, s.done, s.retries, res, error)) {
        case Step::Finished:
            out.push_back({ s.request.tag, s.done, {} });
            break;
        case Step::Continue:
            if (queue(index).ok()) return 0;
            out.push_back({ s.request.tag, s.done, makeError(ErrorCode::Io, m_broken) });
            break;
        case Step::Failed:
            out.push_back({ s.request.tag, s.done, std::move(error) });
            break;
        }
        m_free.push_back(index);
        --m_inFlight;
        return 1;
    }

    // Waits for every operation still in the kernel, so no read lands in a buffer the caller frees after destroying
    // the reader. Gives up only if the ring itself fails (the kernel then cancels on io_uring_queue_exit).
    void drain()
    {
        if (m_inKernel > 0) (void)io_uring_submit(&m_ring);
        while (m_inKernel > 0) {
            io_uring_cqe* cqe = nullptr;
            __kernel_timespec timeout { 10, 0 };
            const int rc = io_uring_wait_cqe_timeout(&m_ring, &cqe, &timeout);
            if (rc == -EINTR) continue;
            if (rc < 0) break;
            io_uring_cqe_seen(&m_ring, cqe);
            --m_inKernel;
        }
    }

    OpenFile m_file;
    io_uring m_ring {};
    bool m_ringLive = false;
    std::vector<Slot> m_slots;
    std::vector<uint32_t> m_free;
    size_t m_inFlight = 0; // reads submitted and not reaped
    size_t m_inKernel = 0; // operations whose completion is still to come
    size_t m_queued = 0; // operations in the submission queue not yet handed to the kernel
    std::string m_broken; // why the reader stopped working; empty while it works
};

#endif // DL_HAVE_URING

} // namespace

Result<std::unique_ptr<WeightReader>> openFileReader(const std::string& path, const FileReaderOptions& options)
{
    if (options.queueDepth < 1 || options.queueDepth > kMaxQueueDepth)
        return invalid("queue depth " + std::to_string(options.queueDepth) + " is out of range 1.."
            + std::to_string(kMaxQueueDepth));
    // stat first: opening a FIFO for reading would block until a writer appears.
    struct stat st
    {
    };
    if (::stat(path.c_str(), &st) != 0)
        return makeError(ErrorCode::Io, "cannot open '" + path + "' for reading: " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return invalid("'" + path + "' is not a regular file");

    OpenFile f;
    f.path = path;
    std::vector<std::string> notes;
    const int flags = O_RDONLY | O_CLOEXEC;
    if (options.direct) {
        f.fd = Fd(::open(path.c_str(), flags | O_DIRECT));
        f.direct = bool(f.fd);
        // EINVAL: the file system does not do direct I/O (tmpfs before Linux 6.6, procfs); read through the cache.
        if (!f.fd && errno == EINVAL) notes.push_back(std::string("O_DIRECT refused: ") + std::strerror(EINVAL));
    }
    if (!f.fd && (!options.direct || !notes.empty())) f.fd = Fd(::open(path.c_str(), flags));
    if (!f.fd) return makeError(ErrorCode::Io, "cannot open '" + path + "' for reading: " + std::strerror(errno));
    if (::fstat(f.fd.get(), &st) != 0)
        return makeError(ErrorCode::Io, "cannot stat '" + path + "': " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return invalid("'" + path + "' is not a regular file");
    f.size = static_cast<uint64_t>(st.st_size);

    auto describe = [&](const char* mechanism) {
        std::string d = mechanism;
        if (f.direct) d += ", O_DIRECT";
        for (size_t i = 0; i < notes.size(); ++i)
            d += (i == 0 ? " (" : "; ") + notes[i];
        if (!notes.empty()) d += ")";
        return d;
    };

    if (options.uring) {
#ifdef DL_HAVE_URING
        auto reader = std::make_unique<UringReader>(options.queueDepth);
        const int rc = reader->initRing();
        if (rc == 0) {
            f.describe = describe("io_uring");
            reader->adopt(std::move(f));
            return std::unique_ptr<WeightReader>(std::move(reader));
        }
        notes.push_back(std::string("io_uring unavailable: ") + std::strerror(-rc));
#else
        notes.push_back("io_uring not built in");
#endif
    }
    f.describe = describe("pread");
    return std::unique_ptr<WeightReader>(std::make_unique<PreadReader>(std::move(f), options.queueDepth));
}

} // namespace dl
