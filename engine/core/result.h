#pragma once

// Errors as values: every engine function that can fail on user input returns a Result<T> or a Status.
// No exceptions cross the library boundary.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace dl {

enum class ErrorCode {
    Invalid, // bad input: malformed model, bad shape, bad argument
    Unsupported, // valid input the engine cannot handle (unknown op, unsupported type or attribute)
    Io, // the operating system refused a read or a write
    Corrupt, // a file's contents fail a check
    Cancelled,
    Internal,
    // A run asked for what its model cannot give: a resident layer it does not have, a split or input shape its pack
    // was not made with, options that contradict each other (a command line exits 2 for these, not 1).
    BadRequest,
};

const char* errorCodeName(ErrorCode code);

struct Error
{
    ErrorCode code = ErrorCode::Invalid;
    std::string message;
};

inline Error makeError(ErrorCode code, std::string message)
{
    return Error { code, std::move(message) };
}
inline Error invalid(std::string message)
{
    return Error { ErrorCode::Invalid, std::move(message) };
}
inline Error badRequest(std::string message)
{
    return Error { ErrorCode::BadRequest, std::move(message) };
}
inline Error unsupported(std::string message)
{
    return Error { ErrorCode::Unsupported, std::move(message) };
}

template <typename T> class [[nodiscard]] Result
{
public:
    Result(T value)
        : m_v(std::in_place_index<0>, std::move(value))
    { }
    Result(Error error)
        : m_v(std::in_place_index<1>, std::move(error))
    { }

    bool ok() const { return m_v.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() &
    {
        assert(ok());
        return std::get<0>(m_v);
    }
    const T& value() const&
    {
        assert(ok());
        return std::get<0>(m_v);
    }
    T&& value() &&
    {
        assert(ok());
        return std::get<0>(std::move(m_v));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }

    const Error& error() const
    {
        assert(!ok());
        return std::get<1>(m_v);
    }

private:
    std::variant<T, Error> m_v;
};

template <> class [[nodiscard]] Result<void>
{
public:
    Result() = default;
    Result(Error error)
        : m_error(std::move(error))
        , m_ok(false)
    { }
    bool ok() const { return m_ok; }
    explicit operator bool() const { return m_ok; }
    const Error& error() const
    {
        assert(!m_ok);
        return m_error;
    }

private:
    Error m_error;
    bool m_ok = true;
};

using Status = Result<void>;

} // namespace dl

// Propagates a failed Status/Result from the current function.
#define DL_TRY(expr)                                                                                                   \
    do {                                                                                                               \
        auto dl_try_r_ = (expr);                                                                                       \
        if (!dl_try_r_.ok()) return dl_try_r_.error();                                                                 \
    } while (0)

#define DL_CONCAT_INNER(a, b) a##b
#define DL_CONCAT(a, b) DL_CONCAT_INNER(a, b)
// Declares `lhs` from a Result's value, or returns its error.
#define DL_ASSIGN(lhs, expr) DL_ASSIGN_IMPL(DL_CONCAT(dl_assign_r_, __LINE__), lhs, expr)
#define DL_ASSIGN_IMPL(tmp, lhs, expr)                                                                                 \
    auto tmp = (expr);                                                                                                 \
    if (!tmp.ok()) return tmp.error();                                                                                 \
    lhs = std::move(tmp).value()
