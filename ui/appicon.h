#pragma once

#include <QIcon>

namespace dl::ui {

// The studio's icon: resources/icons/dlstudio.svg when Qt can render SVG (the qt6-svg plugins), else the same
// picture painted here, so that a bare Qt install still shows it.
QIcon appIcon();

} // namespace dl::ui
