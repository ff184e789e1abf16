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
# E2E_JOBS: pytest-xdist workers (default 2; 0 runs in this process). A
# test file stays on one worker, and the files that bind fixed loopback
# addresses share one (tests/e2e/conftest.py, _xdist_group).
jobs=${E2E_JOBS:-2}
par=""
if [ "$jobs" -gt 0 ]; then
	if /usr/bin/python3 -c 'import xdist' 2>/dev/null; then
		par="-n $jobs --dist loadgroup"
	else
		echo "test.sh: pytest-xdist is not installed (make test-deps): one worker" >&2
	fi
fi
# shellcheck disable=SC2086
ROOST_BIN="$build/roost" /usr/bin/python3 -m pytest -q -p no:cacheprovider $par ${E2E_ARGS:-tests/e2e}
e2e=$?
[ "$unit" -eq 0 ] && [ "$e2e" -eq 0 ]
