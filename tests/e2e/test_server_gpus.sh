#!/bin/bash
# GPU resource manager end to end: fake 4-GPU host (fake NVML), two concurrent managed servers with
# tensor_parallel_size 2 get disjoint pairs, a third fails clearly after a bounded wait and succeeds
# once a pair is released; `veeksha gpus` shows the leases; hosts with 0 GPUs fail fast for GPU
# engines; the nvidia-smi fallback; explicit gpu_ids validation.
source "$(dirname "$0")/lib.sh" "$@"
BUILD=$(dirname "$VEEKSHA")
DRIVER=$BUILD/tests/unit/server/server_test_driver
DATA=$SRC/tests/data/server
FAKE_ENV=$DATA/fake_env
[ -x "$DRIVER" ] || { echo "FAIL - test driver not built: $DRIVER"; exit 1; }
export VEEKSHA_NVML_LIB=$BUILD/tests/unit/server/libfake_nvml.so
export FAKE_NVML_GPUS=80000:80000,80000:80000,80000:80000,80000:80000
export VEEKSHA_GPU_LOCK_DIR=$TMP/locks
export VEEKSHA_BIN=$VEEKSHA # fake engines run this build's sim-server when usable
# `veeksha gpus` is part of every build: a failing --help is a failure, not a reason to skip checks
gpus_help() { "$VEEKSHA" gpus --help >/dev/null; }
check "veeksha gpus --help exits 0" gpus_help

