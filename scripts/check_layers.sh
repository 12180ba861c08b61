#!/usr/bin/env bash
# The direction of includes, checked file by file: a source in a layer may
# include headers of its own layer and of the layers below it, never above
# (docs/architecture.md). The compiler enforces the same through per-layer
# include paths (Makefile); this says which include, in which file, is wrong.
#   scripts/check_layers.sh [ROOT]     prints "N passed, N failed"
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
layers=(base market core io bindings vm feed venue engine cmd)
dir_of() { [ "$1" = bindings ] && echo "$root/bindings" || echo "$root/host/$1"; }
pass=0 fail=0
for ((i = 0; i < ${#layers[@]}; i++)); do
  layer=${layers[$i]}
  for f in "$(dir_of "$layer")"/*.[ch]; do
    [ -e "$f" ] || continue
    while IFS= read -r h; do
      found=""
      for ((j = 0; j < ${#layers[@]}; j++)); do
        if [ -e "$(dir_of "${layers[$j]}")/$h" ]; then found=$j; break; fi
      done
      if [ -z "$found" ]; then
        continue # a system or generated header
      elif [ "$found" -le "$i" ]; then
        pass=$((pass + 1))
      else
        fail=$((fail + 1))
        echo "FAIL ${f#"$root"/}: includes $h from ${layers[$found]}, a layer above $layer"
      fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
  done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
