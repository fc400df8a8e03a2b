#!/bin/sh
# tests/fuzz/run.sh BUILD SECONDS [TARGET...]: runs each libFuzzer target of BUILD (made
# from tests/fuzz/CMakeLists.txt) for SECONDS, one after another, one job each, and prints
# its executions. The committed seed corpus tests/fuzz/corpus/<target>/ is read only; new
# inputs go to BUILD/corpus/<target>/, crashes to BUILD/crashes/<target>/. Exit status 1
# when any target crashed (the reproducer's path is printed).
set -u
build=$1
seconds=$2
shift 2
[ $# -gt 0 ] || set -- safetensors config manifest tokenizer video
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)
status=0
summary=""
for t in "$@"; do
    work="$build/corpus/$t"
    crashes="$build/crashes/$t"
    logdir="$build/logs/$t"
    mkdir -p "$work" "$crashes" "$logdir"
    echo "== fuzz_$t: $seconds s (seeds: tests/fuzz/corpus/$t/)"
    # -jobs=1 runs one worker in the background, logging to fuzz-0.log in its cwd.
    # rss_limit: FFmpeg may allocate a few hundred MiB for a frame it is told is large.
    (cd "$logdir" && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 OMP_WAIT_POLICY=PASSIVE \
        GRIDLORA_THREADS=1 OMP_NUM_THREADS=1 \
        "$build/fuzz_$t" -max_total_time="$seconds" -jobs=1 -workers=1 -timeout=30 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" \
        "$work" "$here/corpus/$t" > driver.log 2>&1)
    rc=$?
    log="$logdir/fuzz-0.log"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    found=$(ls "$crashes" | wc -l)
    [ -n "$execs" ] || execs="?"
    echo "   fuzz_$t: $execs executions, $found crash file(s) in $crashes"
    summary="$summary$(printf '%-12s %12s executions  %s crashes' "$t" "$execs" "$found")\n"
    if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
        status=1
        grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -n 5
    fi
done
printf '== fuzz summary (%s s per target)\n%b' "$seconds" "$summary"
exit $status