wait_line() {
  local i
  for i in $(seq 1 $(($3 * 20))); do
    grep -Eq "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
now_ms() { date +%s%3N; }
jqe() { jq -e "$2" "$1" >/dev/null; }

# ---- two concurrent runs, TP 2, on 4 GPUs: disjoint pairs
pa=$(e2e_free_port); pb=$(e2e_free_port)
e2e_bg "$DRIVER" --type vllm --env "$FAKE_ENV" --tp 2 --port "$pa" --run-dir "$TMP/a" --hold -1 >"$TMP/a.out" 2>"$TMP/a.err"
da=$E2E_LAST_PID
e2e_bg "$DRIVER" --type vllm --env "$FAKE_ENV" --tp 2 --port "$pb" --run-dir "$TMP/b" --hold -1 >"$TMP/b.out" 2>"$TMP/b.err"
db=$E2E_LAST_PID
check "run A ready" wait_line "$TMP/a.out" '^READY' 20
check "run B ready" wait_line "$TMP/b.out" '^READY' 20
ga=$(awk '/^GPUS/{print $2}' "$TMP/a.out"); gb=$(awk '/^GPUS/{print $2}' "$TMP/b.out")
check "A and B got contiguous pairs ($ga / $gb)" bash -c "[[ '$ga' =~ ^(0,1|2,3)$ && '$gb' =~ ^(0,1|2,3)$ ]]"
check "A and B got disjoint pairs" test "$ga" != "$gb"

rc=0; "$VEEKSHA" gpus >"$TMP/gpus.txt" 2>&1 || rc=$?
check "veeksha gpus exits 0 (rc=$rc)" test "$rc" = 0
check "veeksha gpus: 4 GPUs via nvml" grep -q "^4 GPU(s) via nvml" "$TMP/gpus.txt"
check "veeksha gpus: lease of A shown with its pid" grep -Eq "^${ga%%,*} .* no +pid $da job server_127.0.0.1_${pa}_" "$TMP/gpus.txt"
rc=0; "$VEEKSHA" gpus --json >"$TMP/gpus.json" || rc=$?
check "veeksha gpus --json exits 0 (rc=$rc)" test "$rc" = 0
check "veeksha gpus --json: all 4 leased" jqe "$TMP/gpus.json" '[.gpus[] | select(.lease != null)] | length == 4'

# ---- a third run waits (bounded, reported) and fails clearly
pc=$(e2e_free_port)
rc=0
t0=$(now_ms)
VEEKSHA_GPU_WAIT_TIMEOUT_S=1 VEEKSHA_GPU_POLL_INTERVAL_S=0.2 "$DRIVER" --type vllm --env "$FAKE_ENV" --tp 2 --port "$pc" \
  --run-dir "$TMP/c" >"$TMP/c.out" 2>"$TMP/c.err" || rc=$?
el=$(( $(now_ms) - t0 ))
check "run C fails to start (rc=$rc)" test "$rc" = 10
check "run C: clear message" grep -q "Failed to allocate 2 GPUs for server: could not allocate 2 contiguous GPU(s)" "$TMP/c.out"
check "run C: leases named in message" grep -q "leased:.*pid $da" "$TMP/c.out"
check "run C: waiting was reported" grep -q "waiting up to 1 s for GPUs" "$TMP/c.err"
check "run C: bounded wait (${el} ms)" test "$el" -ge 900 -a "$el" -lt 5000
check "run C: nothing launched" bash -c "! ls '$TMP/c'/server_logs_* >/dev/null 2>&1"

# ---- releasing A lets C through (waiting for GPUs succeeds)
pc=$(e2e_free_port)
VEEKSHA_GPU_WAIT_TIMEOUT_S=20 VEEKSHA_GPU_POLL_INTERVAL_S=0.2 e2e_bg "$DRIVER" --type vllm --env "$FAKE_ENV" --tp 2 \
  --port "$pc" --run-dir "$TMP/c2" --hold 0 >"$TMP/c2.out" 2>"$TMP/c2.err"
dc=$E2E_LAST_PID
wait_line "$TMP/c2.err" 'waiting up to' 10 || true
kill -TERM "$da"
check "A stopped on SIGTERM" e2e_wait_gone "$da" 20
check "C got A's GPUs" wait_line "$TMP/c2.out" "^GPUS $ga\$" 20
check "C became ready" wait_line "$TMP/c2.out" '^READY' 20
check "C finished" e2e_wait_gone "$dc" 20
kill -TERM "$db"
check "B stopped" e2e_wait_gone "$db" 20

# ---- explicit gpu_ids
rc=0
"$DRIVER" --type sglang --env "$FAKE_ENV" --tp 2 --gpu-ids 2,3 --port "$(e2e_free_port)" --run-dir "$TMP/e1" --hold 0 \
  >"$TMP/e1.out" 2>&1 || rc=$?
check "explicit [2,3]: ready with those GPUs (rc=$rc)" grep -q '^GPUS 2,3$' "$TMP/e1.out"
check "explicit [2,3]: CUDA_VISIBLE_DEVICES=2,3" grep -q 'CUDA_VISIBLE_DEVICES=2,3 ' "$TMP/e1"/server_logs_sglang_*.log
rc=0
"$DRIVER" --type sglang --env "$FAKE_ENV" --tp 1 --gpu-ids 9 --port "$(e2e_free_port)" --run-dir "$TMP/e2" \
  >"$TMP/e2.out" 2>&1 || rc=$?
check "explicit [9] on 4 GPUs: fails (rc=$rc)" test "$rc" = 10
check "explicit [9]: says it does not exist" grep -q "GPU 9 does not exist on this host" "$TMP/e2.out"
rc=0
"$DRIVER" --type sglang --env "$FAKE_ENV" --tp 2 --gpu-ids 1 --port "$(e2e_free_port)" --run-dir "$TMP/e3" \
  >"$TMP/e3.out" 2>&1 || rc=$?
check "explicit ids vs tensor_parallel_size mismatch: config error" grep -q "gpu_ids lists 1 GPU(s) but tensor_parallel_size is 2" "$TMP/e3.out"

# ---- no contiguous block: fails clearly instead of silently non-contiguous
rc=0
FAKE_NVML_GPUS=80000:80000,80000:100,80000:80000,80000:100 VEEKSHA_GPU_WAIT_TIMEOUT_S=0 "$DRIVER" --type vllm \
  --env "$FAKE_ENV" --tp 2 --port "$(e2e_free_port)" --run-dir "$TMP/nc" >"$TMP/nc.out" 2>&1 || rc=$?
check "no contiguous pair: fails (rc=$rc)" test "$rc" = 10
check "no contiguous pair: explains and suggests require_contiguous_gpus: false" grep -q "require_contiguous_gpus: false" "$TMP/nc.out"
rc=0
FAKE_NVML_GPUS=80000:80000,80000:100,80000:80000,80000:100 "$DRIVER" --type vllm --env "$FAKE_ENV" --tp 2 --no-contiguous \
  --port "$(e2e_free_port)" --run-dir "$TMP/nc2" --hold 0 >"$TMP/nc2.out" 2>&1 || rc=$?
check "non-contiguous allowed: gets 0,2 (rc=$rc)" grep -q '^GPUS 0,2$' "$TMP/nc2.out"

# ---- host without GPUs: GPU engines fail fast (not a 300 s wait)
rc=0
t0=$(now_ms)
FAKE_NVML_GPUS="" "$DRIVER" --type vllm --env "$FAKE_ENV" --port "$(e2e_free_port)" --run-dir "$TMP/z" >"$TMP/z.out" 2>&1 || rc=$?
el=$(( $(now_ms) - t0 ))
check "0 GPUs: vllm fails (rc=$rc)" test "$rc" = 10
check "0 GPUs: fails fast, no 300 s wait (${el} ms)" test "$el" -lt 15000
check "0 GPUs: message points to sim" grep -q "no GPUs found on this host.*'sim' server type needs none" "$TMP/z.out"

# ---- nvidia-smi fallback (NVML missing), 8 GPUs with partial occupancy
rc=0
VEEKSHA_NVML_LIB=/nonexistent/libnvidia-ml.so.1 PATH="$DATA/fake_bin:$PATH" \
  FAKE_SMI_GPUS=81920:1000,81920:81920,81920:81920,81920:81920,81920:81920,81920:2000,81920:81920,81920:81920 \
  "$DRIVER" --type vllm --env "$FAKE_ENV" --tp 4 --port "$(e2e_free_port)" --run-dir "$TMP/smi" --hold 0 \
  >"$TMP/smi.out" 2>&1 || rc=$?
check "nvidia-smi fallback: TP 4 gets 1,2,3,4 (rc=$rc)" grep -q '^GPUS 1,2,3,4$' "$TMP/smi.out"
rc=0
VEEKSHA_NVML_LIB=/nonexistent PATH="$DATA/fake_bin:$PATH" FAKE_SMI_GPUS=81920:1000,81920:81920 \
  "$VEEKSHA" gpus >"$TMP/gpus2.txt" 2>&1 || rc=$?
check "veeksha gpus via nvidia-smi exits 0 (rc=$rc)" test "$rc" = 0
check "veeksha gpus via nvidia-smi" grep -q "^2 GPU(s) via nvidia-smi" "$TMP/gpus2.txt"
check "veeksha gpus: busy GPU not free" grep -Eq "^0 +81920 +1000 +no" "$TMP/gpus2.txt"

e2e_finish
