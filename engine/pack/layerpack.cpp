#include "pack/layerpack.h"

#include "core/align.h"

#include "core/crc32c.h"
#include "core/half.h"
#include "core/sha256.h"
#include "core/streamcopy.h"
#include "runtime/executor.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

namespace dl {

namespace {

using json = nlohmann::ordered_json;

constexpr char kMagic[8] = { 'D', 'L', 'L', 'P', 'A', 'C', 'K', '\0' };

// The fixed part of the header block; the rest of the block is zero.
struct Header
{
    char magic[8];
    uint32_t version;
    uint32_t reserved;
    uint64_t tableOffset;
    uint64_t tableBytes;
    uint64_t dataOffset;
    uint64_t fileBytes;
    uint32_t tableCrc;
    uint32_t headerCrc; // over the bytes before this field
};
static_assert(sizeof(Header) == 56);

std::string rePack(const std::string& path)
{
    return " — re-pack the model (dlayer pack MODEL -o " + path + ")";
}

struct FdCloser
{
    void operator()(int* fd) const
    {
        if (fd && *fd >= 0) ::close(*fd);
        delete fd;
    }
};
using Fd = std::unique_ptr<int, FdCloser>;

Status writeAll(int fd, const void* data, size_t size, uint64_t offset, const std::string& path)
{
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return makeError(ErrorCode::Io, "cannot write '" + path + "': " + std::strerror(errno));
        p += n;
        size -= static_cast<size_t>(n);
        offset += static_cast<uint64_t>(n);
    }
    return {};
}

Status readAll(int fd, void* data, size_t size, uint64_t offset, const std::string& path)
{
    auto* p = static_cast<char*>(data);
    while (size > 0) {
        ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return makeError(ErrorCode::Io, "cannot read '" + path + "': " + std::strerror(errno));
        if (n == 0) return makeError(ErrorCode::Corrupt, "'" + path + "' is truncated" + rePack(path));
        p += n;
        size -= static_cast<size_t>(n);
        offset += static_cast<uint64_t>(n);
    }
    return {};
}

json shapeJson(const Shape& s)
{
    json a = json::array();
    for (int64_t d : s)
        a.push_back(d);
    return a;
}

json sourceJson(const PackSource& s)
{
    json shapes = json::object();
    for (const auto& [name, shape] : s.inputShapes)
        shapes[name] = shapeJson(shape);
    return { { "model", s.modelPath }, { "model_sha256", s.modelSha256 }, { "weights", s.weightsPath },
        { "weights_sha256", s.weightsSha256 }, { "seed", s.seed }, { "input_shapes", shapes },
        { "layout", s.layoutTag }, { "split_bytes", s.splitBytes }, { "precision", precisionName(s.precision) } };
}

Shape shapeFrom(const json& a)
{
    Shape s;
    for (const auto& d : a)
        s.push_back(d.get<int64_t>());
    return s;
}

} // namespace

const char* precisionName(Precision p)
{
    return p == Precision::F16 ? "fp16" : "fp32";
}

std::optional<Precision> parsePrecision(const std::string& name)
{
    if (name == "fp32") return Precision::F32;
    if (name == "fp16") return Precision::F16;
    return std::nullopt;
}

std::string packLayoutTag(Precision precision, const Backend* backend)
{
    return (backend ? backend->layoutTag() : Executor::layoutTag())
        + (precision == Precision::F16 ? " weights fp16" : "");
}

std::string storedTypeOf(const PackLayer& layer)
{
    bool half = false, single = false;
    for (const PackSlot& s : layer.slots) {
        half = half || s.stored == DType::F16;
        single = single || s.stored == DType::F32;
    }
    if (half && single) return "fp16+fp32";
    if (half) return "fp16";
    if (single) return "fp32";
    return layer.slots.empty() ? "" : dtypeName(layer.slots.front().stored);
}

uint64_t PackLayer::boundPadded() const
{
    return widens() ? alignUp(boundBytes, kPackAlignment) : paddedBytes;
}

