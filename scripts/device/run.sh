#!/usr/bin/env bash
# Runs on the lent GPU (see prepare.sh): the conformance suites of the CUDA
# and wgpu backends, then `hefty bench` and `hefty infer` on each, writing
# run.log and 7 JSON records to $OUT (at most 8 files come back).
# Build-free; every step is bounded so one failure leaves time for the rest.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/hefty-gpu-out}"
mkdir -p "$OUT"
log="$OUT/run.log"
exec > >(tee -a "$log") 2>&1
step() { echo; echo "== $* ($(date +%T))"; }

step "device"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 || echo "no nvidia-smi"
nvrtc=$(timeout 60 find /usr/local /opt /usr/lib -name 'libnvrtc.so.13*' 2>/dev/null | head -1)
[ -n "$nvrtc" ] && export LD_LIBRARY_PATH="$(dirname "$nvrtc")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "nvrtc: ${nvrtc:-none found}"
if ! ldconfig -p | grep -q libvulkan.so.1 && ls .gpu/gl/*.deb >/dev/null 2>&1; then
    for f in .gpu/gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
export VK_DRIVER_FILES="${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}"
[ -e "$VK_DRIVER_FILES" ] || unset VK_DRIVER_FILES
export HEFTY_MNIST_DIR="$PWD/.gpu/mnist" XDG_RUNTIME_DIR=/tmp

export WGPU_ADAPTER_NAME="${WGPU_ADAPTER_NAME:-NVIDIA}"
model=.gpu/models/cryptonets-mnist-quad-layer-aug.json
infer() {  # infer NAME SECONDS ARGS...: one `hefty infer` record
    local name=$1 secs=$2
    shift 2
    [ -e "$model" ] || { echo "no model: infer skipped"; return; }
    timeout "$secs" .gpu/hefty infer --model "$model" "$@" --json "$OUT/infer-$name.json" ||
        echo "infer $name FAILED (rc $?)"
}
bench() {  # bench NAME SECONDS ARGS...: one `hefty bench` JSON file
    local name=$1 secs=$2
    shift 2
    timeout "$secs" .gpu/hefty bench --quick "$@" --json "$OUT/bench-$name.json" ||
        echo "bench $name FAILED (rc $?)"
}

# In order of what matters most: a step cut by the call's limit loses least.
step "CUDA: conformance suite and kernel tests (device and host emulation)"
timeout 120 .gpu/test-cuda --nocapture --test-threads 1 || echo "CUDA tests FAILED (rc $?)"
step "bench: CUDA, both word sizes"
bench cuda-ckks 120 --backend cuda --scheme ckks --ckks-degrees 16384,65536
bench cuda-bfv 45 --backend cuda --scheme bfv --bfv-degree 8192
step "infer: CryptoNets-MNIST, server on CUDA"
infer batch-cuda 120 --packing batch --scheme ckks --images 8192 --backend cuda
infer slots-cuda 45 --packing slots --images 16 --backend cuda
step "wgpu: conformance suite on the GPU's Vulkan adapter"
timeout 90 .gpu/test-wgpu --nocapture --test-threads 1 || echo "wgpu tests FAILED (rc $?)"
bench wgpu-ckks 60 --backend wgpu --scheme ckks --ckks-degrees 16384,65536
infer slots-wgpu 45 --packing slots --images 16 --backend wgpu
step "bench: this host's CPU for reference (single thread)"
bench cpu-ckks 60 --backend cpu --scheme ckks --ckks-degrees 16384,65536
step "done"
ls -la "$OUT"
