#!/usr/bin/env bash
# Everything that needs a GPU, in one go: the CUDA tests, then the benchmarks on the GPU.
# Logs go to $LOGS (default ./gpu-logs). benchmarks/README.md records the last run's figures.
#
#   bash benchmarks/gpu_suite.sh tests       # tests/library/test_cuda.py (~2 min)
#   bash benchmarks/gpu_suite.sh bench       # train step, trainer MFU, sampler (~5 min)
#   bash benchmarks/gpu_suite.sh course      # the course-model recipe (make course-model) on the GPU
#   bash benchmarks/gpu_suite.sh all
set -uo pipefail
cd "$(dirname "$0")/.."
LOGS=${LOGS:-gpu-logs}
mkdir -p "$LOGS"
export PYTHONUNBUFFERED=1
PY=${PY:-python3}
# minigpt as a reader has it: installed (editable, this checkout), not put on the path by hand.
$PY -c "import minigpt" 2>/dev/null || $PY -m pip install -q --no-deps --no-build-isolation -e .
what=${1:-all}

run() {  # run NAME COMMAND...: append to $LOGS/<part>.log, keep going on failure
    local name=$1; shift
    echo "=== $name: $*" | tee -a "$LOG"
    local start=$SECONDS
    "$@" 2>&1 | tee -a "$LOG"
    echo "=== $name: exit ${PIPESTATUS[0]} after $((SECONDS - start)) s" | tee -a "$LOG"
}

if [[ $what == tests || $what == all ]]; then
    LOG=$LOGS/tests.log
    run env $PY -c "import torch, transformers; print(torch.__version__, torch.version.cuda, transformers.__version__, torch.cuda.get_device_name(), torch.cuda.get_device_capability())"
    run test_cuda $PY -m pytest tests/library/test_cuda.py -v -p no:cacheprovider
fi

if [[ $what == bench || $what == all ]]; then
    LOG=$LOGS/bench.log
    # A model big enough to keep the GPU busy (25.8M parameters); the course config is launch-bound there.
    run train_step_bf16 $PY benchmarks/bench_train_step.py --device cuda --preset minimind2-small --batch 16 --seq 1024 --bf16 --repeats 10
    run train_step_bf16_compiled $PY benchmarks/bench_train_step.py --device cuda --preset minimind2-small --batch 16 --seq 1024 --bf16 --compile --compile-transformers --repeats 10
    run trainer_mfu $PY benchmarks/bench_trainer.py --device cuda --preset minimind2-small --seq 1024 --batch 16 --compile --peak-tflops 989
    run generate_fp32 $PY benchmarks/bench_generate.py --device cuda --threads 0 --compile
    run generate_qwen $PY benchmarks/bench_generate.py --device cuda --dtype bf16 --threads 0 --compile \
        --preset qwen2.5-0.5b --contexts 512 2048 8192
fi

if [[ $what == course || $what == all ]]; then
    LOG=$LOGS/course.log
    COURSE_OUT=${COURSE_OUT:-/tmp/course-run}
    run course_model $PY -m minigpt train --data course --preset course --steps 3000 --batch-size 16 --block-size 256 \
        --lr 3e-3 --warmup-steps 100 --dtype bf16 --compile --eval-every 250 --save-every 500 \
        --out "$COURSE_OUT" --overwrite --no-progress
    cp "$COURSE_OUT/run_summary.json" "$LOGS/course_run_summary.json" 2>/dev/null || true
    run course_export $PY -m minigpt export --checkpoint "$COURSE_OUT" --out "$COURSE_OUT-model" --dtype bf16
    run course_probes $PY -m minigpt card --model "$COURSE_OUT-model" --run "$COURSE_OUT" \
        --build-command "bash benchmarks/gpu_suite.sh course"
    cp "$COURSE_OUT-model/model_card.json" "$LOGS/course_model_card.json" 2>/dev/null || true
fi
