#!/usr/bin/env bash
# Run search.py on the device machine (JAX backend; it has no TensorFlow and no network).
# Usage there: bash benchmarks/search/device.sh VARIANTS.json [search.py options], carrying .whl and .devdata,
# prepared here once (both git-ignored through .git/info/exclude; the data is never committed):
#   printf '/.whl/\n/.devdata/\n' >> .git/info/exclude
#   mkdir -p .devdata && cp ../shared/data/uci_credit_card_dev.csv.gz .devdata/
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 -d .whl keras==3.15.1 namex optree
# Use --gpu-workers 0: on the GPU, JAX's TF32 products scored every fold lower (benchmarks/README.md).
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
mkdir -p /tmp/pkg/loanscore
for d in runtime train export cli; do ln -sfn "$PWD/$d" /tmp/pkg/loanscore/$d; done
export PYTHONPATH=/tmp/site:/tmp/pkg KERAS_BACKEND=jax PYTHONUNBUFFERED=1 LOANSCORE_DEV_DATA=$PWD/.devdata/uci_credit_card_dev.csv.gz
python3 -c "import keras, jax, sklearn; print('keras', keras.__version__, keras.backend.backend(), 'jax', jax.__version__, jax.devices(), 'sklearn', sklearn.__version__)"
python3 benchmarks/search.py "$@"
