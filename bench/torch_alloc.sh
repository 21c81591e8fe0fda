# torch_alloc.sh — sourced by the bench scripts: the allocator of the PyTorch twin.
# shellcheck shell=bash
# PyTorch's CPU performance guide advises replacing glibc malloc (jemalloc or TCMalloc);
# on the 2-core Zen 5 of bench/README.md TCMalloc made the twin's fmnist MAE step 3-24 %
# faster (fewer page faults: glibc hands big tensors back to the kernel every step) and
# jemalloc 4x slower. BENCH_TORCH_PRELOAD goes into the torch process's LD_PRELOAD only:
# by default Debian's libtcmalloc-minimal4 where installed, set empty for glibc malloc.
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
torch_preload=${BENCH_TORCH_PRELOAD-$([ -e "$tcmalloc" ] && echo "$tcmalloc")}
torch_alloc_note() { echo "torch's allocator: ${torch_preload:-glibc malloc}"; }
