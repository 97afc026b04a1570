// The layer table's item model: Qt's model contract (QAbstractItemModelTester) on a real model's summary,
// numeric sorting through the sort role, and filtering through the proxy the main window uses.

#include "layertablemodel.h"
#include "modelloader.h"
#include "testmodels.h"

#include <QAbstractItemModelTester>
#include <QSortFilterProxyModel>
#include <QTest>

#include <algorithm>

using namespace dl;
using namespace dl::ui;

class TestLayerTableModel : public QObject
{
    Q_OBJECT

private:
    std::shared_ptr<const ModelSummary> m_summary;

    static std::vector<int> layerOrder(const QAbstractItemModel& model)
    {
        std::vector<int> order;
        for (int row = 0; row < model.rowCount(); ++row)
            order.push_back(model.index(row, 0).data(LayerTableModel::LayerIndexRole).toInt());
        return order;
    }

    // Three layers whose weight sizes sort one way as numbers and another way as text.
    static std::shared_ptr<const ModelSummary> syntheticSummary()
    {
        auto summary = std::make_shared<ModelSummary>();
        const size_t weights[] = { 10u << 20, 100, 9u << 10 };
        for (int i = 0; i < 3; ++i) {
            LayerSummary layer;
            layer.index = i;
            layer.name = "layer" + std::to_string(i);
            layer.opTypes = { "Conv", "Relu" };
            layer.nodeCount = 2;
            layer.weightBytes = weights[i];
            layer.outputShape = { 1, 8 << i, 4, 4 };
            layer.flops = 1e6 * (3 - i);
            summary->layers.push_back(layer);
        }
        return summary;
    }

private Q_SLOTS:
    void initTestCase()
    {
        const std::atomic<bool> cancel { false };
        const LoadResultPtr result = loadModelBlocking(test::mediumModel(), cancel);
        QVERIFY2(result->status == LoadResult::Status::Loaded, qPrintable(result->error));
        QVERIFY(result->summary);
        QVERIFY(result->summary->layers.size() > 10);
        m_summary = result->summary;
    }

    void passesModelTester()
    {
        LayerTableModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setSummary(m_summary);
        QCOMPARE(model.rowCount(), static_cast<int>(m_summary->layers.size()));
        QCOMPARE(model.columnCount(), static_cast<int>(LayerTableModel::ColumnCount));
        model.setSummary(nullptr);
        QCOMPARE(model.rowCount(), 0);
        model.setSummary(m_summary);
        QCOMPARE(model.rowCount(), static_cast<int>(m_summary->layers.size()));
    }

    void passesModelTesterThroughProxy()
    {
        LayerTableModel model;
        QSortFilterProxyModel proxy;
        proxy.setSourceModel(&model);
        proxy.setSortRole(LayerTableModel::SortRole);
        proxy.setFilterKeyColumn(-1);
        QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setSummary(m_summary);
        for (int column = 0; column < LayerTableModel::ColumnCount; ++column) {
            proxy.sort(column, Qt::AscendingOrder);
            proxy.sort(column, Qt::DescendingOrder);
        }
        proxy.setFilterFixedString(QStringLiteral("conv"));
        QVERIFY(proxy.rowCount() > 0);
        proxy.setFilterFixedString(QString());
        model.setSummary(nullptr);
        QCOMPARE(proxy.rowCount(), 0);
    }

    void showsLayerFields()
    {
        LayerTableModel model;
        model.setSummary(m_summary);
        const LayerSummary& first = m_summary->layers.front();
        QCOMPARE(model.index(0, LayerTableModel::IndexColumn).data().toInt(), first.index);
        QCOMPARE(model.index(0, LayerTableModel::NameColumn).data().toString(), QString::fromStdString(first.name));
        const QString ops = model.index(0, LayerTableModel::OpsColumn).data().toString();
        QVERIFY2(ops.startsWith(QString::fromStdString(first.opTypes.front())), qPrintable(ops));
        QCOMPARE(ops.count(QStringLiteral(" + ")), static_cast<qsizetype>(first.opTypes.size()) - 1);
        QCOMPARE(model.index(0, LayerTableModel::WeightColumn).data(LayerTableModel::SortRole).toULongLong(),
            static_cast<qulonglong>(first.weightBytes));
        QCOMPARE(model.index(0, LayerTableModel::OutputShapeColumn).data().toString(),
            QString::fromStdString(shapeToString(first.outputShape)));
        QCOMPARE(model.index(0, LayerTableModel::MflopsColumn).data(LayerTableModel::SortRole).toDouble(), first.flops);
        QCOMPARE(model.headerData(LayerTableModel::WeightColumn, Qt::Horizontal).toString(), QStringLiteral("Weights"));
    }

    void sortsWeightsNumerically()
    {
        LayerTableModel model;
        model.setSummary(syntheticSummary());
        QSortFilterProxyModel proxy;
        proxy.setSourceModel(&model);

        // As text, "10.0 MiB" < "100 B" < "9.0 KiB": the order the sort role must not produce.
        proxy.setSortRole(Qt::DisplayRole);
        proxy.sort(LayerTableModel::WeightColumn, Qt::AscendingOrder);
        QCOMPARE(layerOrder(proxy), (std::vector<int> { 0, 1, 2 }));

        proxy.setSortRole(LayerTableModel::SortRole);
        proxy.sort(LayerTableModel::WeightColumn, Qt::AscendingOrder);
        QCOMPARE(layerOrder(proxy), (std::vector<int> { 1, 2, 0 }));
        proxy.sort(LayerTableModel::WeightColumn, Qt::DescendingOrder);
        QCOMPARE(layerOrder(proxy), (std::vector<int> { 0, 2, 1 }));
    }

