#pragma once

// Per-executor CPU state shared by every kernel: the oneDNN engine and stream, and the thread count.
// Only backend/cpu sources include this header (it pulls in dnnl.hpp).

#include <dnnl.hpp>

namespace dl::cpu {

class CpuContext
{
public:
    explicit CpuContext(int threads);

    dnnl::engine& engine() { return m_engine; }
    dnnl::stream& stream() { return m_stream; }
    int threads() const { return m_threads; }
    // Sets the OpenMP thread count of the calling thread (the setting is per thread).
    void applyThreads() const;

private:
    int m_threads;
    dnnl::engine m_engine;
    dnnl::stream m_stream;
};

} // namespace dl::cpu
