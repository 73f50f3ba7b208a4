#!/usr/bin/env bash
# Installs the Debian packages this project builds with (see ../shared/BUILDING.md). Idempotent:
# when everything is present it only asks dpkg and returns in well under a second.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap g++ libabsl-dev libxtensor-dev libxsimd-dev
  libdnnl-dev libgtest-dev libbenchmark-dev gnuplot-nox fonts-dejavu-core
  libhdf5-dev hdf5-tools nlohmann-json3-dev libopenmpi-dev openmpi-bin
)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
