#!/bin/sh
# tests/checks/tsan.sh BUILD: the OpenMP code of a ThreadSanitizer build (`make tsan`,
# docs/CHECKS.md) run with LLVM's libomp and its Archer tool, which tells TSan about
# OpenMP's barriers, tasks and locks. Runs the tests of the threaded layers and a short
# training and sampling run; exit 1 if any run failed or TSan reported anything.
# Reports: BUILD/tsan-logs/tsan.<pid>; each run's output: BUILD/tsan-logs/<name>.out.
set -u
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
logs=$build/tsan-logs
rm -rf "$logs"
mkdir -p "$logs"
archer=${ARCHER_LIB:-$(ls /usr/lib/llvm-*/lib/libarcher.so 2>/dev/null | tail -n 1)}
[ -n "$archer" ] && [ -f "$archer" ] || {
    echo "tsan: libarcher.so not found (Debian: apt-get install libomp-14-dev)"
    exit 1
}
# Archer is loaded as an OMPT tool; without it every OpenMP barrier is a false race.
export OMP_TOOL_LIBRARIES="$archer"
export ARCHER_OPTIONS="verbose=1"
export TSAN_OPTIONS="suppressions=$here/tsan.supp log_path=$logs/tsan history_size=4"
export GRIDLORA_THREADS="${GRIDLORA_THREADS:-3}"
export OMP_WAIT_POLICY=PASSIVE
status=0
tmp=$(mktemp -d /tmp/gl_tsan.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
run() {
    name=$1
    shift
    printf '== tsan: %s\n' "$name"
    if ! "$@" > "$logs/$name.out" 2>&1; then
        echo "   $name failed:"
        tail -n 5 "$logs/$name.out"
        status=1
    fi
}
for t in ${TSAN_TESTS:-test_attention test_linear test_norm test_activation test_mse test_modulate test_rope test_patchify test_embedding test_core test_lora test_dit test_sample test_train test_render}; do
    run "$t" "$build/$t"
done
run train "$build/gridlora" train base --preset tiny --procedural --steps 5 --batch 2 \
    --out "$tmp/base.safetensors"
run train-bf16 env GRIDLORA_PRECISION=bf16 "$build/gridlora" train base --preset tiny --procedural \
    --steps 5 --batch 2 --out "$tmp/bf16.safetensors"
run generate "$build/gridlora" generate --model "$tmp/base.safetensors" --steps 2 \
    --prompt "a red striped star orbiting on sand" --out "$tmp/star.gif"
grep -q "Archer" "$logs"/*.out 2>/dev/null || echo "tsan: Archer did not say it was loaded (ARCHER_OPTIONS=verbose=1)"
reports=$(cat "$logs"/tsan.* 2>/dev/null | grep -c "WARNING: ThreadSanitizer")
echo "== tsan: $reports report(s) (in $logs/tsan.*)"
[ "$reports" -eq 0 ] || status=1
exit $status