    void sortsRealModelByWeightBytes()
    {
        LayerTableModel model;
        model.setSummary(m_summary);
        QSortFilterProxyModel proxy;
        proxy.setSourceModel(&model);
        proxy.setSortRole(LayerTableModel::SortRole);
        proxy.sort(LayerTableModel::WeightColumn, Qt::DescendingOrder);

        std::vector<size_t> shown;
        for (int row = 0; row < proxy.rowCount(); ++row) {
            const int layer = proxy.index(row, 0).data(LayerTableModel::LayerIndexRole).toInt();
            const auto it = std::find_if(m_summary->layers.begin(), m_summary->layers.end(),
                [layer](const LayerSummary& l) { return l.index == layer; });
            QVERIFY(it != m_summary->layers.end());
            shown.push_back(it->weightBytes);
        }
        std::vector<size_t> expected;
        for (const auto& layer : m_summary->layers)
            expected.push_back(layer.weightBytes);
        std::sort(expected.begin(), expected.end(), std::greater<> {});
        QCOMPARE(shown, expected);
        QVERIFY(shown.front() > shown.back());
    }

    void filtersByOperator()
    {
        LayerTableModel model;
        model.setSummary(m_summary);
        QSortFilterProxyModel proxy;
        proxy.setSourceModel(&model);
        proxy.setFilterKeyColumn(-1);
        proxy.setFilterCaseSensitivity(Qt::CaseInsensitive);
        proxy.setFilterFixedString(QStringLiteral("maxpool"));

        const auto expected = std::count_if(m_summary->layers.begin(), m_summary->layers.end(), [](const auto& l) {
            return std::find(l.opTypes.begin(), l.opTypes.end(), "MaxPool") != l.opTypes.end()
                || QString::fromStdString(l.name).contains(QStringLiteral("maxpool"), Qt::CaseInsensitive);
        });
        QVERIFY(expected > 0);
        QCOMPARE(proxy.rowCount(), static_cast<int>(expected));
        QVERIFY(proxy.rowCount() < model.rowCount());
    }

    // A run or configuration of pieces (a layer cut at a split is "NAME.0", "NAME.1", ...) shows on its layers' rows:
    // a row is resident when all of its pieces are, its times are their sums; a name that is some row's own is that
    // row, even when it ends in ".K"; a layer that is no row's leaves the columns empty.
    void showsPiecesOnTheirLayersRows()
    {
        auto summary = std::make_shared<ModelSummary>();
        for (const char* name : { "conv", "fc.1", "head" }) {
            LayerSummary layer;
            layer.index = static_cast<int>(summary->layers.size());
            layer.name = name;
            summary->layers.push_back(layer);
        }
        LayerTableModel m;
        m.setSummary(summary);
        const std::vector<std::string> names = { "conv.0", "conv.1", "fc.1", "head.0", "head.1", "head.2" };
        QCOMPARE(m.rowsOf(names), (std::vector<int> { 0, 0, 1, 2, 2, 2 }));
        QCOMPARE(m.rowsOf({ "fc.1.0", "fc", "conv.x", "conv." }), (std::vector<int> { 1, -1, -1, -1 }));

        m.setResident({ true, true, false, true, false, true }, names);
        QCOMPARE(m.resident(), (std::vector<bool> { true, false, false }));
        QCOMPARE(m.index(0, LayerTableModel::ResidentColumn).data().toString(), QStringLiteral("yes"));
        QCOMPARE(m.index(2, LayerTableModel::ResidentColumn).data().toString(), QStringLiteral("no"));
        m.setResident({ true, true }, { "conv.0", "nowhere" });
        QVERIFY(m.resident().empty());

        std::vector<store::LayerStats> stats;
        for (size_t i = 0; i < names.size(); ++i)
            stats.push_back({ static_cast<int>(i), names[i], 4096, 1.0 * (i + 1), 0.5, 2.0 * (i + 1), 0.25, i < 2 });
        m.setRunStats(stats);
        QCOMPARE(m.runStats().size(), size_t(3));
        QCOMPARE(m.runStats()[0].kernelMs, 2.0 + 4.0);
        QCOMPARE(m.runStats()[2].readMs, 4.0 + 5.0 + 6.0);
        QCOMPARE(m.runStats()[2].stallMs, 0.75);
        QCOMPARE(m.runStats()[2].bytes, int64_t(3 * 4096));
        QVERIFY(m.runStats()[0].resident);
        QVERIFY(!m.runStats()[2].resident);
        stats.push_back({ 6, "nowhere", 0, 0, 0, 0, 0, false });
        m.setRunStats(stats);
        QVERIFY(m.runStats().empty());
    }
};

QTEST_GUILESS_MAIN(TestLayerTableModel)
#include "test_layertablemodel.moc"
