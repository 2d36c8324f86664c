#!/bin/sh
# install-deps.sh - installs what building and testing pyheapscope needs on
# Debian 12 (run as root). Used by `make deps` and .ci/run.
#   build: gcc, make, pkg-config, libelf-dev, libdw-dev (elfutils), libncurses-dev,
#          libjson-c-dev (reading dumps), zlib1g-dev (gzip dumps)
#   tests: python3 + pytest, python3.11 and its debug file (python3.11-dbg) for
#          the stripped-distro-build tests, binutils (readelf), util-linux
#          (setpriv, for the permission test), patchelf (for
#          ../shared/tools/debian-python, which unpacks Debian's 3.13-3.15),
#          python3-numpy (numpy 1.x for python3.11: the numpy accuracy workload)
#   bench: python3-objgraph (the in-process tool `make bench` compares with)
#   robustness: clang + libclang-rt-14-dev (libFuzzer, `make fuzz`), valgrind
set -eu
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: run as root (sudo make deps)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    gcc g++ make pkg-config libc6-dev libelf-dev libdw-dev libncurses-dev libjson-c-dev zlib1g-dev \
    libsimdjson-dev \
    python3 python3-pytest python3.11 python3.11-dbg \
    binutils util-linux patchelf gawk tmux strace ca-certificates python3-objgraph python3-numpy \
    clang libclang-rt-14-dev valgrind >/dev/null
echo "install-deps.sh: done"
