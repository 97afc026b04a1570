#pragma once

// Internal to the Darknet importer: the state of lowering one .cfg to the graph IR, shared by
// darknetimporter.cpp (driver, helpers, activations) and darknetlayers.cpp (one function per layer type).

#include "model/darknetcfg.h"
#include "model/darknetweights.h"
#include "model/importer.h"

#include <initializer_list>
#include <map>
#include <string>
#include <vector>

namespace dl::darknet {

// One Darknet layer's output: the value that carries it and its shape, [1, c, h, w] or [1, n] (connected and
// softmax layers produce flat vectors; Darknet sees them as c = n, h = w = 1).
struct DnValue
{
    std::string value;
    Shape shape;
    bool detector = false; // yolo / region / detection: its value is a graph output

    int64_t c() const { return shape.size() == 4 ? shape[1] : numElements(shape); }
    int64_t h() const { return shape.size() == 4 ? shape[2] : 1; }
    int64_t w() const { return shape.size() == 4 ? shape[3] : 1; }
};

enum class Kind { Supported, Recurrent, Unsupported, Unknown };

// Whether the importer lowers a section type, and if not, why (for the error message).
Kind classify(const std::string& type);

class Lowering
{
public:
    Lowering(const CfgFile& cfg, const ImportOptions& options)
        : m_cfg(cfg)
        , m_options(options)
    { }

    Result<Graph> run(const std::string& cfgPath);

private:
    Status checkTypes() const;
    Status lowerNet(const CfgSection& s);
    Status lowerLayer(int i, const CfgSection& s);

    Status convolutional(int i, SectionReader& r);
    Status connected(int i, SectionReader& r);
    Status maxpool(int i, SectionReader& r);
    Status route(int i, SectionReader& r);
    Status shortcut(int i, SectionReader& r);
    Status upsample(int i, SectionReader& r);
    Status softmax(int i, SectionReader& r);
    Status treeSoftmax(int i, SectionReader& r, float temperature);
    Status local(int i, SectionReader& r);
    Status crop(int i, SectionReader& r);
    Status reorg(int i, SectionReader& r);
    Status multiply(int i, SectionReader& r, bool channels);
    Status batchnorm(int i, SectionReader& r);
    Status rnn(int i, SectionReader& r);
    Status gru(int i, SectionReader& r);
    Status crnn(int i, SectionReader& r);
    // A 3x3, stride 1, pad 1 Darknet convolutional layer (the parts of [crnn]), parameters in .weights order.
    Result<std::string> sameConv(const std::string& base, const std::string& x, int64_t c, int64_t n, bool bn,
        const std::string& act, SectionReader& r);

    // A Darknet connected layer on the flat value `x` ([1, inputs]): declares its parameters in .weights order
    // (biases, weights, then BN scales, means, variances) and emits Gemm [+ BatchNormalization] + activation.
    Result<std::string> dense(const std::string& base, const std::string& x, int64_t inputs, int64_t outputs, bool bn,
        const std::string& act, SectionReader& r);
    // A [1, n] zero vector: the state a recurrent layer starts from.
    std::string zeros(const std::string& name, int64_t n);

    // Emits a node whose single output value is named after the node; returns that name.
    std::string node(const std::string& name, const std::string& op, std::vector<std::string> inputs,
        std::map<std::string, Attribute> attrs = {});
    std::string constInts(const std::string& name, const std::vector<int64_t>& v);
    std::string constFloat(const std::string& name, float v);
    // Declares a parameter read from the .weights file (or generated), in file order.
    std::string param(const std::string& name, Shape shape, ParamKind kind, int64_t fanIn = 1);
    // Emits `act` after `input`; returns the value name (the input itself for linear).
    Result<std::string> activation(
        const std::string& base, const std::string& input, const std::string& act, SectionReader& r);
    std::string to4d(const std::string& base, const DnValue& v);
    std::string to2d(const std::string& base, const DnValue& v);
    std::string slice(const std::string& name, const std::string& input, std::vector<int64_t> starts,
        std::vector<int64_t> ends, std::vector<int64_t> axes, std::vector<int64_t> steps = {});
    // Resolves a Darknet layer reference (negative: relative to layer i) to an earlier layer.
    Result<int> reference(int i, int64_t ref, SectionReader& r, const std::string& key) const;
    const DnValue& inputOf(int i) const { return i == 0 ? m_input : m_layers[static_cast<size_t>(i - 1)]; }
    void setOutput(int i, std::string value, Shape shape, bool detector = false)
    {
        checkValueSize(shape);
        m_layers[static_cast<size_t>(i)] = DnValue { std::move(value), std::move(shape), detector };
    }
    // A value past 2^36 elements (256 GiB of float32: no network's) stops the import at the layer that makes it, so
    // that later layers' products of its dimensions stay within 64 bits.
    void checkValueSize(const Shape& shape);
    Status reportUnsupportedKeys(SectionReader& r, std::initializer_list<const char*> keys) const;
    Status fillParameters();

    const CfgFile& m_cfg;
    const ImportOptions& m_options;
    Graph m_g;
    std::string m_cfgPath;
    DnValue m_input;
    std::vector<DnValue> m_layers;
    std::vector<ParamSlot> m_slots;
    std::vector<bool> m_feedsShortcut; // layer i is the residual branch of a shortcut at i + 1
    int m_currentLayer = 0;
    bool m_dontLoad = false;
    bool m_dontLoadScales = false;
    int64_t m_paramElements = 0;
    std::string m_tooLarge; // set by param() when a size limit is passed
};

} // namespace dl::darknet
