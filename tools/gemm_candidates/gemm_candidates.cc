// sgemm throughput of one GEMM library on the IMDB LSTM's shapes, one thread count per run.
// Built once per library by compare.sh (they cannot share one binary: OpenBLAS and BLIS both
// define cblas_sgemm), which prints the table that chose oneDNN for //autograd.
#include <chrono>
#include <cstdio>
#include <vector>
#include <algorithm>
#include <cstring>
#include <string>
#ifdef USE_DNNL
#include <dnnl.h>
#include <omp.h>
#elif defined(USE_XSMM)
#include <libxsmm.h>
#else
#include <cblas.h>
#endif
#if defined(USE_OPENBLAS)
extern "C" char* openblas_get_corename();
#endif
struct S { const char* w; bool ta, tb; int m, n, k; };
void gemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) {
#ifdef USE_DNNL
  dnnl_sgemm(ta?'T':'N', tb?'T':'N', m, n, k, 1.f, a, lda, b, ldb, 0.f, c, ldc);
#elif defined(USE_XSMM)
  // column-major: C^T = B^T A^T
  char tA = tb?'T':'N', tB = ta?'T':'N'; float alpha=1, beta=0;
  libxsmm_sgemm(&tA, &tB, &n, &m, &k, &alpha, b, &ldb, a, &lda, &beta, c, &ldc);
#else
  cblas_sgemm(CblasRowMajor, ta?CblasTrans:CblasNoTrans, tb?CblasTrans:CblasNoTrans, m,n,k,1.f,a,lda,b,ldb,0.f,c,ldc);
#endif
}
int main(int argc, char** argv) {
#if defined(USE_OPENBLAS)
  printf("core %s\n", openblas_get_corename());
#endif
  S shapes[] = {{"x@W", 0, 0, 32000, 400, 32},      {"h@U", 0, 0, 64, 400, 100},
                {"dz@U^T", 0, 1, 64, 100, 400},     {"h^T@dz", 1, 0, 100, 400, 32000},
                {"x^T@dz", 1, 0, 32, 400, 32000},   {"dz@W^T", 0, 1, 32000, 32, 400},
                {"h@U half", 0, 0, 32, 400, 100},   {"1024^3", 0, 0, 1024, 1024, 1024}};
  for (auto& s : shapes) {
    int ar = s.ta? s.k : s.m, ac = s.ta ? s.m : s.k, br = s.tb ? s.n : s.k, bc = s.tb ? s.k : s.n;
    std::vector<float> a(ar*ac, 0.5f), b(br*bc, 0.25f), c(s.m*s.n);
    int inner = std::max(1, 20000000 / (s.m*s.n*s.k) );
    double best = 1e9;
    for (int r = 0; r < 7; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < inner; ++i) gemm(s.ta, s.tb, s.m, s.n, s.k, a.data(), ac, b.data(), bc, c.data(), s.n);
      double t = std::chrono::duration<double>(std::chrono::steady_clock::now()-t0).count()/inner;
      best = std::min(best, t);
    }
    printf("%-10s %6d x %5d x %6d  %7.1f GFLOP/s\n", s.w, s.m, s.n, s.k, 2.0*s.m*s.n*s.k/best/1e9);
  }
}
