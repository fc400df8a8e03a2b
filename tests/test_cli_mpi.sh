#!/usr/bin/env bash
# tests/test_cli_mpi.sh BIN CASE HAVE_MPI: data-parallel training under
# `mpirun -np 2` (issue 11) against one process with the same global batch, on the
# tiny preset: per-step losses (and gradient norms) within 1e-4 relative, final
# weights within 1e-5; the LoRA stages likewise (train multidc, train grid and
# gridfill with their attention masks and clean cells); a two-rank run stopped part-way
# (--stop-after) and resumed ends bit-identical to an uninterrupted two-rank run;
# only rank 0 reports and writes; a batch that does not split, and a command that does
# not run under MPI, are refused. Exits 77 (ctest: skipped) when the build has no MPI
# or mpirun is missing.
set -u
bin=$1
have_mpi=${3:-OFF}
py=/usr/bin/python3
here=$(cd "$(dirname "$0")" && pwd)
if [[ "$have_mpi" != ON ]]; then
    echo "SKIP: this build has no MPI (CMake did not find it: apt-get install libopenmpi-dev openmpi-bin)"
    exit 77
fi
if ! command -v mpirun >/dev/null; then
    echo "SKIP: mpirun not on PATH (apt-get install openmpi-bin)"
    exit 77
fi
tmp=$(mktemp -d /tmp/gl_cli_mpi.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# One thread per rank, no binding: the ranks share the machine's cores with whatever
# else runs, and a rank pinned to a busy core would stall its partner at every sum.
export GRIDLORA_THREADS=1
# Containers often forbid the cross-memory attach Open MPI's shared-memory transport
# tries first; copying through shared memory works everywhere.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# A rank waiting in a sum yields its core: on a machine busy with other work the two
# ranks may share one core, and a spinning rank would starve its partner (5x slower).
export OMPI_MCA_mpi_yield_when_idle=1
# Open MPI's plugins stay loaded to the end, so the ASan pass's leak report can name
# them (tests/lsan_mpi.supp suppresses what Open MPI keeps, and nothing of ours).
export OMPI_MCA_mca_base_component_disable_dlclose=1
# Open MPI's libraries have no frame pointers: the slow unwinder finds their frames.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}fast_unwind_on_malloc=0"
mpi=(mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2)

one() { # one NAME ARGS...: gridlora in one process; stdout, stderr in NAME.out, NAME.err
    local name=$1; shift
    "$bin" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || fail "gridlora $* exited $?: $(cat "$tmp/$name.err")"
}
two() { # two NAME ARGS...: the same under mpirun -np 2
    local name=$1; shift
    "${mpi[@]}" "$bin" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" ||
        fail "mpirun -np 2 gridlora $* exited $?: $(cat "$tmp/$name.err")"
}
# same LOG1 LOG2 W1 W2: the logs' steps equal, loss and grad_norm within 1e-4 relative,
# every tensor of the weights files within 1e-5
same() {
    "$py" - "$here" "$@" <<'EOF' || fail "the two-rank run differs from the one-process run"
import struct, sys
sys.path.insert(0, sys.argv[1])
import st_reader
log1, log2, w1, w2 = sys.argv[2:6]

def rows(path):
    lines = open(path).read().split("\n")
    assert lines[0] == "step,loss,lr,grad_norm,seconds", (path, lines[0])
    return [[float(x) for x in l.split(",")] for l in lines[1:] if l]

a, b = rows(log1), rows(log2)
assert [r[0] for r in a] == [r[0] for r in b], "steps differ: %s vs %s" % ([r[0] for r in a], [r[0] for r in b])
worst = 0.0
for ra, rb in zip(a, b):
    for col, name in ((1, "loss"), (3, "grad_norm")):
        rel = abs(ra[col] - rb[col]) / max(abs(ra[col]), 1e-30)
        worst = max(worst, rel)
        assert rel <= 1e-4, "step %d: %s %g vs %g (relative %.2g)" % (ra[0], name, ra[col], rb[col], rel)

def tensors(path):
    out = {}
    for t in st_reader.read(path)["tensors"]:
        assert t["dtype"] == "F32", (path, t["name"], t["dtype"])
        out[t["name"]] = struct.unpack("<%df" % len(t["bits"]), struct.pack("<%dI" % len(t["bits"]), *t["bits"]))
    return out

ta, tb = tensors(w1), tensors(w2)
assert sorted(ta) == sorted(tb), "tensor names differ"
diff, n = 0.0, 0
for name in ta:
    for x, y in zip(ta[name], tb[name]):
        d = abs(x - y)
        n += 1
        if d > diff:
            diff, at = d, name
        assert d <= 1e-5, "%s: %r vs %r" % (name, x, y)
print("ok: %d steps, losses and gradient norms within %.1e relative; %d weights, largest difference %.1e%s"
      % (len(a), worst, n, diff, " (%s)" % at if diff else ""))
EOF
}

case $2 in
base)
    args=(train base --preset tiny --procedural --batch 4 --steps 20 --seed 3)
    one one "${args[@]}" --out "$tmp/one.safetensors" --log "$tmp/one.csv"
    two two "${args[@]}" --out "$tmp/two.safetensors" --log "$tmp/two.csv"
    same "$tmp/one.csv" "$tmp/two.csv" "$tmp/one.safetensors" "$tmp/two.safetensors"
    # rank 0 alone reports: one summary, one final progress line
    [[ $(grep -c "^trained 20 steps (1 to 20)" "$tmp/two.out") -eq 1 ]] || fail "summary: $(cat "$tmp/two.out")"
    [[ $(grep -c "^step 20/20 " "$tmp/two.err") -eq 1 ]] || fail "progress: $(cat "$tmp/two.err")"
    [[ $(grep -c "^step," "$tmp/two.csv") -eq 1 ]] || fail "the log has more than one header"
    cmp -s "$tmp/one.safetensors" "$tmp/two.safetensors" && echo "note: the weights are even bit-identical"
    echo "ok: train base, 2 ranks = 1 process" ;;
