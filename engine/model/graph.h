#pragma once

// The engine's graph IR: ONNX-shaped (named values, nodes with ONNX op types and attributes) so that every
// importer lowers to the same operator set and the CPU backend has one vocabulary.

#include "core/result.h"
#include "core/tensor.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace dl {

struct Attribute
{
    enum class Kind { Float, Int, String, Tensor, Floats, Ints, Strings, Graph };
    Kind kind = Kind::Int;
    float f = 0.0f;
    int64_t i = 0;
    std::string s;
    dl::Tensor t;
    std::vector<float> floats;
    std::vector<int64_t> ints;
    std::vector<std::string> strings;
};

struct Node
{
    std::string name;
    std::string opType;
    std::string domain; // "" or "ai.onnx" for the default domain
    std::vector<std::string> inputs; // "" marks an omitted optional input
    std::vector<std::string> outputs;
    std::map<std::string, Attribute> attrs;

    bool has(const std::string& attr) const { return attrs.count(attr) != 0; }
    int64_t attrInt(const std::string& attr, int64_t fallback) const;
    float attrFloat(const std::string& attr, float fallback) const;
    std::string attrString(const std::string& attr, const std::string& fallback) const;
    std::vector<int64_t> attrInts(const std::string& attr, std::vector<int64_t> fallback = {}) const;
    std::vector<float> attrFloats(const std::string& attr, std::vector<float> fallback = {}) const;
    // "node 12 'conv5_3' (Conv)" — the form every error message uses to point at a node.
    std::string describe() const;
};

// A dimension is either known (value >= 0) or symbolic (value -1, with the parameter's name if it has one).
struct Dim
{
    int64_t value = -1;
    std::string param;
};

struct ValueInfo
{
    std::string name;
    DType dtype = DType::Undefined;
    std::vector<Dim> dims;
    bool hasShape = false; // false when the model does not declare a shape at all
};

struct Graph
{
    std::string name;
    std::string producer;
    std::string sourcePath;
    std::string format; // "onnx" or "darknet"
    int64_t opset = 0; // default-domain opset version
    std::vector<Node> nodes; // topologically sorted after import
    std::vector<ValueInfo> inputs; // graph inputs that are not weights
    std::vector<ValueInfo> outputs;
    std::unordered_map<std::string, Tensor> weights; // initializers and Constant-node tensors, by value name
    size_t halfWeights = 0; // weight tensors the file stored in float16: imported widened to float32, exactly

    bool isWeight(const std::string& value) const { return weights.count(value) != 0; }
    // Total bytes of every weight tensor.
    size_t weightBytes() const;
};

// Attribute values, for importers and rewrites that build nodes.
Attribute attrInt(int64_t v);
Attribute attrInts(std::vector<int64_t> v);
Attribute attrFloat(float v);
Attribute attrString(std::string v);

// Fresh names for what a rewrite adds to a graph: every value, node and weight name the graph has is taken.
class UniqueNames
{
public:
    explicit UniqueNames(const Graph& g);
    // `base`, else `base_1`, `base_2`, ...: the first that is not taken, which is taken from then on.
    std::string make(const std::string& base);

private:
    std::unordered_set<std::string> m_taken;
};

// Orders nodes so that every value is produced before use. Fails naming a node whose input nothing produces,
// or a cycle.
Status topologicalSort(Graph& g);

} // namespace dl
