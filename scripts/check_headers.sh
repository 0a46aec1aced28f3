#!/usr/bin/env bash
# One public header per folder: the header whose first line names the folder's job ("/* folder/: ... */") is the
# only one of the folder's headers that code in other folders includes. Tests (tests/) and benchmarks (bench/) may
# include any header of the folder they test. Exit 1 naming each include at fault.
set -euo pipefail
cd "$(dirname "$0")/.."
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "check_headers: not a git checkout; skipped"; exit 77; }
status=0
declare -A public
for dir in $(git ls-files '*.h' '*.c' | grep -v '^tests/\|^bench/' | xargs -n1 dirname | sort -u); do
  heads=()
  for h in "$dir"/*.h; do
    [ -e "$h" ] && head -1 "$h" | grep -q "^/\* $dir/: " && heads+=("$h")
  done
  if [ "${#heads[@]}" -ne 1 ]; then
    if ls "$dir"/*.h >/dev/null 2>&1; then
      echo "check_headers: $dir/ has ${#heads[@]} headers opening with \"/* $dir/: \" (want exactly one public header)"
      status=1
    fi
    continue
  fi
  public[$dir]=${heads[0]}
done
while IFS= read -r file; do
  dir=$(dirname "$file")
  while IFS=: read -r line inc; do
    idir=$(dirname "$inc")
    [ "$idir" = "$dir" ] && continue
    case $inc in
      ../* | */../*)
        echo "check_headers: $file:$line includes $inc by a relative path (name it from the repository root)"
        status=1
        continue
        ;;
    esac
    [ -e "$inc" ] || continue  # a system or generated header
    if [ "${public[$idir]:-}" != "$inc" ]; then
      echo "check_headers: $file:$line includes $inc, which is private to $idir/ (its public header: ${public[$idir]:-none})"
      status=1
    fi
  done < <(grep -n '^#include "' "$file" | sed 's/^\([0-9]*\):#include "\([^"]*\)".*/\1:\2/')
done < <(git ls-files '*.c' '*.h' | grep -v '^tests/\|^bench/')
exit $status
