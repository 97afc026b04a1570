#include "core/result.h"

namespace dl {

const char* errorCodeName(ErrorCode code)
{
    switch (code) {
    case ErrorCode::Invalid:
        return "invalid";
    case ErrorCode::Unsupported:
        return "unsupported";
    case ErrorCode::Io:
        return "io";
    case ErrorCode::Corrupt:
        return "corrupt";
    case ErrorCode::Cancelled:
        return "cancelled";
    case ErrorCode::Internal:
        return "internal";
    case ErrorCode::BadRequest:
        return "bad request";
    }
    return "unknown";
}

} // namespace dl
