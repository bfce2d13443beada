#!/usr/bin/env bash
# Flag families, precedence, !expand order, sub-files, describe, export-schema, help.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
cat >sweep.yml <<'Y'
seed: !expand [1, 2]
runtime:
  max_sessions: !expand [10, 20, 30]
Y
"$VEEKSHA" config show -f json --config sweep.yml >sweep.json
check "expand: 6 configs" test "$(jq length sweep.json)" = 6
check "expand: reference order" test "$(jq -c '[.[] | [.seed, .runtime.max_sessions]]' sweep.json)" = '[[1,10],[1,20],[1,30],[2,10],[2,20],[2,30]]'
cat >variants.yml <<'Y'
- traffic_scheduler: {type: rate, interval_generator: {type: poisson, arrival_rate: 5}}
- traffic_scheduler: {type: concurrent, target_concurrent_sessions: !expand [2, 4]}
Y
"$VEEKSHA" config show -f json --config variants.yml >variants.json
check "top-level list + expand: 3 configs" test "$(jq -c '[.[] | .traffic_scheduler.type]' variants.json)" = '["rate","concurrent","concurrent"]'

# precedence: CLI > file > default; dotted form; --no-x booleans; nargs lists; JSON list flags
cat >base.yml <<'Y'
seed: 5
runtime: {max_sessions: 7, benchmark_timeout: 30}
traffic_scheduler: {type: rate, interval_generator: {type: poisson, arrival_rate: 2}}
Y
"$VEEKSHA" config show -f json --config base.yml --seed 9 --runtime.benchmark_timeout 45 \
  --rate-traffic-scheduler-poisson-interval-generator-arrival-rate 20 --no-trace-recorder-enabled \
  --server-type sim --sim-server-gpu-ids 0 1 \
  --evaluators '[{"type": "performance", "slos": [{"type": "constant", "metric": "e2e", "value": 2.5}]}]' >p.json
check "CLI beats file (flattened)" test "$(jq -r .seed p.json)" = 9
check "CLI beats file (dotted)" test "$(jq -r .runtime.benchmark_timeout p.json)" = 45
check "file beats default" test "$(jq -r .runtime.max_sessions p.json)" = 7
check "variant flag" test "$(jq -r .traffic_scheduler.interval_generator.arrival_rate p.json)" = 20
check "--no-x boolean" test "$(jq -r .trace_recorder.enabled p.json)" = false
check "nargs list" test "$(jq -c .server.gpu_ids p.json)" = '[0,1]'
check "JSON list flag" test "$(jq -r '.evaluators[0].slos[0].metric' p.json)" = e2e

# a whole section as one dotted flag (docs/CONFIG.md: `--server '{type: sim, port: 9000}'`)
"$VEEKSHA" config show -f json --config base.yml --server '{type: sim, port: 9000}' \
  --traffic-scheduler '{type: concurrent, target_concurrent_sessions: 6}' >sec.json || true
check "section flag: --server '{type: sim, port: 9000}'" test "$(jq -c '[.server.type, .server.port]' sec.json)" = '["sim",9000]'
check "section flag: --traffic-scheduler replaces the file's section" \
  test "$(jq -c '[.traffic_scheduler.type, .traffic_scheduler.target_concurrent_sessions]' sec.json)" = '["concurrent",6]'
rc=0; "$VEEKSHA" config show --server 5 2>sec.err >/dev/null || rc=$?
check "section flag with a scalar: exit 2 naming the flag" test "$rc" = 2
check "section flag with a scalar: message" grep -q -- "--server: server: expected a mapping" sec.err

# a boolean flag given a value: exit 2, and the hint names the two real spellings
rc=0; "$VEEKSHA" config show --trace-recorder-enabled=false 2>b1.err >/dev/null || rc=$?
check "--x=false: exit 2" test "$rc" = 2
check "--x=false: hint --x or --no-x" grep -qF "(use --trace-recorder-enabled or --no-trace-recorder-enabled)" b1.err
rc=0; "$VEEKSHA" config show --no-trace-recorder-enabled=1 2>b2.err >/dev/null || rc=$?
check "--no-x=1: exit 2" test "$rc" = 2
check "--no-x=1: hint --x or --no-x" grep -qF "(use --trace-recorder-enabled or --no-trace-recorder-enabled)" b2.err

# a dotted flag with an empty key: exit 2, not the key without it
for f in --runtime..max_sessions --.seed --runtime.; do
  rc=0; "$VEEKSHA" config show "$f" 3 2>dot.err >/dev/null || rc=$?
  check "$f 3: exit 2 (got $rc)" test "$rc" = 2
  check "$f 3: message names the flag" grep -qF -- "$f: empty key in the key path" dot.err
done

