#pragma once

// Graph rewrites that the executor applies before planning, so that a Conv and what follows it run as one
// kernel: a following BatchNormalization folds into the Conv's weights and bias, and a following elementwise
// activation becomes a post-op, recorded on the Conv as internal attributes:
//
//   "_activation"  string: Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid, HardSwish, Tanh, Mish, Elu, Softplus,
//                  Swish (x * sigmoid(x))
//   "_alpha"       float: LeakyRelu/Elu alpha, HardSigmoid alpha, Clip min
//   "_beta"        float: HardSigmoid beta, Clip max
//
// Internal attribute names start with '_' and never come from a model file.

#include "core/result.h"
#include "model/graph.h"

#include <set>
#include <string>

namespace dl {

// Rewrites `g` in place, fusing only the activations named in `activations` (what the backend's convolutions take
// as post-ops: Backend::hints()); BatchNormalization folds whatever the backend. A rewrite happens only where it is
// exact: the intermediate value has no other consumer and is not a graph output, and folded parameters are weights.
// Folded weights get fresh names in Graph::weights; weights no node reads any more are dropped. Node order stays
// topological. Fails (Invalid, naming the node) only when a weight it would fold has an impossible shape.
Status fuseGraph(Graph& g, const std::set<std::string>& activations);

} // namespace dl
