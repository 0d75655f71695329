#!/usr/bin/env bash
# Rebuild everything in artifacts/ from the development data with the committed code:
#   bash artifacts/build.sh [path/to/uci_credit_card_dev.csv.gz]
# Needs the [train] extra. The same code and data give the same model (fixed seeds).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-${LOANSCORE_DEV_DATA:-../shared/data/uci_credit_card_dev.csv.gz}}"
loanscore train --data "$data" --out artifacts/run
# CV metrics from the committed quality benchmark, if it measured this configuration (export checks).
cv=(); [ -f benchmarks/results/quality.json ] && cv=(--cv-results benchmarks/results/quality.json)
loanscore export artifacts/run --out artifacts/model --data "$data" "${cv[@]}"
loanscore generate --rows 25 --seed 2005 --out artifacts/sample_applicants.csv
loanscore verify artifacts/model
