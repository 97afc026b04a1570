#pragma once

// Background work for the studio's objects, written once: each job runs on a thread of its own, hands its result
// back on the owner's thread by queued call, and the destructor waits for every job still running, so that no result
// reaches a destroyed owner and no thread outlives the window. The GUI thread never waits except there. An exception
// that escapes a job (the allocator giving up, most likely: the engine reports everything else as values) is caught
// on its thread and handed on as text; it never takes the studio down.

#include <QObject>
#include <QPointer>
#include <QString>
#include <QThread>

#include <exception>
#include <functional>
#include <new>
#include <utility>
#include <vector>

namespace dl::ui {

class WorkerThreads : public QObject
{
public:
    using Failed = std::function<void(const QString& what)>;

    explicit WorkerThreads(QObject* owner)
        : QObject(owner)
    { }
    ~WorkerThreads() override
    {
        for (QThread* t : m_threads) {
            t->disconnect(this);
            t->wait();
            delete t;
        }
    }

    // Runs body() on a new thread named `name`; `failed` (on this object's thread) gets what escaped it, if anything.
    void start(const QString& name, std::function<void()> body, Failed failed = {})
    {
        QThread* thread = QThread::create(
            [self = QPointer<WorkerThreads>(this), body = std::move(body), failed = std::move(failed)] {
                QString what;
                try {
                    body();
                    return;
                } catch (const std::bad_alloc&) {
                    what = QObject::tr("out of memory");
                } catch (const std::exception& e) {
                    what = QString::fromLocal8Bit(e.what());
                } catch (...) {
                    what = QObject::tr("an unknown failure");
                }
                if (WorkerThreads* s = self.data(); s && failed)
                    QMetaObject::invokeMethod(
                        s, [failed, what] { failed(what); }, Qt::QueuedConnection);
            });
        thread->setObjectName(name);
        connect(thread, &QThread::finished, this, [this, thread] {
            std::erase(m_threads, thread);
            thread->deleteLater();
            if (m_ended) m_ended();
        });
        m_threads.push_back(thread);
        thread->start();
    }

    // Runs work() on a new thread, then deliver(result) on this object's thread (unless it was destroyed meanwhile);
    // failed(what) instead when work() threw.
    template <typename Work, typename Deliver>
    void run(const QString& name, Work work, Deliver deliver, Failed failed = {})
    {
        start(
            name,
            [self = QPointer<WorkerThreads>(this), work = std::move(work), deliver = std::move(deliver)]() mutable {
                auto result = work();
                if (WorkerThreads* s = self.data())
                    QMetaObject::invokeMethod(
                        s, [deliver = std::move(deliver), result = std::move(result)]() mutable { deliver(result); },
                        Qt::QueuedConnection);
            },
            std::move(failed));
    }

    // From a job: calls f() on this object's thread, unless it is gone by then.
    template <typename F> void post(F f) { QMetaObject::invokeMethod(this, std::move(f), Qt::QueuedConnection); }

    int running() const { return static_cast<int>(m_threads.size()); }
    // Called on this object's thread each time a job's thread has ended (running() already counts it out).
    void onThreadEnded(std::function<void()> f) { m_ended = std::move(f); }

private:
    std::vector<QThread*> m_threads;
    std::function<void()> m_ended;
};

} // namespace dl::ui
