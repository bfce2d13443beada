#!/usr/bin/env bash
# The generated shell completions and man pages (veeksha completion bash|zsh, veeksha man) cover
# every flag that each command's --help lists, bash completion completes commands, subcommands,
# flags, enum values and files when its function is called as bash would call it, and every page
# renders in 80 columns without a groff warning.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
"$VEEKSHA" completion bash > veeksha.bash
check "completion bash exits 0" test $? -eq 0
"$VEEKSHA" completion zsh > _veeksha
"$VEEKSHA" man --output-dir "$TMP/man"
check "man --output-dir exits 0" test $? -eq 0
rc=0; "$VEEKSHA" completion fish > /dev/null 2> err.txt || rc=$?
check "completion fish is a usage error" test "$rc" -eq 2
check "the error names the shell" grep -q "expected 'bash' or 'zsh', got fish" err.txt
rc=0; "$VEEKSHA" man no-such-command > /dev/null 2> err.txt || rc=$?
check "man of an unknown command is a usage error" test "$rc" -eq 2

# The flags a help text lists (outside `quoted commands`, which name other commands' flags).
help_flags() {
  sed 's/`[^`]*`//g; s/$/ /' | { grep -oE '(^|[][ (,|{])--[a-z0-9][a-z0-9-]*[^a-zA-Z0-9_.-]' || true; } |
    sed -E 's/^[][ (,|{]//; s/[^a-z0-9-]$//; s/-+$//' | sort -u
}
# Roff source back to plain text: \- is a dash, \: a break point, \e a backslash.
man_text() { sed -e 's/\\-/-/g' -e 's/\\://g' -e 's/\\e/\\/g' "$1"; }

# shellcheck disable=SC1091
source ./veeksha.bash
commands=$("$VEEKSHA" --help | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1}')
check "veeksha --help lists commands" test "$(echo "$commands" | wc -w)" -ge 10
# Each key: the command whose flags are checked, then the arguments that print its help.
keys=()
for c in $commands; do keys+=("$c|$c"); done
keys+=("microbench prefill|microbench prefill" "microbench decode|microbench decode"
       "microbench stress|microbench stress" "microbench stress|microbench stress --stress-mode range"
       "microbench stress|microbench stress --stress-mode auto" "config show|config show"
       "sweep status|sweep status" "sweep collect|sweep collect")
