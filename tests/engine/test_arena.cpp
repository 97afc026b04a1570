// The activation arena planner: in-place chains, ignored hints, the liveness bounds on seeded random graphs, and the
// verifier catching broken plans.

#include "core/random.h"
#include "memory/arena.h"

#include <QElapsedTimer>
#include <QTest>

#include <algorithm>

using namespace dl;

namespace {

ArenaValue value(size_t bytes, int first, int last, int inPlaceOf = -1)
{
    ArenaValue v;
    v.bytes = bytes;
    v.first = first;
    v.last = last;
    v.inPlaceOf = inPlaceOf;
    return v;
}

bool overlapInMemory(const ArenaPlan& plan, const std::vector<ArenaValue>& values, int a, int b)
{
    return plan.offsets[a] < plan.offsets[b] + values[b].bytes && plan.offsets[b] < plan.offsets[a] + values[a].bytes;
}

// A DNN-like graph: each step reads one to three earlier values (mostly recent ones, sometimes an old one as a skip
// connection, sometimes only the graph input, which lives outside the arena) and writes one or two. About half the
// outputs hint to reuse one of their step's inputs in place, legal or not; a few hints are garbage.
std::vector<ArenaValue> randomGraph(SplitMix64& rng, int steps, size_t maxBytes)
{
    std::vector<ArenaValue> values;
    std::vector<std::vector<int>> inputsOf(steps);
    for (int s = 0; s < steps; ++s) {
        const int reads = 1 + int(rng.next() % 3);
        for (int r = 0; r < reads && !values.empty(); ++r) {
            const int n = static_cast<int>(values.size());
            int v = n - 1 - int(rng.next() % std::min(n, 4));
            if (rng.next() % 8 == 0) v = int(rng.next() % n);
            if (std::find(inputsOf[s].begin(), inputsOf[s].end(), v) != inputsOf[s].end()) continue;
            inputsOf[s].push_back(v);
            values[v].last = std::max(values[v].last, s);
        }
        const int writes = rng.next() % 4 == 0 ? 2 : 1;
        for (int w = 0; w < writes; ++w)
            values.push_back(value(1 + rng.next() % maxBytes, s, s));
    }
    for (ArenaValue& v : values)
        if (rng.next() % 20 == 0) v.last = steps; // a graph output
    values.back().last = steps;
    const int n = static_cast<int>(values.size());
    for (int v = 0; v < n; ++v) {
        const std::vector<int>& ins = inputsOf[values[v].first];
        const uint64_t roll = rng.next() % 20;
        if (roll < 10 && !ins.empty())
            values[v].inPlaceOf = ins[rng.next() % ins.size()];
        else if (roll == 10)
            values[v].inPlaceOf = int(rng.next() % n);
        else if (roll == 11)
            values[v].inPlaceOf = v;
        else if (roll == 12)
            values[v].inPlaceOf = n + 3;
        else if (roll == 13)
            values[v].inPlaceOf = -7;
    }
    return values;
}

// Values alive over arbitrary intervals: no locality at all, the planner's worst case.
std::vector<ArenaValue> randomIntervals(SplitMix64& rng, int n, int steps)
{
    std::vector<ArenaValue> values;
    for (int i = 0; i < n; ++i) {
        const int first = int(rng.next() % steps);
        const int last = first + int(rng.next() % 64);
        values.push_back(value(1 + rng.next() % (1 << 20), first, last));
    }
    return values;
}

} // namespace

class TestArena : public QObject
{
    Q_OBJECT

private slots:
    void inPlaceChainCollapsesIntoOneBuffer()
    {
        const std::vector<ArenaValue> values { value(100, 0, 1), value(100, 1, 2, 0), value(80, 2, 3, 1) };
        const ArenaPlan plan = planArena(values);
        QCOMPARE(plan.sharesWith, (std::vector<int> { -1, 0, 1 }));
        QCOMPARE(plan.offsets, (std::vector<size_t> { 0, 0, 0 }));
        QCOMPARE(plan.arenaBytes, size_t(128));
        QCOMPARE(plan.lowerBound, size_t(128));
        QCOMPARE(plan.sumBytes, size_t(3 * 128));
        QVERIFY(verifyArena(values, plan).ok());
    }

