<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ko" sourcelanguage="en">
<context>
    <name>QObject</name>
    <message>
        <source>nothing to write: the plot has no size</source>
        <translation>쓸 내용이 없습니다: 플롯의 크기가 없습니다</translation>
    </message>
    <message>
        <source>cannot write %1: %2</source>
        <translation>%1에 쓸 수 없습니다: %2</translation>
    </message>
    <message>
        <source>out of memory</source>
        <translation>메모리 부족</translation>
    </message>
    <message>
        <source>an unknown failure</source>
        <translation>알 수 없는 오류</translation>
    </message>
</context>
<context>
    <name>dl::ui::BoardKeyring</name>
    <message>
        <source>the keychain is not used</source>
        <translation>키체인을 사용하지 않음</translation>
    </message>
    <message>
        <source>No system keychain (%1): the board&apos;s token is kept in %2, readable by you only</source>
        <translation>시스템 키체인이 없습니다(%1): 보드의 토큰은 %2에 보관되며 본인만 읽을 수 있습니다</translation>
    </message>
    <message>
        <source>The board&apos;s token could not be kept: %1</source>
        <translation>보드의 토큰을 보관할 수 없습니다: %1</translation>
    </message>
</context>
<context>
    <name>dl::ui::Boards</name>
    <message>
        <source>The pairing line names the fingerprint %1, but the studio pinned %2 for %3. Check on the board which one &apos;dlayer serve&apos; prints. If its agent was set up again (a new state directory), forget the board here and pair with the new line.</source>
        <translation>페어링 줄의 지문은 %1이지만, 스튜디오는 %3에 대해 %2를 고정해 두었습니다. 보드에서 &apos;dlayer serve&apos;가 어느 지문을 출력하는지 확인하십시오. 보드의 에이전트를 새로 설정했다면(새 상태 디렉터리) 여기서 보드를 잊고 새 줄로 다시 페어링하십시오.</translation>
    </message>
    <message>
        <source>Give the board as HOST:PORT, or paste the pairing line &apos;dlayer serve&apos; printed</source>
        <translation>보드를 HOST:PORT로 입력하거나 &apos;dlayer serve&apos;가 출력한 페어링 줄을 붙여 넣으십시오</translation>
    </message>
    <message>
        <source>The studio has not paired with %1: paste the pairing line &apos;dlayer serve&apos; printed</source>
        <translation>스튜디오가 %1과 페어링한 적이 없습니다: &apos;dlayer serve&apos;가 출력한 페어링 줄을 붙여 넣으십시오</translation>
    </message>
    <message>
        <source>That is neither a pairing line nor a token (64 hex digits)</source>
        <translation>페어링 줄도 토큰(16진수 64자리)도 아닙니다</translation>
    </message>
    <message>
        <source>Trust This Board?</source>
        <translation>이 보드를 신뢰하시겠습니까?</translation>
    </message>
    <message>
        <source>The board at %1 presents a certificate with the SHA-256 fingerprint

%2

Compare it with the fingerprint &apos;dlayer serve&apos; printed on the board. Trust it from now on?</source>
        <translation>%1의 보드가 다음 SHA-256 지문의 인증서를 제시합니다

%2

보드에서 &apos;dlayer serve&apos;가 출력한 지문과 비교하십시오. 앞으로 이 보드를 신뢰하시겠습니까?</translation>
    </message>
    <message>
        <source>No token is kept for %1: paste the pairing line &apos;dlayer serve&apos; printed</source>
        <translation>%1의 토큰이 보관되어 있지 않습니다: &apos;dlayer serve&apos;가 출력한 페어링 줄을 붙여 넣으십시오</translation>
    </message>
    <message>
        <source>Not connected: the board at %1 was not trusted</source>
        <translation>연결하지 않음: %1의 보드를 신뢰하지 않았습니다</translation>
    </message>
</context>
<context>
    <name>dl::ui::ConnectDialog</name>
    <message>
        <source>Connect to Board</source>
        <translation>보드에 연결</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>jetson.local:7433</source>
        <translation>jetson.local:7433</translation>
    </message>
    <message>
        <source>dlayer-agent HOST:PORT sha256=… token=…</source>
        <translation>dlayer-agent HOST:PORT sha256=… token=…</translation>
    </message>
    <message>
        <source>&amp;Board:</source>
        <translation>보드(&amp;B):</translation>
    </message>
    <message>
        <source>&amp;Pairing line or token:</source>
        <translation>페어링 줄 또는 토큰(&amp;P):</translation>
    </message>
    <message>
        <source>&apos;dlayer serve&apos; prints the pairing line on the board. A board paired before needs nothing here: its token is in the keychain.</source>
        <translation>&apos;dlayer serve&apos;는 보드에서 페어링 줄을 출력합니다. 이전에 페어링한 보드는 아무것도 입력할 필요가 없습니다: 토큰이 키체인에 있습니다.</translation>
    </message>
    <message>
        <source>Connect</source>
        <translation>연결</translation>
    </message>
    <message>
        <source>&amp;Forget Board</source>
        <translation>보드 잊기(&amp;F)</translation>
    </message>
    <message>
        <source>Forgot %1: pair with it again with its pairing line</source>
        <translation>%1을(를) 잊었습니다: 페어링 줄로 다시 페어링하십시오</translation>
    </message>
</context>
<context>
    <name>dl::ui::LayerDeltaModel</name>
    <message>
        <source>run %1</source>
        <translation>실행 %1</translation>
    </message>
    <message>
        <source>A</source>
        <translation>A</translation>
    </message>
    <message>
        <source>B</source>
        <translation>B</translation>
    </message>
    <message>
        <source>#</source>
        <translation>#</translation>
    </message>
    <message>
        <source>Layer</source>
        <translation>레이어</translation>
    </message>
    <message>
        <source>Kernel ms, %1</source>
        <translation>커널 ms, %1</translation>
    </message>
    <message>
        <source>Kernel Δ</source>
        <translation>커널 Δ</translation>
    </message>
    <message>
        <source>Read ms, %1</source>
        <translation>읽기 ms, %1</translation>
    </message>
    <message>
        <source>Read Δ</source>
        <translation>읽기 Δ</translation>
    </message>
    <message>
        <source>Stall ms, %1</source>
        <translation>대기 ms, %1</translation>
    </message>
    <message>
        <source>Stall Δ</source>
        <translation>대기 Δ</translation>
    </message>
