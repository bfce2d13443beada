#!/usr/bin/env bash
# check-layering.sh [ROOT]: fail when a module reaches up the layering (docs/ARCHITECTURE.md, Layers).
#
# The layer order is written once: VK_MODULES in ROOT/CMakeLists.txt, lowest first. A module may
# include headers of, and link (vk_module in src/<module>/CMakeLists.txt), only itself and modules
# listed before it. Quoted includes inside a module must name a module ("core/buf.h"): a top-level
# header under src/ would be visible to every module and belong to none. src/main.c sits above
# every module and is not checked. Prints every violation as file:line and exits 1 if there is one.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

order=$(sed -n 's/^set(VK_MODULES \(.*\))$/\1/p' CMakeLists.txt)
[ -n "$order" ] || { echo "check-layering: no 'set(VK_MODULES ...)' line in $root/CMakeLists.txt" >&2; exit 2; }

exec awk -v order="$order" '
BEGIN {
	n = split(order, mods, " ")
	for (i = 1; i <= n; i++) rank[mods[i]] = i
	bad = 0
}
# module of a path src/<module>/...
function module_of(path,   parts) {
	split(path, parts, "/")
	return parts[2]
}
function fail(msg) {
	print msg
	bad = 1
}
FNR == 1 {
	m = module_of(FILENAME)
	if (!(m in rank) && !(m in reported)) {
		reported[m] = 1
		fail("src/" m "/: module not in the layer order (add it to VK_MODULES in CMakeLists.txt)")
	}
}
# #include "x/y.h" in a C file
FILENAME !~ /CMakeLists\.txt$/ && /^[ \t]*#[ \t]*include[ \t]*"/ {
	inc = $0
	sub(/^[^"]*"/, "", inc)
	sub(/".*$/, "", inc)
	if (index(inc, "/") == 0) {
		# a header of the same directory ("tok_nfc.h") is never written this way in this tree
		fail(FILENAME ":" FNR ": #include \"" inc "\": name the module (\"" m "/" inc "\"), or, for a top-level header, declare it in a module")
		next
	}
	split(inc, p, "/")
	dep = p[1]
	if (!(dep in rank))
		next # not a module (e.g. a directory of the build tree)
	if ((m in rank) && rank[dep] > rank[m])
		fail(FILENAME ":" FNR ": " m " includes " inc ": " dep " is above " m " in the layer order (VK_MODULES in CMakeLists.txt)")
	next
}
# vk_module(<name> vk_dep ...) in src/<module>/CMakeLists.txt
FILENAME ~ /CMakeLists\.txt$/ && /vk_module\(/ {
	for (i = 1; i <= NF; i++) {
		w = $i
		gsub(/[()]/, "", w)
		if (w !~ /^vk_/ || w == "vk_module")
			continue
		dep = substr(w, 4)
		if ((dep in rank) && (m in rank) && rank[dep] >= rank[m] && dep != m)
			fail(FILENAME ":" FNR ": vk_" m " links vk_" dep ": " dep " is not below " m " in the layer order (VK_MODULES in CMakeLists.txt)")
	}
}
END {
	if (bad)
		print "check-layering: FAILED (layer order: " order ")"
	exit bad
}
' $(find src -mindepth 2 \( -name '*.c' -o -name '*.h' -o -name CMakeLists.txt \) | LC_ALL=C sort)