uint64_t PackInfo::boundWeightBytes() const
{
    uint64_t sum = 0;
    for (const auto& l : layers)
        sum += std::max(l.boundBytes, l.bytes);
    return sum;
}

void widenPackLayer(const PackInfo& pack, size_t layer, const std::byte* src, std::byte* dst, bool parallel)
{
    // In pieces of 64 Ki elements, so that the OpenMP team can share even the pieces of a split layer.
    constexpr size_t kPiece = size_t(64) << 10;
    struct Piece
    {
        const PackSlot* slot;
        size_t first, count; // elements
    };
    std::vector<Piece> pieces;
    for (const PackSlot& s : pack.layers[layer].slots) {
        const size_t n = s.bytes / dtypeSize(s.stored);
        for (size_t first = 0; first < n; first += kPiece)
            pieces.push_back({ &s, first, std::min(kPiece, n - first) });
    }
    auto one = [&](const Piece& p) {
        const PackSlot& s = *p.slot;
        if (s.widens())
            widenHalf(reinterpret_cast<const uint16_t*>(src + s.offset) + p.first,
                reinterpret_cast<float*>(dst + s.boundOffset) + p.first, p.count);
        else
            copyStreaming(dst + s.boundOffset + p.first * dtypeSize(s.stored),
                src + s.offset + p.first * dtypeSize(s.stored), p.count * dtypeSize(s.stored));
    };
    const auto count = static_cast<std::ptrdiff_t>(pieces.size());
#pragma omp parallel for schedule(static) if (parallel && count > 1)
    for (std::ptrdiff_t i = 0; i < count; ++i)
        one(pieces[static_cast<size_t>(i)]);
}

void widenPackLayerInPlace(const PackInfo& pack, size_t layer, std::byte* buffer)
{
    const auto& slots = pack.layers[layer].slots;
    for (size_t k = slots.size(); k-- > 0;) {
        const PackSlot& s = slots[k];
        if (s.widens())
            widenHalfInPlace(buffer, s.offset, s.boundOffset, s.bytes / sizeof(uint16_t));
        else
            std::memmove(buffer + s.boundOffset, buffer + s.offset, s.bytes);
    }
}

size_t PackInfo::largestLayer() const
{
    size_t m = 0;
    for (const auto& l : layers)
        m = std::max<size_t>(m, l.paddedBytes);
    return m;
}

uint64_t PackInfo::weightBytes() const
{
    uint64_t sum = 0;
    for (const auto& l : layers)
        sum += l.bytes;
    return sum;
}

std::vector<uint64_t> paddedLayerBytes(const Executor& exec)
{
    std::vector<uint64_t> b;
    for (const auto& l : exec.layers())
        b.push_back(alignUp(l.blobBytes, kPackAlignment));
    return b;
}

std::string planKey(const PackSource& s)
{
    Sha256 h;
    const uint32_t version = s.precision == Precision::F32 ? kLayerPackVersionF32 : kLayerPackVersion;
    std::string text = "dlpack " + std::to_string(version) + "\n" + s.modelSha256 + "\n" + s.weightsSha256 + "\n"
        + (s.weightsPath.empty() ? std::to_string(s.seed) : "") + "\n" + s.layoutTag + "\n";
    for (const auto& [name, shape] : s.inputShapes)
        text += name + "=" + shapeToString(shape) + "\n";
    if (s.splitBytes > 0) text += "split=" + std::to_string(s.splitBytes) + "\n";
    if (s.precision != Precision::F32) text += std::string("precision=") + precisionName(s.precision) + "\n";
    h.update(text.data(), text.size());
    return h.hex();
}

