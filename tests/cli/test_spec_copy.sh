#!/usr/bin/env bash
# docs/SPEC.md is the repository's copy of the product contract, ../shared/SPEC.md (beside the clone, as CI has
# it): the two must be the same text, so a change to the contract shows up here until the copy is updated
# (cp ../shared/SPEC.md docs/SPEC.md) and the code follows it.
#   bash test_spec_copy.sh DISTILL SOURCE_DIR   (exit 77, a skip, when ../shared/SPEC.md is not there)
set -euo pipefail
src=$2
shared=$src/../shared/SPEC.md
if [ ! -f "$shared" ]; then
  echo "SKIP: $shared is not beside this checkout"
  exit 77
fi
if ! cmp -s "$shared" "$src/docs/SPEC.md"; then
  echo "FAIL: docs/SPEC.md differs from $shared:"
  diff "$shared" "$src/docs/SPEC.md" | head -20
  exit 1
fi
echo "PASS: docs/SPEC.md is the same text as $shared"
