#!/usr/bin/env bash
# End-to-end: trace replay (session_generator type: trace) against the simulated server, for every
# flavor and format in tests/data/trace/, checked from the dispatch trace with content:
# sessions, turn order, history messages (recorded history is sent: §9 fixed), prompt token
# targets and measured prompt tokens, identical prompts for identical hash ids.
# Timestamp replay accuracy is in test_trace_timing.sh (run serially).
# While `veeksha benchmark` does not support trace sessions yet, prints SKIP and exits 0.
source "$(dirname "$0")/lib.sh" "$@"
DATA="$SRC/tests/data/trace"
e2e_start_sim 0 --mode fixed --ttft-ms 5 --itl-ms 1
port=$E2E_SIM_PORT

source "$(dirname "$0")/trace_lib.sh"
set +e
# request_log (CSV with the reference's column renames): 3 single-request sessions
run_trace request_log '{type: request_log}' "$DATA/request_log.csv" 3
check "request_log: 3 requests in order with target prompt tokens 12, 7, 20" \
  bash -c "jq -s -c '[sort_by(.request_id)[] | .channels.text.target_prompt_tokens]' '$tr' | grep -qx '\[12,7,20\]'"
check "request_log: output tokens 5, 3, 9" \
  bash -c "jq -s -c '[sort_by(.request_id)[] | .num_output_tokens]' '$run/metrics/request_level_metrics.jsonl' | grep -qx '\[5,3,9\]'"
check "request_log: measured prompt tokens 12, 7, 20" \
  bash -c "jq -s -c '[sort_by(.request_id)[] | .num_delta_prompt_tokens]' '$run/metrics/request_level_metrics.jsonl' | grep -qx '\[12,7,20\]'"

# timed synthetic multi-turn: turns in turn_idx order, history = previous turns
run_trace timed '{type: timed_synthetic_multi_turn, page_size: 4}' "$DATA/timed_synthetic.jsonl" 2
check "timed: session 0 has 3 turns with prompt targets 40, 30, 25" \
  bash -c "jq -s -c '[.[] | select(.session_id == 0)] | sort_by(.session_context.node_id) | [.[].channels.text.target_prompt_tokens]' '$tr' | grep -qx '\[40,30,25\]'"
check "timed: measured prompt tokens equal the targets" prompt_tokens_match
check "timed: turn k carries 2k history messages" \
  bash -c "jq -s -e 'all(.[]; (.history | length) == 2 * .session_context.node_id)' '$tr' >/dev/null"

# shared prefix: sessions 0 and 2 have the same hash ids -> identical first prompts
run_trace shared '{type: shared_prefix, block_size: 8}' "$DATA/shared_prefix.jsonl" 3
check "shared_prefix: measured prompt tokens equal the targets" prompt_tokens_match
check "shared_prefix: same hash ids give identical prompt text" \
  bash -c "jq -s -e '([.[] | select(.session_context.node_id == 0)] | sort_by(.session_id)) as \$f | \$f[0].channels.text.input_text == \$f[2].channels.text.input_text and \$f[0].channels.text.input_text != \$f[1].channels.text.input_text' '$tr' >/dev/null"

# untimed content: the recorded history is sent
run_trace untimed '{type: untimed_content_multi_turn}' "$DATA/untimed.jsonl" 2
check "untimed: second turn sends the recorded history (system, user, assistant)" \
  bash -c "jq -s -e '[.[] | select(.session_id == 0 and .session_context.node_id == 1)][0].history == [{\"role\":\"system\",\"content\":\"You are terse.\"},{\"role\":\"user\",\"content\":\"hello there\"},{\"role\":\"assistant\",\"content\":\"hi\"}]' '$tr' >/dev/null"

# ShareGPT JSON array
run_trace sharegpt '{type: sharegpt}' "$DATA/sharegpt.json" 2
check "sharegpt: 3 requests, second turn has 2 history messages" \
  bash -c "jq -s -e 'length == 3 and ([.[] | select(.session_id == 0 and .session_context.node_id == 1)][0].history | length) == 2' '$tr' >/dev/null"

# RAG: 2 warmup sessions + 5 rows of the top-2 documents
run_trace rag '{type: rag, num_documents: 2}' "$DATA/rag.csv" 7
check "rag: 7 sessions, the rare document is not replayed" \
  bash -c "jq -s -e 'length == 7 and all(.[]; .channels.text.input_text != \"rare document\")' '$tr' >/dev/null"

e2e_finish
