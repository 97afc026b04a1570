#pragma once

// Shared pieces of the dlayer commands (main.cpp: parsing, info, the in-memory run; stream.cpp: pack and the
// streaming architectures).

#include "core/stats.h"
#include "core/tensor.h"
#include "model/graph.h"
#include "session/session.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dlcli {

using json = nlohmann::ordered_json;

struct Options
{
    std::string command;
    std::string model;
    std::string weights;
    std::map<std::string, dl::Shape> shapes;
    std::string unnamedShape; // --shape DIMS for a single-input model
    std::map<std::string, std::string> inputFiles;
    int iterations = 10;
    int warmup = 2;
    int threads = 0;
    uint64_t seed = 1;
    std::string saveOutputs;
    bool json = false;
    // Demand layering (run) and packing (pack).
    std::string arch; // empty: the in-memory executor, no pack
    size_t staging = 0;
    std::string resident; // "3,7,10-12"
    size_t budget = 0;
    bool hasBudget = false;
    size_t split = 0; // --split: cut layers above this into sub-layers
    bool hasSplit = false;
    std::string backend; // --backend cpu|cuda; empty: a configuration's, else cpu
    bool graphs = true; // --no-graphs: never replay a captured inference (CUDA graphs)
    std::string precision; // --precision fp32|fp16: how the pack stores the weights; empty: the model's
    std::string trace;
    std::string output; // pack -o
    std::string packDir; // the pack cache
    bool direct = true;
    bool uring = true;
    bool hugePages = true; // --no-huge-pages: staging and resident weights on small pages (core/largepages.h)
    unsigned queueDepth = 8;
    size_t chunk = size_t(4) << 20; // PipelineOptions::chunkBytes
    std::string verify = "first"; // first, always or off
    bool readThread = false; // two-stage: reads by a reader thread rather than by the kernel stage
    // --paired-preload: each run alternates with a run of the same model preloaded, in a second dlayer process.
    bool pairedPreload = false;
    bool pairedSplit = false; // --paired-split: the twin preloads the run's own split (its pack), not whole layers
    // --paired-disk: after each run, the same bytes read again with nothing else running: the disk's rate then.
    bool pairedDisk = false;
    // --lockstep RFD,WFD (what --paired-preload starts its second process with): each run waits for a byte on RFD
    // and writes its latency in ms, one line, to WFD; "ready" goes to WFD once set up.
    int lockstepIn = -1, lockstepOut = -1;
    size_t memoryLimit = 0; // --memory-limit BYTES: the engine's memory ledger refuses more (0: no limit)
    std::string record; // --record DB: store the run in this run store
    std::vector<std::string> positional; // dlayer runs DB COMMAND [ARG]
    // The board: dlayer serve, and run / runs --agent.
    std::string listen; // serve --listen HOST:PORT
    std::string stateDir; // serve --state DIR
    std::string store; // serve --store DB
    uint64_t maxModelBytes = 0; // serve --max-model-bytes
    bool rotateToken = false;
    std::string agent; // --agent HOST:PORT
    std::string tokenFile; // --token-file F: the pairing line, or the token alone
    std::string fingerprint; // --fingerprint FP: the agent's certificate, with a bare token
    // dlayer plan
    std::string profile; // --profile DB: the run store to take the cost model from
    bool profileRun = false; // --profile-run: profile now (a sequential run)
    bool calibrate = true; // --no-calibrate: leave the contention uncalibrated
    bool frontier = false;
    int points = 64;
    bool hasPoints = false;
    std::string configFile; // run --config FILE
    // The options given that set how a streaming run reads its pack (--no-direct, --queue-depth, ...), by name.
    std::vector<std::string> readOptions;
    // The options given that time or size a run (--iterations, --warmup, --threads), by name.
    std::vector<std::string> runOptions;
};

[[noreturn]] void fail(const std::string& message, int code = 1);
// Bytes with an optional unit: 4096, 64K, 18M, 1G (binary), or KB/MB/GB (decimal); exits with code 2 on bad text.
size_t parseBytes(const std::string& flag, const std::string& text);
// "1x3x640x640" (or "1,3,640,640"); Invalid for anything else.
dl::Result<dl::Shape> parseDims(const std::string& text);
dl::Graph importOrFail(const Options& o);
// Input shapes from --shape and --input files; a bare --shape applies to the only input.
std::map<std::string, dl::Shape> inputShapes(
    const Options& o, const dl::Graph& g, std::map<std::string, dl::Tensor>& fileInputs);
void saveOutputs(const Options& o, const std::vector<dl::Tensor>& outputs, const std::vector<std::string>& names);
std::string humanBytes(double b);
json shapeJson(const dl::Shape& s);
using dl::median; // core/stats.h
using dl::quantile;

// Where dlayer serve keeps its state when --state is not given: $STATE_DIRECTORY (systemd), else
// $XDG_STATE_HOME/dlayer-agent, else ~/.local/state/dlayer-agent.
std::string defaultAgentStateDir();

// This program's own path (/proc/self/exe), to start it again.
std::string selfPath();

// run.cpp's pieces that dlayer run --agent shares: the options as a run, the packing progress on stderr, and the
// report as printed.
dl::RunSpec specOf(const Options& o);
dl::ProgressFn progressPrinter(bool quiet);
void printReport(const dl::RunReport& r, const dl::SessionOutcome& out, int64_t recordedId, const std::string& store);

int cmdPack(const Options& o);
int cmdPlan(const Options& o);
// dlayer run: in memory, or streaming from a layer pack (run.cpp).
int cmdRun(const Options& o);
// dlayer serve (serve.cpp), and run / runs with --agent (remote.cpp).
int cmdServe(const Options& o);
int cmdRunRemote(const Options& o);
int cmdRunsRemote(const Options& o);

} // namespace dlcli
