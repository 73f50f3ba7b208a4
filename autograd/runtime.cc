#include "autograd/runtime.h"

#include <cpuid.h>
#include <malloc.h>
#include <omp.h>
#include <xmmintrin.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <type_traits>
#include <utility>

#include "absl/strings/str_format.h"
#include "autograd/tensor.h"
#include "oneapi/dnnl/dnnl.h"

namespace autograd {
namespace {

constexpr unsigned kFlushToZero = 0x8000, kDenormalsAreZero = 0x0040;

std::mutex& RuntimeMutex() {
  static std::mutex mutex;
  return mutex;
}

RuntimeOptions& Options() {
  static RuntimeOptions options;
  return options;
}

void SetDenormalBits(bool flush) {
  const unsigned csr = _mm_getcsr();
  _mm_setcsr(flush ? csr | kFlushToZero | kDenormalsAreZero
                   : csr & ~(kFlushToZero | kDenormalsAreZero));
}

// Environment overrides; a value that cannot be read is said on stderr, never silently used.
bool EnvFlag(const char* name, bool fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  for (const char* off : {"0", "false", "off"}) {
    if (std::strcmp(value, off) == 0) return false;
  }
  for (const char* on : {"1", "true", "on"}) {
    if (std::strcmp(value, on) == 0) return true;
  }
  std::fprintf(stderr, "seqlearn: ignoring %s=%s (expected 0 or 1); using %d\n", name, value,
               fallback ? 1 : 0);
  return fallback;
}

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  char* end = nullptr;
  const long parsed = std::strtol(value, &end, 10);
  if (*end == '\0' && parsed >= 0 && parsed <= 4096) return static_cast<int>(parsed);
  std::fprintf(stderr, "seqlearn: ignoring %s=%s (expected a whole number in [0, 4096])\n", name,
               value);
  return fallback;
}

Precision EnvPrecision(const char* name) {
  const char* value = std::getenv(name);
  Precision precision = Precision::kFloat32;
  if (value == nullptr || *value == '\0' || ParsePrecision(value, precision)) return precision;
  std::fprintf(stderr,
               "seqlearn: ignoring %s=%s (expected float32, mixed_bfloat16 or "
               "mixed_bfloat16_anywhere); using float32\n",
               name, value);
  return Precision::kFloat32;
}

bool HasIsa(dnnl_cpu_isa_t want) {
  const unsigned isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
  return (isa & static_cast<unsigned>(want)) == static_cast<unsigned>(want);
}

// Whether blas::Gemm runs bfloat16 now; read on every product, so an atomic rather than the mutex.
std::atomic<bool>& Bfloat16Flag() {
  static std::atomic<bool> flag{false};
  return flag;
}

void Configure(const RuntimeOptions& options, bool update_workers);

// Applied when the library loads: a program gets the defaults without a set-up call. No parallel
// region runs here: the pool's workers are created at the first one and inherit the calling
// thread's MXCSR. (A region at load left a worker spinning through the first milliseconds of
// every program, which slowed one-sample training by a fifth when the two vCPUs share a core.)
const bool kConfiguredAtLoad = [] {
  RuntimeOptions options;
  options.flush_denormals = EnvFlag("SEQLEARN_FLUSH_DENORMALS", true);
  options.threads = EnvInt("SEQLEARN_THREADS", 0);
  options.keep_freed_memory = EnvFlag("SEQLEARN_KEEP_FREED_MEMORY", true);
  options.precision = EnvPrecision("SEQLEARN_MIXED_PRECISION");
  Configure(options, /*update_workers=*/false);
  return true;
}();

void Configure(const RuntimeOptions& options, bool update_workers) {
  std::lock_guard<std::mutex> lock(RuntimeMutex());
  const int threads = options.threads > 0 ? options.threads : omp_get_num_procs();
  omp_set_num_threads(threads);
  // The calling thread, then every worker of the pool: workers created later by a thread with
  // these bits inherit them, and the pool's existing workers set them here.
  SetDenormalBits(options.flush_denormals);
  if (update_workers) {
#pragma omp parallel num_threads(threads)
    SetDenormalBits(options.flush_denormals);
  }
  if (options.keep_freed_memory) {
    // Every block from the heap, which is reused; no fastbins, whose consolidation ran on every
    // allocation of a kilobyte or more; the top of the heap kept, not handed back early.
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_MXFAST, 0);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  } else {
    mallopt(M_MMAP_MAX, 65536);  // glibc's defaults
    mallopt(M_MXFAST, 64 * sizeof(size_t) / 4);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024);
  }
  // The policy: said once each time it is asked for and cannot run (never an illegal
  // instruction: oneDNN picks the kernels, and refuses what the processor cannot do).
  const std::string fallback = PrecisionFallback(options.precision);
  if (!fallback.empty() && options.precision != Options().precision) {
    std::fprintf(stderr, "%s\n", fallback.c_str());
  }
  Bfloat16Flag() = options.precision != Precision::kFloat32 && fallback.empty();
  Options() = options;
  Options().threads = threads;
}

}  // namespace

void ConfigureRuntime(const RuntimeOptions& options) { Configure(options, true); }

