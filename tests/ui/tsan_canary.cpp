// Built in a TSan build only (tests/ui/CMakeLists.txt), run by scripts/test.sh --sanitize=thread: what the run says
// clean must be clean because TSan looked. The suppressions in tests/sanitizers/tsan.supp must not hide a race in the
// project's code, and postTo must be a hand-off TSan sees.
//   tsan_canary race     a job and the GUI thread write one int with nothing between them: TSan must report it.
//   tsan_canary handoff  the job writes it, then hands it to the GUI thread by a queued call (postTo), which writes
//                        it again: TSan must not report (through Qt's event queue alone, it would).
#include "workerthreads.h"

#include <QCoreApplication>

#include <cstdio>
#include <cstring>
#include <memory>

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    const bool race = argc > 1 && std::strcmp(argv[1], "race") == 0;
    const auto shared = std::make_unique<int>(0);
    int* value = shared.get();
    auto* workers = new dl::ui::WorkerThreads(&app);
    workers->onThreadEnded([&app] { app.quit(); });
    workers->start(QStringLiteral("canary"), [value, workers, race] {
        *value = 1;
        if (!race) workers->post([value] { *value = 2; });
    });
    if (race) *value = 3; // on the GUI thread, while the job may be writing
    app.exec();
    delete workers;
    std::printf("value %d\n", *value);
    return 0;
}