lora)
    one base train base --preset tiny --procedural --steps 10 --batch 2 --out "$tmp/base.safetensors"
    one set dataset --count 2 --frames 2 --size 8x8 --out "$tmp/set"
    args=(train multidc --base "$tmp/base.safetensors" --data "$tmp/set" --set-steps 6 --seq-steps 6 --batch 4 --rank 4)
    one one "${args[@]}" --out "$tmp/one.safetensors" --log "$tmp/one.csv"
    two two "${args[@]}" --out "$tmp/two.safetensors" --log "$tmp/two.csv"
    # each stage's log, and the adapter both stages made
    same "$tmp/one.set.csv" "$tmp/two.set.csv" "$tmp/one.safetensors" "$tmp/two.safetensors"
    same "$tmp/one.seq.csv" "$tmp/two.seq.csv" "$tmp/one.safetensors" "$tmp/two.safetensors"
    [[ $(grep -c "^wrote .*two.safetensors (LoRA adapter)" "$tmp/two.out") -eq 1 ]] || fail "summary: $(cat "$tmp/two.out")"
    echo "ok: train multidc (both LoRA stages), 2 ranks = 1 process" ;;
grid)
    # Grid LoRA (layout masks) and Grid-Fill LoRA (clean cells: the ranks' loss masks
    # count differently, so their sums, not their means, must be added)
    one base train base --preset tiny --procedural --steps 10 --batch 2 --out "$tmp/base.safetensors"
    one set dataset --count 2 --frames 2 --size 8x8 --out "$tmp/set"
    one grids grids --model "$tmp/base.safetensors" --render --data "$tmp/set" --layout edit --count 4 --out "$tmp/gr" \
        --seed 2
    args=(train grid --base "$tmp/base.safetensors" --data "$tmp/gr" --steps 8 --batch 4 --rank 4)
    one one "${args[@]}" --out "$tmp/one.safetensors" --log "$tmp/one.csv"
    two two "${args[@]}" --out "$tmp/two.safetensors" --log "$tmp/two.csv"
    same "$tmp/one.csv" "$tmp/two.csv" "$tmp/one.safetensors" "$tmp/two.safetensors"
    args=(train gridfill --base "$tmp/base.safetensors" --grid-lora "$tmp/one.safetensors" --data "$tmp/gr" --steps 8
          --batch 4 --rank 4)
    one fone "${args[@]}" --out "$tmp/fone.safetensors" --log "$tmp/fone.csv"
    two ftwo "${args[@]}" --out "$tmp/ftwo.safetensors" --log "$tmp/ftwo.csv"
    same "$tmp/fone.csv" "$tmp/ftwo.csv" "$tmp/fone.safetensors" "$tmp/ftwo.safetensors"
    echo "ok: train grid and train gridfill, 2 ranks = 1 process" ;;
