// Portable half of q8_gemm.h: the variant table, weight packing, and TFLite's
// float -> int8 quantization of hybrid ops' inputs.
#include "engine/kernels/q8_gemm.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "engine/kernels/q8_gemm_impl.h"

namespace edgepipe::engine::kernels {

struct Int8Gemm::Variant {
  std::string_view name;
  Isa isa;
  bool (*supported)(const CpuFeatures&);
  q8gemm::RunFn run;
};

namespace {

#if defined(__x86_64__)
bool HasAvx512Vnni(const CpuFeatures& cpu) { return cpu.avx512vnni; }
#endif

// Best first; the generic entry runs anywhere (and on aarch64 until a NEON
// variant exists).
constexpr Int8Gemm::Variant kVariants[] = {
#if defined(__x86_64__)
    {"avx512", Isa::kAvx512, HasAvx512Vnni, q8gemm::RunAvx512},
    {"avx2", Isa::kAvx2, nullptr, q8gemm::RunAvx2},
#endif
    {"generic", Isa::kGeneric, nullptr, q8gemm::RunGeneric},
};

}  // namespace

Int8Gemm::~Int8Gemm() = default;

std::vector<Isa> Int8Gemm::HostIsas() {
  std::vector<Isa> isas;
  for (const Variant* v : HostVariants(std::span<const Variant>(kVariants))) isas.push_back(v->isa);
  return isas;
}

std::string_view Int8Gemm::variant() const { return variant_->name; }

Result<std::unique_ptr<Int8Gemm>> Int8Gemm::Create(const int8_t* weights, int n, int k, Isa cap) {
  const Variant* variant = ChooseVariant(std::span<const Variant>(kVariants), cap);
  if (variant == nullptr) return UnavailableError("Int8Gemm: no variant runs under ISA cap {}", IsaName(cap));
  if (weights == nullptr || n < 1 || k < 1) return InvalidArgumentError("Int8Gemm: {} x {} weights", n, k);
  auto gemm = std::unique_ptr<Int8Gemm>(new Int8Gemm());
  gemm->variant_ = variant;
  gemm->n_ = n;
  gemm->k_ = k;
  gemm->k_padded_ = (k + q8gemm::kKGroup - 1) / q8gemm::kKGroup * q8gemm::kKGroup;
  const size_t bytes = static_cast<size_t>(n) * gemm->k_padded_;
  auto* packed = static_cast<int8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
  if (packed == nullptr) return UnavailableError("Int8Gemm: out of memory for {} x {} weights", n, k);
  gemm->weights_ = {packed, std::free};
  std::memset(packed, 0, bytes);
  gemm->sums_.assign(n, 0);
  for (int c = 0; c < n; ++c) {
    std::memcpy(packed + static_cast<int64_t>(c) * gemm->k_padded_, weights + static_cast<int64_t>(c) * k, k);
    int32_t sum = 0;
    for (int i = 0; i < k; ++i) sum += weights[static_cast<int64_t>(c) * k + i];
    gemm->sums_[c] = sum;
  }
  return gemm;
}

void Int8Gemm::Run(const int8_t* rows, int num_rows, int c_begin, int c_end, int32_t* acc, int64_t acc_stride) const {
  if (num_rows <= 0 || c_begin >= c_end) return;
  const q8gemm::GemmArgs args{k_padded_, weights_.get(), sums_.data()};
  variant_->run(args, rows, num_rows, c_begin, c_end, acc, acc_stride);
}

void SymmetricQuantizeFloats(const float* values, int64_t size, int8_t* quantized, float* scale) {
  constexpr int32_t kScale = 127;
  float lo = 0.0f, hi = 0.0f;
  if (size > 0) {
    auto [mn, mx] = std::minmax_element(values, values + size);
    lo = *mn, hi = *mx;
  }
  const float range = std::max(std::abs(lo), std::abs(hi));
  if (range == 0.0f) {
    std::memset(quantized, 0, static_cast<size_t>(size));
    *scale = 1.0f;
    return;
  }
  *scale = range / kScale;
  const float inverse = kScale / range;
  for (int64_t i = 0; i < size; ++i) {
    const auto q = static_cast<int32_t>(std::round(values[i] * inverse));
    quantized[i] = static_cast<int8_t>(std::min(kScale, std::max(-kScale, q)));
  }
}

void AsymmetricQuantizeFloats(const float* values, int64_t size, int8_t* quantized, float* scale,
                              int32_t* zero_point) {
  constexpr int32_t kMin = -128, kMax = 127;
  float lo = 0.0f, hi = 0.0f;
  if (size > 0) {
    auto [mn, mx] = std::minmax_element(values, values + size);
    lo = *mn, hi = *mx;
  }
  const double rmin = std::min(0.0f, lo), rmax = std::max(0.0f, hi);
  if (rmin == rmax) {
    std::memset(quantized, 0, static_cast<size_t>(size));
    *scale = 1.0f;
    *zero_point = 0;
    return;
  }
  // The scale is rounded to float before the zero point is derived from it:
  // on inputs spanning exactly [-1, 1] the zero point is a tie (-0.5), and
  // LiteRT resolves it to 0 this way (measured: face_detection_short_range's
  // first hybrid conv is then identical to LiteRT's, with the double scale it
  // is not).
  const double s = static_cast<float>((rmax - rmin) / (kMax - kMin));
  const double from_min = kMin - rmin / s, from_max = kMax - rmax / s;
  const double from_min_error = std::abs(static_cast<double>(kMin)) + std::abs(rmin / s);
  const double from_max_error = std::abs(static_cast<double>(kMax)) + std::abs(rmax / s);
  const double zp = from_min_error < from_max_error ? from_min : from_max;
  int32_t nudged = 0;
  if (zp <= kMin) {
    nudged = kMin;
  } else if (zp >= kMax) {
    nudged = kMax;
  } else {
    nudged = static_cast<int8_t>(std::round(zp));
  }
  *scale = static_cast<float>(s);
  *zero_point = nudged;
  const float inverse = 1.0f / *scale;
  for (int64_t i = 0; i < size; ++i) {
    const auto q = static_cast<int32_t>(std::round(static_cast<float>(nudged) + values[i] * inverse));
    quantized[i] = static_cast<int8_t>(std::min(kMax, std::max(kMin, q)));
  }
}

}  // namespace edgepipe::engine::kernels
