#!/usr/bin/env bash
# Run search.py on the device machine (JAX backend; no TensorFlow there). Needs the wheels in .whl
# (keras, namex, optree) and the data in .devdata, both carried. Usage: device.sh VARIANTS [search args]
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
mkdir -p /tmp/pkg/loanscore
for d in runtime train export cli; do ln -sfn "$PWD/$d" /tmp/pkg/loanscore/$d; done
export PYTHONPATH=/tmp/site:/tmp/pkg KERAS_BACKEND=jax PYTHONUNBUFFERED=1 LOANSCORE_DEV_DATA=$PWD/.devdata/uci_credit_card_dev.csv.gz
python3 -c "import keras, jax, sklearn; print('keras', keras.__version__, keras.backend.backend(), 'jax', jax.__version__, jax.devices(), 'sklearn', sklearn.__version__)"
python3 benchmarks/search.py "$@"