    void chainShareOneBufferWhileOthersLiveBeside()
    {
        // a→b→c in place while d is alive over the whole chain: two buffers, not four.
        const std::vector<ArenaValue> values { value(256, 0, 1), value(256, 1, 2, 0), value(256, 2, 4, 1),
            value(64, 0, 4) };
        const ArenaPlan plan = planArena(values);
        QCOMPARE(plan.sharesWith, (std::vector<int> { -1, 0, 1, -1 }));
        QCOMPARE(plan.arenaBytes, size_t(320));
        QCOMPARE(plan.lowerBound, size_t(320));
        QVERIFY(verifyArena(values, plan).ok());
    }

    void illegalHintsAreIgnored()
    {
        // too big: b needs more bytes than a has
        {
            const std::vector<ArenaValue> values { value(100, 0, 1), value(200, 1, 2, 0) };
            const ArenaPlan plan = planArena(values);
            QCOMPARE(plan.sharesWith[1], -1);
            QVERIFY(!overlapInMemory(plan, values, 0, 1));
            QCOMPARE(plan.arenaBytes, size_t(128 + 256));
            QVERIFY(verifyArena(values, plan).ok());
        }
        // a is still read after b is written (last != first)
        {
            const std::vector<ArenaValue> values { value(128, 0, 2), value(128, 1, 3, 0) };
            const ArenaPlan plan = planArena(values);
            QCOMPARE(plan.sharesWith[1], -1);
            QVERIFY(!overlapInMemory(plan, values, 0, 1));
            QVERIFY(verifyArena(values, plan).ok());
        }
        // a died before b is written: no in-place link, but they may still share memory as plain neighbours in time
        {
            const std::vector<ArenaValue> values { value(128, 0, 1), value(128, 2, 3, 0) };
            const ArenaPlan plan = planArena(values);
            QCOMPARE(plan.sharesWith[1], -1);
            QCOMPARE(plan.arenaBytes, size_t(128));
            QVERIFY(verifyArena(values, plan).ok());
        }
        // two users of one buffer: the lower index wins, the other gets memory of its own
        {
            const std::vector<ArenaValue> values { value(128, 0, 1), value(128, 1, 2, 0), value(128, 1, 2, 0) };
            const ArenaPlan plan = planArena(values);
            QCOMPARE(plan.sharesWith, (std::vector<int> { -1, 0, -1 }));
            QCOMPARE(plan.offsets[0], plan.offsets[1]);
            QVERIFY(!overlapInMemory(plan, values, 0, 2));
            QVERIFY(!overlapInMemory(plan, values, 1, 2));
            QCOMPARE(plan.arenaBytes, size_t(256));
            QVERIFY(verifyArena(values, plan).ok());
        }
        // itself, out of range, and a zero-length cycle
        {
            const std::vector<ArenaValue> values { value(64, 0, 1, 0), value(64, 1, 1, 9), value(64, 1, 1, 3),
                value(64, 1, 1, 2) };
            const ArenaPlan plan = planArena(values);
            QCOMPARE(plan.sharesWith[0], -1);
            QCOMPARE(plan.sharesWith[1], -1);
            QVERIFY(plan.sharesWith[2] == -1 || plan.sharesWith[3] == -1);
            QVERIFY(verifyArena(values, plan).ok());
        }
    }

    void residualValuesAliveTogetherNeverOverlap()
    {
        // x = conv(in) at step 0; y = conv(x) at 1; z = add(x, y) at 2 reuses y in place; x is read by 1 and 2, so
        // y may not reuse x (its hint is illegal) and x and y must sit apart.
        const std::vector<ArenaValue> values { value(1000, 0, 2), value(1000, 1, 2, 0), value(1000, 2, 3, 1) };
        const ArenaPlan plan = planArena(values);
        QCOMPARE(plan.sharesWith, (std::vector<int> { -1, -1, 1 }));
        QVERIFY(!overlapInMemory(plan, values, 0, 1));
        QVERIFY(!overlapInMemory(plan, values, 0, 2));
        QCOMPARE(plan.offsets[2], plan.offsets[1]);
        QCOMPARE(plan.arenaBytes, size_t(2 * 1024));
        QCOMPARE(plan.lowerBound, size_t(2 * 1024));
        QVERIFY(verifyArena(values, plan).ok());
    }