</context>
<context>
    <name>dl::ui::LayerTableModel</name>
    <message>
        <source>%1 bytes</source>
        <translation>%1바이트</translation>
    </message>
    <message>
        <source>%1 nodes: %2</source>
        <translation>노드 %1개: %2</translation>
    </message>
    <message>
        <source>%1 FLOPs</source>
        <translation>%1 FLOPs</translation>
    </message>
    <message>
        <source>#</source>
        <translation>#</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>이름</translation>
    </message>
    <message>
        <source>Operators</source>
        <translation>연산자</translation>
    </message>
    <message>
        <source>Weights</source>
        <translation>가중치</translation>
    </message>
    <message>
        <source>Output shape</source>
        <translation>출력 형태</translation>
    </message>
    <message>
        <source>MFLOPs</source>
        <translation>MFLOPs</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>예</translation>
    </message>
    <message>
        <source>no</source>
        <translation>아니요</translation>
    </message>
    <message>
        <source>ms per inference, the mean over the latest run</source>
        <translation>추론당 ms, 최근 실행의 평균</translation>
    </message>
    <message>
        <source>Resident</source>
        <translation>상주</translation>
    </message>
    <message>
        <source>Read ms</source>
        <translation>읽기 ms</translation>
    </message>
    <message>
        <source>Copy ms</source>
        <translation>복사 ms</translation>
    </message>
    <message>
        <source>Kernel ms</source>
        <translation>커널 ms</translation>
    </message>
    <message>
        <source>Stall ms</source>
        <translation>대기 ms</translation>
    </message>
    <message>
        <source>%1 · %2</source>
        <translation>%1 · %2</translation>
    </message>
    <message>
        <source>How the latest run&apos;s layer pack stores this layer&apos;s weights, and the %1 bytes a read covers</source>
        <translation>최근 실행의 레이어 팩이 이 레이어의 가중치를 저장한 형식과, 한 번의 읽기가 다루는 %1 바이트</translation>
    </message>
    <message>
        <source>Stored</source>
        <translation>저장 형식</translation>
    </message>
</context>
<context>
    <name>dl::ui::LocalSession</name>
    <message>
        <source>Importing %1</source>
        <translation>%1 가져오는 중</translation>
    </message>
    <message>
        <source>Packing layer %1 of %2</source>
        <translation>레이어 %2개 중 %1개 팩 작성 중</translation>
    </message>
    <message>
        <source>Setting up %1</source>
        <translation>%1 준비 중</translation>
    </message>
    <message>
        <source>local engine</source>
        <translation>로컬 엔진</translation>
    </message>
    <message>
        <source>Planning %1</source>
        <translation>%1 계획 중</translation>
    </message>
    <message>
        <source>Packing again: %1</source>
        <translation>다시 패킹하는 중: %1</translation>
    </message>
    <message>
        <source>No model is open.</source>
        <translation>열린 모델이 없습니다.</translation>
    </message>
    <message>
        <source>The run ended unexpectedly: %1</source>
        <translation>실행이 예기치 않게 끝났습니다: %1</translation>
    </message>
