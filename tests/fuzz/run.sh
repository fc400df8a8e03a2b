#!/bin/sh
# tests/fuzz/run.sh BUILD SECONDS [TARGET...]: runs each libFuzzer target of BUILD (made
# from tests/fuzz/CMakeLists.txt) for SECONDS, one after another, and prints its
# executions. FUZZ_JOBS=N (default 1) runs N workers of each target side by side (one
# per core is the useful most; the count printed is their sum). The committed seed
# corpus tests/fuzz/corpus/<target>/ is read only; new inputs go to
# BUILD/corpus/<target>/, crashes to BUILD/crashes/<target>/, the workers' logs to
# BUILD/logs/<target>/<UTC start>-<pid>/fuzz-<worker>.log (a run never overwrites another's).
# Exit status 1 when any target crashed (the reproducer's path is printed).
set -u
build=$1
seconds=$2
shift 2
[ $# -gt 0 ] || set -- safetensors config manifest tokenizer video
jobs=${FUZZ_JOBS:-1}
case $jobs in ''|*[!0-9]*|0) echo "run.sh: FUZZ_JOBS must be a positive integer, not '$jobs'" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)
status=0
summary=""
for t in "$@"; do
    work="$build/corpus/$t"
    crashes="$build/crashes/$t"
    logdir="$build/logs/$t/$(date -u +%Y%m%dT%H%M%SZ)-$$"
    mkdir -p "$work" "$crashes" "$logdir"
    echo "== fuzz_$t: $seconds s, $jobs worker(s) (seeds: tests/fuzz/corpus/$t/; logs: $logdir)"
    # -jobs=N runs N workers in the background, each logging to fuzz-<i>.log in its cwd.
    # rss_limit: FFmpeg may allocate a few hundred MiB for a frame it is told is large.
    (cd "$logdir" && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 OMP_WAIT_POLICY=PASSIVE \
        GRIDLORA_THREADS=1 OMP_NUM_THREADS=1 \
        "$build/fuzz_$t" -max_total_time="$seconds" -jobs="$jobs" -workers="$jobs" -timeout=30 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" \
        "$work" "$here/corpus/$t" > driver.log 2>&1)
    rc=$?
    execs=0
    for log in "$logdir"/fuzz-*.log; do
        n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" 2>/dev/null | tail -n 1)
        if [ -z "$n" ]; then execs="?"; break; fi
        execs=$((execs + n))
    done
    found=$(ls "$crashes" | wc -l)
    echo "   fuzz_$t: $execs executions, $found crash file(s) in $crashes"
    summary="$summary$(printf '%-12s %12s executions  %s crashes' "$t" "$execs" "$found")\n"
    if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
        status=1
        cat "$logdir"/fuzz-*.log | grep -E "ERROR|SUMMARY|Test unit written" | head -n 5
    fi
done
printf '== fuzz summary (%s s per target, %s worker(s))\n%b' "$seconds" "$jobs" "$summary"
exit $status
