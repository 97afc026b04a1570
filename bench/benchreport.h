#pragma once

// What the C++ benchmarks share: the machine line of a table, and writing a table into its marked section of
// docs/benchmarks.md.

#include <fstream>
#include <sstream>
#include <string>
#include <sys/utsname.h>
#include <thread>

namespace dlbench {

// "Intel(R) Xeon(R) Processor, 2 cores, Linux 6.1.0": the CPU model, the cores and the kernel.
inline std::string machineDescription()
{
    struct utsname u
    {
    };
    ::uname(&u);
    std::string cpu = "unknown CPU";
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("model name", 0) == 0) {
            cpu = line.substr(line.find(':') + 2);
            break;
        }
    return cpu + ", " + std::to_string(std::thread::hardware_concurrency()) + " cores, Linux " + u.release;
}

// Replaces the text between "<!-- TAG:begin -->" and "<!-- TAG:end -->" in `path` with `table`, or appends the
// section under "## HEADING" when the markers are missing. False when the file cannot be written.
inline bool writeSection(
    const std::string& path, const std::string& tag, const std::string& heading, const std::string& table)
{
    std::string text;
    {
        std::ifstream f(path);
        std::stringstream ss;
        ss << f.rdbuf();
        text = ss.str();
    }
    const std::string begin = "<!-- " + tag + ":begin -->", end = "<!-- " + tag + ":end -->";
    const std::string block = begin + "\n" + table + end;
    const auto b = text.find(begin), e = text.find(end);
    if (b != std::string::npos && e != std::string::npos && e > b)
        text = text.substr(0, b) + block + text.substr(e + end.size());
    else
        text
            += std::string(text.empty() || text.back() == '\n' ? "" : "\n") + "\n## " + heading + "\n\n" + block + "\n";
    std::ofstream f(path, std::ios::trunc);
    f << text;
    return static_cast<bool>(f);
}

} // namespace dlbench
