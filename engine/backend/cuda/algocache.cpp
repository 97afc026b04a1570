#include "backend/cuda/algocache.h"

#include "core/textfile.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <filesystem>
#include <sstream>

namespace dl::cuda {
namespace {

using json = nlohmann::json;

constexpr int kCacheVersion = 1;

const char* const kDtypes[] = { "fp32", "fp16" };
const char* const kMaths[] = { "default", "fma", "tensor_op", "tensor_op_allow_conversion" };

template <size_t N> bool oneOf(const std::string& s, const char* const (&names)[N])
{
    for (const char* n : names)
        if (s == n) return true;
    return false;
}

std::string dims(const std::vector<int64_t>& v, const char* letters)
{
    std::string out;
    for (size_t i = 0; i < v.size(); ++i)
        out += letters[i] + std::to_string(v[i]);
    return out;
}

std::string list(char tag, const std::vector<int64_t>& v)
{
    std::string out(1, tag);
    for (size_t i = 0; i < v.size(); ++i)
        out += (i ? "," : "") + std::to_string(v[i]);
    return out;
}

// "n1c3h608w608" with letters "nchw" (or "ncdhw") → the numbers; nullopt when it is not that.
std::optional<std::vector<int64_t>> parseDims(const std::string& token, const std::string& letters)
{
    std::vector<int64_t> out;
    size_t at = 0;
    for (char letter : letters) {
        if (at >= token.size() || token[at] != letter) return std::nullopt;
        ++at;
        const size_t begin = at;
        while (at < token.size() && std::isdigit(static_cast<unsigned char>(token[at])))
            ++at;
        if (at == begin || at - begin > 12) return std::nullopt;
        out.push_back(std::stoll(token.substr(begin, at - begin)));
    }
    if (at != token.size()) return std::nullopt;
    return out;
}

// "p1,1" with tag 'p' and `count` numbers.
std::optional<std::vector<int64_t>> parseList(const std::string& token, char tag, size_t count)
{
    if (token.empty() || token[0] != tag) return std::nullopt;
    std::vector<int64_t> out;
    std::stringstream ss(token.substr(1));
    std::string part;
    while (std::getline(ss, part, ',')) {
        if (part.empty() || part.size() > 12 || part.find_first_not_of("0123456789") != std::string::npos)
            return std::nullopt;
        out.push_back(std::stoll(part));
    }
    if (out.size() != count) return std::nullopt;
    return out;
}

} // namespace

std::string ConvKey::text() const
{
    const bool three = input.size() == 5;
    return dims(input, three ? "ncdhw" : "nchw") + " " + dims(filter, three ? "kctrs" : "kcrs") + " " + list('p', pads)
        + " " + list('s', strides) + " " + list('d', dilations) + " g" + std::to_string(groups) + " " + dtype + " "
        + math + (transposed ? " transposed" : "");
}

Result<ConvKey> ConvKey::parse(const std::string& text)
{
    std::vector<std::string> t;
    std::stringstream ss(text);
    for (std::string w; ss >> w;)
        t.push_back(w);
    auto bad = [&](const std::string& what) { return invalid("convolution key '" + text + "': " + what); };
    ConvKey k;
    if (t.size() == 9 && t[8] == "transposed") {
        k.transposed = true;
        t.pop_back();
    }
    if (t.size() != 8) return bad("expected 8 fields (and 'transposed'), found " + std::to_string(t.size()));
    const bool three = t[0].find('d') != std::string::npos;
    auto in = parseDims(t[0], three ? "ncdhw" : "nchw");
    if (!in) return bad("the input is not n…c…h…w…");
    auto f = parseDims(t[1], three ? "kctrs" : "kcrs");
    if (!f) return bad("the filter is not k…c…r…s…");
    const size_t spatial = three ? 3 : 2;
    auto p = parseList(t[2], 'p', spatial), s = parseList(t[3], 's', spatial), d = parseList(t[4], 'd', spatial);
    if (!p || !s || !d) return bad("pads, strides and dilations take one number per spatial dimension");
    auto g = parseList(t[5], 'g', 1);
    if (!g || (*g)[0] < 1) return bad("groups must be a whole number from 1");
    if (!oneOf(t[6], kDtypes)) return bad("the type is not fp32 or fp16");
    if (!oneOf(t[7], kMaths)) return bad("the math is not default, fma, tensor_op or tensor_op_allow_conversion");
    k.input = *in;
    k.filter = *f;
    k.pads = *p;
    k.strides = *s;
    k.dilations = *d;
    k.groups = (*g)[0];
    k.dtype = t[6];
    k.math = t[7];
    return k;
}

std::optional<ConvChoice> AlgoCache::find(const ConvKey& key) const
{
    auto it = m_entries.find(key.text());
    if (it == m_entries.end()) return std::nullopt;
    return it->second;
}

void AlgoCache::put(const ConvKey& key, ConvChoice choice)
{
    m_entries[key.text()] = std::move(choice);
}

std::string AlgoCache::mismatch(const std::string& dev, const std::string& cudnnVersion) const
{
    if (device != dev) return "its algorithms were measured on " + device + ", not " + dev;
    if (cudnn != cudnnVersion) return "its algorithms were measured with cuDNN " + cudnn + ", not " + cudnnVersion;
    return {};
}

std::string AlgoCache::toJson() const
{
    json entries = json::array();
    for (const auto& [key, c] : m_entries)
        entries.push_back(
            { { "key", key }, { "algo", c.algo }, { "name", c.name }, { "workspace_bytes", c.workspaceBytes },
                { "ms", c.ms }, { "math", c.math }, { "deterministic", c.deterministic } });
    json j = { { "version", kCacheVersion }, { "device", device }, { "cudnn", cudnn }, { "entries", entries } };
    return j.dump(2) + "\n";
}

Result<AlgoCache> AlgoCache::fromJson(const std::string& text)
{
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return invalid("the algorithm cache is not a JSON object");
    if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int64_t>() != kCacheVersion)
        return invalid("the algorithm cache's version is not " + std::to_string(kCacheVersion));
    AlgoCache c;
    for (const char* key : { "device", "cudnn" }) {
        if (!j.contains(key) || !j[key].is_string()) return invalid(std::string("the algorithm cache has no ") + key);
        (std::string(key) == "device" ? c.device : c.cudnn) = j[key].get<std::string>();
    }
    if (!j.contains("entries") || !j["entries"].is_array()) return invalid("the algorithm cache has no entries list");
    size_t n = 0;
    for (const json& e : j["entries"]) {
        const std::string at = "entry " + std::to_string(n++) + ": ";
        if (!e.is_object()) return invalid(at + "not an object");
        if (!e.contains("key") || !e["key"].is_string()) return invalid(at + "no key");
        auto key = ConvKey::parse(e["key"].get<std::string>());
        if (!key.ok()) return invalid(at + key.error().message);
        ConvChoice ch;
        if (!e.contains("algo") || !e["algo"].is_number_integer() || e["algo"].get<int64_t>() < 0
            || e["algo"].get<int64_t>() > 64)
            return invalid(at + "'algo' is not a whole number from 0 to 64");
        ch.algo = static_cast<int>(e["algo"].get<int64_t>());
        if (!e.contains("name") || !e["name"].is_string() || e["name"].get<std::string>().empty())
            return invalid(at + "'name' is not the algorithm's name");
        ch.name = e["name"].get<std::string>();
        if (!e.contains("workspace_bytes") || !e["workspace_bytes"].is_number_unsigned())
            return invalid(at + "'workspace_bytes' is not a whole number");
        ch.workspaceBytes = e["workspace_bytes"].get<uint64_t>();
        if (!e.contains("ms") || !e["ms"].is_number() || e["ms"].get<double>() < 0)
            return invalid(at + "'ms' is not a time");
        ch.ms = e["ms"].get<double>();
        if (!e.contains("math") || !e["math"].is_string() || !oneOf(e["math"].get<std::string>(), kMaths))
            return invalid(at + "'math' is not default, tensor_op or tensor_op_allow_conversion");
        ch.math = e["math"].get<std::string>();
        if (!e.contains("deterministic") || !e["deterministic"].is_boolean())
            return invalid(at + "'deterministic' is not true or false");
        ch.deterministic = e["deterministic"].get<bool>();
        if (c.find(*key)) return invalid(at + "its key appears twice");
        c.put(*key, std::move(ch));
    }
    return c;
}

Status AlgoCache::save(const std::string& path) const
{
    std::error_code ec;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec); // a cache where none was: made now
    return writeTextFileReplacing(path, toJson());
}

Result<AlgoCache> AlgoCache::load(const std::string& path)
{
    DL_ASSIGN(std::string text, readTextFile(path));
    auto c = fromJson(text);
    if (!c.ok()) return invalid("the algorithm cache '" + path + "' is damaged: " + c.error().message);
    return c;
}

} // namespace dl::cuda
