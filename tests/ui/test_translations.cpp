// The Korean translation: complete (every source string of the English file translated and finished), and
// loaded the way dlstudio loads it, it changes what the window shows.

#include "layertablemodel.h"
#include "mainwindow.h"

#include <QFile>
#include <QLocale>
#include <QMenuBar>
#include <QSet>
#include <QSettings>
#include <QStandardPaths>
#include <QTest>
#include <QTranslator>
#include <QXmlStreamReader>

using namespace dl::ui;

namespace {

struct TsFile
{
    QString language;
    QSet<QString> sources;
    QStringList untranslated;
};

bool readTs(const QString& path, TsFile* ts)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) return false;
    QXmlStreamReader xml(&file);
    QString source;
    while (xml.readNext() != QXmlStreamReader::EndDocument && !xml.hasError()) {
        if (!xml.isStartElement()) continue;
        if (xml.name() == QLatin1String("TS")) {
            ts->language = xml.attributes().value(QLatin1String("language")).toString();
        } else if (xml.name() == QLatin1String("source")) {
            source = xml.readElementText();
            ts->sources.insert(source);
        } else if (xml.name() == QLatin1String("translation")) {
            const QString type = xml.attributes().value(QLatin1String("type")).toString();
            const QString text = xml.readElementText(QXmlStreamReader::IncludeChildElements); // numerus forms
            if (type == QLatin1String("unfinished") || type == QLatin1String("vanished") || text.isEmpty())
                ts->untranslated.append(source);
        }
    }
    if (xml.hasError()) qWarning("%s:%lld: %s", qPrintable(path), xml.lineNumber(), qPrintable(xml.errorString()));
    return !xml.hasError();
}

} // namespace

class TestTranslations : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void koreanIsComplete()
    {
        TsFile en;
        TsFile ko;
        QVERIFY(readTs(QStringLiteral(DL_TRANSLATIONS_DIR "/dlstudio_en.ts"), &en));
        QVERIFY(readTs(QStringLiteral(DL_TRANSLATIONS_DIR "/dlstudio_ko.ts"), &ko));
        QCOMPARE(en.language, QStringLiteral("en"));
        QCOMPARE(ko.language, QStringLiteral("ko"));
        QVERIFY(en.sources.size() > 40);
        QCOMPARE(ko.sources, en.sources);
        QVERIFY2(ko.untranslated.isEmpty(), qPrintable(ko.untranslated.join(QStringLiteral(" | "))));
    }

    // View → Language keeps the choice for the next start, which dlstudio's main() reads; the menu shows it.
    void languageChoiceIsKept()
    {
        QStandardPaths::setTestModeEnabled(true);
        QSettings settings(QStringLiteral("DemandLayering"), QStringLiteral("Studio"));
        settings.remove(MainWindow::LanguageKey);
        {
            MainWindow window;
            window.setLanguage(QStringLiteral("ko"));
        }
        QCOMPARE(QSettings(QStringLiteral("DemandLayering"), QStringLiteral("Studio"))
                     .value(MainWindow::LanguageKey)
                     .toString(),
            QStringLiteral("ko"));
        MainWindow window;
        QStringList checked;
        for (QAction* a : window.findChildren<QAction*>())
            if (a->isCheckable() && a->isChecked() && a->data().isValid()) checked.append(a->data().toString());
        QCOMPARE(checked, QStringList { QStringLiteral("ko") });
        window.setLanguage(QString());
        QCOMPARE(QSettings(QStringLiteral("DemandLayering"), QStringLiteral("Studio"))
                     .value(MainWindow::LanguageKey)
                     .toString(),
            QString());
    }

    void koreanChangesTheWindow()
    {
        QTranslator translator;
        QVERIFY(translator.load(QLocale(QLocale::Korean, QLocale::SouthKorea), QStringLiteral("dlstudio"),
            QStringLiteral("_"), QStringLiteral(DL_QM_DIR)));
        QVERIFY(QCoreApplication::installTranslator(&translator));

        MainWindow window;
        QStringList menus;
        for (QAction* action : window.menuBar()->actions())
            menus.append(action->text());
        QCOMPARE(menus,
            (QStringList { QStringLiteral("파일(&F)"), QStringLiteral("실행(&R)"), QStringLiteral("보기(&V)"),
                QStringLiteral("도움말(&H)") }));
        QCOMPARE(window.layerModel()->headerData(LayerTableModel::NameColumn, Qt::Horizontal).toString(),
            QStringLiteral("이름"));
        QCOMPARE(window.windowTitle(), QStringLiteral("Demand Layering Studio"));
        QCoreApplication::removeTranslator(&translator);
    }
};

QTEST_MAIN(TestTranslations)
#include "test_translations.moc"
