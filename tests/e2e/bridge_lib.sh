# Shared by the bridge tests (test_lmeval.sh, test_lmeval_requests.sh, test_wandb.sh; source after
# lib.sh): fake Python environments for the bridges of docs/INTEGRATIONS.md. $TMP/env runs python3
# with the stand-in packages of tests/data/standins on its path, $TMP/bare runs python3 with
# neither; the bridges are taken from the source tree.
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }

mkenv() { # mkenv DIR [PYTHONPATH]: a fake Python environment (DIR/bin/python)
  mkdir -p "$1/bin"
  printf '#!/bin/sh\nPYTHONPATH=%s exec python3 "$@"\n' "${2-}" > "$1/bin/python"
  chmod +x "$1/bin/python"
}
mkenv "$TMP/env" "$SRC/tests/data/standins"
mkenv "$TMP/bare" ""
export VEEKSHA_BRIDGE_DIR="$SRC/python/veeksha_bridges"
