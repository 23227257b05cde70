// Chooses NHWC (channels-last) for the 4-D float16 activations around
// convolutions, where cuDNN's tensor-core kernels are fastest, and inserts
// kiln.Reformat layers where a producer and a consumer disagree. A layer is
// given NHWC tensors only if the target has a kernel that accepts them, so
// the choice never makes a build fail. Engine inputs and outputs stay linear.
// Graphs whose values already carry layouts are left as they are.
#pragma once

#include "base/status.h"
#include "builder/build_target.h"
#include "engine/engine_plan.h"

namespace kiln {

// Rewrites the plan's tensor layouts and layers in place (before kernels are
// chosen). Returns the number of reformat layers inserted.
Expected<int> assign_channels_last(EnginePlan& plan, const BuildTarget& target);

}  // namespace kiln
