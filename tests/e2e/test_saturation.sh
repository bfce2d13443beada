#!/usr/bin/env bash
# Client saturation said plainly (docs/METRICS.md, Client saturation): driven far past what the client can
# dispatch (a zero-delay sim, arrivals every 20 us), the run says client_saturated: true with the figures
# in summary_stats.json, client_usage.json and a WARNING line, and --fail-on-slo --strict-client exits 3
# (without --strict-client the verdict is the SLOs'); at light load it is false. The dispatch spin: the
# overloaded loop polls instead of napping, the light one naps with a calibrated span.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"

e2e_start_sim 0 --mode zero
port=$E2E_SIM_PORT
e2e_single_cfg over.yml "$port" sessions=20000 output=4 prompt=8 timeout=30 \
  "traffic={type: rate, interval_generator: {type: fixed, interval: 0.00002}}" "evaluators=[{type: performance, slos: []}]"
rc=0; "$VEEKSHA" benchmark --config over.yml --output_dir "$TMP/over" --quiet --fail-on-slo --strict-client > over.out 2> over.err || rc=$?
check "overload: --fail-on-slo --strict-client exits 3" test "$rc" -eq 3 || cat over.err
s="$(ls -d "$TMP"/over/*/)metrics"
check "overload: summary_stats.json client_saturated true, with the figures" \
  jq -e '.client_saturated == true and (.client_saturation_reason | test("lateness p99 [0-9.]+ ms > 1.00 ms"))' "$s/summary_stats.json"
check "overload: client_usage.json says so too" jq -e '.client_saturated == true and (.busy_tick_share >= 0)' "$s/client_usage.json"
check "overload: the console warns" grep -q "WARNING: the client was saturated" over.out
check "overload: a busy loop polls before dispatches instead of napping (docs/CLIENT.md, Dispatch spin)" \
  jq -e '.dispatch_spin_poll_tick_share > 0' "$s/client_usage.json"
rc=0; "$VEEKSHA" benchmark --config over.yml --output_dir "$TMP/over2" --quiet --fail-on-slo --runtime.max_sessions 3000 > o2.out 2> o2.err || rc=$?
check "overload without --strict-client: the SLOs decide (none: exit 0)" test "$rc" -eq 0 || cat o2.err

# light load; the lateness bound is generous so that a busy test machine's stalls do not count: with
# two CPU hogs on this project's 2-core VM the slowest of these 20 dispatches was up to 78 ms late (2
# runs of 6 above the 50 ms bound this test had), 1.4-5 ms in the others
e2e_single_cfg light.yml "$port" sessions=20 "traffic={type: rate, interval_generator: {type: fixed, interval: 0.05}}" \
  "evaluators=[{type: performance, slos: []}]"
rc=0; "$VEEKSHA" benchmark --config light.yml --output_dir "$TMP/light" --quiet --fail-on-slo --strict-client \
  --runtime.saturation_lateness_p99_ms 500 > light.out 2> light.err || rc=$?
check "light load: exit 0" test "$rc" -eq 0 || cat light.err
check "light load: client_saturated false" \
  jq -e '.client_saturated == false and .client_saturation_reason == ""' "$(ls -d "$TMP"/light/*/)metrics/summary_stats.json" ||
  jq -r '"  reason: " + .client_saturation_reason' "$(ls -d "$TMP"/light/*/)metrics/summary_stats.json"
check "light load: no warning" bash -c "! grep -q 'client was saturated' light.out"
check "light load: the spin calibrated (64 naps measured at start-up, spans within auto's maxima), no polling mode" \
  jq -e '.wake_samples_short >= 64 and .dispatch_spin_busy_us > 0 and .dispatch_spin_busy_us <= 2000 and .dispatch_spin_window_us <= 20000 and .dispatch_spin_poll_tick_share == 0 and .dispatch_lateness_us_p99 != null' \
  "$(ls -d "$TMP"/light/*/)metrics/client_usage.json"
# (19 of 20 here: the first request is due at once; the bound leaves room for a pump cut short on a busy machine)
check "light load: the requests' bodies were built while the loop waited for them, none wasted ($(jq -c '[.dispatches_prepared_ahead, .prepared_ahead_replaced]' "$(ls -d "$TMP"/light/*/)metrics/client_usage.json") of 20)" \
  jq -e '.dispatches_prepared_ahead >= 15 and .prepared_ahead_replaced == 0' "$(ls -d "$TMP"/light/*/)metrics/client_usage.json"
rc=0; "$VEEKSHA" benchmark --config light.yml --output_dir "$TMP/bad" --runtime.saturation_busy_fraction 1.5 > bad.out 2> bad.err || rc=$?
check "a busy fraction above 1: exit 2 naming the key" bash -c "test $rc -eq 2 && grep -q saturation_busy_fraction bad.err"
e2e_finish