Result<std::string> fileSha256(const std::string& path)
{
    Fd fd(new int(::open(path.c_str(), O_RDONLY | O_CLOEXEC)));
    if (*fd < 0) return makeError(ErrorCode::Io, "cannot open '" + path + "': " + std::strerror(errno));
    Sha256 h;
    std::vector<char> buf(1 << 20);
    for (;;) {
        ssize_t n = ::read(*fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return makeError(ErrorCode::Io, "cannot read '" + path + "': " + std::strerror(errno));
        if (n == 0) break;
        h.update(buf.data(), static_cast<size_t>(n));
    }
    return h.hex();
}

Status writeLayerPack(const std::string& path, const Executor& exec, const PackSource& source,
    const std::function<void(size_t, size_t)>& progress, const std::atomic<bool>* cancel)
{
    const auto& layers = exec.layers();
    // Layer offsets are relative to the data offset until the table's room is known (see below).
    const bool half = source.precision == Precision::F16;
    const uint32_t version = half ? kLayerPackVersion : kLayerPackVersionF32;
    json table;
    table["version"] = version;
    table["key"] = planKey(source);
    table["source"] = sourceJson(source);
    table["layers"] = json::array();
    std::vector<PackLayer> planned;
    uint64_t offset = 0;
    std::vector<std::byte> wide; // a layer's kernel blob, for narrowing
    for (size_t i = 0; i < layers.size(); ++i) {
        const LayerPlan& l = layers[i];
        PackLayer pl;
        pl.index = l.index;
        pl.name = l.name;
        pl.boundBytes = l.blobBytes;
        if (half && l.blobBytes) {
            wide.assign(l.blobBytes, std::byte { 0 });
            exec.copyLayerWeights(i, wide.data());
        }
        size_t at = 0;
        for (const auto& s : l.slots) {
            const auto* values = reinterpret_cast<const float*>(wide.data() + s.offset);
            const size_t n = s.bytes / sizeof(float);
            const bool narrow = half && s.dtype == DType::F32 && fitsHalf(values, n);
            const size_t bytes = narrow ? n * sizeof(uint16_t) : s.bytes;
            at = alignUp(at, 64);
            pl.slots.push_back(PackSlot { s.dtype, s.shape, at, bytes, narrow ? DType::F16 : s.dtype, s.offset });
            at += bytes;
        }
        pl.bytes = half ? at : l.blobBytes;
        pl.paddedBytes = alignUp(pl.bytes, kPackAlignment);
        pl.offset = offset; // relative for now
        offset += pl.paddedBytes;
        planned.push_back(std::move(pl));
    }
    const uint64_t dataBytes = offset;

    const std::string tmp = path + ".tmp" + std::to_string(::getpid());
    Fd fd(new int(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)));
    if (*fd < 0) return makeError(ErrorCode::Io, "cannot create '" + tmp + "': " + std::strerror(errno));
    bool keep = false;
    struct Remove
    {
        const std::string& file;
        bool& keep;
        ~Remove()
        {
            if (!keep) ::unlink(file.c_str());
        }
    } remover { tmp, keep };

    // Blobs go to a provisional data offset; the table's size is only known once the CRCs are in, so the data offset
    // leaves room for the table as rendered with placeholder CRCs and offsets of full width.
    auto render = [&](uint64_t dataOffset) {
        json t = table;
        for (const auto& pl : planned) {
            json slots = json::array();
            for (const auto& s : pl.slots) {
                json slot = { { "dtype", static_cast<int>(s.dtype) }, { "shape", shapeJson(s.shape) },
                    { "offset", s.offset }, { "bytes", s.bytes } };
                if (half) {
                    slot["stored"] = static_cast<int>(s.stored);
                    slot["bound_offset"] = s.boundOffset;
                }
                slots.push_back(std::move(slot));
            }
            json layer = { { "index", pl.index }, { "name", pl.name }, { "offset", dataOffset + pl.offset },
                { "bytes", pl.bytes }, { "padded", pl.paddedBytes }, { "crc32c", pl.crc }, { "slots", slots } };
            if (half) layer["bound"] = pl.boundBytes;
            t["layers"].push_back(std::move(layer));
        }
        return t.dump();
    };
    for (auto& pl : planned)
        pl.crc = 0xFFFFFFFFu; // widest rendering
    const uint64_t dataOffset = alignUp(kPackAlignment + render(UINT64_MAX / 2).size() + 64, kPackAlignment);

    std::vector<std::byte> blob;
    for (size_t i = 0; i < layers.size(); ++i) {
        if (cancel && cancel->load()) return makeError(ErrorCode::Cancelled, "packing cancelled");
        PackLayer& pl = planned[i];
        blob.assign(pl.paddedBytes, std::byte { 0 });
        if (half) {
            wide.assign(pl.boundBytes, std::byte { 0 });
            exec.copyLayerWeights(i, wide.data());
            for (const PackSlot& s : pl.slots) {
                if (s.widens())
                    narrowToHalf(reinterpret_cast<const float*>(wide.data() + s.boundOffset),
                        reinterpret_cast<uint16_t*>(blob.data() + s.offset), s.bytes / sizeof(uint16_t));
                else
                    std::memcpy(blob.data() + s.offset, wide.data() + s.boundOffset, s.bytes);
            }
        } else {
            exec.copyLayerWeights(i, blob.data());
        }
        pl.crc = crc32c(blob.data(), pl.bytes);
        if (pl.paddedBytes) DL_TRY(writeAll(*fd, blob.data(), blob.size(), dataOffset + pl.offset, path));
        if (progress) progress(i + 1, layers.size());
    }
    const std::string text = render(dataOffset);
    if (kPackAlignment + text.size() > dataOffset) return makeError(ErrorCode::Internal, "pack table outgrew its room");
    DL_TRY(writeAll(*fd, text.data(), text.size(), kPackAlignment, path));
    const uint64_t fileBytes = dataOffset + dataBytes;
    if (::ftruncate(*fd, static_cast<off_t>(fileBytes)) != 0)
        return makeError(ErrorCode::Io, "cannot write '" + path + "': " + std::strerror(errno));

    std::vector<char> block(kPackAlignment, 0);
    Header h {};
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    h.version = version;
    h.tableOffset = kPackAlignment;
    h.tableBytes = text.size();
    h.dataOffset = dataOffset;
    h.fileBytes = fileBytes;
    h.tableCrc = crc32c(text.data(), text.size());
    h.headerCrc = crc32c(&h, offsetof(Header, headerCrc));
    std::memcpy(block.data(), &h, sizeof h);
    DL_TRY(writeAll(*fd, block.data(), block.size(), 0, path));
    if (::fsync(*fd) != 0) return makeError(ErrorCode::Io, "cannot write '" + path + "': " + std::strerror(errno));
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        return makeError(ErrorCode::Io, "cannot move the pack into '" + path + "': " + std::strerror(errno));
    keep = true;
    return {};
}

