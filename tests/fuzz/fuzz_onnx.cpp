// Fuzz target: the ONNX importer, from bytes to a planned model (Executor::create on the CPU backend, one thread),
// with the input shapes the model declares.

#include "model/importer.h"
#include "runtime/executor.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    auto g = dl::importOnnxBytes(data, size, "fuzz.onnx");
    if (!g.ok()) return 0;
    dl::ExecutorOptions options;
    options.threads = 1;
    auto exec = dl::Executor::create(*g, {}, options);
    if (exec.ok()) (void)(*exec)->layers().size();
    return 0;
}
