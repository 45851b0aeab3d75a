#!/usr/bin/env bash
# On a lent GPU machine: install carried wheels (.whl), run the GPU suite, copy results to $OUT.
# usage: bash bench/gpu.sh [run.py args...]
set -u
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1 FTEXP_CACHE=/tmp/ftexp-cache
OUT=${OUT:-/tmp/bench-out}
mkdir -p "$OUT" /tmp/bench-work
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, transformers, peft, lightning; print(torch.__version__, transformers.__version__, peft.__version__, lightning.__version__)"
python3 bench/run.py gpu --work /tmp/bench-work --out "$OUT/gpu.json" "$@"
rc=$?
tar czf "$OUT/logs.tgz" -C /tmp/bench-work $(cd /tmp/bench-work && ls *.log 2>/dev/null) 2>/dev/null
exit $rc