resume)
    # stopped by --stop-after between two checkpoints (a kill's timing depends on the
    # machine's speed; test_cli_kill.sh kills one process), then resumed by two ranks
    args=(train base --preset tiny --procedural --batch 2 --steps 60 --seed 6 --checkpoint-every 25)
    two ref "${args[@]}" --out "$tmp/ref.safetensors" --log "$tmp/ref.csv"
    two part "${args[@]}" --out "$tmp/run.safetensors" --log "$tmp/run.csv" --stop-after 37
    grep -q "stopped after step 37 of 60 as asked" "$tmp/part.out" || fail "no stop note: $(cat "$tmp/part.out")"
    [[ -e "$tmp/run.safetensors" ]] && fail "a run stopped part-way wrote its weights"
    [[ "$(tail -n 1 "$tmp/run.csv" | cut -d, -f1)" == 37 ]] || fail "the log does not end at step 37"
    two resumed "${args[@]}" --out "$tmp/run.safetensors" --log "$tmp/run.csv" --resume
    grep -q "resuming from .*run.ckpt.safetensors at step 37" "$tmp/resumed.out" || fail "no resume note: $(cat "$tmp/resumed.out")"
    cmp -s "$tmp/run.safetensors" "$tmp/ref.safetensors" || fail "stopped at step 37 and resumed differs from the uninterrupted run"
    [[ "$(tail -n +2 "$tmp/run.csv" | cut -d, -f1 | tr '\n' ' ')" == "$(seq -s ' ' 1 60) " ]] || fail "the log does not hold each step once"
    echo "ok: stopped at step 37, resumed under 2 ranks, identical to the uninterrupted run" ;;
errors)
    # a batch that does not split over the ranks: refused before training, nothing written
    "${mpi[@]}" "$bin" train base --preset tiny --procedural --batch 3 --steps 2 --out "$tmp/x.safetensors" \
        >"$tmp/out.txt" 2>"$tmp/err.txt" && fail "an odd batch over 2 ranks succeeded"
    grep -q "^gridlora: train: a batch of 3 does not split over 2 MPI ranks: give a multiple of 2" "$tmp/err.txt" ||
        fail "message: $(cat "$tmp/err.txt")"
    [[ -e "$tmp/x.safetensors" ]] && fail "a refused run wrote weights"
    # commands that would each do the whole job are refused
    "${mpi[@]}" "$bin" dataset --count 1 --out "$tmp/set" >"$tmp/out.txt" 2>"$tmp/err.txt" &&
        fail "dataset under mpirun succeeded"
    grep -q "^gridlora: dataset: runs as one process; under mpirun only train and finetune" "$tmp/err.txt" ||
        fail "message: $(cat "$tmp/err.txt")"
    [[ -e "$tmp/set" ]] && fail "a refused dataset wrote files"
    # rank 0 alone prints
    "${mpi[@]}" "$bin" version >"$tmp/out.txt" 2>&1 || fail "version under mpirun exited $?"
    [[ $(grep -c "^gridlora " "$tmp/out.txt") -eq 1 ]] || fail "version printed by every rank: $(cat "$tmp/out.txt")"
    grep -q "^MPI: Open MPI" "$tmp/out.txt" || fail "version names no MPI: $(cat "$tmp/out.txt")"
    echo "ok: odd batch and one-process commands refused; rank 0 alone prints" ;;
*) echo "unknown case $2"; exit 1 ;;
esac
