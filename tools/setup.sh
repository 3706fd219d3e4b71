#!/usr/bin/env bash
# Installs everything resnet-ts needs on a fresh Debian 12 machine (run as root):
# Debian packages (compiler, oneDNN, the Fashion-MNIST data set), npm packages (whose install
# step builds the native oneDNN back end), the TypeScript build, and a verified copy of the data.
# Idempotent: safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  g++ make python3            # node-gyp's toolchain for the native back end
  libdnnl-dev                 # oneDNN 2.6: the native CPU kernels
  dataset-fashion-mnist       # the real data set, /usr/share/datasets/fashion-mnist
  jupyter-client jupyter-notebook   # notebooks: kernelspecs, classic Notebook server (browser test)
  python3-jupyter-kernel-test       # the Jupyter protocol conformance suite, run against our kernel
  chromium                    # headless browser for the notebook front-end tests
  python3-jupyter-server python3-jupyterlab-server  # serve the JupyterLab front end of lab-app/
  python3-torch python3-numpy # PyTorch, the reference side of the benchmarks (bench/torch_*.py)
  python3-torchvision         # torchvision ResNets: the safetensors crossings (bench/torch_safetensors.py)
  python3-onnx                # ONNX's checker, run on the exported graphs (test/export/onnx.test.ts)
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install Debian packages: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

echo "setup: npm ci (builds the native back end, then the TypeScript sources)"
# onnxruntime-node ships its CPU binaries in the package; its install step would only fetch the
# optional CUDA ones from NuGet (no network here, and not needed).
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund

if [ ! -f native/build/Release/resnet_onednn.node ]; then
  echo "setup: WARNING: the native oneDNN back end was not built; training will use the slow JS back end" >&2
fi

echo "setup: making Fashion-MNIST available and verified"
npm run --silent data

echo "setup: notebooks (package link for cells, tslab kernelspec 'resnet-ts')"
node tools/setup-notebooks.js

echo "setup: the JupyterLab front end in lab-app/build (npm run lab starts it)"
node dist/tools/lab/cli.js --build-only