Result<PackInfo> readLayerPack(const std::string& path)
{
    Fd fd(new int(::open(path.c_str(), O_RDONLY | O_CLOEXEC)));
    if (*fd < 0) return makeError(ErrorCode::Io, "cannot open '" + path + "': " + std::strerror(errno));
    struct stat st
    {
    };
    if (::fstat(*fd, &st) != 0) return makeError(ErrorCode::Io, "cannot stat '" + path + "': " + std::strerror(errno));
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size < sizeof(Header)) {
        if (size >= 8) {
            char magic[8];
            DL_TRY(readAll(*fd, magic, 8, 0, path));
            if (std::memcmp(magic, kMagic, 8) != 0) return invalid("'" + path + "' is not a layer pack");
        }
        return makeError(
            ErrorCode::Corrupt, "'" + path + "' is truncated (" + std::to_string(size) + " bytes)" + rePack(path));
    }
    Header h {};
    DL_TRY(readAll(*fd, &h, sizeof h, 0, path));
    if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) return invalid("'" + path + "' is not a layer pack");
    if (h.headerCrc != crc32c(&h, offsetof(Header, headerCrc)))
        return makeError(ErrorCode::Corrupt, "'" + path + "': the pack header is damaged" + rePack(path));
    if (h.version != kLayerPackVersion && h.version != kLayerPackVersionF32)
        return unsupported("'" + path + "' is a version " + std::to_string(h.version)
            + " layer pack; this engine reads versions " + std::to_string(kLayerPackVersionF32) + " to "
            + std::to_string(kLayerPackVersion) + rePack(path));
    if (size < h.fileBytes)
        return makeError(ErrorCode::Corrupt,
            "'" + path + "' is truncated: " + std::to_string(size) + " of " + std::to_string(h.fileBytes) + " bytes"
                + rePack(path));
    if (h.tableOffset != kPackAlignment || h.tableBytes > (64u << 20) || h.tableOffset + h.tableBytes > h.dataOffset
        || h.dataOffset % kPackAlignment || h.dataOffset > h.fileBytes)
        return makeError(ErrorCode::Corrupt, "'" + path + "': the pack header is inconsistent" + rePack(path));
    std::string text(h.tableBytes, '\0');
    DL_TRY(readAll(*fd, text.data(), text.size(), h.tableOffset, path));
    if (crc32c(text.data(), text.size()) != h.tableCrc)
        return makeError(ErrorCode::Corrupt, "'" + path + "': the pack's layer table is damaged" + rePack(path));

    PackInfo info;
    info.path = path;
    info.version = h.version;
    info.fileBytes = h.fileBytes;
    info.dataOffset = h.dataOffset;
    try {
        const json t = json::parse(text);
        info.key = t.at("key").get<std::string>();
        const json& s = t.at("source");
        info.source.modelPath = s.at("model").get<std::string>();
        info.source.modelSha256 = s.at("model_sha256").get<std::string>();
        info.source.weightsPath = s.at("weights").get<std::string>();
        info.source.weightsSha256 = s.at("weights_sha256").get<std::string>();
        info.source.seed = s.at("seed").get<uint64_t>();
        info.source.layoutTag = s.at("layout").get<std::string>();
        info.source.splitBytes = s.value("split_bytes", uint64_t { 0 });
        const auto precision = parsePrecision(s.value("precision", std::string("fp32")));
        if (!precision) throw std::runtime_error("unknown precision '" + s.value("precision", std::string()) + "'");
        info.source.precision = *precision;
        for (const auto& [name, shape] : s.at("input_shapes").items())
            info.source.inputShapes[name] = shapeFrom(shape);
        for (const json& l : t.at("layers")) {
            PackLayer pl;
            pl.index = l.at("index").get<int>();
            pl.name = l.at("name").get<std::string>();
            pl.offset = l.at("offset").get<uint64_t>();
            pl.bytes = l.at("bytes").get<uint64_t>();
            pl.paddedBytes = l.at("padded").get<uint64_t>();
            pl.crc = l.at("crc32c").get<uint32_t>();
            for (const json& sl : l.at("slots")) {
                PackSlot slot { static_cast<DType>(sl.at("dtype").get<int>()), shapeFrom(sl.at("shape")),
                    sl.at("offset").get<size_t>(), sl.at("bytes").get<size_t>() };
                slot.stored = static_cast<DType>(sl.value("stored", static_cast<int>(slot.dtype)));
                slot.boundOffset = sl.value("bound_offset", slot.offset);
                pl.slots.push_back(std::move(slot));
            }
            pl.boundBytes = l.value("bound", pl.bytes);
            info.layers.push_back(std::move(pl));
        }
    } catch (const std::exception& e) {
        return makeError(ErrorCode::Corrupt,
            "'" + path + "': the pack's layer table is unreadable (" + e.what() + ")" + rePack(path));
    }
    for (size_t i = 0; i < info.layers.size(); ++i) {
        const PackLayer& l = info.layers[i];
        const std::string where = "'" + path + "': layer " + std::to_string(i) + " '" + l.name + "'";
        if (l.index != static_cast<int>(i) || l.offset % kPackAlignment || l.paddedBytes % kPackAlignment
            || l.bytes > l.paddedBytes || l.paddedBytes - l.bytes >= kPackAlignment || l.offset < h.dataOffset
            || l.offset + l.paddedBytes > h.fileBytes)
            return makeError(ErrorCode::Corrupt, where + " lies outside the pack's data" + rePack(path));
        for (const auto& s : l.slots) {
            const bool storedOk = s.stored == s.dtype || (s.dtype == DType::F32 && s.stored == DType::F16);
            const int64_t n = numElements(s.shape);
            if (!storedOk || n < 0 || s.bytes != static_cast<size_t>(n) * dtypeSize(s.stored))
                return makeError(
                    ErrorCode::Corrupt, where + ": a weight's type or size is inconsistent" + rePack(path));
            if (s.offset + s.bytes > l.bytes
                || s.boundOffset + static_cast<size_t>(n) * dtypeSize(s.dtype) > l.boundBytes)
                return makeError(ErrorCode::Corrupt, where + ": a weight lies outside the layer" + rePack(path));
        }
        if (info.version == kLayerPackVersionF32 && l.widens())
            return makeError(ErrorCode::Corrupt, where + ": a version 1 pack cannot widen weights" + rePack(path));
    }
    return info;
}

