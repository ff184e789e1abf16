#!/bin/sh
# Run every test: C unit tests, then the end-to-end suite against a real
# `roost serve`. Usage: scripts/test.sh [BUILD_DIR]. Ends with pytest's summary.
set -u
build=${1:-build}
case $build in
/*) ;;
*) build=$(pwd)/$build ;;
esac
"$build/unit-tests"
unit=$?
# E2E_ARGS: what pytest gets instead of the whole suite (make test-asan
# E2E_ASAN=..., as .ci/run narrows the sanitizer pass)
# shellcheck disable=SC2086
ROOST_BIN="$build/roost" /usr/bin/python3 -m pytest -q -p no:cacheprovider ${E2E_ARGS:-tests/e2e}
e2e=$?
[ "$unit" -eq 0 ] && [ "$e2e" -eq 0 ]
