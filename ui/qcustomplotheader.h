#pragma once

// QCustomPlot, for the sources that draw plots. The studio builds with QT_NO_KEYWORDS (engine headers have members
// named emit and slots), and qcustomplot.h uses the `signals` and `foreach` keywords: they are lent to it alone.
// Include this rather than <qcustomplot.h>, and keep it out of headers that many sources include.

#define signals Q_SIGNALS
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef foreach
#undef signals
