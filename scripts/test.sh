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
ROOST_BIN="$build/roost" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e
e2e=$?
[ "$unit" -eq 0 ] && [ "$e2e" -eq 0 ]