Status checkPackMatches(const PackInfo& pack, const Executor& exec, const std::string& expectedKey)
{
    const std::string re = rePack(pack.path);
    if (!expectedKey.empty() && pack.key != expectedKey)
        return makeError(ErrorCode::Corrupt,
            "'" + pack.path + "' was made from another model, weights, input shape or engine build (model hash "
                + pack.source.modelSha256.substr(0, 12) + ")" + re);
    const std::string tag = packLayoutTag(pack.source.precision, &exec.backend());
    if (pack.source.layoutTag != tag)
        return makeError(ErrorCode::Corrupt,
            "'" + pack.path + "' lays weights out for '" + pack.source.layoutTag + "', the " + exec.backend().name()
                + " backend reads '" + tag + "'" + re);
    const auto& layers = exec.layers();
    if (layers.size() != pack.layers.size())
        return makeError(ErrorCode::Corrupt,
            "'" + pack.path + "' holds " + std::to_string(pack.layers.size()) + " layers, the model plans "
                + std::to_string(layers.size()) + re);
    for (size_t i = 0; i < layers.size(); ++i) {
        const auto& a = layers[i];
        const auto& b = pack.layers[i];
        bool same = a.name == b.name && a.blobBytes == b.boundBytes && a.slots.size() == b.slots.size();
        for (size_t k = 0; same && k < a.slots.size(); ++k)
            same = a.slots[k].dtype == b.slots[k].dtype && a.slots[k].shape == b.slots[k].shape
                && a.slots[k].offset == b.slots[k].boundOffset
                && (b.slots[k].widens() || a.slots[k].bytes == b.slots[k].bytes);
        if (!same)
            return makeError(ErrorCode::Corrupt,
                "layer " + std::to_string(i) + " '" + a.name + "': the pack's weights do not match the model's plan"
                    + re);
    }
    return {};
}

Status verifyPackLayer(const PackInfo& pack, size_t layer, const std::byte* data)
{
    const PackLayer& l = pack.layers[layer];
    if (crc32c(data, l.bytes) != l.crc)
        return makeError(ErrorCode::Corrupt,
            "layer " + std::to_string(l.index) + " '" + l.name + "': pack checksum mismatch" + rePack(pack.path));
    return {};
}

bool isLayerPack(const std::string& path)
{
    Fd fd(new int(::open(path.c_str(), O_RDONLY | O_CLOEXEC)));
    char magic[8];
    return *fd >= 0 && ::pread(*fd, magic, 8, 0) == 8 && std::memcmp(magic, kMagic, 8) == 0;
}

std::string defaultPackDir()
{
    if (const char* d = std::getenv("DL_PACK_CACHE"); d && *d) return d;
    if (const char* d = std::getenv("DL_CACHE"); d && *d) return std::string(d) + "/packs";
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/demand-layering/packs";
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : "/tmp") + "/.cache/demand-layering/packs";
}

std::string packCachePath(const std::string& dir, const std::string& key)
{
    return dir + "/" + key.substr(0, 32) + ".dlpack";
}

} // namespace dl
