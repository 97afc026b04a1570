// What the CUDA backend can tell without a GPU: the cuDNN it loaded is the one it was built against, of a major
// version the legacy API serves (8 for JetPack 5, 9 here); statuses are named by enum; and probing the device never
// aborts — on a machine without a driver it says why, naming the CUDA error.

#include "backend/cuda/cudaprobe.h"

#include <QTest>

using namespace dl::cuda;

class TestCudaLibrary : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void cudnnIsTheOneBuiltAgainst()
    {
        const int major = cudnnLoadedMajor();
        QVERIFY2(major == 8 || major == 9, qPrintable(QString::number(major)));
        // The same major version at run time as at build time (a cuDNN 8 library under a cuDNN 9 build would break
        // the legacy API's ABI).
        QCOMPARE(QString::fromStdString(cudnnLoadedVersion()).section(QLatin1Char('.'), 0, 0),
            QString::fromStdString(cudnnBuiltVersion()).section(QLatin1Char('.'), 0, 0));
        QVERIFY(!cudnnBadParamText().empty());
        QVERIFY2(cudnnBadParamText().find("BAD_PARAM") != std::string::npos, cudnnBadParamText().c_str());
    }

    void probingNeverAborts()
    {
        const DeviceProbe p = probeDevice();
        QVERIFY(p.runtimeVersion >= 11000); // CUDA 11.4 (JetPack 5) or later
        if (p.usable) {
            QVERIFY(p.count > 0);
            QVERIFY(!p.name.empty());
            QVERIFY(p.major >= 7);
            QVERIFY(p.memoryBytes > 0);
        } else {
            QVERIFY2(!p.reason.empty(), "an unusable device must say why");
            QCOMPARE(p.count, 0);
            qInfo("no usable CUDA device: %s", p.reason.c_str());
        }
        // A second probe after a failed one gives the same answer (the runtime's error was cleared).
        const DeviceProbe again = probeDevice();
        QCOMPARE(again.usable, p.usable);
        QCOMPARE(again.reason, p.reason);
    }
};

QTEST_GUILESS_MAIN(TestCudaLibrary)
#include "test_cuda_library.moc"
