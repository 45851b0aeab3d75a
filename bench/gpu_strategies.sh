#!/usr/bin/env bash
# On a lent GPU: DeepSpeed ZeRO-2/3 runs of the 1.1B Llama (ftexp CLI), results to $OUT.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
common="experiment=bench_gpu data.seq_len=1024 data.train_samples=80 speed=default trainer.precision=bf16-mixed"
for run in "zero2_lora trainer=deepspeed_zero2 method=lora method.modules_to_save=[]" \
           "zero3_full trainer=deepspeed_zero3 method=full" \
           "zero3_qlora trainer=deepspeed_zero3 method=qlora"; do
  set -- $run; name=$1; shift
  start=$(date +%s)
  timeout 200 python3 -m ftexp $common "$@" paths.output_dir=/tmp/r/$name hydra.run.dir=/tmp/r/$name > "$OUT/$name.log" 2>&1
  rc=$?
  echo "$name rc=$rc wall=$(( $(date +%s) - start ))s $(cat /tmp/r/$name/metrics.json 2>/dev/null | tr -d '\n ' | cut -c1-600)"
  tail -3 "$OUT/$name.log" | cut -c1-300
done
