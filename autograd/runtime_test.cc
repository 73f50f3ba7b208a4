#include "autograd/runtime.h"

#include <omp.h>

#include <cstdint>
#include <cstring>
#include <thread>

#include "gtest/gtest.h"

namespace autograd {
namespace {

// 1e-30 * 1e-10 = 1e-40 lies below float's smallest normal (1.18e-38): a denormal unless the
// result is flushed to zero. volatile keeps the compiler from folding it.
float DenormalProduct() {
  volatile float a = 1e-30f, b = 1e-10f;
  return a * b;
}

// A denormal operand (bit pattern 0x00000001, about 1.4e-45) times 1: zero when denormal inputs
// are read as zero (DAZ).
float DenormalOperand() {
  const uint32_t bits = 1;
  float tiny;
  std::memcpy(&tiny, &bits, sizeof(tiny));
  volatile float operand = tiny, one = 1.0f;
  return operand * one;
}

// The product as computed by a worker of the compute pool (thread 1 of a parallel region).
float InPoolWorker(float (*compute)()) {
  float result = -1;
#pragma omp parallel num_threads(2)
  if (omp_get_thread_num() == 1) result = compute();
  return result;
}

float InNewThread(float (*compute)()) {
  float result = -1;
  std::thread thread([&] { result = compute(); });
  thread.join();
  return result;
}

TEST(RuntimeTest, DenormalsAreFlushedByDefaultInEveryThread) {
  ASSERT_TRUE(CurrentRuntime().flush_denormals);
  EXPECT_EQ(DenormalProduct(), 0.0f);
  EXPECT_EQ(DenormalOperand(), 0.0f);
  EXPECT_EQ(InPoolWorker(DenormalProduct), 0.0f);
  EXPECT_EQ(InPoolWorker(DenormalOperand), 0.0f);
  EXPECT_EQ(InNewThread(DenormalProduct), 0.0f);
}

TEST(RuntimeTest, TheSwitchKeepsDenormals) {
  RuntimeOptions options = CurrentRuntime();
  options.flush_denormals = false;
  ConfigureRuntime(options);
  EXPECT_GT(DenormalProduct(), 0.0f);
  EXPECT_GT(DenormalOperand(), 0.0f);
  EXPECT_GT(InPoolWorker(DenormalProduct), 0.0f);
  EXPECT_GT(InNewThread(DenormalProduct), 0.0f);
  options.flush_denormals = true;
  ConfigureRuntime(options);
  EXPECT_EQ(DenormalProduct(), 0.0f);
  EXPECT_EQ(InPoolWorker(DenormalProduct), 0.0f);
}

TEST(RuntimeTest, ThreadsFollowTheOptions) {
  RuntimeOptions options = CurrentRuntime();
  const int before = options.threads;
  options.threads = 1;
  ConfigureRuntime(options);
  EXPECT_EQ(ComputeThreads(), 1);
  EXPECT_EQ(RecurrentThreads(64, 500, 100, 400), 1);
  options.threads = 2;
  ConfigureRuntime(options);
  EXPECT_EQ(ComputeThreads(), 2);
  EXPECT_EQ(RecurrentThreads(64, 500, 100, 400), 2);
  EXPECT_EQ(RecurrentThreads(1, 10, 20, 80), 1);  // one sample: nothing to split
  options.threads = before;
  ConfigureRuntime(options);
}

TEST(RuntimeTest, NamesTheProcessorAndTheGemm) {
  EXPECT_NE(ProcessorName().find("family"), std::string::npos);
  EXPECT_NE(GemmLibraryName().find("oneDNN"), std::string::npos);
}

}  // namespace
}  // namespace autograd
