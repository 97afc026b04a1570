#pragma once

// The engine headers the studio's sources use, included with Qt's `slots` and `emit` keywords set aside: engine
// structs have members of those names (PackLayer::slots, LayerPlan::slots, Pipeline::emit). Include this before any
// other engine header in a source file that has seen a Qt header.

#pragma push_macro("slots")
#pragma push_macro("emit")
#undef slots
#undef emit
#include "core/procstat.h"
#include "core/random.h"
#include "model/importer.h"
#include "pack/layerpack.h"
#include "pack/packcache.h"
#include "pipeline/pipeline.h"
#include "plan/config.h"
#include "runbuild.h"
#include "runstore.h"
#include "runtime/executor.h"
#include "runtime/versions.h"
#pragma pop_macro("emit")
#pragma pop_macro("slots")
