#!/usr/bin/env bash
# Runs on the lent GPU (see prepare.sh): the conformance suites of the CUDA
# and wgpu backends, then `hefty bench` and `hefty infer` on each, writing
# logs and JSON to $OUT (at most 8 files come back). Build-free; every step
# is bounded so one failure leaves time for the rest.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/hefty-gpu-out}"
mkdir -p "$OUT"
log="$OUT/run.log"
exec > >(tee -a "$log") 2>&1
step() { echo; echo "== $* ($(date +%T))"; }

step "device"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 || echo "no nvidia-smi"
nvrtc=$(find / -name 'libnvrtc.so.13*' -not -path '*/proc/*' 2>/dev/null | head -1)
[ -n "$nvrtc" ] && export LD_LIBRARY_PATH="$(dirname "$nvrtc")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "nvrtc: ${nvrtc:-none found}"
if ! ldconfig -p | grep -q libvulkan.so.1 && ls .gpu/gl/*.deb >/dev/null 2>&1; then
    for f in .gpu/gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
export VK_DRIVER_FILES="${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}"
[ -e "$VK_DRIVER_FILES" ] || unset VK_DRIVER_FILES
export HEFTY_MNIST_DIR="$PWD/.gpu/mnist" XDG_RUNTIME_DIR=/tmp

step "CUDA: conformance suite and kernel tests (device and host emulation)"
timeout 180 .gpu/test-cuda --nocapture --test-threads 1 || echo "CUDA tests FAILED (rc $?)"

step "wgpu: conformance suite on the GPU's Vulkan adapter"
WGPU_ADAPTER_NAME="${WGPU_ADAPTER_NAME:-NVIDIA}" timeout 120 .gpu/test-wgpu --nocapture --test-threads 1 ||
    echo "wgpu tests FAILED (rc $?)"

step "bench: CKKS and BFV on cuda (both words) and wgpu, CPU of this host for reference"
timeout 150 .gpu/hefty bench --backend all --scheme ckks --ckks-degrees 16384,65536 --quick --json "$OUT/bench-ckks.json" ||
    echo "ckks bench FAILED (rc $?)"
timeout 60 .gpu/hefty bench --backend all --scheme bfv --bfv-degree 8192 --quick --json "$OUT/bench-bfv.json" ||
    echo "bfv bench FAILED (rc $?)"

model=.gpu/models/cryptonets-mnist-quad-layer-aug.json
if [ -e "$model" ] && ls .gpu/mnist/t10k-* >/dev/null 2>&1; then
    step "infer: CryptoNets-MNIST on cuda, batch (CKKS) and slots"
    timeout 120 .gpu/hefty infer --model "$model" --packing batch --scheme ckks --images 8192 --backend cuda \
        --json "$OUT/infer-batch-cuda.json" || echo "infer batch FAILED (rc $?)"
    timeout 60 .gpu/hefty infer --model "$model" --packing slots --images 16 --backend cuda \
        --json "$OUT/infer-slots-cuda.json" || echo "infer slots FAILED (rc $?)"
    timeout 60 .gpu/hefty infer --model "$model" --packing slots --images 16 --backend wgpu \
        --json "$OUT/infer-slots-wgpu.json" || echo "infer slots on wgpu FAILED (rc $?)"
fi
step "done"
ls -la "$OUT"
