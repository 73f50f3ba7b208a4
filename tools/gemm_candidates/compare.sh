#!/usr/bin/env bash
# Compares Debian's GEMM libraries on the IMDB LSTM's shapes (GFLOP/s, best of 7), with 1 and 2
# threads: OpenBLAS as it picks its kernels, OpenBLAS told the core type, oneDNN's dnnl_sgemm,
# BLIS, libxsmm. Needs libopenblas-dev libdnnl-dev libblis-dev libxsmm-dev (apt-get install).
# Not part of the Bazel build: each library gets its own binary.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
src="$here/gemm_candidates.cc"
g++ -O2 -DUSE_OPENBLAS "$src" -o "$work/openblas" -lopenblas
g++ -O2 -DUSE_DNNL -fopenmp "$src" -o "$work/onednn" -ldnnl
blis=/usr/lib/x86_64-linux-gnu/blis-openmp
g++ -O2 "$src" -o "$work/blis" -L"$blis" -lblis -Wl,-rpath,"$blis"
g++ -O2 -DUSE_XSMM "$src" -o "$work/xsmm" /usr/lib/libxsmm.a -lopenblas -lpthread -ldl
grep -m1 "model name" /proc/cpuinfo
for threads in 1 2; do
  export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads BLIS_NUM_THREADS=$threads
  echo "== $threads thread(s)"
  echo "-- OpenBLAS (its own choice of kernels)"; "$work/openblas"
  echo "-- OpenBLAS, OPENBLAS_CORETYPE=SkylakeX"; OPENBLAS_CORETYPE=SkylakeX "$work/openblas"
  echo "-- oneDNN dnnl_sgemm"; "$work/onednn"
  echo "-- BLIS"; "$work/blis"
  echo "-- libxsmm (libxsmm_sgemm, OpenBLAS behind it for large shapes)"; "$work/xsmm"
done
