#!/usr/bin/env bash
# Installs every Debian 12 package the build, tests, fuzzing and plots need. Idempotent:
# packages already present are skipped, and apt is not touched when nothing is missing.
set -euo pipefail
PKGS=(
  build-essential cmake pkg-config
  libcurl4-openssl-dev   # HTTP client (src/client, src/server health checks)
  libfyaml-dev           # YAML configs (src/config)
  libcjson-dev           # JSON parsing (SSE chunks, request bodies, tokenizer.json, traces)
  libpcre2-dev           # tokenizer pre-tokenizer regexes (src/tokenizer)
  libcmocka-dev          # unit tests
  gnuplot-nox            # PNG plots
  jq curl python3        # end-to-end test scripts (python3: free ports, bench/smoke)
  clang libclang-rt-14-dev  # libFuzzer targets
  clang-format           # make format-check (run by .ci/run)
  clang-tidy             # make tidy (run by .ci/run; .clang-tidy)
  procps psmisc          # ps/pgrep used by process-lifecycle tests
  time                   # /usr/bin/time -v: client CPU and peak RSS in bench/
  openssl                # openssl s_server: the self-signed https case of the fault suite
  zsh groff-base man-db  # the generated zsh completion and man pages are exercised (tests/e2e/test_completion_man.sh)
  slurm-wlm munge        # a single-node Slurm cluster for tests/e2e/test_slurm.sh (tests/tools/slurm_cluster.sh)
  chromium               # headless browser for tests/e2e/test_report_browser.sh (report.html renders offline)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
