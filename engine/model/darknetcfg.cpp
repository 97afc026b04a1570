#include "model/darknetcfg.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

namespace dl::darknet {

const CfgOption* CfgSection::find(const std::string& key) const
{
    for (const auto& opt : options)
        if (opt.key == key) return &opt;
    return nullptr;
}

namespace {

std::string baseName(const std::string& path)
{
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The offending text, with bytes that would garble a terminal shown as '?'.
std::string printable(const std::string& s)
{
    std::string out = s.size() > 80 ? s.substr(0, 77) + "..." : s;
    for (char& ch : out)
        if (!std::isprint(static_cast<unsigned char>(ch))) ch = '?';
    return out;
}

std::string lineError(const std::string& name, int line, const std::string& what)
{
    return name + ":" + std::to_string(line) + ": " + what;
}

} // namespace

Result<CfgFile> parseCfgText(const std::string& text, const std::string& name)
{
    CfgFile file;
    file.name = name;
    std::istringstream in(text);
    std::string raw;
    int lineNo = 0;
    while (std::getline(in, raw)) {
        ++lineNo;
        // Darknet strips every whitespace character, not only the ends: "hue = .1" is "hue=.1".
        std::string line;
        line.reserve(raw.size());
        for (char ch : raw)
            if (!std::isspace(static_cast<unsigned char>(ch))) line += ch;
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        if (line[0] == '[') {
            if (line.back() != ']')
                return invalid(lineError(name, lineNo, "section header '" + printable(line) + "' has no closing ']'"));
            CfgSection s;
            s.type = line.substr(1, line.size() - 2);
            s.line = lineNo;
            if (s.type.empty()) return invalid(lineError(name, lineNo, "empty section name '[]'"));
            file.sections.push_back(std::move(s));
            continue;
        }
        const auto eq = line.find('=');
        if (eq == std::string::npos || eq == 0)
            return invalid(lineError(name, lineNo, "expected key=value, got '" + printable(line) + "'"));
        if (file.sections.empty())
            return invalid(lineError(name, lineNo, "option '" + line.substr(0, eq) + "' comes before any [section]"));
        CfgOption opt;
        opt.key = line.substr(0, eq);
        opt.value = line.substr(eq + 1);
        // Trailing comments are not Darknet syntax, but they are common in hand-edited files and harmless to drop.
        if (const auto hash = opt.value.find('#'); hash != std::string::npos) opt.value.resize(hash);
        opt.line = lineNo;
        file.sections.back().options.push_back(std::move(opt));
    }
    return file;
}

Result<CfgFile> parseCfgFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorCode::Io, "cannot open '" + path + "': " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return makeError(ErrorCode::Io, "cannot read '" + path + "'");
    return parseCfgText(ss.str(), baseName(path));
}

void SectionReader::fail(const CfgOption& opt, const std::string& expected)
{
    if (m_error.empty())
        m_error = lineError(m_file.name, opt.line,
            "[" + m_section.type + "] '" + opt.key + "' expects " + expected + ", got '" + printable(opt.value) + "'");
}

int64_t SectionReader::getInt(const std::string& key, int64_t fallback)
{
    const CfgOption* opt = m_section.find(key);
    if (!opt) return fallback;
    const char* s = opt->value.c_str();
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(s, &end, 10);
    // Darknet reads its options into C ints: a value outside them is no network it could load, and keeping to them
    // keeps the lowering's products of sizes within 64 bits.
    if (opt->value.empty() || *end != '\0' || errno == ERANGE || v > std::numeric_limits<int32_t>::max()
        || v < std::numeric_limits<int32_t>::min()) {
        fail(*opt, "an integer within 32 bits");
        return fallback;
    }
    return v;
}

float SectionReader::getFloat(const std::string& key, float fallback)
{
    const CfgOption* opt = m_section.find(key);
    if (!opt) return fallback;
    const char* s = opt->value.c_str();
    char* end = nullptr;
    const float v = std::strtof(s, &end);
    if (opt->value.empty() || *end != '\0') {
        fail(*opt, "a number");
        return fallback;
    }
    return v;
}

std::string SectionReader::getString(const std::string& key, const std::string& fallback)
{
    const CfgOption* opt = m_section.find(key);
    return opt ? opt->value : fallback;
}

std::vector<int64_t> SectionReader::getInts(const std::string& key)
{
    std::vector<int64_t> out;
    const CfgOption* opt = m_section.find(key);
    if (!opt) return out;
    std::string item;
    std::istringstream in(opt->value);
    while (std::getline(in, item, ',')) {
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || errno == ERANGE) {
            fail(*opt, "a comma-separated list of integers");
            return {};
        }
        out.push_back(v);
    }
    if (out.empty()) fail(*opt, "a comma-separated list of integers");
    return out;
}

std::string SectionReader::where(const std::string& key) const
{
    int line = m_section.line;
    if (!key.empty())
        if (const CfgOption* opt = m_section.find(key)) line = opt->line;
    return m_file.name + ":" + std::to_string(line);
}

Error SectionReader::error(const std::string& message, const std::string& key) const
{
    return invalid(where(key) + ": [" + m_section.type + "] " + message);
}

Error SectionReader::unsupportedError(const std::string& message, const std::string& key) const
{
    return unsupported(where(key) + ": [" + m_section.type + "] " + message);
}

Status SectionReader::status() const
{
    if (m_error.empty()) return {};
    return invalid(m_error);
}

} // namespace dl::darknet
