// Fuzz target: the run import (dlayer runs DB import FILE): a run export parsed, its report read, its events packed and
// unpacked, and the run added to a real store (a SQLite file of this process) and deleted again.

#include "runstore.h"
#include "session/runreport.h"

#include "fuzztemp.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static std::unique_ptr<dl::store::RunStore> store = [] {
        const std::string path = dlfuzz::writeTemp(nullptr, 0, ".sqlite");
        auto s = dl::store::RunStore::open(path);
        return s.ok() ? std::move(s).value() : nullptr;
    }();
    auto run = dl::store::runFromJson(std::string(reinterpret_cast<const char*>(data), size));
    if (!run.ok()) return 0;
    (void)dl::reportFromJson(run->reportJson);
    (void)dl::store::unpackEvents(dl::store::packEvents(run->events));
    if (store) {
        auto id = store->addRun(*run);
        if (id.ok()) (void)store->deleteRun(*id);
    }
    return 0;
}