    void simpleChainsReachTheLowerBound()
    {
        // Each step reads the previous value and writes the next: two alive at a time.
        SplitMix64 rng(11);
        for (int trial = 0; trial < 200; ++trial) {
            const int steps = 2 + int(rng.next() % 60);
            const int shape = trial % 3; // equal sizes, shrinking, growing
            const size_t base = 64 * (1 + rng.next() % 100);
            std::vector<ArenaValue> values;
            for (int s = 0; s < steps; ++s) {
                const size_t bytes = shape == 0 ? base : shape == 1 ? base * (steps - s) : base * (s + 1);
                values.push_back(value(bytes, s, s == steps - 1 ? steps : s + 1));
            }
            const ArenaPlan plan = planArena(values);
            QVERIFY(verifyArena(values, plan).ok());
            QCOMPARE(plan.arenaBytes, plan.lowerBound);
        }
        // a CNN-like chain: sizes rise and fall
        const std::vector<size_t> sizes { 600, 1200, 1200, 2400, 600, 300, 300, 150, 40 };
        std::vector<ArenaValue> values;
        for (int s = 0; s < int(sizes.size()); ++s)
            values.push_back(value(sizes[s] * 64, s, s + 1));
        const ArenaPlan plan = planArena(values);
        QVERIFY(verifyArena(values, plan).ok());
        QCOMPARE(plan.arenaBytes, plan.lowerBound);
    }

    void alignmentIsHonoured()
    {
        SplitMix64 rng(5);
        for (size_t alignment : { size_t(1), size_t(8), size_t(64), size_t(256), size_t(4096), size_t(96) }) {
            const std::vector<ArenaValue> values = randomGraph(rng, 50, 5000);
            const ArenaPlan plan = planArena(values, alignment);
            for (size_t off : plan.offsets)
                QCOMPARE(off % alignment, size_t(0));
            QCOMPARE(plan.arenaBytes % alignment, size_t(0));
            QVERIFY(verifyArena(values, plan, alignment).ok());
        }
        // with alignment 1 nothing is padded: three values alive together take exactly their sum
        const std::vector<ArenaValue> values { value(3, 0, 1), value(5, 0, 1), value(7, 0, 1) };
        QCOMPARE(planArena(values, 1).arenaBytes, size_t(15));
        QCOMPARE(planArena(values, 64).arenaBytes, size_t(192));
    }

    void zeroByteValuesTakeNoRoom()
    {
        const std::vector<ArenaValue> values { value(0, 0, 3), value(100, 0, 3), value(0, 1, 2, 1), value(0, 2, 3) };
        const ArenaPlan plan = planArena(values);
        QCOMPARE(plan.offsets, (std::vector<size_t> { 0, 0, 0, 0 }));
        QCOMPARE(plan.sharesWith, (std::vector<int> { -1, -1, -1, -1 }));
        QCOMPARE(plan.arenaBytes, size_t(128));
        QCOMPARE(plan.sumBytes, size_t(128));
        QVERIFY(verifyArena(values, plan).ok());
        QCOMPARE(planArena({}).arenaBytes, size_t(0));
    }

