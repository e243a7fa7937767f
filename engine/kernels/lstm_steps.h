// The time loops of UNIDIRECTIONAL_SEQUENCE_LSTM (engine/kernels/
// unidirectional_sequence_lstm.cc checks the operands and prepares `plan`
// before calling these). Internal to engine/kernels.
#pragma once

#include <cstddef>
#include <span>

#include "core/status.h"
#include "engine/kernels/unidirectional_sequence_lstm.h"

namespace edgepipe::engine::kernels::internal {

Status RunLstmFloat(const LstmPlan& plan, std::span<const TensorView* const> inputs, const TensorView& output,
                    std::span<std::byte> scratch);
Status RunLstmInteger(const LstmPlan& plan, std::span<const TensorView* const> inputs, const TensorView& output,
                      std::span<std::byte> scratch);

}  // namespace edgepipe::engine::kernels::internal
