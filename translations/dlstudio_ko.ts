<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ko" sourcelanguage="en">
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
        <source>&lt;h3&gt;Demand Layering Studio %1&lt;/h3&gt;&lt;p&gt;Inspect DNN models layer by layer and plan how their weights stream from storage at run time.&lt;/p&gt;&lt;p&gt;Demand Layering: Ji et al., RTSS 2022.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;Demand Layering Studio %1&lt;/h3&gt;&lt;p&gt;DNN 모델을 레이어 단위로 살펴보고, 실행 중에 가중치를 저장 장치에서 어떻게 읽어 올지 계획합니다.&lt;/p&gt;&lt;p&gt;Demand Layering: Ji 외, RTSS 2022.&lt;/p&gt;</translation>
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
</context>
</TS>
