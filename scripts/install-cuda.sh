#!/bin/sh
# install-cuda.sh: installs Debian's CUDA 11.8 toolkit (nvidia-cuda-toolkit:
# nvcc, cuda.h, libcuda.so stubs) from the non-free component, which it
# enables. Needs root (or sudo) and about 6 GiB of disk. Idempotent: exits
# at once when nvcc is already on PATH.
set -eu
if command -v nvcc >/dev/null 2>&1; then
	echo "install-cuda: $(nvcc --version | tail -n 2 | head -n 1)"
	exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ]; then
	# deb822 format: add non-free and non-free-firmware to every Components line.
	if ! grep -q '^Components:.*non-free' "$src"; then
		$SUDO sed -i 's/^Components: main$/Components: main contrib non-free non-free-firmware/' "$src"
	fi
elif [ -f /etc/apt/sources.list ]; then
	if ! grep -q 'non-free' /etc/apt/sources.list; then
		$SUDO sed -i 's/ main$/ main contrib non-free non-free-firmware/' /etc/apt/sources.list
	fi
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nvidia-cuda-toolkit nvidia-cuda-dev
nvcc --version | tail -n 2
