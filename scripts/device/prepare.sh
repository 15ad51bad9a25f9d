#!/usr/bin/env bash
# Builds, on this machine, everything the lent GPU runs (it has no cargo):
# the CUDA and wgpu test binaries, a release `hefty` with both backends, and
# the Vulkan loader packages, into .gpu/ (git-ignored) for the device tool's
# `carry`. Then run scripts/device/run.sh there in ONE call:
#   run(command="bash scripts/device/run.sh", carry=[".gpu"], timeout_s=590)
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .gpu && mkdir -p .gpu
export CARGO_TERM_COLOR=never
tests=$(cargo test --release -p hefty-kernels --features cuda,wgpu --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] in ("cuda", "wgpu"):
        print(m["target"]["name"], m["executable"])')
while read -r name exe; do
    cp "$exe" ".gpu/test-$name"
done <<<"$tests"
cargo build --release --features cuda,wgpu
cp target/release/hefty .gpu/hefty
strip .gpu/* 2>/dev/null || true
# The device may lack the Vulkan loader wgpu needs (device README).
mkdir -p .gpu/gl /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
(apt-get $o update -qq && cd .gpu/gl && apt-get $o download libvulkan1 >/dev/null) ||
    echo "could not fetch libvulkan1: the wgpu half will skip if the device lacks it"
# The model and the MNIST test images for `hefty infer` there.
mkdir -p .gpu/mnist .gpu/models
cp models/cryptonets-mnist-quad-layer-aug.* .gpu/models/
cp ../shared/data/mnist/t10k-* .gpu/mnist/ 2>/dev/null || echo "no MNIST test set beside the checkout: infer will skip"
du -sh .gpu
ls -la .gpu
