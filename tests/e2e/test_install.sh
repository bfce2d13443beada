#!/usr/bin/env bash
# make install / make uninstall (the Makefile's recipes, on this build directory) into a temporary
# DESTDIR and PREFIX: the installed binary runs and prints its version and help, its man pages
# render without warnings, the installed bash completion registers, and uninstall removes every
# file it installed (and only directories of ours).
source "$(dirname "$0")/lib.sh" "$@"
BUILD=$(dirname "$VEEKSHA")
cd "$TMP"
if [ ! -f "$BUILD/cmake_install.cmake" ]; then
  echo "SKIP: $BUILD has no cmake_install.cmake"
  exit 77
fi
stage=$TMP/stage
prefix=/opt/vk-test
root=$stage$prefix
mkdir -p "$root/share/man/man1"
touch "$root/share/man/man1/other.1" # someone else's file next to the install: must survive
# -o build: the build directory is the one under test; do not rebuild it from the test.
rc=0
make -s -C "$SRC" -o build install BUILD="$BUILD" PREFIX="$prefix" DESTDIR="$stage" > install.log 2>&1 || rc=$?
check "make install exits 0" test "$rc" -eq 0 || cat install.log
for f in bin/veeksha share/man/man1/veeksha.1 share/man/man1/veeksha-benchmark.1 \
  share/man/man1/veeksha-sim-server.1 share/bash-completion/completions/veeksha \
  share/zsh/site-functions/_veeksha share/doc/veeksha/README.md share/doc/veeksha/docs/CONFIG.md \
  share/doc/veeksha/examples/base_config.yml share/veeksha/install-manifest.txt \
  share/veeksha/bridges/lmeval_bridge.py share/veeksha/bridges/wandb_bridge.py \
  share/veeksha/bridges/veeksha_protocol.py; do
  check "installed $f" test -s "$root/$f"
