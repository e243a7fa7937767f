// STRIDED_SLICE with TFLite's mask semantics (strided_slice.cc
// BuildStridedSliceParams + strided_slice_logic.h StridedSliceStartForAxis /
// StridedSliceEndForAxis, the version with the `offset` attribute).
#include <algorithm>
#include <array>
#include <cstring>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/kernels.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;
using internal::kMaxRank;

constexpr std::string_view kOp = "StridedSlice";

// The slice after ellipsis/new-axis expansion: one entry per effective axis.
struct EffectiveSlice {
  int rank = 0;
  std::array<int32_t, kMaxRank> input_dims{};  // effective input shape (new axes are 1)
  std::array<int32_t, kMaxRank> start{};
  std::array<int32_t, kMaxRank> stop{};
  std::array<int32_t, kMaxRank> stride{};
  std::array<bool, kMaxRank> begin_mask{};
  std::array<bool, kMaxRank> end_mask{};
  std::array<bool, kMaxRank> shrink{};
  std::array<int, kMaxRank> input_axis{};  // -1 for inserted axes
};

Result<EffectiveSlice> Expand(const TensorView& input, std::span<const int32_t> begin, std::span<const int32_t> end,
                              std::span<const int32_t> strides, const StridedSliceOptions& o) {
  const int begin_count = static_cast<int>(begin.size());
  const int input_rank = input.rank();
  if (end.size() != begin.size() || strides.size() != begin.size()) {
    return InvalidArgumentError("{}: begin/end/strides sizes {}/{}/{} differ (input {})", kOp, begin.size(),
                                end.size(), strides.size(), Describe(input));
  }
  if (begin_count > 31) return InvalidArgumentError("{}: too many slice entries for input {}", kOp, Describe(input));
  auto bit = [](int32_t mask, int i) { return i >= 0 && i < 32 && ((mask >> i) & 1) != 0; };

  int num_add_axis = 0;
  for (int i = 0; i < begin_count; ++i) {
    if (!bit(o.ellipsis_mask, i) && bit(o.new_axis_mask, i)) ++num_add_axis;
  }
  const int effective_dims = input_rank + num_add_axis;
  if (effective_dims > kMaxRank) {
    return InvalidArgumentError("{}: input {} with {} new axes exceeds rank {}", kOp, Describe(input), num_add_axis,
                                kMaxRank);
  }

  // Expand the ellipsis to the dims begin/end do not cover; a new_axis bit at
  // the ellipsis position has no effect.
  int32_t effective_ellipsis_mask = 0, effective_new_axis_mask = 0;
  int ellipsis_start_idx = effective_dims, expanded_ellipsis = 0;
  for (int i = 0; i < effective_dims;) {
    if (bit(o.ellipsis_mask, i)) {
      ellipsis_start_idx = i;
      const int ellipsis_end_idx =
          std::max(i + 1, std::min(i + 1 + num_add_axis + input_rank - begin_count, effective_dims));
      expanded_ellipsis = ellipsis_end_idx - ellipsis_start_idx - 1;
      for (; i < ellipsis_end_idx; ++i) effective_ellipsis_mask |= (1 << i);
      continue;
    }
    if (bit(o.new_axis_mask, i - expanded_ellipsis)) effective_new_axis_mask |= (1 << i);
    ++i;
  }

  EffectiveSlice s;
  s.rank = effective_dims;
  int added_ellipsis = 0, added_axes = 0;
  for (int i = 0; i < effective_dims; ++i) {
    auto input_dim = [&]() -> Result<int32_t> {
      const int axis = i - added_axes;
      if (axis < 0 || axis >= input_rank) {
        return InvalidArgumentError("{}: slice spec does not fit input {}", kOp, Describe(input));
      }
      s.input_axis[i] = axis;
      return input.shape[axis];
    };
    if (bit(effective_ellipsis_mask, i)) {
      added_ellipsis = std::max(0, i - ellipsis_start_idx);
      s.begin_mask[i] = s.end_mask[i] = true;
      s.stride[i] = 1;
      EP_ASSIGN_OR_RETURN(s.input_dims[i], input_dim());
    } else if (bit(effective_new_axis_mask, i)) {
      s.start[i] = 0;
      s.stop[i] = 1;
      s.stride[i] = 1;
      s.input_dims[i] = 1;
      s.input_axis[i] = -1;
      ++added_axes;
    } else if (i >= begin_count + expanded_ellipsis) {
      s.stride[i] = 1;
      s.begin_mask[i] = s.end_mask[i] = true;
      EP_ASSIGN_OR_RETURN(s.input_dims[i], input_dim());
    } else {
      const int orig = i - added_ellipsis;
      if (orig < 0 || orig >= begin_count) {
        return InvalidArgumentError("{}: slice spec does not fit input {}", kOp, Describe(input));
      }
      s.start[i] = begin[orig];
      s.stop[i] = end[orig];
      s.stride[i] = strides[orig];
      s.begin_mask[i] = bit(o.begin_mask, orig);
      s.end_mask[i] = bit(o.end_mask, orig);
      s.shrink[i] = bit(o.shrink_axis_mask, orig);
      EP_ASSIGN_OR_RETURN(s.input_dims[i], input_dim());
    }
    if (s.stride[i] == 0) return InvalidArgumentError("{}: stride 0 on axis {} of input {}", kOp, i, Describe(input));
  }
  return s;
}

}  // namespace

