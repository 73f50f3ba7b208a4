#include "experiments/command_line.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "absl/types/optional.h"
#include "autograd/runtime.h"
#include "experiments/flagfiles.h"

namespace experiments {

// Keras' mixed precision policy, for every program: see autograd/runtime.h.
struct MixedPrecisionFlag {
  autograd::Precision precision = autograd::Precision::kFloat32;
};

bool AbslParseFlag(absl::string_view text, MixedPrecisionFlag* flag, std::string* error) {
  if (autograd::ParsePrecision(std::string(text), flag->precision)) return true;
  *error = "expected float32, bfloat16 (Keras' mixed_bfloat16) or mixed_bfloat16_anywhere";
  return false;
}

std::string AbslUnparseFlag(MixedPrecisionFlag flag) {
  return autograd::PrecisionName(flag.precision);
}

}  // namespace experiments

ABSL_FLAG(absl::optional<experiments::MixedPrecisionFlag>, mixed_precision, absl::nullopt,
          "Keras' mixed precision policy: float32, or bfloat16 (mixed_bfloat16: the large "
          "products in bfloat16 with float32 sums, where the processor has AVX512-BF16 or AMX; "
          "elsewhere it says so and runs float32), or mixed_bfloat16_anywhere (bfloat16's numbers "
          "even where oneDNN has to emulate them, slowly: to check accuracy); default: "
          "SEQLEARN_MIXED_PRECISION, else float32");

namespace experiments {
namespace {

// Abseil calls exit(1) on a command line it rejects; while it parses, this turns that into 2.
bool parsing = false;

void UsageErrorExitCode() {
  if (!parsing) return;
  std::fflush(stdout);
  std::fflush(stderr);
  _exit(kUsageErrorExitCode);
}

// --help and friends also leave through exit(1) inside Abseil; they are not errors to us, so
// they keep Abseil's exit code.
bool AsksForHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    const size_t name = arg.find_first_not_of('-');
    if (name == 0 || name == std::string::npos) continue;
    for (const char* help : {"help", "version", "only_check_args"}) {
      if (arg.compare(name, std::strlen(help), help) == 0) return true;
    }
  }
  return false;
}

// Constant-initialized, so AllowMpiJobs from a static initializer elsewhere sticks.
bool mpi_jobs_allowed = false;

}  // namespace

void AllowMpiJobs() { mpi_jobs_allowed = true; }

namespace {

// Open MPI's word that this process is one of several.
bool InMpiJob() {
  const char* world = std::getenv("OMPI_COMM_WORLD_SIZE");
  return world != nullptr && std::atoi(world) > 1;
}

}  // namespace

std::vector<std::string> ParseCommandLineWithArguments(int argc, char** argv, const char* usage) {
  absl::SetProgramUsageMessage(usage);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (absl::Status status = CheckFlagfiles(std::vector<std::string>(argv + 1, argv + argc));
      !status.ok()) {
    std::exit(ExitWithUsageError(status));
  }
  parsing = !AsksForHelp(argc, argv);
  std::atexit(UsageErrorExitCode);
  const std::vector<char*> arguments = absl::ParseCommandLine(argc, argv);
  parsing = false;
  if (const absl::optional<MixedPrecisionFlag> flag = absl::GetFlag(FLAGS_mixed_precision)) {
    autograd::RuntimeOptions runtime = autograd::CurrentRuntime();
    runtime.precision = flag->precision;
    autograd::ConfigureRuntime(runtime);  // says so on stderr where it cannot run
  }
  if (InMpiJob() && !mpi_jobs_allowed) {
    std::exit(ExitWithUsageError(absl::FailedPreconditionError(
        "this program runs on one process, and mpirun started several copies of it: run it "
        "without mpirun (the IMDB experiments train data-parallel under mpirun, e.g. mpirun -np 2 "
        "bazel-bin/experiments/imdb_lstm)")));
  }
  return std::vector<std::string>(arguments.begin() + 1, arguments.end());
}

void ParseCommandLine(int argc, char** argv, const char* usage) {
  const std::vector<std::string> arguments = ParseCommandLineWithArguments(argc, argv, usage);
  if (!arguments.empty()) {
    std::exit(ExitWithUsageError(absl::InvalidArgumentError(absl::StrFormat(
        "unexpected argument '%s': this program takes flags only (--name=value); see --help",
        arguments[0]))));
  }
}

namespace {
std::function<void(const absl::Status&)>& JobAbort() {
  static auto* abort = new std::function<void(const absl::Status&)>();
  return *abort;
}
}  // namespace

void SetJobAbort(std::function<void(const absl::Status&)> abort) { JobAbort() = std::move(abort); }

void CallJobAbort(const absl::Status& status) {
  if (JobAbort()) JobAbort()(status);
}

int ExitWithUsageError(const absl::Status& status) {
  CallJobAbort(status);
  std::fflush(stdout);
  std::fprintf(stderr, "error: %s\n", std::string(status.message()).c_str());
  return kUsageErrorExitCode;
}

}  // namespace experiments
