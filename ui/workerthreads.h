#pragma once

// Background work for the studio's objects: each job runs on a thread of its own, hands its result back on the owner's
// thread by queued call, and the destructor waits for every job still running, so that no result is delivered to a
// destroyed owner and no thread outlives the window. The GUI thread itself never waits except there.

#include <QObject>
#include <QPointer>
#include <QThread>

#include <utility>
#include <vector>

namespace dl::ui {

class WorkerThreads : public QObject
{
public:
    explicit WorkerThreads(QObject* owner)
        : QObject(owner)
    { }
    ~WorkerThreads() override
    {
        for (QThread* t : m_threads) {
            t->wait();
            delete t;
        }
    }

    // Runs `work()` on a new thread, then `deliver(result)` on this object's thread (unless it was destroyed).
    template <typename Work, typename Deliver> void run(const QString& name, Work work, Deliver deliver)
    {
        QThread* thread = QThread::create([self = QPointer<WorkerThreads>(this), work = std::move(work),
                                              deliver = std::move(deliver)]() mutable {
            auto result = work();
            if (WorkerThreads* s = self.data())
                QMetaObject::invokeMethod(
                    s, [deliver = std::move(deliver), result = std::move(result)]() mutable { deliver(result); },
                    Qt::QueuedConnection);
        });
        thread->setObjectName(name);
        connect(thread, &QThread::finished, this, [this, thread] {
            std::erase(m_threads, thread);
            thread->deleteLater();
        });
        m_threads.push_back(thread);
        thread->start();
    }
    int running() const { return static_cast<int>(m_threads.size()); }

private:
    std::vector<QThread*> m_threads;
};

} // namespace dl::ui
