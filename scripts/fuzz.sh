#!/bin/bash
# Run the libFuzzer targets built by `make fuzz-build` (tests/fuzz/): each
# for FUZZ_SECONDS (default 60) from its seed corpus with its dictionary,
# after replaying its saved regressions. Fails when any target reports a
# crash, leak, timeout or sanitizer error. One line per target, then
# "N passed, M failed". Usage: scripts/fuzz.sh BUILD_DIR NAME...
# New corpus entries go to BUILD_DIR/corpus/<name>/ (the seeds in the tree
# stay small and hand-written); crash inputs to BUILD_DIR/artifacts/.
# Targets run FUZZ_JOBS at a time (default: the number of cores); each
# is one process, so the cores are used without libFuzzer's -jobs.
set -u
dir=${1:?usage: fuzz.sh BUILD_DIR NAME...}
shift
secs=${FUZZ_SECONDS:-60}
fuzz=tests/fuzz
# Abort on the first UBSan report; LSan on (the default) checks every input.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
jobs=${FUZZ_JOBS:-$(nproc)}

# One target: its result line goes to $dir/logs/NAME.result ("fuzz NAME
# ok ..." or "fuzz NAME FAILED ..."), its libFuzzer output to NAME.log.
run_one() {
	name=$1
	bin=$dir/fuzz-$name
	log=$dir/logs/$name.log
	work=$dir/corpus/$name
	mkdir -p "$dir/logs" "$dir/artifacts" "$work"
	status=ok
	: >"$log"
	if [ ! -x "$bin" ]; then
		status="FAILED (not built)"
	fi
	# Saved crash inputs must stay fixed: replay each once.
	if [ "$status" = ok ] && [ -d "$fuzz/regressions/$name" ] &&
		[ -n "$(ls -A "$fuzz/regressions/$name")" ]; then
		"$bin" "$fuzz/regressions/$name"/* >>"$log" 2>&1 ||
			status="FAILED (regression input)"
	fi
	if [ "$status" = ok ]; then
		dict=""
		[ -f "$fuzz/$name.dict" ] && dict="-dict=$fuzz/$name.dict"
		# -timeout: one input taking this long is a finding (quadratic
		# parsing); -rss_limit_mb bounds memory per input process.
		"$bin" $dict -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix="$dir/artifacts/$name-" \
			"$work" "$fuzz/corpus/$name" >>"$log" 2>&1 ||
			status="FAILED (see $log)"
	fi
	# Belt and braces: any sanitizer report fails the run even if the
	# exit code did not say so.
	if [ "$status" = ok ] && grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant failed' "$log"; then
		status="FAILED (sanitizer report in $log)"
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	{
		printf 'fuzz %-14s %s (%s runs, %s, %ss)\n' "$name" "$status" "${runs:-0}" "${cov:-cov: ?}" "$secs"
		if [ "$status" != ok ]; then
			grep -E 'ERROR:|runtime error:|invariant failed|SUMMARY:' "$log" | head -5 | sed 's/^/    /'
		fi
	} >"$dir/logs/$name.result"
}

mkdir -p "$dir/logs"
running=0
for name in "$@"; do
	rm -f "$dir/logs/$name.result"
	run_one "$name" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

passed=0
failed=0
for name in "$@"; do
	res=$dir/logs/$name.result
	if [ ! -f "$res" ]; then
		printf 'fuzz %-14s FAILED (no result)\n' "$name"
		failed=$((failed + 1))
		continue
	fi
	cat "$res"
	case $(awk 'NR == 1 { print $3 }' "$res") in
	ok) passed=$((passed + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
