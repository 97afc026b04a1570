#include "core/textfile.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace dl {

Result<std::string> readTextFile(const std::string& path)
{
    std::ifstream f(path, std::ios::binary);
    if (!f) return makeError(ErrorCode::Io, "cannot read '" + path + "'");
    std::stringstream ss;
    ss << f.rdbuf();
    if (f.bad()) return makeError(ErrorCode::Io, "cannot read '" + path + "'");
    return ss.str();
}

Status writeTextFileReplacing(const std::string& path, const std::string& text)
{
    const std::string tmp = path + ".tmp";
    std::error_code ec;
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        f << text;
        f.flush();
        if (!f) {
            std::filesystem::remove(tmp, ec);
            return makeError(ErrorCode::Io, "cannot write '" + path + "'");
        }
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        return makeError(ErrorCode::Io, "cannot write '" + path + "'");
    }
    return {};
}

} // namespace dl
