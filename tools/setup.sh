#!/usr/bin/env bash
# Installs the Debian packages this project builds with (see ../shared/BUILDING.md). Idempotent:
# when everything is present it only asks dpkg and returns in well under a second.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap g++ libabsl-dev libxtensor-dev libxsimd-dev
  libdnnl-dev libgtest-dev libbenchmark-dev gnuplot-nox fonts-dejavu-core
  libhdf5-dev hdf5-tools nlohmann-json3-dev libopenmpi-dev openmpi-bin nodejs python3-h5py
  libonnx-dev libprotobuf-dev
)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
# Debian's nodejs comes without npm (NodeSource's includes it).
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The npm packages the tests use as independent references (tools/npm/package.json): installed
# into tools/npm/node_modules with the lock file's exact versions, again whenever the lock file
# changes. ONNXRUNTIME_NODE_INSTALL=skip keeps onnxruntime-node's script from fetching GPU parts
# (its CPU runtime ships inside the package).
npm_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/npm"
stamp="$npm_dir/node_modules/.installed-from-lock"
if ! cmp -s "$npm_dir/package-lock.json" "$stamp" 2>/dev/null; then
  echo "setup: installing the npm test references into $npm_dir/node_modules" >&2
  (cd "$npm_dir" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error)
  cp "$npm_dir/package-lock.json" "$stamp"
fi
