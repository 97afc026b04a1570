<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
<context>
    <name>QObject</name>
    <message>
        <source>nothing to write: the plot has no size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cannot write %1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>out of memory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>an unknown failure</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dl::ui::BoardKeyring</name>
    <message>
        <source>the keychain is not used</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No system keychain (%1): the board&apos;s token is kept in %2, readable by you only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board&apos;s token could not be kept: %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dl::ui::Boards</name>
    <message>
        <source>The pairing line names the fingerprint %1, but the studio pinned %2 for %3. Check on the board which one &apos;dlayer serve&apos; prints. If its agent was set up again (a new state directory), forget the board here and pair with the new line.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Give the board as HOST:PORT, or paste the pairing line &apos;dlayer serve&apos; printed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The studio has not paired with %1: paste the pairing line &apos;dlayer serve&apos; printed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>That is neither a pairing line nor a token (64 hex digits)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trust This Board?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board at %1 presents a certificate with the SHA-256 fingerprint

%2

Compare it with the fingerprint &apos;dlayer serve&apos; printed on the board. Trust it from now on?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No token is kept for %1: paste the pairing line &apos;dlayer serve&apos; printed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not connected: the board at %1 was not trusted</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dl::ui::ConnectDialog</name>
    <message>
        <source>Connect to Board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>jetson.local:7433</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>dlayer-agent HOST:PORT sha256=… token=…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Board:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Pairing line or token:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&apos;dlayer serve&apos; prints the pairing line on the board. A board paired before needs nothing here: its token is in the keychain.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Forget Board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Forgot %1: pair with it again with its pairing line</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dl::ui::LayerDeltaModel</name>
    <message>
        <source>run %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>B</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>#</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Kernel ms, %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Kernel Δ</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Read ms, %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Read Δ</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stall ms, %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stall Δ</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dl::ui::LayerTableModel</name>
    <message>
        <source>%1 bytes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 nodes: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 FLOPs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>#</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Operators</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Weights</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Output shape</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>MFLOPs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>ms per inference, the mean over the latest run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Read ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Kernel ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stall ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 · %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How the latest run&apos;s layer pack stores this layer&apos;s weights, and the %1 bytes a read covers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stored</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dl::ui::LocalSession</name>
    <message>
        <source>Importing %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Packing layer %1 of %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Setting up %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>local engine</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Planning %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Packing again: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No model is open.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The run ended unexpectedly: %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dl::ui::MainWindow</name>
    <message>
        <source>Open a model with File → Open, or drop an ONNX (.onnx) or Darknet (.cfg) file here.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Layers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Filter by name, operator or shape</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Open…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open an ONNX model or a Darknet configuration</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open &amp;Recent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Cancel Loading</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;About Demand Layering Studio</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About &amp;Qt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ready</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open Model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Models (*.onnx *.cfg);;ONNX models (*.onnx);;Darknet configurations (*.cfg);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About Demand Layering Studio</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: %p%</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading %1…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loaded %1: %2 layers in %3 s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelled loading %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not open %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot Open Model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not open the model %1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Clear Menu</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 layers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 of %2 layers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Demand Layering Studio</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 — Demand Layering Studio</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loaded %1: %2 layers in %3 s (seeded random weights)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pipeline Timeline</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Memory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run Store</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run stores (*.sqlite *.db);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Running %1 (%2) on the %3…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Running: %1, staging %2, reads by %3</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Iteration %1 of %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Iteration %1: %2 ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: median %2 ms over %3 runs, weights %4 at peak, RSS %5</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>; recorded as run %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run stopped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run failed: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> (not recorded: %1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run Failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The run failed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Stop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run S&amp;tore…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose the SQLite file every run is recorded in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Follow Latest Iteration</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trade-off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export Configuration</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Configurations (*.json);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Verifying the %1 budget&apos;s configuration…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Exported the configuration to %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not export the configuration: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Runs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Showing run %1 (%2, %3)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Engine %1; Qt %2; oneDNN %3; SQLite %4; QCustomPlot %5; CUDA %6</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not built in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Export</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Configuration…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select one run in the Runs view first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Selected Run as Chrome &amp;Trace…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export Chrome Trace</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Chrome traces (*.json)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Selected Run&apos;s Layers as &amp;CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export Layer Statistics</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Timeline as PNG or PDF…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Memory Graph as PNG or PDF…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>T&amp;rade-off as PNG or PDF…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Difference Plot as PNG or PDF…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save Plot</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PNG images (*.png);;PDF documents (*.pdf)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;h3&gt;Demand Layering Studio %1&lt;/h3&gt;&lt;p&gt;Inspect DNN models layer by layer and plan how their weights stream from storage at run time.&lt;/p&gt;&lt;p&gt;Demand Layering: Ji et al., RTSS 2022.&lt;/p&gt;&lt;p&gt;%2&lt;/p&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The language changes when the studio starts again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>System Default</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recording the run…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not connected: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect to Board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The studio could not connect.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect to &amp;Board…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run on a board&apos;s agent (dlayer serve) over TLS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Disconnect from Board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Deploy Configuration to Board…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deploy to Board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Name of the configuration on the board (dlayer run MODEL --config NAME):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a budget in the trade-off view first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connecting to %1…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A run is in progress: connect to the board once it has ended</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The link to %1 was lost: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The link to the board was lost.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board&apos;s runs were not all fetched: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Fetched %n run(s) from the board</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Deployed the configuration &apos;%1&apos; to the board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not deploy the configuration: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connected to %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Runs go to the local engine</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Local engine (%1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Board %1 (%2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Board %1: link lost</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 at %2, %3; engine %4; certificate %5</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Close Model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close the model, stopping its run</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dl::ui::MemoryView</name>
    <message>
        <source>resident weights</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>staging</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>activations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>workspace</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>memory (MiB)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>process RSS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>read MB/s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>time since set-up (s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>read bandwidth</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dl::ui::ModelLoader</name>
    <message>
        <source>Out of resources: %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dl::ui::ModelSummaryView</name>
    <message>
        <source>File:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Format:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Opset:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nodes:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Layers:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Parameters:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Weights:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GFLOPs:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Activations:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Inputs:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Outputs:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>ONNX</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Darknet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>none</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>n/a</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 MB (%2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 bytes</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dl::ui::RemoteSession</name>
    <message>
        <source>The link to the board was lost: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Uploading %1 to the board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No model is open.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Waiting on the board: %n run(s) ahead</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>The board&apos;s run %1 does not read: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board did not record the run: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>board at %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>board %1 (%2)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dl::ui::RunControls</name>
    <message>
        <source>How the weights reach the kernels: preloaded, or streamed from the pack by a pipeline</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> MiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>none</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Weight memory budget: the engine picks the staging and the resident layers within it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>smallest</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Staging ring size for async and two-stage (without a budget)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Continuous (until Stop)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run the model with this configuration (F5)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Stop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop the run within one layer (Shift+F5)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Architecture</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Budget</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Staging</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Warm-up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Iterations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU (oneDNN)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Where the kernels run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>auto</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cut layers whose weights exceed this size into pieces along their output channels, so that staging needs only a piece. Auto: whole layers, or with a budget the pieces it needs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Split above</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>as the model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>fp32</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>fp16 (half the bytes read)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How the layer pack stores the weights. fp16 halves the bytes each streamed inference reads; the copy stage widens them to fp32 for the kernels. As the model: fp16 for a model that stores its weights in fp16, else fp32</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Weights in pack</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CUDA (cuDNN)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>looking for a CUDA device…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CUDA: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CUDA unavailable: %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dl::ui::RunHistoryModel</name>
    <message>
        <source>%1, %2 backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>sha256 %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Started</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Architecture</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Iterations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Median ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Weights peak</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Total peak</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dl::ui::RunsView</name>
    <message>
        <source>This model only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This device only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Runs recorded on %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compare</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compare the two selected runs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open Timeline</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show the selected run in the timeline and memory views</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Measure</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>B</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>B − A</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>B − A (ms per inference)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Summary</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Per layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Difference plot</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 of %2 runs shown</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Exported %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete Runs</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Delete %n run(s) from the run store?</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Median latency (ms)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Minimum latency (ms)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Kernel stall (ms per inference)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Weights peak</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ledger peak</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>RSS peak</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Architecture</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>kernel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>stall</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run %1 against run %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Read per inference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Read rate (MB/s)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dl::ui::TimelineView</name>
    <message>
        <source>time since set-up (ms)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>read</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>copy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>kernel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Follow</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Follow the latest iteration (F)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show all</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show every iteration kept (Home)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Drag to pan, wheel or +/- to zoom; click a bar to select its layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;%1&lt;/b&gt; (layer %2)&lt;br&gt;%3 %4, iteration %5&lt;br&gt;%6 → %7 ms: %8 ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>stalled</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dl::ui::TradeoffPlanner</name>
    <message>
        <source>No runs recorded yet: profile the model (a sequential run) to plan it</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dl::ui::TradeoffView</name>
    <message>
        <source>weight memory (MiB)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>latency (ms)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>predicted (frontier)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>lower bound</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>runs: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>measured choice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>chosen budget</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Memory budget: drag to move along the frontier</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Profile</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Record a sequential run of the model to plan it from</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run This &amp;Configuration</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Export Configuration…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Plan for</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Budget</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open a model to plan it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 budgets planned in %2 ms from run %3 (%4): kernels %5 ms, disk %6 MB/s; %7 runs of this model recorded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Weights %1 (resident %2 in %3 of %4 layers, staging %5): %6 % less than the whole model; activations %7, workspace %8, total %9</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reads beside kernels at %1 of the disk&apos;s rate (calibrated on run %2).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cut at %1 (run %2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>whole (run %1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Layers weighed: %1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>; layers above %1 cut into pieces</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>+%1 % over preload&apos;s %2 ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 % under preload&apos;s %2 ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Budget %1&lt;/b&gt;: predicted &lt;b&gt;%2 ms&lt;/b&gt; (%3; lower bound %4 ms)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>fp32 packs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>fp16 packs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Plan for layer packs that store the weights in fp32 or in fp16 (half the bytes read, widened for the kernels); the other precision&apos;s frontier is drawn beside, when its profile is recorded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>predicted, %1 packs (frontier)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>predicted, %1 packs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dashed: the frontier with %1 packs, from their own profile.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No profile of %1 packs to draw their frontier beside (Profile with %1 chosen).</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>main</name>
    <message>
        <source>Demand Layering Studio</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An ONNX model (.onnx) or Darknet configuration (.cfg) to open.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>User interface language, e.g. en or ko (default: the system&apos;s).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save a picture of the window to &lt;file&gt; once the model has loaded, then quit.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Record runs in the run store &lt;file&gt; (default: the one last chosen).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run the model with architecture &lt;arch&gt; once it has loaded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bring a view to the front: tradeoff or runs.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Put the trade-off&apos;s slider at the budget nearest &lt;MiB&gt;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compare the two newest runs of the model in the Runs view.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cut the run&apos;s layers whose weights exceed &lt;MiB&gt; into pieces.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run on a board&apos;s agent: the pairing line &apos;dlayer serve&apos; printed, or HOST:PORT of a board paired before.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