</context>
<context>
    <name>dl::ui::MainWindow</name>
    <message>
        <source>Open a model with File → Open, or drop an ONNX (.onnx) or Darknet (.cfg) file here.</source>
        <translation>파일 → 열기로 모델을 열거나, ONNX(.onnx) 또는 Darknet(.cfg) 파일을 여기에 끌어다 놓으십시오.</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>모델</translation>
    </message>
    <message>
        <source>Layers</source>
        <translation>레이어</translation>
    </message>
    <message>
        <source>Filter by name, operator or shape</source>
        <translation>이름, 연산자 또는 형태로 거르기</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>파일(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Open…</source>
        <translation>열기(&amp;O)…</translation>
    </message>
    <message>
        <source>Open an ONNX model or a Darknet configuration</source>
        <translation>ONNX 모델이나 Darknet 구성 파일을 엽니다</translation>
    </message>
    <message>
        <source>Open &amp;Recent</source>
        <translation>최근 파일 열기(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Cancel Loading</source>
        <translation>불러오기 취소(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>끝내기(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>도움말(&amp;H)</translation>
    </message>
    <message>
        <source>&amp;About Demand Layering Studio</source>
        <translation>Demand Layering Studio 정보(&amp;A)</translation>
    </message>
    <message>
        <source>About &amp;Qt</source>
        <translation>Qt 정보(&amp;Q)</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>취소</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>준비</translation>
    </message>
    <message>
        <source>Open Model</source>
        <translation>모델 열기</translation>
    </message>
    <message>
        <source>Models (*.onnx *.cfg);;ONNX models (*.onnx);;Darknet configurations (*.cfg);;All files (*)</source>
        <translation>모델 (*.onnx *.cfg);;ONNX 모델 (*.onnx);;Darknet 구성 파일 (*.cfg);;모든 파일 (*)</translation>
    </message>
    <message>
        <source>About Demand Layering Studio</source>
        <translation>Demand Layering Studio 정보</translation>
    </message>
    <message>
        <source>%1: %p%</source>
        <translation>%1: %p%</translation>
    </message>
    <message>
        <source>Loading %1…</source>
        <translation>%1 불러오는 중…</translation>
    </message>
    <message>
        <source>Loaded %1: %2 layers in %3 s</source>
        <translation>%1 불러옴: 레이어 %2개, %3초</translation>
    </message>
    <message>
        <source>Cancelled loading %1</source>
        <translation>%1 불러오기를 취소했습니다</translation>
    </message>
    <message>
        <source>Could not open %1</source>
        <translation>%1을(를) 열 수 없습니다</translation>
    </message>
    <message>
        <source>Cannot Open Model</source>
        <translation>모델을 열 수 없음</translation>
    </message>
    <message>
        <source>Could not open the model %1.</source>
        <translation>모델 %1을(를) 열 수 없습니다.</translation>
    </message>
    <message>
        <source>&amp;Clear Menu</source>
        <translation>목록 지우기(&amp;C)</translation>
    </message>
    <message>
        <source>%1 layers</source>
        <translation>레이어 %1개</translation>
    </message>
    <message>
        <source>%1 of %2 layers</source>
        <translation>레이어 %2개 중 %1개</translation>
    </message>
    <message>
        <source>Demand Layering Studio</source>
        <translation>Demand Layering Studio</translation>
    </message>
    <message>
        <source>%1 — Demand Layering Studio</source>
        <translation>%1 — Demand Layering Studio</translation>
    </message>
    <message>
        <source>Loaded %1: %2 layers in %3 s (seeded random weights)</source>
        <translation>%1 불러옴: 레이어 %2개, %3초 (시드 기반 무작위 가중치)</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>실행</translation>
    </message>
    <message>
        <source>Pipeline Timeline</source>
        <translation>파이프라인 타임라인</translation>
    </message>
    <message>
        <source>Memory</source>
        <translation>메모리</translation>
    </message>
    <message>
        <source>Run Store</source>
        <translation>실행 저장소</translation>
    </message>
    <message>
        <source>Run stores (*.sqlite *.db);;All files (*)</source>
        <translation>실행 저장소 (*.sqlite *.db);;모든 파일 (*)</translation>
    </message>
    <message>
        <source>Running %1 (%2) on the %3…</source>
        <translation>%3에서 %1 (%2) 실행 중…</translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation>중지하는 중…</translation>
    </message>
    <message>
        <source>Running: %1, staging %2, reads by %3</source>
        <translation>실행 중: %1, 스테이징 %2, 읽기 방식 %3</translation>
    </message>
    <message>
        <source>Iteration %1 of %2</source>
        <translation>반복 %2회 중 %1회</translation>
    </message>
    <message>
        <source>Iteration %1: %2 ms</source>
        <translation>반복 %1: %2 ms</translation>
    </message>
    <message>
        <source>%1: median %2 ms over %3 runs, weights %4 at peak, RSS %5</source>
        <translation>%1: %3회 실행의 중앙값 %2 ms, 최대 가중치 %4, RSS %5</translation>
    </message>
    <message>
        <source>; recorded as run %1</source>
        <translation>; 실행 %1(으)로 기록됨</translation>
    </message>
    <message>
        <source>Run stopped</source>
        <translation>실행 중지됨</translation>
    </message>
    <message>
        <source>Run failed: %1</source>
        <translation>실행 실패: %1</translation>
    </message>
    <message>
        <source> (not recorded: %1)</source>
        <translation> (기록되지 않음: %1)</translation>
    </message>
    <message>
        <source>Run Failed</source>
        <translation>실행 실패</translation>
    </message>
    <message>
        <source>The run failed.</source>
        <translation>실행이 실패했습니다.</translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <translation>실행(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Stop</source>
        <translation>중지(&amp;S)</translation>
    </message>
    <message>
        <source>Run S&amp;tore…</source>
        <translation>실행 저장소(&amp;T)…</translation>
    </message>
    <message>
        <source>Choose the SQLite file every run is recorded in</source>
        <translation>모든 실행을 기록할 SQLite 파일을 선택합니다</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>보기(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Follow Latest Iteration</source>
        <translation>최근 반복 따라가기(&amp;F)</translation>
    </message>
    <message>
        <source>Trade-off</source>
        <translation>절충</translation>
    </message>
    <message>
        <source>Export Configuration</source>
        <translation>구성 내보내기</translation>
    </message>
    <message>
        <source>Configurations (*.json);;All files (*)</source>
        <translation>구성 (*.json);;모든 파일 (*)</translation>
    </message>
    <message>
        <source>Verifying the %1 budget&apos;s configuration…</source>
        <translation>예산 %1의 구성을 검증하는 중…</translation>
    </message>
    <message>
        <source>Exported the configuration to %1</source>
        <translation>구성을 %1(으)로 내보냈습니다</translation>
    </message>
    <message>
        <source>Could not export the configuration: %1</source>
        <translation>구성을 내보낼 수 없습니다: %1</translation>
    </message>
    <message>
        <source>Runs</source>
        <translation>실행 기록</translation>
    </message>
    <message>
        <source>Showing run %1 (%2, %3)</source>
        <translation>실행 %1 표시 중 (%2, %3)</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>%1 저장함</translation>
    </message>
    <message>
        <source>Engine %1; Qt %2; oneDNN %3; SQLite %4; QCustomPlot %5; CUDA %6</source>
        <translation>엔진 %1; Qt %2; oneDNN %3; SQLite %4; QCustomPlot %5; CUDA %6</translation>
    </message>
    <message>
        <source>not built in</source>
        <translation>포함되지 않음</translation>
    </message>
    <message>
        <source>&amp;Export</source>
        <translation>내보내기(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;Configuration…</source>
        <translation>구성(&amp;C)…</translation>
    </message>
    <message>
        <source>Select one run in the Runs view first</source>
        <translation>먼저 실행 기록 보기에서 실행 하나를 선택하세요</translation>
    </message>
    <message>
        <source>Selected Run as Chrome &amp;Trace…</source>
        <translation>선택한 실행을 Chrome 트레이스로(&amp;T)…</translation>
    </message>
    <message>
        <source>Export Chrome Trace</source>
        <translation>Chrome 트레이스 내보내기</translation>
    </message>
    <message>
        <source>Chrome traces (*.json)</source>
        <translation>Chrome 트레이스 (*.json)</translation>
    </message>
    <message>
        <source>Selected Run&apos;s Layers as &amp;CSV…</source>
        <translation>선택한 실행의 레이어를 CSV로(&amp;C)…</translation>
    </message>
    <message>
        <source>Export Layer Statistics</source>
        <translation>레이어 통계 내보내기</translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>CSV 파일 (*.csv)</translation>
    </message>
    <message>
        <source>&amp;Timeline as PNG or PDF…</source>
        <translation>타임라인을 PNG 또는 PDF로(&amp;T)…</translation>
    </message>
    <message>
        <source>&amp;Memory Graph as PNG or PDF…</source>
        <translation>메모리 그래프를 PNG 또는 PDF로(&amp;M)…</translation>
    </message>
    <message>
        <source>T&amp;rade-off as PNG or PDF…</source>
        <translation>절충 그래프를 PNG 또는 PDF로(&amp;R)…</translation>
    </message>
    <message>
        <source>&amp;Difference Plot as PNG or PDF…</source>
        <translation>차이 플롯을 PNG 또는 PDF로(&amp;D)…</translation>
    </message>
    <message>
        <source>Save Plot</source>
        <translation>플롯 저장</translation>
    </message>
    <message>
        <source>PNG images (*.png);;PDF documents (*.pdf)</source>
        <translation>PNG 이미지 (*.png);;PDF 문서 (*.pdf)</translation>
    </message>
    <message>
        <source>&lt;h3&gt;Demand Layering Studio %1&lt;/h3&gt;&lt;p&gt;Inspect DNN models layer by layer and plan how their weights stream from storage at run time.&lt;/p&gt;&lt;p&gt;Demand Layering: Ji et al., RTSS 2022.&lt;/p&gt;&lt;p&gt;%2&lt;/p&gt;</source>
        <translation>&lt;h3&gt;Demand Layering Studio %1&lt;/h3&gt;&lt;p&gt;DNN 모델을 레이어 단위로 살펴보고, 실행 중에 가중치를 저장 장치에서 어떻게 읽어 올지 계획합니다.&lt;/p&gt;&lt;p&gt;Demand Layering: Ji 외, RTSS 2022.&lt;/p&gt;&lt;p&gt;%2&lt;/p&gt;</translation>
    </message>
    <message>
        <source>The language changes when the studio starts again</source>
        <translation>언어는 스튜디오를 다시 시작하면 바뀝니다</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>언어(&amp;L)</translation>
    </message>
    <message>
        <source>System Default</source>
        <translation>시스템 기본값</translation>
    </message>
    <message>
        <source>Recording the run…</source>
        <translation>실행 기록 중…</translation>
    </message>
    <message>
        <source>Not connected: %1</source>
        <translation>연결하지 않음: %1</translation>
    </message>
    <message>
        <source>Connect to Board</source>
        <translation>보드에 연결</translation>
    </message>
    <message>
        <source>The studio could not connect.</source>
        <translation>스튜디오가 연결하지 못했습니다.</translation>
    </message>
    <message>
        <source>Connect to &amp;Board…</source>
        <translation>보드에 연결(&amp;B)…</translation>
    </message>
    <message>
        <source>Run on a board&apos;s agent (dlayer serve) over TLS</source>
        <translation>보드의 에이전트(dlayer serve)에서 TLS로 실행</translation>
    </message>
    <message>
        <source>&amp;Disconnect from Board</source>
        <translation>보드 연결 끊기(&amp;D)</translation>
    </message>
    <message>
        <source>&amp;Deploy Configuration to Board…</source>
        <translation>구성을 보드에 배포(&amp;D)…</translation>
    </message>
    <message>
        <source>Deploy to Board</source>
        <translation>보드에 배포</translation>
    </message>
    <message>
        <source>Name of the configuration on the board (dlayer run MODEL --config NAME):</source>
        <translation>보드에 저장할 구성의 이름(dlayer run MODEL --config NAME):</translation>
    </message>
    <message>
        <source>Choose a budget in the trade-off view first</source>
        <translation>먼저 트레이드오프 보기에서 예산을 고르십시오</translation>
    </message>
    <message>
        <source>Connecting to %1…</source>
        <translation>%1에 연결하는 중…</translation>
    </message>
    <message>
        <source>A run is in progress: connect to the board once it has ended</source>
        <translation>실행이 진행 중입니다: 실행이 끝난 뒤 보드에 연결하십시오</translation>
    </message>
    <message>
        <source>The link to %1 was lost: %2</source>
        <translation>%1과의 연결이 끊어졌습니다: %2</translation>
    </message>
    <message>
        <source>Board</source>
        <translation>보드</translation>
    </message>
    <message>
        <source>The link to the board was lost.</source>
        <translation>보드와의 연결이 끊어졌습니다.</translation>
    </message>
    <message>
        <source>The board&apos;s runs were not all fetched: %1</source>
        <translation>보드의 실행을 모두 가져오지 못했습니다: %1</translation>
    </message>
    <message numerus="yes">
        <source>Fetched %n run(s) from the board</source>
        <translation>
            <numerusform>보드에서 실행 %n개를 가져왔습니다</numerusform>
        </translation>
    </message>
    <message>
        <source>Deployed the configuration &apos;%1&apos; to the board</source>
        <translation>구성 &apos;%1&apos;을(를) 보드에 배포했습니다</translation>
    </message>
    <message>
        <source>Could not deploy the configuration: %1</source>
        <translation>구성을 배포할 수 없습니다: %1</translation>
    </message>
    <message>
        <source>Connected to %1</source>
        <translation>%1에 연결됨</translation>
    </message>
    <message>
        <source>Runs go to the local engine</source>
        <translation>실행은 로컬 엔진에서 합니다</translation>
    </message>
    <message>
        <source>Local engine (%1)</source>
        <translation>로컬 엔진 (%1)</translation>
    </message>
    <message>
        <source>Board %1 (%2)</source>
        <translation>보드 %1 (%2)</translation>
    </message>
    <message>
        <source>Board %1: link lost</source>
        <translation>보드 %1: 연결 끊김</translation>
    </message>
    <message>
        <source>%1 at %2, %3; engine %4; certificate %5</source>
        <translation>%2의 %1, %3; 엔진 %4; 인증서 %5</translation>
    </message>
    <message>
        <source>&amp;Close Model</source>
        <translation>모델 닫기(&amp;C)</translation>
    </message>
    <message>
        <source>Close the model, stopping its run</source>
        <translation>모델을 닫고 진행 중인 실행을 멈춥니다</translation>
    </message>
</context>
<context>
    <name>dl::ui::MemoryView</name>
    <message>
        <source>resident weights</source>
        <translation>상주 가중치</translation>
    </message>
    <message>
        <source>staging</source>
        <translation>스테이징</translation>
    </message>
    <message>
        <source>activations</source>
        <translation>활성화</translation>
    </message>
    <message>
        <source>workspace</source>
        <translation>작업 공간</translation>
    </message>
    <message>
        <source>memory (MiB)</source>
        <translation>메모리 (MiB)</translation>
    </message>
    <message>
        <source>process RSS</source>
        <translation>프로세스 RSS</translation>
    </message>
    <message>
        <source>read MB/s</source>
        <translation>읽기 MB/s</translation>
    </message>
    <message>
        <source>time since set-up (s)</source>
        <translation>준비 이후 시간 (s)</translation>
    </message>
    <message>
        <source>read bandwidth</source>
        <translation>읽기 대역폭</translation>
    </message>
</context>
<context>
    <name>dl::ui::ModelLoader</name>
    <message>
        <source>Out of resources: %1</source>
        <translation>자원이 부족합니다: %1</translation>
    </message>
</context>
<context>
    <name>dl::ui::ModelSummaryView</name>
    <message>
        <source>File:</source>
        <translation>파일:</translation>
    </message>
    <message>
        <source>Format:</source>
        <translation>형식:</translation>
    </message>
    <message>
        <source>Opset:</source>
        <translation>Opset:</translation>
    </message>
    <message>
        <source>Nodes:</source>
        <translation>노드:</translation>
    </message>
    <message>
        <source>Layers:</source>
        <translation>레이어:</translation>
    </message>
    <message>
        <source>Parameters:</source>
        <translation>매개변수:</translation>
    </message>
    <message>
        <source>Weights:</source>
        <translation>가중치:</translation>
    </message>
    <message>
        <source>GFLOPs:</source>
        <translation>GFLOPs:</translation>
    </message>
    <message>
        <source>Activations:</source>
        <translation>활성값:</translation>
    </message>
    <message>
        <source>Inputs:</source>
        <translation>입력:</translation>
    </message>
    <message>
        <source>Outputs:</source>
        <translation>출력:</translation>
    </message>
    <message>
        <source>ONNX</source>
        <translation>ONNX</translation>
    </message>
    <message>
        <source>Darknet</source>
        <translation>Darknet</translation>
    </message>
    <message>
        <source>none</source>
        <translation>없음</translation>
    </message>
    <message>
        <source>n/a</source>
        <translation>해당 없음</translation>
    </message>
    <message>
        <source>%1 MB (%2)</source>
        <translation>%1 MB (%2)</translation>
    </message>
    <message>
        <source>%1 bytes</source>
        <translation>%1바이트</translation>
    </message>
</context>
<context>
    <name>dl::ui::RemoteSession</name>
    <message>
        <source>The link to the board was lost: %1</source>
        <translation>보드와의 연결이 끊어졌습니다: %1</translation>
    </message>
    <message>
        <source>Uploading %1 to the board</source>
        <translation>%1을(를) 보드에 업로드하는 중</translation>
    </message>
    <message>
        <source>No model is open.</source>
        <translation>열린 모델이 없습니다.</translation>
    </message>
    <message numerus="yes">
        <source>Waiting on the board: %n run(s) ahead</source>
        <translation>
            <numerusform>보드에서 대기 중: 앞에 실행 %n개</numerusform>
        </translation>
    </message>
    <message>
        <source>The board&apos;s run %1 does not read: %2</source>
        <translation>보드의 실행 %1을(를) 읽을 수 없습니다: %2</translation>
    </message>
    <message>
        <source>The board did not record the run: %1</source>
        <translation>보드가 실행을 기록하지 않았습니다: %1</translation>
    </message>
    <message>
        <source>board at %1</source>
        <translation>%1의 보드</translation>
    </message>
    <message>
        <source>board %1 (%2)</source>
        <translation>보드 %1 (%2)</translation>
    </message>
</context>
<context>
    <name>dl::ui::RunControls</name>
    <message>
        <source>How the weights reach the kernels: preloaded, or streamed from the pack by a pipeline</source>
        <translation>가중치가 커널에 전달되는 방식: 미리 적재하거나 파이프라인으로 팩에서 스트리밍</translation>
    </message>
    <message>
        <source> MiB</source>
        <translation> MiB</translation>
    </message>
    <message>
        <source>none</source>
        <translation>없음</translation>
    </message>
    <message>
        <source>Weight memory budget: the engine picks the staging and the resident layers within it</source>
        <translation>가중치 메모리 예산: 엔진이 그 안에서 스테이징과 상주 레이어를 고릅니다</translation>
    </message>
    <message>
        <source>smallest</source>
        <translation>최소</translation>
    </message>
    <message>
        <source>Staging ring size for async and two-stage (without a budget)</source>
        <translation>async와 two-stage의 스테이징 링 크기 (예산이 없을 때)</translation>
    </message>
    <message>
        <source>Continuous (until Stop)</source>
        <translation>연속 실행 (중지할 때까지)</translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <translation>실행(&amp;R)</translation>
    </message>
    <message>
        <source>Run the model with this configuration (F5)</source>
        <translation>이 구성으로 모델을 실행합니다 (F5)</translation>
    </message>
    <message>
        <source>&amp;Stop</source>
        <translation>중지(&amp;S)</translation>
    </message>
    <message>
        <source>Stop the run within one layer (Shift+F5)</source>
        <translation>레이어 하나 안에 실행을 중지합니다 (Shift+F5)</translation>
    </message>
    <message>
        <source>Architecture</source>
        <translation>아키텍처</translation>
    </message>
    <message>
        <source>Budget</source>
        <translation>예산</translation>
    </message>
    <message>
        <source>Staging</source>
        <translation>스테이징</translation>
    </message>
    <message>
        <source>Warm-up</source>
        <translation>워밍업</translation>
    </message>
    <message>
        <source>Iterations</source>
        <translation>반복 횟수</translation>
    </message>
    <message>
        <source>CPU (oneDNN)</source>
        <translation>CPU (oneDNN)</translation>
    </message>
    <message>
        <source>Where the kernels run</source>
        <translation>커널이 실행되는 곳</translation>
    </message>
    <message>
        <source>Backend</source>
        <translation>백엔드</translation>
    </message>
    <message>
        <source>auto</source>
        <translation>자동</translation>
    </message>
    <message>
        <source>Cut layers whose weights exceed this size into pieces along their output channels, so that staging needs only a piece. Auto: whole layers, or with a budget the pieces it needs</source>
        <translation>가중치가 이 크기를 넘는 레이어를 출력 채널 방향으로 조각내어, 스테이징에 한 조각만 필요하게 합니다. 자동: 레이어 전체, 또는 예산이 있으면 그 예산에 필요한 조각</translation>
    </message>
    <message>
        <source>Split above</source>
        <translation>분할 기준</translation>
    </message>
    <message>
        <source>as the model</source>
        <translation>모델과 같이</translation>
    </message>
    <message>
        <source>fp32</source>
        <translation>fp32</translation>
    </message>
    <message>
        <source>fp16 (half the bytes read)</source>
        <translation>fp16 (읽는 바이트 절반)</translation>
    </message>
    <message>
        <source>How the layer pack stores the weights. fp16 halves the bytes each streamed inference reads; the copy stage widens them to fp32 for the kernels. As the model: fp16 for a model that stores its weights in fp16, else fp32</source>
        <translation>레이어 팩에 가중치를 저장하는 형식입니다. fp16은 스트리밍 추론마다 읽는 바이트를 절반으로 줄이며, 복사 단계가 커널을 위해 fp32로 넓힙니다. 모델과 같이: 가중치를 fp16으로 저장한 모델은 fp16, 그 밖에는 fp32</translation>
    </message>
    <message>
        <source>Weights in pack</source>
        <translation>팩의 가중치</translation>
    </message>
    <message>
        <source>CUDA (cuDNN)</source>
        <translation>CUDA (cuDNN)</translation>
    </message>
    <message>
        <source>looking for a CUDA device…</source>
        <translation>CUDA 장치를 찾는 중…</translation>
    </message>
    <message>
        <source>CUDA: %1</source>
        <translation>CUDA: %1</translation>
    </message>
    <message>
        <source>CUDA unavailable: %1</source>
        <translation>CUDA 사용 불가: %1</translation>
    </message>
</context>
<context>
    <name>dl::ui::RunHistoryModel</name>
    <message>
        <source>%1, %2 backend</source>
        <translation>%1, %2 백엔드</translation>
    </message>
    <message>
        <source>sha256 %1</source>
        <translation>sha256 %1</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>실행</translation>
    </message>
    <message>
        <source>Started</source>
        <translation>시작</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>모델</translation>
    </message>
    <message>
        <source>Architecture</source>
        <translation>아키텍처</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>상태</translation>
    </message>
    <message>
        <source>Iterations</source>
        <translation>반복 횟수</translation>
    </message>
    <message>
        <source>Median ms</source>
        <translation>중앙값 ms</translation>
    </message>
    <message>
        <source>Weights peak</source>
        <translation>가중치 최대</translation>
    </message>
    <message>
        <source>Total peak</source>
        <translation>전체 최대</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>장치</translation>
    </message>
</context>
<context>
    <name>dl::ui::RunsView</name>
    <message>
        <source>This model only</source>
        <translation>이 모델만</translation>
    </message>
    <message>
        <source>This device only</source>
        <translation>이 장치만</translation>
    </message>
    <message>
        <source>Runs recorded on %1</source>
        <translation>%1에서 기록된 실행</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>새로 고침</translation>
    </message>
    <message>
        <source>Compare</source>
        <translation>비교</translation>
    </message>
    <message>
        <source>Compare the two selected runs</source>
        <translation>선택한 두 실행을 비교합니다</translation>
    </message>
    <message>
        <source>Open Timeline</source>
        <translation>타임라인 열기</translation>
    </message>
    <message>
        <source>Show the selected run in the timeline and memory views</source>
        <translation>선택한 실행을 타임라인과 메모리 보기에 표시합니다</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>삭제</translation>
    </message>
    <message>
        <source>Measure</source>
        <translation>측정 항목</translation>
    </message>
    <message>
        <source>A</source>
        <translation>A</translation>
    </message>
    <message>
        <source>B</source>
        <translation>B</translation>
    </message>
    <message>
        <source>B − A</source>
        <translation>B − A</translation>
    </message>
    <message>
        <source>layer</source>
        <translation>레이어</translation>
    </message>
    <message>
        <source>B − A (ms per inference)</source>
        <translation>B − A (추론당 ms)</translation>
    </message>
    <message>
        <source>Summary</source>
        <translation>요약</translation>
    </message>
    <message>
        <source>Per layer</source>
        <translation>레이어별</translation>
    </message>
    <message>
        <source>Difference plot</source>
        <translation>차이 플롯</translation>
    </message>
    <message>
        <source>%1 of %2 runs shown</source>
        <translation>실행 %2개 중 %1개 표시</translation>
    </message>
    <message>
        <source>Exported %1</source>
        <translation>%1 내보냄</translation>
    </message>
    <message>
        <source>Delete Runs</source>
        <translation>실행 삭제</translation>
    </message>
    <message numerus="yes">
        <source>Delete %n run(s) from the run store?</source>
        <translation>
            <numerusform>실행 %n개를 실행 저장소에서 삭제할까요?</numerusform>
        </translation>
    </message>
    <message>
        <source>Median latency (ms)</source>
        <translation>중앙값 지연 시간 (ms)</translation>
    </message>
    <message>
        <source>Minimum latency (ms)</source>
        <translation>최소 지연 시간 (ms)</translation>
    </message>
    <message>
        <source>Kernel stall (ms per inference)</source>
        <translation>커널 대기 (추론당 ms)</translation>
    </message>
    <message>
        <source>Weights peak</source>
        <translation>가중치 최대</translation>
    </message>
    <message>
        <source>Ledger peak</source>
        <translation>장부 최대</translation>
    </message>
    <message>
        <source>RSS peak</source>
        <translation>RSS 최대</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>실행</translation>
    </message>
    <message>
        <source>Architecture</source>
        <translation>아키텍처</translation>
    </message>
    <message>
        <source>kernel</source>
        <translation>커널</translation>
    </message>
    <message>
        <source>stall</source>
        <translation>대기</translation>
    </message>
    <message>
        <source>Run %1 against run %2</source>
        <translation>실행 %2 대비 실행 %1</translation>
    </message>
    <message>
        <source>Read per inference</source>
        <translation>추론당 읽기</translation>
    </message>
    <message>
        <source>Read rate (MB/s)</source>
        <translation>읽기 속도 (MB/s)</translation>
    </message>
</context>
<context>
    <name>dl::ui::TimelineView</name>
    <message>
        <source>time since set-up (ms)</source>
        <translation>준비 이후 시간 (ms)</translation>
    </message>
    <message>
        <source>read</source>
        <translation>읽기</translation>
    </message>
    <message>
        <source>copy</source>
        <translation>복사</translation>
    </message>
    <message>
        <source>kernel</source>
        <translation>커널</translation>
    </message>
    <message>
        <source>Follow</source>
        <translation>따라가기</translation>
    </message>
    <message>
        <source>Follow the latest iteration (F)</source>
        <translation>최근 반복을 따라갑니다 (F)</translation>
    </message>
    <message>
        <source>Show all</source>
        <translation>전체 보기</translation>
    </message>
    <message>
        <source>Show every iteration kept (Home)</source>
        <translation>보관된 모든 반복을 보여 줍니다 (Home)</translation>
    </message>
    <message>
        <source>Drag to pan, wheel or +/- to zoom; click a bar to select its layer</source>
        <translation>끌어서 이동, 휠이나 +/-로 확대/축소, 막대를 클릭하면 그 레이어를 선택합니다</translation>
    </message>
    <message>
        <source>&lt;b&gt;%1&lt;/b&gt; (layer %2)&lt;br&gt;%3 %4, iteration %5&lt;br&gt;%6 → %7 ms: %8 ms</source>
        <translation>&lt;b&gt;%1&lt;/b&gt; (레이어 %2)&lt;br&gt;%3 %4, 반복 %5&lt;br&gt;%6 → %7 ms: %8 ms</translation>
    </message>
    <message>
        <source>stalled</source>
        <translation>대기</translation>
    </message>
</context>
<context>
    <name>dl::ui::TradeoffPlanner</name>
    <message>
        <source>No runs recorded yet: profile the model (a sequential run) to plan it</source>
        <translation>아직 기록된 실행이 없습니다: 계획하려면 모델을 프로파일하세요 (sequential 실행)</translation>
    </message>
</context>
<context>
    <name>dl::ui::TradeoffView</name>
    <message>
        <source>weight memory (MiB)</source>
        <translation>가중치 메모리 (MiB)</translation>
    </message>
    <message>
        <source>latency (ms)</source>
        <translation>지연 시간 (ms)</translation>
    </message>
    <message>
        <source>predicted (frontier)</source>
        <translation>예측 (프런티어)</translation>
    </message>
    <message>
        <source>lower bound</source>
        <translation>하한</translation>
    </message>
    <message>
        <source>runs: %1</source>
        <translation>실행: %1</translation>
    </message>
    <message>
        <source>measured choice</source>
        <translation>측정된 선택</translation>
    </message>
    <message>
        <source>chosen budget</source>
        <translation>선택한 예산</translation>
    </message>
    <message>
        <source>Memory budget: drag to move along the frontier</source>
        <translation>메모리 예산: 끌어서 프런티어를 따라 이동합니다</translation>
    </message>
    <message>
        <source>&amp;Profile</source>
        <translation>프로파일(&amp;P)</translation>
    </message>
    <message>
        <source>Record a sequential run of the model to plan it from</source>
        <translation>계획의 바탕이 될 모델의 sequential 실행을 기록합니다</translation>
    </message>
    <message>
        <source>Run This &amp;Configuration</source>
        <translation>이 구성 실행(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Export Configuration…</source>
        <translation>구성 내보내기(&amp;E)…</translation>
    </message>
    <message>
        <source>Plan for</source>
        <translation>계획 대상</translation>
    </message>
    <message>
        <source>Budget</source>
        <translation>예산</translation>
    </message>
    <message>
        <source>Open a model to plan it.</source>
        <translation>계획하려면 모델을 여세요.</translation>
    </message>
    <message>
        <source>%1 budgets planned in %2 ms from run %3 (%4): kernels %5 ms, disk %6 MB/s; %7 runs of this model recorded.</source>
        <translation>실행 %3 (%4)에서 예산 %1개를 %2 ms에 계획함: 커널 %5 ms, 디스크 %6 MB/s; 이 모델의 기록된 실행 %7개.</translation>
    </message>
    <message>
        <source>Weights %1 (resident %2 in %3 of %4 layers, staging %5): %6 % less than the whole model; activations %7, workspace %8, total %9</source>
        <translation>가중치 %1 (레이어 %4개 중 %3개에 상주 %2, 스테이징 %5): 전체 모델보다 %6 % 적음; 활성화 %7, 작업 공간 %8, 합계 %9</translation>
    </message>
    <message>
        <source>Reads beside kernels at %1 of the disk&apos;s rate (calibrated on run %2).</source>
        <translation>커널과 함께 실행될 때 읽기는 디스크 속도의 %1 (실행 %2에서 보정함).</translation>
    </message>
    <message>
        <source>cut at %1 (run %2)</source>
        <translation>%1 단위 분할 (실행 %2)</translation>
    </message>
    <message>
        <source>whole (run %1)</source>
        <translation>분할 없음 (실행 %1)</translation>
    </message>
    <message>
        <source>Layers weighed: %1.</source>
        <translation>비교한 레이어 구성: %1.</translation>
    </message>
    <message>
        <source>; layers above %1 cut into pieces</source>
        <translation>; %1을 넘는 레이어는 조각으로 나뉨</translation>
    </message>
    <message>
        <source>+%1 % over preload&apos;s %2 ms</source>
        <translation>preload의 %2 ms보다 +%1 %</translation>
    </message>
    <message>
        <source>%1 % under preload&apos;s %2 ms</source>
        <translation>preload의 %2 ms보다 %1 % 빠름</translation>
    </message>
    <message>
        <source>&lt;b&gt;Budget %1&lt;/b&gt;: predicted &lt;b&gt;%2 ms&lt;/b&gt; (%3; lower bound %4 ms)</source>
        <translation>&lt;b&gt;예산 %1&lt;/b&gt;: 예측 &lt;b&gt;%2 ms&lt;/b&gt; (%3; 하한 %4 ms)</translation>
    </message>
    <message>
        <source>fp32 packs</source>
        <translation>fp32 팩</translation>
    </message>
    <message>
        <source>fp16 packs</source>
        <translation>fp16 팩</translation>
    </message>
    <message>
        <source>Plan for layer packs that store the weights in fp32 or in fp16 (half the bytes read, widened for the kernels); the other precision&apos;s frontier is drawn beside, when its profile is recorded</source>
        <translation>가중치를 fp32 또는 fp16(읽는 바이트 절반, 커널을 위해 넓힘)으로 저장하는 레이어 팩에 대해 계획합니다. 다른 정밀도의 프로필이 기록되어 있으면 그 경계선을 옆에 그립니다</translation>
    </message>
    <message>
        <source>predicted, %1 packs (frontier)</source>
        <translation>예측, %1 팩 (경계선)</translation>
    </message>
    <message>
        <source>predicted, %1 packs</source>
        <translation>예측, %1 팩</translation>
    </message>
    <message>
        <source>Dashed: the frontier with %1 packs, from their own profile.</source>
        <translation>점선: %1 팩의 경계선 (그 팩의 프로필에서).</translation>
    </message>
    <message>
        <source>No profile of %1 packs to draw their frontier beside (Profile with %1 chosen).</source>
        <translation>옆에 경계선을 그릴 %1 팩의 프로필이 없습니다 (%1을 고르고 프로필하십시오).</translation>
    </message>
</context>
<context>
    <name>main</name>
    <message>
        <source>Demand Layering Studio</source>
        <translation>Demand Layering Studio</translation>
    </message>
    <message>
        <source>An ONNX model (.onnx) or Darknet configuration (.cfg) to open.</source>
        <translation>열 ONNX 모델(.onnx) 또는 Darknet 구성 파일(.cfg).</translation>
    </message>
    <message>
        <source>User interface language, e.g. en or ko (default: the system&apos;s).</source>
        <translation>사용자 인터페이스 언어, 예: en 또는 ko (기본값: 시스템 언어).</translation>
    </message>
    <message>
        <source>Save a picture of the window to &lt;file&gt; once the model has loaded, then quit.</source>
        <translation>모델을 불러온 뒤 창 그림을 &lt;file&gt;에 저장하고 끝냅니다.</translation>
    </message>
    <message>
        <source>Record runs in the run store &lt;file&gt; (default: the one last chosen).</source>
        <translation>실행을 실행 저장소 &lt;file&gt;에 기록합니다 (기본값: 마지막으로 고른 저장소).</translation>
    </message>
    <message>
        <source>Run the model with architecture &lt;arch&gt; once it has loaded.</source>
        <translation>모델을 불러오면 아키텍처 &lt;arch&gt;로 실행합니다.</translation>
    </message>
    <message>
        <source>Bring a view to the front: tradeoff or runs.</source>
        <translation>보기를 앞으로 가져옵니다: tradeoff 또는 runs.</translation>
    </message>
    <message>
        <source>Put the trade-off&apos;s slider at the budget nearest &lt;MiB&gt;.</source>
        <translation>절충 보기의 슬라이더를 &lt;MiB&gt;에 가장 가까운 예산에 둡니다.</translation>
    </message>
    <message>
        <source>Compare the two newest runs of the model in the Runs view.</source>
        <translation>실행 기록 보기에서 모델의 가장 최근 두 실행을 비교합니다.</translation>
    </message>
    <message>
        <source>Cut the run&apos;s layers whose weights exceed &lt;MiB&gt; into pieces.</source>
        <translation>실행할 모델에서 가중치가 &lt;MiB&gt;를 넘는 레이어를 조각으로 나눕니다.</translation>
    </message>
    <message>
        <source>Run on a board&apos;s agent: the pairing line &apos;dlayer serve&apos; printed, or HOST:PORT of a board paired before.</source>
        <translation>보드의 에이전트에서 실행합니다: &apos;dlayer serve&apos;가 출력한 페어링 줄, 또는 이전에 페어링한 보드의 HOST:PORT.</translation>
    </message>
</context>
</TS>