    void randomGraphsStayWithinBounds()
    {
        SplitMix64 rng(2024);
        double ratioSum = 0;
        double ratioMax = 1;
        double savedSum = 0;
        int atBound = 0;
        int shared = 0;
        const int trials = 3000;
        for (int trial = 0; trial < trials; ++trial) {
            const int steps = 1 + int(rng.next() % 120);
            const size_t maxBytes = trial % 2 ? 4096 : size_t(1) << 22;
            const std::vector<ArenaValue> values = randomGraph(rng, steps, maxBytes);
            const ArenaPlan plan = planArena(values);
            const Status ok = verifyArena(values, plan);
            if (!ok.ok()) QFAIL(ok.error().message.c_str());
            QVERIFY(plan.lowerBound <= plan.arenaBytes);
            QVERIFY(plan.arenaBytes <= plan.sumBytes);
            for (int s : plan.sharesWith)
                shared += s != -1;
            const double ratio = double(plan.arenaBytes) / double(plan.lowerBound);
            ratioSum += ratio;
            ratioMax = std::max(ratioMax, ratio);
            savedSum += double(plan.arenaBytes) / double(plan.sumBytes);
            atBound += plan.arenaBytes == plan.lowerBound;
            QCOMPARE(planArena(values).offsets, plan.offsets); // deterministic
        }
        qInfo("%d random graphs: arena/lower bound mean %.4f, max %.4f, equal in %d; arena/sum mean %.3f; %d in-place",
            trials, ratioSum / trials, ratioMax, atBound, savedSum / trials, shared);
    }

    void tenThousandValuesPlanQuickly()
    {
        SplitMix64 rng(77);
        const std::vector<ArenaValue> graph = randomGraph(rng, 8000, size_t(1) << 22);
        const std::vector<ArenaValue> intervals = randomIntervals(rng, 10000, 2000);
        const std::vector<ArenaValue> allAlive = randomIntervals(rng, 10000, 1); // every pair conflicts: n² checks
        for (const auto* values : { &graph, &intervals, &allAlive }) {
            QElapsedTimer timer;
            timer.start();
            const ArenaPlan plan = planArena(*values);
            const qint64 planMs = timer.restart();
            const Status ok = verifyArena(*values, plan);
            const qint64 verifyMs = timer.elapsed();
            if (!ok.ok()) QFAIL(ok.error().message.c_str());
            qInfo("%zu values (%s): plan %lld ms, verify %lld ms; arena/lower bound %.4f, arena/sum %.3f",
                values->size(),
                values == &graph           ? "graph"
                    : values == &intervals ? "random intervals"
                                           : "all alive",
                static_cast<long long>(planMs), static_cast<long long>(verifyMs),
                double(plan.arenaBytes) / double(plan.lowerBound), double(plan.arenaBytes) / double(plan.sumBytes));
            QVERIFY(planMs < 10000);
        }
    }

    void verifierCatchesBrokenPlans()
    {
        const std::vector<ArenaValue> values { value(100, 0, 1), value(100, 1, 2, 0), value(80, 2, 3, 1),
            value(500, 0, 3) };
        const ArenaPlan good = planArena(values);
        QVERIFY(verifyArena(values, good).ok());

        ArenaPlan overlap = good;
        for (int v = 0; v < 3; ++v)
            overlap.offsets[v] = overlap.offsets[3]; // value 3 is alive with the whole chain
        const Status s = verifyArena(values, overlap);
        QVERIFY(!s.ok());
        QCOMPARE(s.error().code, ErrorCode::Internal);
        QVERIFY2(s.error().message.find("value 0 (") != std::string::npos, s.error().message.c_str());
        QVERIFY2(s.error().message.find("value 3 (") != std::string::npos, s.error().message.c_str());

        ArenaPlan unhinted = good;
        unhinted.sharesWith[3] = 2;
        QVERIFY(!verifyArena(values, unhinted).ok());

        ArenaPlan moved = good;
        moved.offsets[2] += 64; // the in-place user must sit on the buffer it reuses
        QVERIFY(!verifyArena(values, moved).ok());

        ArenaPlan misaligned = good;
        misaligned.offsets[3] += 8;
        QVERIFY(!verifyArena(values, misaligned).ok());

        ArenaPlan small = good;
        small.arenaBytes -= 64;
        QVERIFY(!verifyArena(values, small).ok());

        ArenaPlan truncated = good;
        truncated.offsets.pop_back();
        QVERIFY(!verifyArena(values, truncated).ok());
    }
};

QTEST_APPLESS_MAIN(TestArena)
#include "test_arena.moc"