RuntimeOptions CurrentRuntime() {
  std::lock_guard<std::mutex> lock(RuntimeMutex());
  return Options();
}

const char* PrecisionName(Precision precision) {
  switch (precision) {
    case Precision::kFloat32:
      return "float32";
    case Precision::kMixedBfloat16:
      return "mixed_bfloat16";
    case Precision::kMixedBfloat16Anywhere:
      return "mixed_bfloat16_anywhere";
  }
  return "float32";
}

bool ParsePrecision(const std::string& text, Precision& precision) {
  for (Precision p :
       {Precision::kFloat32, Precision::kMixedBfloat16, Precision::kMixedBfloat16Anywhere}) {
    if (text == PrecisionName(p)) {
      precision = p;
      return true;
    }
  }
  if (text == "bfloat16") {
    precision = Precision::kMixedBfloat16;
    return true;
  }
  return false;
}

bool Bfloat16Products() { return Bfloat16Flag().load(std::memory_order_relaxed); }

bool HasNativeBfloat16() { return HasIsa(dnnl_cpu_isa_avx512_core_bf16); }

std::string PrecisionFallback(Precision precision) {
  if (precision != Precision::kFloat32 && std::is_same_v<Real, double>) {
    return absl::StrFormat(
        "%s: this build computes in double precision (AUTOGRAD_REAL=double); the products run in "
        "double",
        PrecisionName(precision));
  }
  switch (precision) {
    case Precision::kFloat32:
      return "";
    case Precision::kMixedBfloat16Anywhere:
      if (HasIsa(dnnl_cpu_isa_avx512_core)) return "";
      return absl::StrFormat(
          "mixed_bfloat16_anywhere: %s has no AVX-512, on which oneDNN emulates bfloat16; the "
          "products run in float32",
          ProcessorName());
    case Precision::kMixedBfloat16:
      if (HasNativeBfloat16()) return "";
      return absl::StrFormat(
          "mixed_bfloat16: %s has neither AVX512-BF16 nor AMX; the products run in float32",
          ProcessorName());
  }
  return "";
}

int ComputeThreads() { return std::max(1, omp_get_max_threads()); }

int RecurrentThreads(size_t batch, size_t time, size_t units, size_t gates) {
  // Thresholds set by judgement, not tuned: a share of at least 8 rows still fills a GEMM, and
  // ~1 MFLOP of recurrent products hides the wake-up of a worker. The one-sample steps of
  // merge_modes (1 row) stay on one thread; IMDB (64 rows) and airline batches split.
  constexpr size_t kMinShare = 8;
  constexpr double kMinFlops = 1e6;
  const double flops = 2.0 * batch * time * units * gates;
  if (omp_in_parallel() || flops < kMinFlops) return 1;
  return static_cast<int>(std::clamp<size_t>(batch / kMinShare, 1, ComputeThreads()));
}

std::string ProcessorName() {
  unsigned regs[12] = {};
  std::string brand;
  if (__get_cpuid_max(0x80000000, nullptr) >= 0x80000004) {
    for (unsigned leaf = 0; leaf < 3; ++leaf) {
      __get_cpuid(0x80000002 + leaf, &regs[4 * leaf], &regs[4 * leaf + 1], &regs[4 * leaf + 2],
                  &regs[4 * leaf + 3]);
    }
    brand.assign(reinterpret_cast<const char*>(regs), sizeof(regs));
    brand.erase(brand.find_last_not_of(std::string(" \0", 2)) + 1);
    brand.erase(0, brand.find_first_not_of(' '));
  }
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __get_cpuid(1, &eax, &ebx, &ecx, &edx);
  const unsigned base_family = (eax >> 8) & 0xf, base_model = (eax >> 4) & 0xf;
  const unsigned family = base_family == 0xf ? base_family + ((eax >> 20) & 0xff) : base_family;
  const unsigned model = (base_family == 0x6 || base_family == 0xf)
                             ? base_model + (((eax >> 16) & 0xf) << 4)
                             : base_model;
  return absl::StrFormat("%s (family %u, model %u)", brand.empty() ? "x86-64" : brand, family,
                         model);
}

std::string GemmLibraryName() {
  const dnnl_version_t* version = dnnl_version();
  static constexpr std::pair<dnnl_cpu_isa_t, const char*> kIsaNames[] = {
      {dnnl_cpu_isa_sse41, "sse4.1"},
      {dnnl_cpu_isa_avx, "avx"},
      {dnnl_cpu_isa_avx2, "avx2"},
      {dnnl_cpu_isa_avx2_vnni, "avx2_vnni"},
      {dnnl_cpu_isa_avx512_core, "avx512_core"},
      {dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"},
      {dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"},
      {dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"},
  };
  const char* isa = "unknown";
  for (const auto& [value, name] : kIsaNames) {
    if (value == dnnl_get_effective_cpu_isa()) isa = name;
  }
  return absl::StrFormat("oneDNN %d.%d.%d dnnl_sgemm, %s kernels, %d threads", version->major,
                         version->minor, version->patch, isa, ComputeThreads());
}

}  // namespace autograd
