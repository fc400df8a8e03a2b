# tests/cli_lib.sh: the checks the CLI test scripts share, sourced once a script has set
# `bin` (the gridlora binary) and `tmp` (its scratch directory): fail, expect, run.
# Errors are one line by the project's rule, so expect holds every error to it.

fail() { echo "FAIL: $*"; exit 1; }

# expect CODE PATTERN -- ARGS...: gridlora ARGS exits CODE; with a PATTERN, stderr is one
# line and matches it (an empty PATTERN checks the exit code alone, as for --help)
expect() {
    local code=$1 pat=$2; shift 3
    local err rc
    err=$("$bin" "$@" 2>&1 >/dev/null); rc=$?
    [[ $rc -eq $code ]] || fail "gridlora $* exited $rc, expected $code: $err"
    if [[ -n "$pat" ]]; then
        grep -q -- "$pat" <<<"$err" || fail "gridlora $*: stderr lacks '$pat': $err"
        [[ $(wc -l <<<"$err") -eq 1 ]] || fail "gridlora $*: more than one line on stderr: $err"
    fi
    echo "ok: gridlora $* -> $rc"
}

# run ARGS...: gridlora ARGS must succeed; its stdout in $tmp/out.txt, stderr in $tmp/err.txt
run() {
    "$bin" "$@" >"$tmp/out.txt" 2>"$tmp/err.txt" || fail "gridlora $* exited $?: $(cat "$tmp/err.txt")"
}
