#include "model/graph.h"

#include <queue>
#include <unordered_set>

namespace dl {

int64_t Node::attrInt(const std::string& attr, int64_t fallback) const
{
    auto it = attrs.find(attr);
    return it == attrs.end() ? fallback : it->second.i;
}

float Node::attrFloat(const std::string& attr, float fallback) const
{
    auto it = attrs.find(attr);
    return it == attrs.end() ? fallback : it->second.f;
}

std::string Node::attrString(const std::string& attr, const std::string& fallback) const
{
    auto it = attrs.find(attr);
    return it == attrs.end() ? fallback : it->second.s;
}

std::vector<int64_t> Node::attrInts(const std::string& attr, std::vector<int64_t> fallback) const
{
    auto it = attrs.find(attr);
    return it == attrs.end() ? fallback : it->second.ints;
}

std::vector<float> Node::attrFloats(const std::string& attr, std::vector<float> fallback) const
{
    auto it = attrs.find(attr);
    return it == attrs.end() ? fallback : it->second.floats;
}

std::string Node::describe() const
{
    std::string s = "node '" + (name.empty() ? (outputs.empty() ? std::string("?") : outputs[0]) : name) + "' (";
    s += opType + ")";
    return s;
}

Attribute attrInt(int64_t v)
{
    Attribute a;
    a.kind = Attribute::Kind::Int;
    a.i = v;
    return a;
}

Attribute attrInts(std::vector<int64_t> v)
{
    Attribute a;
    a.kind = Attribute::Kind::Ints;
    a.ints = std::move(v);
    return a;
}

Attribute attrFloat(float v)
{
    Attribute a;
    a.kind = Attribute::Kind::Float;
    a.f = v;
    return a;
}

Attribute attrString(std::string v)
{
    Attribute a;
    a.kind = Attribute::Kind::String;
    a.s = std::move(v);
    return a;
}

UniqueNames::UniqueNames(const Graph& g)
{
    for (const auto& [name, t] : g.weights)
        m_taken.insert(name);
    for (const auto& v : g.inputs)
        m_taken.insert(v.name);
    for (const auto& v : g.outputs)
        m_taken.insert(v.name);
    for (const Node& n : g.nodes) {
        m_taken.insert(n.name);
        m_taken.insert(n.outputs.begin(), n.outputs.end());
    }
}

std::string UniqueNames::make(const std::string& base)
{
    std::string name = base;
    for (int i = 1; m_taken.count(name); ++i)
        name = base + "_" + std::to_string(i);
    m_taken.insert(name);
    return name;
}

size_t Graph::weightBytes() const
{
    size_t total = 0;
    for (const auto& [name, t] : weights)
        total += t.bytes();
    return total;
}

Status topologicalSort(Graph& g)
{
    // Kahn's algorithm, taking ready nodes in their original order so that sorted graphs stay as they are.
    std::unordered_map<std::string, size_t> producer;
    for (size_t i = 0; i < g.nodes.size(); ++i)
        for (const auto& out : g.nodes[i].outputs)
            if (!out.empty()) producer[out] = i;
    std::unordered_set<std::string> available;
    for (const auto& in : g.inputs)
        available.insert(in.name);
    for (const auto& [name, t] : g.weights)
        available.insert(name);

    std::vector<std::vector<size_t>> consumers(g.nodes.size());
    std::vector<int> pending(g.nodes.size(), 0);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        std::unordered_set<size_t> deps;
        for (const auto& in : g.nodes[i].inputs) {
            if (in.empty() || available.count(in)) continue;
            auto it = producer.find(in);
            if (it == producer.end())
                return invalid(g.nodes[i].describe() + ": input '" + in
                    + "' is produced by no node and is not a graph input or weight");
            if (deps.insert(it->second).second) {
                consumers[it->second].push_back(i);
                ++pending[i];
            }
        }
    }
    std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
    for (size_t i = 0; i < g.nodes.size(); ++i)
        if (pending[i] == 0) ready.push(i);
    std::vector<Node> sorted;
    sorted.reserve(g.nodes.size());
    while (!ready.empty()) {
        size_t i = ready.top();
        ready.pop();
        sorted.push_back(std::move(g.nodes[i]));
        for (size_t c : consumers[i])
            if (--pending[c] == 0) ready.push(c);
    }
    if (sorted.size() != g.nodes.size()) {
        for (size_t i = 0; i < g.nodes.size(); ++i)
            if (pending[i] > 0) return invalid(g.nodes[i].describe() + " is part of a cycle");
    }
    g.nodes = std::move(sorted);
    return {};
}

} // namespace dl
