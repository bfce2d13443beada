#!/usr/bin/env bash
# Every malformed config under tests/data/config/bad/ must fail with exit 2 and ONE message naming
# file:line:column, the dotted key path and the problem. The first line of each file says what:
#   # expect: LINE:COL KEY.PATH|- MESSAGE FRAGMENT
source "$(dirname "$0")/lib.sh" "$@"
cd "$SRC"
n=0
for f in tests/data/config/bad/*.yml; do
  n=$((n + 1))
  exp=$(head -1 "$f" | sed 's/^# expect: //')
  lc=${exp%% *}; rest=${exp#* }; key=${rest%% *}; msg=${rest#* }
  set +e
  out=$("$VEEKSHA" config show --config "$f" 2>&1 >/dev/null)
  rc=$?
  set -e
  lines=$(printf '%s\n' "$out" | grep -c 'error:' || true)
  if [ "$rc" = 2 ] && [ "$lines" = 1 ] && [[ "$out" == *"$f:$lc: error: "* ]] &&
     { [ "$key" = - ] || [[ "$out" == *": $key: "* ]]; } && [[ "$out" == *"$msg"* ]]; then
    ok "$(basename "$f")"
  else
    fail "$(basename "$f"): rc=$rc expected '$exp', got: $out"
  fi
done
check "at least 30 malformed cases" test "$n" -ge 30

# the same through `veeksha benchmark`: exit 2 and no output directory created
set +e
out=$(cd "$TMP" && "$VEEKSHA" benchmark --config "$SRC/tests/data/config/bad/02_unknown_nested_key.yml" --output-dir "$TMP/out" 2>&1)
rc=$?
set -e
check "benchmark with a bad config exits 2" test "$rc" = 2
check "benchmark names the key" grep -q "runtime.max_sesions" <<<"$out"
check "no run directory created" test ! -e "$TMP/out"

# unreadable file, unknown flag, bad flag value
set +e
out=$("$VEEKSHA" config show --config "$TMP/missing.yml" 2>&1); rc=$?
set -e
check "missing file exits 2" test "$rc" = 2
check "missing file message" grep -q "cannot read '$TMP/missing.yml': No such file" <<<"$out"
# a device or a huge file given as the config: refused at 64 MiB, not read until memory runs out
set +e
out=$(timeout 20 "$VEEKSHA" config show --config /dev/zero 2>&1); rc=$?
set -e
check "--config /dev/zero exits 2 (got $rc)" test "$rc" = 2
check "--config /dev/zero message" grep -q "cannot read '/dev/zero': larger than 64 MiB" <<<"$out"
set +e
out=$("$VEEKSHA" config show --rate-traffic-scheduler-poisson-interval-generator-arival-rate 3 2>&1); rc=$?
set -e
check "unknown flag exits 2" test "$rc" = 2
check "unknown flag did-you-mean" grep -q "did you mean --rate-traffic-scheduler-poisson-interval-generator-arrival-rate" <<<"$out"
set +e
out=$("$VEEKSHA" config show --seed abc 2>&1); rc=$?
set -e
check "bad flag value exits 2" test "$rc" = 2
check "bad flag value names the flag" grep -q -- "--seed: seed: expected an integer, got 'abc'" <<<"$out"
set +e
out=$("$VEEKSHA" config show --vllm-server-port 9000 2>&1); rc=$?
set -e
check "--vllm-server-port alone is an error" test "$rc" = 2
check "--vllm-server-port alone explains --server-type" grep -q -- "add --server-type vllm" <<<"$out"
set +e
out=$("$VEEKSHA" config show --server-type vllm --sglang-server-port 9000 2>&1); rc=$?
set -e
check "variant flag of another type is an error" test "$rc" = 2
check "variant mismatch message" grep -q "applies to server type 'sglang', but the type is 'vllm'" <<<"$out"
e2e_finish
