#!/usr/bin/env bash
# .ci/fuzz-smoke.sh: runs every fuzz target of every module briefly, one
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
# The root module and every nested one (each has its own go.mod).
for mod in $(find . -name go.mod -not -path './.git/*' -printf '%h\n' | sort); do
    for pkg in $(cd "$mod" && go list ./...); do
        for target in $(cd "$mod" && go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
            echo "fuzz $pkg $target"
            (cd "$mod" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$budget" "$pkg" >/dev/null)
            n=$((n + 1))
        done
    done
done
echo "fuzz smoke: $n targets, $budget each"
