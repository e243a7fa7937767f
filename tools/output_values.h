// Reading a model's outputs as numbers, shared by `infer` (printing them) and
// `bench` (accuracy and agreement).
#pragma once

#include <vector>

#include "engine/tensor_view.h"

namespace edgepipe::tools {

// Output values as real numbers (dequantized when quantized).
std::vector<double> RealValues(const engine::TensorView& t);

// A classifier-like output: [1, N] or [N] with N > 1, not an integer tensor.
bool LooksLikeScores(const engine::TensorView& t);

// Indices of the `k` largest values (at most values.size()), largest first; ties by lower index.
std::vector<size_t> TopIndices(const std::vector<double>& values, size_t k);

}  // namespace edgepipe::tools