total=0
for entry in "${keys[@]}"; do
  key=${entry%%|*}; args=${entry#*|}
  page=man/veeksha-${key%% *}.1
  [ "$key" = version ] && page=man/veeksha.1
  # shellcheck disable=SC2086
  "$VEEKSHA" $args --help | help_flags > want.txt
  _veeksha_flags "$key" | tr ' ' '\n' | sort -u > have.txt
  missing=$(comm -23 want.txt have.txt | tr '\n' ' ')
  check "completion of '$key' has every flag of '$args --help' (missing: ${missing:-none})" test -z "$missing"
  man_text "$page" > page.txt
  missing=""
  while read -r f; do grep -qF -- "$f" page.txt || missing+="$f "; done < want.txt
  check "$page has every flag of '$args --help' (missing: ${missing:-none})" test -z "$missing"
  total=$((total + $(wc -l < want.txt)))
done
bench_flags=$("$VEEKSHA" benchmark --help | help_flags | wc -l)
check "benchmark --help lists at least 250 flags ($bench_flags)" test "$bench_flags" -ge 250
echo "checked $total flag mentions"

# Completion as bash calls it: COMP_WORDS / COMP_CWORD, then the function named by complete -F.
complete_words() {
  COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
  _veeksha
  printf '%s\n' "${COMPREPLY[@]}" | sort
}
check "complete -p names the function" bash -c "source ./veeksha.bash && complete -p veeksha | grep -q -- '-F _veeksha veeksha'"
check "veeksha bench<TAB> is benchmark" test "$(complete_words veeksha bench)" = benchmark
check "veeksha <TAB> lists every command" test "$(complete_words veeksha '' | wc -l)" -ge 11
check "veeksha <TAB> hides completion and man" test -z "$(complete_words veeksha '' | grep -x 'completion\|man')"
complete_words veeksha benchmark --traffic > cand.txt
check "benchmark --traffic<TAB> offers the traffic flags" grep -qx -- --traffic-scheduler-type cand.txt
check "benchmark --traffic<TAB> offers only --traffic* flags" bash -c "! grep -v '^--traffic' cand.txt"
want=$("$VEEKSHA" benchmark --help | help_flags | grep -c '^--traffic' || true)
check "benchmark --traffic<TAB> offers all $want of them" test "$(wc -l < cand.txt)" -eq "$want"
check "section types: --traffic-scheduler-type <TAB>" test "$(complete_words veeksha benchmark --traffic-scheduler-type '' | tr '\n' ' ')" = "concurrent rate sequential_launch "
check "enum keys get the table's values: --sequential-launch-traffic-scheduler-ordering <TAB>" test "$(complete_words veeksha benchmark --sequential-launch-traffic-scheduler-ordering '' | tr '\n' ' ')" = "dispatch prefill request "
check "sim-server --mode <TAB> from the help text" test "$(complete_words veeksha sim-server --mode f)" = fixed
check "sim-server --preset <TAB> lists the presets" test "$(complete_words veeksha sim-server --preset llama3-8b- | tr '\n' ' ')" = "llama3-8b-a100 llama3-8b-h100 llama3-8b-h200 "
check "sim-server --gpu <TAB> lists the GPUs" test "$(complete_words veeksha sim-server --gpu '' | wc -l)" -eq "$("$VEEKSHA" sim-server --list-presets | awk '/^[a-z]+:$/{s=$1} s=="gpus:" && /^  [^ ]/' | wc -l)"
check "sim-server --model-arch <TAB>" bash -c "[[ ' $(complete_words veeksha sim-server --model-arch '' | tr '\n' ' ')' == *' llama3-8b '* ]]"
check "microbench pr<TAB> is prefill" test "$(complete_words veeksha microbench pr)" = prefill
check "microbench stress --stress-mode <TAB>" test "$(complete_words veeksha microbench stress --stress-mode '' | tr '\n' ' ')" = "auto manual range "
check "microbench prefill --<TAB> uses the prefill flags" test "$(complete_words veeksha microbench prefill --prefill | wc -l)" -ge 1
check "config <TAB> offers show" bash -c "[[ ' $(complete_words veeksha config '' | tr '\n' ' ')' == *' show '* ]]"
mkdir -p cfgdir && touch cfgdir/run.yml
check "--config <TAB> completes files" test "$(complete_words veeksha benchmark --config cfgdir/r)" = cfgdir/run.yml
check "--output-dir <TAB> completes directories" test "$(complete_words veeksha benchmark --output-dir cfg)" = cfgdir
check "--flag=<TAB> completes values" test "$(complete_words veeksha benchmark --traffic-scheduler-type = c)" = concurrent
check "a value flag offers nothing (--seed <TAB>)" test -z "$(complete_words veeksha benchmark --seed '')"
complete_words veeksha config describe traffic_scheduler.inter > keys.txt
check "config describe <TAB> completes dotted keys" grep -qx traffic_scheduler.interval_generator.arrival_rate keys.txt
n_keys=0; n_bad=0
for k in $(complete_words veeksha config describe ''); do
  n_keys=$((n_keys + 1))
  "$VEEKSHA" config describe "$k" > /dev/null 2>&1 || { n_bad=$((n_bad + 1)); echo "not describable: $k"; }
done
check "config describe <TAB> offers many keys ($n_keys)" test "$n_keys" -ge 100
check "every completed key is one config describe accepts" test "$n_bad" -eq 0
check "report <TAB> completes paths" test "$(complete_words veeksha report cfgd)" = cfgdir

if command -v zsh > /dev/null; then
  check "zsh completion parses" zsh -n _veeksha
  # The completion body run as zsh runs it (words/CURRENT set), compadd/_files recording what
  # they were given (zsh itself filters the candidates by the typed prefix).
  cat > zsh_driver.zsh <<'ZEOF'
compadd() { while [[ $1 == -* && $1 != -- ]]; do shift; done; [[ $1 == -- ]] && shift; print -l -- "$@"; }
_files() { print -- "@files $*"; }
_message() { print -- "@message"; }
words=("$@"); CURRENT=$#
source ./_veeksha
ZEOF
  zcomp() { zsh zsh_driver.zsh "$@" | sort | tr '\n' ' '; }
  check "zsh: veeksha <TAB> offers benchmark" bash -c "zsh zsh_driver.zsh veeksha '' | grep -qx benchmark"
  check "zsh: section types" test "$(zcomp veeksha benchmark --traffic-scheduler-type '')" = "concurrent rate sequential_launch "
  check "zsh: flags of benchmark" test "$(zsh zsh_driver.zsh veeksha benchmark --t | grep -c -- '^--traffic-scheduler-type$')" -eq 1
  check "zsh: --config completes files" test "$(zcomp veeksha benchmark --config '')" = "@files  "
  check "zsh: --output-dir completes directories" test "$(zcomp veeksha benchmark --output-dir '')" = "@files -/ "
  check "zsh: microbench subcommands" test "$(zcomp veeksha microbench '')" = "decode prefill stress "
else
  echo "NOTE: zsh is not installed; the zsh completion's syntax is not checked here"
fi
check "zsh completion starts with #compdef" bash -c "head -1 _veeksha | grep -qx '#compdef veeksha'"

# Every page renders in 80 columns, without a single groff warning (-ww), with man -l too.
for page in man/*.1; do
  groff -man -Tutf8 -ww -rLL=80n -z "$page" 2> warn.txt
  check "$page renders without groff warnings" test ! -s warn.txt
done
check "man/veeksha.1 lists the benchmark page" grep -q 'veeksha\\-benchmark' man/veeksha.1
if command -v man > /dev/null; then
  MANWIDTH=80 man -l man/veeksha-benchmark.1 2> warn.txt > rendered.txt
  check "man -l renders veeksha-benchmark.1 without warnings" test ! -s warn.txt
  check "the rendered page shows a flag" grep -q -- '--traffic-scheduler-type' rendered.txt
fi
e2e_finish