# sub-files and collisions
printf 'type: openai_completions\nmodel: m1\n' >client.yml
"$VEEKSHA" config show -f json --config base.yml --client-from-file client.yml >c.json
check "--client-from-file" test "$(jq -r .client.type,.client.model,.client.max_tokens_param c.json | tr '\n' ' ')" = "openai_completions m1 max_tokens "
printf 'client: {type: openai_chat_completions}\n' >root2.yml
set +e
out=$("$VEEKSHA" config show --config root2.yml --client-from-file client.yml 2>&1); rc=$?
set -e
check "two files setting the same key: exit 2" test "$rc" = 2
check "two files: message" grep -q "client.type: is also set by root2.yml:1:10" <<<"$out"

# additional_args as mapping; type case-insensitive; branching defaults
cat >misc.yml <<'Y'
server: {type: VLLM, additional_args: {max-num-seqs: 64, enforce-eager: true}}
session_generator: {type: Synthetic, session_graph: {type: branching}}
Y
"$VEEKSHA" config show -f json --config misc.yml >m.json
check "additional_args mapping -> JSON text" test "$(jq -r .server.additional_args m.json)" = '{"max-num-seqs": 64, "enforce-eager": true}'
check "type case-insensitive" test "$(jq -r .server.type m.json)" = vllm
check "branching keeps documented defaults" test "$(jq -c '.session_generator.session_graph | [.num_layers_generator.min, .num_layers_generator.max, .connection_dist_generator.value]' m.json)" = '[2,5,1]'
"$VEEKSHA" config show -f json --synthetic-session-generator-session-graph-type branching >b.json
check "branching via flag keeps defaults" test "$(jq -c '.session_generator.session_graph.layer_width_generator | [.min,.max]' b.json)" = '[1,3]'

# describe, export-schema, help
out=$("$VEEKSHA" config describe traffic_scheduler.interval_generator.arrival_rate)
check "describe type" grep -q "^type: float" <<<"$out"
check "describe default" grep -q "^default: 1.0" <<<"$out"
check "describe flag" grep -q -- "--rate-traffic-scheduler-poisson-interval-generator-arrival-rate" <<<"$out"
set +e; "$VEEKSHA" config describe runtime.nope >/dev/null 2>&1; rc=$?; set -e
check "describe unknown key exits 2" test "$rc" = 2
"$VEEKSHA" config export-schema -o schema.json
check "schema draft-07" test "$(jq -r '."$schema"' schema.json)" = "http://json-schema.org/draft-07/schema#"
check "schema title" test "$(jq -r .title schema.json)" = "Veeksha benchmark Configuration"
check "schema strict" test "$(jq -r .additionalProperties schema.json)" = false
check "schema seed default" test "$(jq -r .properties.seed.default schema.json)" = 42
check "schema poly const" test "$(jq -r '.properties.traffic_scheduler.oneOf[0].properties.type.const' schema.json)" = rate
"$VEEKSHA" config --config-type capacity_search export-schema >cs.json
check "capacity schema" test "$(jq -r '.properties.max_iterations.default' cs.json)" = 20
"$VEEKSHA" benchmark --help >help.txt
check "help lists flattened flags" grep -q -- "--rate-traffic-scheduler-poisson-interval-generator-arrival-rate" help.txt
check "help shows defaults" grep -q "(default: benchmark_output)" help.txt
check "help has --no- booleans" grep -q -- "--no-trace-recorder-enabled" help.txt
check "help has from-file flags" grep -q -- "--server-from-file FILE" help.txt
check "help: 250+ flags" test "$(grep -c '^  --' help.txt)" -ge 250
"$VEEKSHA" config --config-type capacity_search show -f json --max-iterations 5 --benchmark-config-seed 3 >cap.json
check "capacity flags" test "$(jq -c '[.max_iterations, .benchmark_config.seed]' cap.json)" = '[5,3]'
"$VEEKSHA" capacity-search --help >cap_help.txt
check "capacity-search --help lists --max-iterations" grep -q -- "--max-iterations MAX_ITERATIONS" cap_help.txt
"$VEEKSHA" microbench stress --stress-mode range --help >mb_help.txt
check "microbench stress range --help" grep -q -- "--concurrency-points" mb_help.txt

# CLI type switch drops the file's keys of the old variant (warning), keeps common keys
printf 'traffic_scheduler: {type: concurrent, target_concurrent_sessions: 4, cancel_session_on_failure: false}\n' >ts.yml
"$VEEKSHA" config show -f json --config ts.yml --traffic-scheduler-type rate >ts.json 2>ts.err
check "type switch: new type" test "$(jq -r .traffic_scheduler.type ts.json)" = rate
check "type switch: common key kept" test "$(jq -r .traffic_scheduler.cancel_session_on_failure ts.json)" = false
check "type switch: warning" grep -q "target_concurrent_sessions: ignored" ts.err
# config.yml written by us loads back unchanged
"$VEEKSHA" config show --config "$SRC/examples/managed_benchmark.veeksha.yml" >rt1.yml
"$VEEKSHA" config show --config rt1.yml >rt2.yml
check "config.yml round trip" cmp rt1.yml rt2.yml
e2e_finish
