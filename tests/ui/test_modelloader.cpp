// ModelLoader: loads on a worker thread, reports errors as results, cancels, and drops stale results.

#include "modelloader.h"
#include "testmodels.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

using namespace dl;
using namespace dl::ui;

namespace {
constexpr int LoadTimeoutMs = 180000;
}

class TestModelLoader : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    static LoadResultPtr resultAt(const QSignalSpy& spy, int i) { return spy.at(i).at(0).value<LoadResultPtr>(); }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void loadsOnWorkerThread()
    {
        ModelLoader loader;
        QSignalSpy finished(&loader, &ModelLoader::finished);
        QSignalSpy progress(&loader, &ModelLoader::progressChanged);
        QSignalSpy busy(&loader, &ModelLoader::busyChanged);
        QSignalSpy started(&loader, &ModelLoader::started);

        const quint64 generation = loader.load(test::smallOnnxModel());
        // load() returns at once: the work happens elsewhere.
        QVERIFY(loader.isBusy());
        QCOMPARE(started.count(), 1);
        QCOMPARE(loader.currentPath(), test::smallOnnxModel());

        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, LoadTimeoutMs);
        const LoadResultPtr result = resultAt(finished, 0);
        QCOMPARE(result->status, LoadResult::Status::Loaded);
        QCOMPARE(result->generation, generation);
        QCOMPARE(result->path, test::smallOnnxModel());
        QVERIFY(result->summary);
        QCOMPARE(result->summary->format, std::string("onnx"));
        QVERIFY(!result->summary->layers.empty());
        QVERIFY(!loader.isBusy());
        QCOMPARE(busy.count(), 2);
        QCOMPARE(busy.at(0).at(0).toBool(), true);
        QCOMPARE(busy.at(1).at(0).toBool(), false);
        QVERIFY(!progress.isEmpty());
        QCOMPARE(progress.last().at(0).toInt(), 100);
        QTRY_COMPARE(loader.runningJobs(), 0);
    }

    void loadsDarknetWithSeededWeights()
    {
        ModelLoader loader;
        QSignalSpy finished(&loader, &ModelLoader::finished);
        loader.load(test::mediumModel());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, LoadTimeoutMs);
        const LoadResultPtr result = resultAt(finished, 0);
        QVERIFY2(result->status == LoadResult::Status::Loaded, qPrintable(result->error));
        QCOMPARE(result->summary->format, std::string("darknet"));
        QVERIFY(result->weightsPath.isEmpty());
        QVERIFY(result->summary->weightBytes > 1000000);
    }

    void garbageFileFails()
    {
        const QString path = m_dir.filePath(QStringLiteral("garbage.onnx"));
        QVERIFY(test::writeGarbage(path));
        ModelLoader loader;
        QSignalSpy finished(&loader, &ModelLoader::finished);
        loader.load(path);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, LoadTimeoutMs);
        const LoadResultPtr result = resultAt(finished, 0);
        QCOMPARE(result->status, LoadResult::Status::Failed);
        QVERIFY(!result->summary);
        QVERIFY2(!result->error.isEmpty(), "the engine's message must reach the user");
    }

    void missingFileAndUnknownExtensionFail()
    {
        ModelLoader loader;
        QSignalSpy finished(&loader, &ModelLoader::finished);
        loader.load(m_dir.filePath(QStringLiteral("does-not-exist.onnx")));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, LoadTimeoutMs);
        QCOMPARE(resultAt(finished, 0)->status, LoadResult::Status::Failed);
        QVERIFY(!resultAt(finished, 0)->error.isEmpty());

        const QString text = m_dir.filePath(QStringLiteral("notes.txt"));
        QVERIFY(test::writeGarbage(text));
        loader.load(text);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, LoadTimeoutMs);
        QCOMPARE(resultAt(finished, 1)->status, LoadResult::Status::Failed);
        QVERIFY(!resultAt(finished, 1)->error.isEmpty());
    }

    void cancelStopsLargeModel()
    {
        ModelLoader loader;
        QSignalSpy finished(&loader, &ModelLoader::finished);
        QSignalSpy cancelled(&loader, &ModelLoader::cancelled);
        QSignalSpy discarded(&loader, &ModelLoader::discarded);
        QSignalSpy progress(&loader, &ModelLoader::progressChanged);

        loader.load(test::largeModel());
        // Cancel once the importer is demonstrably at work, so that it is the engine that has to stop.
        QTRY_VERIFY_WITH_TIMEOUT(!progress.isEmpty(), LoadTimeoutMs);
        QVERIFY(finished.isEmpty());
        loader.cancel();
        QCOMPARE(cancelled.count(), 1);
        QCOMPARE(cancelled.at(0).at(0).toString(), test::largeModel());
        QVERIFY(!loader.isBusy());

        QTRY_COMPARE_WITH_TIMEOUT(loader.runningJobs(), 0, LoadTimeoutMs);
        QCOMPARE(finished.count(), 0);
        QCOMPARE(cancelled.count(), 1);
        QVERIFY(!loader.isBusy());
        QCOMPARE(discarded.count(), 1);
        // Cancelled, not Loaded: the worker stopped before planning the model, not just its delivery.
        QCOMPARE(resultAt(discarded, 0)->status, LoadResult::Status::Cancelled);
        QVERIFY(progress.last().at(0).toInt() < 100);
    }

    void newerLoadObsoletesOlder()
    {
        ModelLoader loader;
        QSignalSpy finished(&loader, &ModelLoader::finished);
        QSignalSpy cancelled(&loader, &ModelLoader::cancelled);
        QSignalSpy discarded(&loader, &ModelLoader::discarded);

        const quint64 first = loader.load(test::largeModel());
        const quint64 second = loader.load(test::smallOnnxModel());
        QVERIFY(second > first);
        QCOMPARE(cancelled.count(), 1);
        QCOMPARE(cancelled.at(0).at(0).toString(), test::largeModel());

        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, LoadTimeoutMs);
        QCOMPARE(resultAt(finished, 0)->path, test::smallOnnxModel());
        QCOMPARE(resultAt(finished, 0)->generation, second);
        QTRY_COMPARE_WITH_TIMEOUT(loader.runningJobs(), 0, LoadTimeoutMs);
        QCOMPARE(finished.count(), 1);
        QCOMPARE(discarded.count(), 1);
        QCOMPARE(resultAt(discarded, 0)->generation, first);
    }

    void destructionDuringLoadIsSafe()
    {
        auto loader = std::make_unique<ModelLoader>();
        QSignalSpy progress(loader.get(), &ModelLoader::progressChanged);
        loader->load(test::largeModel());
        QTRY_VERIFY_WITH_TIMEOUT(!progress.isEmpty(), LoadTimeoutMs);
        loader.reset(); // cancels and joins; nothing may be delivered to the dead object afterwards
        QTest::qWait(50);
    }
};

QTEST_GUILESS_MAIN(TestModelLoader)
#include "test_modelloader.moc"
