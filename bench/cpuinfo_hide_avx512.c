/* Benchmark aid (bench/engine_vs_litert.py --hide-avx512): preloaded into the
 * benchmark process, it clears the AVX-512 flags of the system libcpuinfo
 * before anything reads them, so that Debian's XNNPACK (and edgepipe's CPU
 * probe) choose their AVX2 + FMA kernels, as on an AVX2-only CPU such as AMD
 * Zen 3. LiteRT's wheel carries its own cpuinfo and is not affected. */
#include <cpuinfo.h>

__attribute__((constructor)) static void HideAvx512(void) {
  if (!cpuinfo_initialize()) return;
  struct cpuinfo_x86_isa* isa = &cpuinfo_isa;
  isa->avx512f = isa->avx512pf = isa->avx512er = isa->avx512cd = isa->avx512dq = isa->avx512bw = false;
  isa->avx512vl = isa->avx512ifma = isa->avx512vbmi = isa->avx512vbmi2 = isa->avx512bitalg = false;
  isa->avx512vpopcntdq = isa->avx512vnni = isa->avx512bf16 = isa->avx512vp2intersect = false;
  isa->avx512_4vnniw = isa->avx512_4fmaps = false;
}
