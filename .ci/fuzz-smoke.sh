#!/usr/bin/env bash
# .ci/fuzz-smoke.sh: runs every fuzz target of the root module briefly, one
# target per `go test -fuzz` run (go test takes one target at a time).
#
#   bash .ci/fuzz-smoke.sh [budget]
#
# budget is passed to -fuzztime; the default, 3000x, is a count rather than
# a duration, which sidesteps Go's fuzz coordinator timing out on a loaded
# machine (golang/go#75804). Seed corpora always run in plain `go test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
budget="${1:-3000x}"
n=0
for pkg in $(go list ./...); do
    for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
        echo "fuzz $pkg $target"
        go test -run '^$' -fuzz "^${target}\$" -fuzztime "$budget" "$pkg" >/dev/null
        n=$((n + 1))
    done
done
echo "fuzz smoke: $n targets, $budget each"
