#!/usr/bin/env bash
# The seed document's YAML examples load, `config show` prints the resolved values, and the seed's
# CLI line parses to the expected config.
source "$(dirname "$0")/lib.sh" "$@"
cd "$SRC/examples"
for f in seed_*.yml base_config.yml managed_benchmark.veeksha.yml; do
  rc=0
  "$VEEKSHA" config show --config "$f" -f json >"$TMP/$f.json" 2>"$TMP/$f.err" || rc=$?
  check "$f loads" test "$rc" = 0
done
j=$TMP/managed_benchmark.veeksha.yml.json
check "managed: server type sglang" test "$(jq -r .server.type "$j")" = sglang
check "managed: port 30000" test "$(jq -r .server.port "$j")" = 30000
check "managed: poisson" test "$(jq -r .traffic_scheduler.interval_generator.type "$j")" = poisson
check "managed: arrival_rate 10.0" test "$(jq -r .traffic_scheduler.interval_generator.arrival_rate "$j")" = 10
check "managed: env_path ~ expanded" test "$(jq -r .server.env_path "$j")" = "$HOME/envs/sglang"
check "managed: max_model_len" test "$(jq -r .server.max_model_len "$j")" = 8192
check "managed: min_tokens_param" test "$(jq -r .client.min_tokens_param "$j")" = min_tokens
check "managed: body uniform 100..500" test "$(jq -c '.session_generator.channels[0].body_length_generator' "$j")" = '{"min":100,"max":500,"type":"uniform"}'
check "managed: max_sessions -1" test "$(jq -r .runtime.max_sessions "$j")" = -1
check "managed: default SLOs kept" test "$(jq -r '.evaluators[0].slos | length' "$j")" = 2
check "managed: api key redacted" test "$(jq -r .server.api_key "$j")" = '***'
check "managed yaml show" grep -q "arrival_rate: 10.0" < <("$VEEKSHA" config show --config managed_benchmark.veeksha.yml)
j=$TMP/seed_server_options.yml.json
check "options: gpu_ids [0,1]" test "$(jq -c .server.gpu_ids "$j")" = '[0,1]'
check "options: additional_args" test "$(jq -r .server.additional_args "$j")" = '{"enable_prefix_caching": true}'
check "options: tp 2" test "$(jq -r .server.tensor_parallel_size "$j")" = 2
j=$TMP/seed_auto_assign.yml.json
check "auto: gpu_ids null" test "$(jq -r .server.gpu_ids "$j")" = null
check "auto: tp 4" test "$(jq -r .server.tensor_parallel_size "$j")" = 4
j=$TMP/seed_noncontiguous_gpus.yml.json
check "cpu_ids alias -> gpu_ids [0,2]" test "$(jq -c .server.gpu_ids "$j")" = '[0,2]'
check "cpu_ids alias warns" grep -q "deprecated alias of 'gpu_ids'" "$TMP/seed_noncontiguous_gpus.yml.err"
check "noncontiguous" test "$(jq -r .server.require_contiguous_gpus "$j")" = false
j=$TMP/seed_basic.yml.json
check "basic: request_timeout 120" test "$(jq -r .client.request_timeout "$j")" = 120

# The seed's CLI line
"$VEEKSHA" config show -f json --benchmark-config-from-file base_config.yml --server-type vllm \
  --vllm-server-env-path vllm_env --vllm-server-model meta-llama/Llama-3.2-1B-Instruct \
  --output-dir results/vllm >"$TMP/cli.json"
j=$TMP/cli.json
check "cli: output_dir" test "$(jq -r .output_dir "$j")" = results/vllm
check "cli: server vllm" test "$(jq -r .server.type "$j")" = vllm
check "cli: env_path" test "$(jq -r .server.env_path "$j")" = vllm_env
check "cli: server model" test "$(jq -r .server.model "$j")" = meta-llama/Llama-3.2-1B-Instruct
check "cli: concurrent 8" test "$(jq -r .traffic_scheduler.target_concurrent_sessions "$j")" = 8
check "cli: rampup 5" test "$(jq -r .traffic_scheduler.rampup_seconds "$j")" = 5
check "cli: body fixed 512" test "$(jq -r .session_generator.channels[0].body_length_generator.value "$j")" = 512
check "cli: output fixed 256" test "$(jq -r .session_generator.output_spec.text.output_length_generator.value "$j")" = 256
check "cli: timeout 120" test "$(jq -r .runtime.benchmark_timeout "$j")" = 120
check "cli: defaults kept" test "$(jq -r .runtime.max_sessions "$j")" = 25
"$VEEKSHA" config show -f json --benchmark-config-from-file base_config.yml --server-type sglang \
  --sglang-server-env-path sglang_env --sglang-server-model meta-llama/Llama-3-8B-Instruct \
  --output-dir results/sglang >"$TMP/cli2.json"
check "cli sglang: type" test "$(jq -r .server.type "$TMP/cli2.json")" = sglang

# Reference run: our config.yml equals the reference's apart from documented differences
"$VEEKSHA" config show --config "$SRC/tests/data/config/ref.veeksha.yml" >"$TMP/ref.yml"
grep -v -e '^  tokenizer: null' -e '^  verify_tls: true' -e '^  stream: true' -e '^  include_usage: true' -e '^  max_response_bytes: 67108864' \
  -e '^  max_error_rate: 0.0$' -e '^  env_path: null$' -e '^  max_concurrency: 0$' -e '^  timeseries_interval_s: 1.0$' \
  -e '^  warmup_seconds: 0.0$' -e '^  saturation_busy_fraction: 0.9$' -e '^  saturation_lateness_p99_ms: 1.0$' -e '^  warmup_requests: 0$' -e '^  cooldown_seconds: 0.0$' -e '^  cooldown_requests: 0$' -e '^  ca_bundle: null$' -e '^  tls_cert: null$' -e '^  tls_key: null$' \
  "$TMP/ref.yml" | sed -e 's/^      arrival_rate: 10.0$/      arrival_rate: 10/' \
  -e 's/^  num_client_threads: 1$/  num_client_threads: 3/' >"$TMP/ref2.yml"
check "config.yml matches the reference layout" diff -u "$SRC/tests/data/config/ref_config.yml" "$TMP/ref2.yml"
e2e_finish
