#include "backend/backend.h"

#include "core/half.h"

#include <utility>

namespace dl {

const char* backendName(BackendKind kind)
{
    switch (kind) {
    case BackendKind::Cpu:
        return "cpu";
    case BackendKind::Cuda:
        return "cuda";
    }
    return "?";
}

Status Backend::widenHalf(Stream& stream, const void* src, float* dst, size_t n)
{
    if (!deviceIsHost())
        return unsupported(std::string("the ") + name() + " backend cannot widen float16 weights in its device memory");
    DL_TRY(stream.synchronize()); // in order: after what the stream holds
    dl::widenHalf(static_cast<const uint16_t*>(src), dst, n);
    return {};
}

Result<BackendKind> parseBackend(const std::string& name)
{
    for (BackendKind k : { BackendKind::Cpu, BackendKind::Cuda })
        if (name == backendName(k)) return k;
    return invalid("unknown backend '" + name + "' (cpu or cuda)");
}

const char* memorySpaceName(MemorySpace space)
{
    switch (space) {
    case MemorySpace::Host:
        return "host";
    case MemorySpace::PinnedHost:
        return "pinned_host";
    case MemorySpace::Device:
        return "device";
    case MemorySpace::Mapped:
        return "mapped";
    }
    return "?";
}

BackendBuffer::~BackendBuffer()
{
    reset();
}

BackendBuffer::BackendBuffer(BackendBuffer&& other) noexcept
{
    *this = std::move(other);
}

BackendBuffer& BackendBuffer::operator=(BackendBuffer&& other) noexcept
{
    if (this == &other) return *this;
    reset();
    m_host = std::move(other.m_host);
    m_owner = std::exchange(other.m_owner, nullptr);
    m_ledger = std::exchange(other.m_ledger, nullptr);
    m_data = std::exchange(other.m_data, nullptr);
    m_size = std::exchange(other.m_size, 0);
    m_space = other.m_space;
    m_tag = other.m_tag;
    return *this;
}

BackendBuffer BackendBuffer::fromHost(MemorySpace space, LedgerBuffer host)
{
    BackendBuffer b;
    b.m_space = space;
    b.m_tag = host.tag();
    b.m_data = host.data();
    b.m_size = host.size();
    b.m_host = std::move(host);
    return b;
}

BackendBuffer BackendBuffer::adopt(
    Backend* owner, MemorySpace space, MemTag tag, std::byte* data, size_t bytes, MemoryLedger* ledger)
{
    BackendBuffer b;
    b.m_owner = owner;
    b.m_ledger = ledger;
    b.m_space = space;
    b.m_tag = tag;
    b.m_data = data;
    b.m_size = bytes;
    return b;
}

void BackendBuffer::reset()
{
    if (m_owner && m_data) {
        m_owner->deallocate(m_space, m_data, m_size);
        if (m_ledger) m_ledger->add(m_tag, -static_cast<int64_t>(m_size));
    }
    m_host.reset();
    m_owner = nullptr;
    m_ledger = nullptr;
    m_data = nullptr;
    m_size = 0;
}

} // namespace dl
