#pragma once

// The layer pack: a model's weights laid out for streaming, one blob per layer in execution order, each already in
// the CPU backend's run-time layout (the kernels' packed tensors), at 4 KiB-aligned offsets padded to 4 KiB so that
// every blob can be read with O_DIRECT.
//
// File layout (little-endian):
//   [0, 4096)          header: magic "DLLPACK\0", version, table offset and size, data offset, file size, CRC-32C
//                      of the table and of the header itself
//   [4096, ...)        the table, JSON: where the pack came from (model path and hash, input shapes, the backend's
//                      layout tag, the precision), the plan key, and per layer {index, name, offset, bytes, padded,
//                      crc32c, slots}; an fp16 pack adds per layer `bound` and per slot `stored` and `bound_offset`
//
// Precision fp16 stores each float32 weight in float16 (half the bytes to read); the stage that makes the kernel's
// weights widens them back into the same layout (widenPackLayer). A weight that float16 cannot hold (a finite value
// that would become an infinity) stays float32 in the pack. fp32 packs are version 1, as before; fp16 packs version 2.
//   [dataOffset, ...)  the blobs
// The header is written last and the file renamed into place, so a crash never leaves a pack that looks whole.

#include "core/result.h"
#include "core/tensor.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dl {

class Backend;
class Executor;

constexpr uint32_t kLayerPackVersion = 2; // the newest this engine reads and writes (fp16 packs)
constexpr uint32_t kLayerPackVersionF32 = 1; // what fp32 packs are written as, readable by older engines

// How a pack stores float32 weights.
enum class Precision { F32, F16 };
const char* precisionName(Precision p); // "fp32", "fp16"
std::optional<Precision> parsePrecision(const std::string& name);
constexpr size_t kPackAlignment = 4096;

struct PackSlot
{
    DType dtype = DType::Undefined; // as the kernel reads it
    Shape shape;
    size_t offset = 0; // within the blob in the file
    size_t bytes = 0; // in the file
    DType stored = DType::Undefined; // as the file holds it: dtype, or F16 for a float32 weight of an fp16 pack
    size_t boundOffset = 0; // within the kernel's blob (Executor's LayerPlan)

    bool widens() const { return stored != dtype; }
};

struct PackLayer
{
    int index = 0;
    std::string name;
    uint64_t offset = 0; // in the file, 4 KiB-aligned
    uint64_t bytes = 0; // payload
    uint64_t paddedBytes = 0; // what a read covers: bytes rounded up to 4 KiB (0 for a layer without weights)
    uint32_t crc = 0; // CRC-32C of the payload
    std::vector<PackSlot> slots;
    uint64_t boundBytes = 0; // the kernel's blob (LayerPlan::blobBytes): `bytes` unless a slot widens

    // A slot stores float16 that the kernels read as float32, so the kernel's blob is larger than the payload.
    bool widens() const { return boundBytes > bytes; }
    // What the layer takes in memory where the kernels read it: paddedBytes, or its widened blob rounded up alike.
    uint64_t boundPadded() const;
};

// Where a pack's weights came from: enough to plan the model again and to tell a stale pack.
struct PackSource
{
    std::string modelPath; // absolute
    std::string modelSha256;
    std::string weightsPath; // Darknet .weights, absolute; empty for ONNX or seeded weights
    std::string weightsSha256;
    uint64_t seed = 0; // seeded Darknet weights
    std::map<std::string, Shape> inputShapes;
    std::string layoutTag; // Executor::layoutTag() of the engine that packed it
    uint64_t splitBytes = 0; // layers above this were cut into sub-layers (ExecutorOptions::splitBytes); 0: none
    Precision precision = Precision::F32;
};

struct PackInfo
{
    std::string path;
    uint32_t version = 0;
    std::string key; // planKey(source)
    PackSource source;
    uint64_t fileBytes = 0;
    uint64_t dataOffset = 0;
    std::vector<PackLayer> layers;

    size_t largestLayer() const; // paddedBytes of the largest layer
    uint64_t weightBytes() const; // sum of payloads
    uint64_t boundWeightBytes() const; // sum of the kernels' blobs (weightBytes() for an fp32 pack)
};

// The padded size (PackLayer::paddedBytes) each of the executor's layers gets in a pack.
std::vector<uint64_t> paddedLayerBytes(const Executor& exec);

// The content address of a plan: SHA-256 over the source's hashes, shapes, layout tag and split (hex).
std::string planKey(const PackSource& source);

// SHA-256 of a file's bytes (hex), reading in chunks. Io naming the path when it cannot be read.
Result<std::string> fileSha256(const std::string& path);

// Writes `exec`'s layers (before Executor::releaseWeights()) as a pack at `path`, through a temporary file renamed
// into place. `progress(done, total)` is called after each layer; a set `cancel` stops with Cancelled and removes
// the temporary file. Io naming the path on write errors.
Status writeLayerPack(const std::string& path, const Executor& exec, const PackSource& source,
    const std::function<void(size_t, size_t)>& progress = {}, const std::atomic<bool>* cancel = nullptr);

// Reads and checks a pack's header and table: Invalid when it is not a pack, Unsupported for another version,
// Corrupt (naming the layer where one is at fault) for a bad checksum, a truncated file or an inconsistent table;
// every message tells the user to re-pack.
Result<PackInfo> readLayerPack(const std::string& path);

// Checks that a pack holds exactly the weights `exec` plans to read (layers, slots, sizes) and was made for
// `expectedKey` (skipped when empty); Corrupt naming the first layer that differs, telling the user to re-pack.
Status checkPackMatches(const PackInfo& pack, const Executor& exec, const std::string& expectedKey = {});

// Makes the kernel's blob of layer `layer` (boundBytes, LayerPlan layout) at `dst` from its payload at `src` as read:
// widens the slots stored in float16 and copies the others. `dst` must not overlap `src`. `parallel`: shared out over
// the calling thread's OpenMP team (the kernels' threads, when the kernel stage widens); else on the calling thread.
void widenPackLayer(const PackInfo& pack, size_t layer, const std::byte* src, std::byte* dst, bool parallel = false);

// How a layer's floating-point weights are stored, for people: "fp32", "fp16", or "fp16+fp32" where some of an fp16
// pack's weights stayed float32; "" for a layer without weights.
std::string storedTypeOf(const PackLayer& layer);

// The same within one buffer of boundPadded() bytes whose start holds the payload as read: the layer widens in place,
// from its last weight back (a weight's place in the kernel's blob never lies before its place in the payload).
void widenPackLayerInPlace(const PackInfo& pack, size_t layer, std::byte* buffer);

// The layout tag a pack of `precision` carries: the backend's (null: the CPU backend's, Executor::layoutTag()), with
// the precision for fp16. checkPackMatches() refuses a pack whose tag is not the executor's backend's.
std::string packLayoutTag(Precision precision, const Backend* backend = nullptr);

// Checks a layer's payload read from the pack against its CRC: Corrupt "layer 37 'conv5_3': pack checksum
// mismatch — re-pack the model".
Status verifyPackLayer(const PackInfo& pack, size_t layer, const std::byte* data);

// Whether `path` starts like a layer pack (its magic); false when it cannot be read.
bool isLayerPack(const std::string& path);

// The pack cache: $DL_PACK_CACHE, else $DL_CACHE/packs, else ~/.cache/demand-layering/packs.
std::string defaultPackDir();
// The cache's file for a plan key.
std::string packCachePath(const std::string& dir, const std::string& key);

} // namespace dl
