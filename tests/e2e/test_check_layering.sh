#!/usr/bin/env bash
# scripts/check-layering.sh (docs/ARCHITECTURE.md, Layers): the tree passes, and a copy of the tree
# with a deliberately added back-edge (an include that points up, a link that points up, a
# top-level header, a module missing from the order) fails, naming the file and line.
source "$(dirname "$0")/lib.sh" "$@"
script="$SRC/scripts/check-layering.sh"

out=$("$script" "$SRC" 2>&1) && rc=0 || rc=$?
check "the tree passes the layering check" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || echo "$out"

# fresh_copy DIR: the parts of the tree the check reads
fresh_copy() {
  rm -rf "$1" && mkdir -p "$1"
  cp -r "$SRC/src" "$SRC/CMakeLists.txt" "$1/"
}

# 1. client (below runner) includes a runner header: the back-edge issue 18 removed (client -> metrics)
t=$TMP/include_up
fresh_copy "$t"
line=$(grep -n '^#include "' "$t/src/client/client.c" | head -1 | cut -d: -f1)
sed -i "${line}i #include \"metrics/evaluator.h\"" "$t/src/client/client.c"
out=$("$script" "$t" 2>&1) && rc=0 || rc=$?
check "an include pointing up fails (exit 1)" [ "$rc" -eq 1 ]
check "... naming file, line and both modules" \
  grep -q "^src/client/client.c:$line: client includes metrics/evaluator.h: metrics is above client" <<<"$out"

# 2. a module links a module above it
t=$TMP/link_up
fresh_copy "$t"
sed -i 's/^vk_module(traffic vk_core/vk_module(traffic vk_runner vk_core/' "$t/src/traffic/CMakeLists.txt"
out=$("$script" "$t" 2>&1) && rc=0 || rc=$?
check "a link pointing up fails" [ "$rc" -eq 1 ]
check "... naming the CMakeLists.txt" grep -q "^src/traffic/CMakeLists.txt:1: vk_traffic links vk_runner" <<<"$out"

# 3. a top-level header under src/ included from a module (what commands.h was)
t=$TMP/toplevel
fresh_copy "$t"
echo '#include "commands.h"' >>"$t/src/sim/sim_main.c"
out=$("$script" "$t" 2>&1) && rc=0 || rc=$?
check "a top-level header included by a module fails" [ "$rc" -eq 1 ]
check "... naming it" grep -q '^src/sim/sim_main.c:[0-9]*: #include "commands.h"' <<<"$out"

# 4. a module directory that is not in the layer order
t=$TMP/unlisted
fresh_copy "$t"
mkdir -p "$t/src/newmod" && echo 'int newmod_x(void);' >"$t/src/newmod/newmod.h"
out=$("$script" "$t" 2>&1) && rc=0 || rc=$?
check "a module missing from VK_MODULES fails" [ "$rc" -eq 1 ]
check "... naming it" grep -q '^src/newmod/: module not in the layer order' <<<"$out"

# 5. the order is read from CMakeLists.txt: moving client above metrics makes metrics' includes of
# client/record.h the back-edges instead
t=$TMP/reordered
fresh_copy "$t"
sed -i 's/^set(VK_MODULES \(.*\) client \(.*\) metrics \(.*\))$/set(VK_MODULES \1 \2 metrics client \3)/' "$t/CMakeLists.txt"
out=$("$script" "$t" 2>&1) && rc=0 || rc=$?
check "the order comes from VK_MODULES" [ "$rc" -eq 1 ]
check "... metrics -> client/record.h is then reported" grep -q ': metrics includes client/record.h: client is above metrics' <<<"$out"

e2e_finish
