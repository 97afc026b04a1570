#pragma once

// Darknet .cfg files: INI-like sections ("[convolutional]") of key=value options. The parser follows Darknet's
// own reader (all whitespace is removed from a line, '#' and ';' start comment lines, the first occurrence of a
// key wins) but reports errors with the file and line instead of guessing.

#include "core/result.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dl::darknet {

struct CfgOption
{
    std::string key;
    std::string value;
    int line = 0;
};

struct CfgSection
{
    std::string type; // the name between the brackets, as written: "convolutional", "net", ...
    int line = 0;
    std::vector<CfgOption> options;

    // The first option with this key, or nullptr.
    const CfgOption* find(const std::string& key) const;
};

struct CfgFile
{
    std::string name; // the file's base name, used as the "where" of every message
    std::vector<CfgSection> sections;
};

// Reads and tokenises a .cfg file. Fails with "name:line: ..." for a line that is neither a section header, a
// comment nor key=value, and for an option before the first section.
Result<CfgFile> parseCfgFile(const std::string& path);
Result<CfgFile> parseCfgText(const std::string& text, const std::string& name);

// Typed access to one section's options. Conversion errors are collected rather than returned from every getter
// (the first one wins) so that lowering code reads the options it needs and checks status() once.
class SectionReader
{
public:
    SectionReader(const CfgFile& file, const CfgSection& section)
        : m_file(file)
        , m_section(section)
    { }

    bool has(const std::string& key) const { return m_section.find(key) != nullptr; }
    int64_t getInt(const std::string& key, int64_t fallback);
    float getFloat(const std::string& key, float fallback);
    std::string getString(const std::string& key, const std::string& fallback);
    // A comma-separated list of integers ("-1, 61"); empty when the key is absent.
    std::vector<int64_t> getInts(const std::string& key);

    // "yolov4.cfg:123" for the section header, or for the line of `key` when it is present.
    std::string where(const std::string& key = {}) const;
    // An Invalid error "file:line: [type] message" (at the key's line when given and present).
    Error error(const std::string& message, const std::string& key = {}) const;
    Error unsupportedError(const std::string& message, const std::string& key = {}) const;

    Status status() const;

private:
    void fail(const CfgOption& opt, const std::string& expected);

    const CfgFile& m_file;
    const CfgSection& m_section;
    std::string m_error;
};

} // namespace dl::darknet