Status StridedSlice(const TensorView& input, std::span<const int32_t> begin, std::span<const int32_t> end,
                    std::span<const int32_t> strides, const StridedSliceOptions& options, const TensorView& output) {
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, input));
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, output));
  EP_RETURN_IF_ERROR(internal::CheckSameDType(kOp, output, input));
  EP_ASSIGN_OR_RETURN(const EffectiveSlice s, Expand(input, begin, end, strides, options));

  // Per effective axis: first index, element count, and input stride in elements.
  std::array<int32_t, kMaxRank> first{}, count{};
  std::array<int64_t, kMaxRank> step{};
  std::array<int32_t, kMaxRank> expected_shape{};
  int expected_rank = 0;
  std::array<int64_t, kMaxRank + 1> input_strides{};
  input_strides[input.rank()] = 1;
  for (int d = input.rank() - 1; d >= 0; --d) input_strides[d] = input_strides[d + 1] * input.shape[d];

  for (int i = 0; i < s.rank; ++i) {
    const int32_t size = s.input_dims[i];
    const int32_t stride = s.stride[i];
    // StridedSliceStartForAxis
    int64_t start = s.start[i];
    if (start < 0) start += size;
    start = stride > 0 ? std::clamp<int64_t>(start, 0, size) : std::clamp<int64_t>(start, -1, size - 1);
    if (s.begin_mask[i]) start = stride > 0 ? 0 : size - 1;
    // StridedSliceEndForAxis
    int64_t stop;
    if (s.shrink[i]) {
      stop = start >= size ? start : start + 1;
    } else {
      stop = s.stop[i];
      if (options.offset) stop += start;
      if (stop < 0) stop += size;
      stop = stride > 0 ? std::clamp<int64_t>(stop, 0, size) : std::clamp<int64_t>(stop, -1, size - 1);
      if (s.end_mask[i]) stop = stride > 0 ? size : -1;
    }
    // ceil((stop - start) / stride), floored at 0; valid for both signs.
    const int64_t span = stop - start;
    int64_t n = stride > 0 ? (span + stride - 1) / stride : (-span + (-stride) - 1) / (-stride);
    if (span == 0 || (span > 0) != (stride > 0)) n = 0;
    if (s.shrink[i] && n > 1) n = 1;
    first[i] = static_cast<int32_t>(start);
    count[i] = static_cast<int32_t>(n);
    step[i] = s.input_axis[i] < 0 ? 0 : input_strides[s.input_axis[i] + 1] * stride;
    if (!s.shrink[i]) expected_shape[expected_rank++] = static_cast<int32_t>(n);
  }
  if (output.rank() != expected_rank ||
      !std::equal(output.shape.begin(), output.shape.end(), expected_shape.begin())) {
    return InvalidArgumentError("{}: output {} must have shape {}", kOp, Describe(output),
                                internal::ShapeString(std::span<const int32_t>(expected_shape.data(), expected_rank)));
  }
  int64_t total = 1;
  for (int i = 0; i < s.rank; ++i) total *= count[i];
  if (total == 0) return OkStatus();

  // Odometer over the effective axes; the innermost axis is a run (memcpy when
  // its stride is 1).
  const size_t element_size = DTypeSize(input.dtype);
  const auto* in = static_cast<const uint8_t*>(input.data);
  auto* out = static_cast<uint8_t*>(output.data);
  if (s.rank == 0) {
    std::memcpy(out, in, element_size);
    return OkStatus();
  }
  int64_t base = 0;
  for (int i = 0; i < s.rank; ++i) {
    if (s.input_axis[i] >= 0) base += static_cast<int64_t>(first[i]) * input_strides[s.input_axis[i] + 1];
  }
  const int last = s.rank - 1;
  const int32_t run = count[last];
  const int64_t run_step = step[last];
  std::array<int32_t, kMaxRank> index{};
  for (int64_t done = 0; done < total; done += run) {
    if (run_step == 1) {
      std::memcpy(out, in + base * element_size, run * element_size);
      out += run * element_size;
    } else {
      int64_t pos = base;
      for (int32_t j = 0; j < run; ++j, pos += run_step, out += element_size) {
        std::memcpy(out, in + pos * element_size, element_size);
      }
    }
    for (int d = last - 1; d >= 0; --d) {
      base += step[d];
      if (++index[d] < count[d]) break;
      base -= step[d] * count[d];
      index[d] = 0;
    }
  }
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
