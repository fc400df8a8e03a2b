#!/usr/bin/env bash
# tests/test_cli.sh BIN CASE: the tool's exit codes and messages, one case per ctest entry.
# Exit codes: 0 success, 1 failure, 2 usage; errors are one line starting 'gridlora:'.
set -u
bin=$1
expect() { # expect CODE PATTERN -- ARGS...
    local code=$1 pat=$2; shift 3
    local err rc
    err=$("$bin" "$@" 2>&1 >/dev/null); rc=$?
    if [[ $rc -ne $code ]]; then echo "FAIL: gridlora $* exited $rc, expected $code: $err"; exit 1; fi
    if [[ -n "$pat" ]] && ! grep -q -- "$pat" <<<"$err"; then
        echo "FAIL: gridlora $*: stderr lacks '$pat': $err"; exit 1; fi
    echo "ok: gridlora $* -> $rc"
}
case $2 in
usage)
    expect 2 "usage: gridlora" --
    expect 0 "" -- --help
    expect 2 "^gridlora: unknown command 'frobnicate'" -- frobnicate
    expect 0 "" -- version
    expect 2 "^gridlora: version: takes no options" -- version --x ;;
selfcheck_args)
    expect 2 "^gridlora: selfcheck: --steps: 0 is outside" -- selfcheck --steps 0
    expect 2 "^gridlora: selfcheck: --steps: 'abc' is not an integer" -- selfcheck --steps abc
    expect 2 "^gridlora: selfcheck: option --steps needs a value" -- selfcheck --steps
    expect 2 "^gridlora: selfcheck: unknown option '--bogus'" -- selfcheck --bogus 1
    expect 2 "^gridlora: selfcheck: --width 30 must be a multiple" -- selfcheck --width 30
    expect 2 "^gridlora: demo: takes no options" -- demo --now ;;
demo)
    out=$("$bin" demo 2>/dev/null) || { echo "FAIL: demo exited $?"; exit 1; }
    grep -q "demo: engine self-check passed" <<<"$out" || { echo "FAIL: $out"; exit 1; }
    grep -q "Not there yet" <<<"$out" || { echo "FAIL: demo does not say what is missing"; exit 1; }
    echo "ok: demo" ;;
*) echo "unknown case $2"; exit 1 ;;
esac