done
check "nothing installed outside the prefix" test -z "$(cd "$stage" && find . -type f ! -path "./${prefix#/}/*" ! -name other.1)"
check "the binary is executable" test -x "$root/bin/veeksha"

rc=0; "$root/bin/veeksha" version > version.txt || rc=$?
check "installed veeksha version exits 0" test "$rc" -eq 0
cat version.txt
check "version names the build" grep -qE '^veeksha [0-9]+\.[0-9]+\.[0-9]+ \(git [^,]+, ' version.txt
for lib in libcurl libfyaml PCRE2 cJSON; do
  check "version names $lib" grep -qE "^$lib [0-9]" version.txt
done
check "version names the TLS library libcurl uses" grep -qE '^libcurl .*\(TLS: [A-Za-z]+/[0-9]' version.txt
if git -C "$SRC" rev-parse --git-dir > /dev/null 2>&1; then
  # The build captured git describe; the hash of HEAD is in it (the tree may have moved on since).
  check "version carries git describe" grep -qE '\(git ([^ ,]*-g)?[0-9a-f]{7,}' version.txt
fi
"$root/bin/veeksha" --version > version2.txt
check "--version prints the same" cmp -s version.txt version2.txt
# the installed binary runs the installed bridge (docs/INTEGRATIONS.md): this environment's python
# answers with the path of the script it was given
mkdir -p env/bin
printf '#!/bin/sh\necho "{\\"type\\": \\"error\\", \\"message\\": \\"script $2\\"}"\n' > env/bin/python
chmod +x env/bin/python
# an lmeval benchmark with the installed binary and the python of ENV_DIR; its output in OUT, its
# exit status in rc
run_installed_bridge() {
  rc=0
  env -u VEEKSHA_BRIDGE_DIR "$root/bin/veeksha" benchmark --session-generator-type lmeval \
    --lmeval-session-generator-env-path "$1" --openai-chat-completions-client-api-base http://127.0.0.1:9/v1 \
    --output-dir "$1.out" > "$2" 2>&1 || rc=$?
}
run_installed_bridge "$TMP/env" bridge.out
check "the installed binary runs the installed lmeval bridge" \
  grep -q "script $root/bin/../share/veeksha/bridges/lmeval_bridge.py" bridge.out
# ... and the installed bridge finds its protocol module (veeksha_protocol.py) beside it: with a
# real python3 and no lm_eval it answers with the protocol's missing-package error
if command -v python3 > /dev/null; then
  mkdir -p env3/bin
  printf '#!/bin/sh\nexec python3 "$@"\n' > env3/bin/python
  chmod +x env3/bin/python
  run_installed_bridge "$TMP/env3" bridge3.out
  check "the installed lmeval bridge imports its protocol module (exit 2, cannot import lm_eval)" \
    bash -c "test $rc = 2 && grep -q \"cannot import lm_eval (No module named 'lm_eval')\" bridge3.out"
  check "no bytecode written beside the installed bridges" test ! -e "$root/share/veeksha/bridges/__pycache__"
fi
rc=0; "$root/bin/veeksha" version extra > /dev/null 2>&1 || rc=$?
check "version with an argument exits 2" test "$rc" -eq 2
"$root/bin/veeksha" --help > help.txt
check "installed veeksha --help lists benchmark and version" bash -c "grep -q '^  benchmark ' help.txt && grep -q '^  version ' help.txt"
"$root/bin/veeksha" benchmark --help > bhelp.txt
check "installed veeksha benchmark --help" grep -q -- '--traffic-scheduler-type' bhelp.txt

for page in "$root"/share/man/man1/veeksha*.1; do
  groff -man -Tutf8 -ww -rLL=80n -z "$page" 2> warn.txt
  check "$(basename "$page") renders without warnings" test ! -s warn.txt
done
if command -v man > /dev/null; then
  MANWIDTH=80 man -l "$root/share/man/man1/veeksha.1" > page.txt 2> warn.txt
  check "man -l veeksha.1 renders without warnings" test ! -s warn.txt
  check "the page names the commands" grep -q 'capacity-search' page.txt
  MANWIDTH=80 MANPATH="$root/share/man" man veeksha-sim-server > page.txt 2> warn.txt
  check "man finds veeksha-sim-server in MANPATH" grep -q -- '--ttft-ms' page.txt
fi
check "installed completion registers (complete -p veeksha)" \
  bash -c "source '$root/share/bash-completion/completions/veeksha' && complete -p veeksha"
check "installed completion equals the binary's" \
  cmp -s "$root/share/bash-completion/completions/veeksha" <("$root/bin/veeksha" completion bash)
check "installed zsh completion equals the binary's" \
  cmp -s "$root/share/zsh/site-functions/_veeksha" <("$root/bin/veeksha" completion zsh)

# Uninstall: with a wrong prefix it refuses and names what it looked for; with the right one it
# removes every installed file, our directories, and nothing else.
rc=0; make -s -C "$SRC" uninstall PREFIX=/elsewhere DESTDIR="$stage" > un.log 2>&1 || rc=$?
check "uninstall of a prefix with no install fails" test "$rc" -ne 0
check "and names the manifest it looked for" grep -q "/elsewhere/share/veeksha/install-manifest.txt" un.log
rc=0
make -s -C "$SRC" uninstall PREFIX="$prefix" DESTDIR="$stage" > un.log 2>&1 || rc=$?
check "make uninstall exits 0" test "$rc" -eq 0
left=$(cd "$stage" && find . -type f ! -name other.1)
check "uninstall removed every installed file (left: ${left:-none})" test -z "$left"
left=$(cd "$stage" && find . -name '*veeksha*')
check "no veeksha directory left (left: ${left:-none})" test -z "$left"
check "someone else's file survives" test -f "$root/share/man/man1/other.1"
check "shared directories survive" test -d "$root/share/man/man1"
rc=0; make -s -C "$SRC" uninstall PREFIX="$prefix" DESTDIR="$stage" > /dev/null 2>&1 || rc=$?
check "a second uninstall fails (nothing installed)" test "$rc" -ne 0
e2e_finish
