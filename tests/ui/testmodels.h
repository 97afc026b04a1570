#pragma once

// Model files the UI tests open: real ones, from the Darknet cfgs the repository carries and Debian's ONNX test data.

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QSettings>
#include <QStandardPaths>
#include <QString>

namespace dl::ui::test {

inline QString darknetModel(const char* name)
{
    return QDir::cleanPath(QStringLiteral(DL_DARKNET_DIR "/") + QLatin1String(name));
}

// Small (a handful of layers), loads in well under a second.
inline QString smallOnnxModel()
{
    return QStringLiteral("/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d/model.onnx");
}

// A real network (tens of layers, seeded weights) that still loads in seconds.
inline QString mediumModel()
{
    return darknetModel("yolov4-tiny.cfg");
}

// 245 MB of seeded weights: long enough to cancel in the middle.
inline QString largeModel()
{
    return darknetModel("yolov4.cfg");
}

// Writes bytes that are no model at all into `path`; returns false when it cannot.
inline bool writeGarbage(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return false;
    const QByteArray junk = QByteArrayLiteral("\x08\x07 this is not a protobuf \xff\xff\xff\xff\x0f garbage");
    return file.write(junk.repeated(40)) > 0;
}

// Keeps a test's studio to itself: packs in `dir`/packs, settings in `dir`/settings, data locations in Qt's test mode,
// no settings left from an earlier test.
inline void isolateStudio(const QString& dir)
{
    qputenv("DL_PACK_CACHE", QDir(dir).filePath(QStringLiteral("packs")).toUtf8());
    QStandardPaths::setTestModeEnabled(true);
    // Settings of this test's own: test mode alone shares one file among the suites CTest runs side by side, and one
    // suite's clear() would wipe another's paired boards mid-run.
    const QString settings = QDir(dir).filePath(QStringLiteral("settings"));
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, settings);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settings);
    QSettings(QStringLiteral("DemandLayering"), QStringLiteral("Studio")).clear();
}

} // namespace dl::ui::test
