#pragma once

// Background work for the studio's objects, written once: each job runs on a thread of its own, hands its result
// back on the owner's thread by queued call, and the destructor waits for every job still running, so that no result
// reaches a destroyed owner and no thread outlives the window. The GUI thread never waits except there, and for the
// return of a job's thread that has handed over all it had (when its end is told). An exception that escapes a job
// (the allocator giving up, most likely: the engine reports everything else as values) is caught on its thread and
// handed on as text; it never takes the studio down.

#include <QMetaObject>
#include <QObject>
#include <QString>

#include <pthread.h>

#include <exception>
#include <functional>
#include <list>
#include <new>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#if defined(__SANITIZE_THREAD__)
extern "C" {
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
}
#endif

namespace dl::ui {

// Results cross threads through Qt's queued calls, behind the event queue's lock. Debian's Qt is not built with
// ThreadSanitizer, so that lock is invisible to it and each hand-off would read as a race. Under TSan (scripts/test.sh
// --sanitize=thread) the hand-offs say so themselves: what a thread did before handOff(token) happens before what
// another does after takeOver(token). Empty in every other build.
inline void handOff([[maybe_unused]] const void* token)
{
#if defined(__SANITIZE_THREAD__)
    __tsan_release(const_cast<void*>(token));
#endif
}
inline void takeOver([[maybe_unused]] const void* token)
{
#if defined(__SANITIZE_THREAD__)
    __tsan_acquire(const_cast<void*>(token));
#endif
}

// Calls f() on target's thread by a queued call, from any thread. f() sees what the caller did before; whichever
// thread destroys f (Qt lets go of a queued call on either side) sees what f() did. The call's own address is the
// token: it is said once Qt has moved the call to where it stays, and known on the other side without reading it.
template <typename F> void postTo(QObject* target, F f)
{
    struct Call
    {
        F f;
        explicit Call(F&& fn)
            : f(std::move(fn))
        {
            handOff(this);
        }
        Call(Call&& other)
            : f(std::move(other.f))
        {
            handOff(this);
        }
        ~Call() { takeOver(this); } // before f goes
        void operator()()
        {
            takeOver(this);
            f();
            handOff(this);
        }
    };
    QMetaObject::invokeMethod(target, Call(std::move(f)), Qt::QueuedConnection);
}

class WorkerThreads : public QObject
{
public:
    using Failed = std::function<void(const QString& what)>;

    explicit WorkerThreads(QObject* owner)
        : QObject(owner)
    { }
    // Waits for the jobs still running; what they post afterwards dies with this object (Qt drops a destroyed
    // receiver's queued calls).
    ~WorkerThreads() override
    {
        for (std::thread& t : m_threads)
            if (t.joinable()) t.join();
    }

    // Runs body() on a new thread named `name` (its first 15 bytes: the kernel's limit); `failed` (on this object's
    // thread) gets what escaped it, if anything. Each thread is joined on this object's thread once it has posted its
    // last call here, so its end is exact: nothing it did is still going on when its job counts as ended.
    void start(const QString& name, std::function<void()> body, Failed failed = {})
    {
        m_threads.emplace_back();
        const auto job = std::prev(m_threads.end());
        const Failed noThread = failed;
        try {
            *job = std::thread([this, job, name = name.toUtf8().left(15), body = std::move(body),
                                   failed = std::move(failed)]() mutable {
                pthread_setname_np(pthread_self(), name.constData());
                std::optional<QString> what;
                try {
                    body();
                } catch (const std::bad_alloc&) {
                    what = QObject::tr("out of memory");
                } catch (const std::exception& e) {
                    what = QString::fromLocal8Bit(e.what());
                } catch (...) {
                    what = QObject::tr("an unknown failure");
                }
                body = nullptr; // the job's state goes here, on its own thread
                postTo(this, [this, job, what = std::move(what), failed = std::move(failed)] {
                    if (what && failed) failed(*what);
                    job->join(); // it has nothing left to do but return
                    m_threads.erase(job);
                    if (m_ended) m_ended();
                });
            });
        } catch (const std::system_error& e) { // no thread to be had (the process's limit): the job fails, and ends
            m_threads.erase(job);
            postTo(this, [this, what = QString::fromLocal8Bit(e.what()), noThread] {
                if (noThread) noThread(what);
                if (m_ended) m_ended();
            });
        }
    }

    // Runs work() on a new thread, then deliver(result) on this object's thread (unless it was destroyed meanwhile);
    // failed(what) instead when work() threw.
    template <typename Work, typename Deliver>
    void run(const QString& name, Work work, Deliver deliver, Failed failed = {})
    {
        start(
            name,
            [this, work = std::move(work), deliver = std::move(deliver)]() mutable {
                auto result = work();
                postTo(this, [deliver = std::move(deliver), result = std::move(result)]() mutable { deliver(result); });
            },
            std::move(failed));
    }

    // From a job: calls f() on this object's thread, unless it is gone by then.
    template <typename F> void post(F f) { postTo(this, std::move(f)); }

    int running() const { return static_cast<int>(m_threads.size()); }
    // Called on this object's thread each time a job's thread has ended (running() already counts it out).
    void onThreadEnded(std::function<void()> f) { m_ended = std::move(f); }

private:
    std::list<std::thread> m_threads; // a job's entry stays where it is until that job's end erases it
    std::function<void()> m_ended;
};

} // namespace dl::ui
