#!/usr/bin/env bash
# tests/test_cli_kill.sh BIN: training killed with SIGKILL at several moments leaves a
# loadable checkpoint and no half-written file under a final name, and --resume then
# ends bit-identical to a run never interrupted (same seed, same thread count).
set -u
bin=$1
tmp=$(mktemp -d /tmp/gl_kill.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export GRIDLORA_THREADS=1
fail() { echo "FAIL: $*"; exit 1; }
args=(train base --preset tiny --procedural --steps 600 --batch 2 --seed 5 --checkpoint-every 7)

t0=$(date +%s.%N)
"$bin" "${args[@]}" --out "$tmp/ref.safetensors" >/dev/null 2>&1 || fail "reference run exited $?"
t1=$(date +%s.%N)
killed_mid_run=0
# kills at fractions of the reference run's time, so they land mid-run however fast
# or slow (sanitizers) this build is
for frac in 0.1 0.35 0.6 0.85; do
    delay=$(awk -v a="$t0" -v b="$t1" -v f="$frac" 'BEGIN { printf "%.3f", (b - a) * f }')
    out="$tmp/run.safetensors"
    rm -f "$tmp"/run*
    "$bin" "${args[@]}" --out "$out" >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null && killed=1 || killed=0
    wait "$pid" 2>/dev/null
    ckpt="$tmp/run.ckpt.safetensors"
    if [[ $killed -eq 1 && ! -e "$out" ]]; then
        killed_mid_run=$((killed_mid_run + 1))
        # whatever is under a final name loads; a temporary name may remain, nothing else
        if [[ -e "$ckpt" ]]; then
            "$bin" info "$ckpt" >/dev/null 2>&1 || fail "checkpoint left by a kill at ${delay}s does not load"
        fi
        for f in "$tmp"/run*; do
            [[ -e "$f" ]] || continue
            [[ "$f" == "$ckpt" || "$f" == *.tmp.* ]] || fail "a kill at ${delay}s left $f under a final name"
        done
    fi
    "$bin" "${args[@]}" --out "$out" --resume >/dev/null 2>&1 || fail "resume after a kill at ${delay}s exited $?"
    cmp -s "$out" "$tmp/ref.safetensors" || fail "run killed at ${delay}s and resumed differs from the uninterrupted run"
    echo "ok: killed at ${delay}s (mid-run: $killed), resumed, identical"
done
[[ $killed_mid_run -ge 1 ]] || fail "no kill landed during training (the run finished too fast to test)"
echo "ok: $killed_mid_run kills landed mid-run"
