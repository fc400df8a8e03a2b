#!/usr/bin/env bash
# tests/test_cli_info.sh BIN CASE: `gridlora info`, one case per ctest entry. The good file
# comes from tests/st_reader.py --write (an independent writer); --json output is parsed
# back with Python's json. Exit codes: 0 success, 1 failure, 2 usage; errors are one line.
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
dir=$(mktemp -d /tmp/gl_cli_info.XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT
good=$dir/good.safetensors
"$py" "$here/st_reader.py" --write "$good" || { echo "FAIL: st_reader.py --write"; exit 1; }
. "$here/cli_lib.sh"

case $2 in
table)
    out=$("$bin" info "$good") || fail "info exited $?"
    for want in "file:     $good" "tensors:  5 (15 values, 44 bytes of data)" "metadata: 2 entries" \
                "  name    dtype  shape  bytes" \
                "  b.f32   F32    \[2,3\]  24" "  a.f16   F16    \[4\]    8" \
                "  scalar  F32    \[\]     4" "  empty   F16    \[0,5\]  0" \
                "  source     st_reader.py" 'caf.* \\ .*ber\\nline'; do
        grep -q -- "$want" <<<"$out" || fail "table lacks '$want':
$out"
    done
    echo "ok: table" ;;
json)
    out=$("$bin" info --json "$good") || fail "info --json exited $?"
    [[ $(wc -l <<<"$out") -eq 1 ]] || fail "--json is not one line: $out"
    "$py" - "$out" <<'EOF' || fail "--json output: $out"
import json, sys
j = json.loads(sys.argv[1])
assert list(j) == ["tensors", "metadata"], list(j)
want = [("b.f32", "F32", [2, 3]), ("a.f16", "F16", [4]), ("c.bf16", "BF16", [2, 2]),
        ("scalar", "F32", []), ("empty", "F16", [0, 5])]
got = [(t["name"], t["dtype"], t["shape"]) for t in j["tensors"]]
assert got == want, got
assert all(list(t) == ["name", "dtype", "shape"] for t in j["tensors"])
assert j["metadata"] == {"source": "st_reader.py", "quote \"q\"": "caf\u00e9 \\ \u00fcber\nline"}, j["metadata"]
EOF
    # options may follow the file, and -- ends them
    "$bin" info "$good" --json >/dev/null || fail "info FILE --json"
    cp "$good" "$dir/-odd.safetensors"
    (cd "$dir" && "$bin" info --json -- -odd.safetensors >/dev/null) || fail "info -- -odd"
    echo "ok: json" ;;
missing)
    expect 1 "^gridlora: info: $dir/nope.safetensors: cannot open: No such file or directory$" -- info "$dir/nope.safetensors"
    expect 1 "^gridlora: info: $dir: is a directory$" -- info --json "$dir" ;;
corrupt)
    head -c 100 "$good" >"$dir/cut.safetensors"
    expect 1 "^gridlora: info: $dir/cut.safetensors: header length 384 runs past the end of the file (100 bytes): truncated?$" \
        -- info "$dir/cut.safetensors"
    "$py" -c "import sys; open(sys.argv[1], 'wb').write(b'\x20\0\0\0\0\0\0\0' + b'{\"a\":{\"dtype\":\"Q8\"}}'.ljust(32))" "$dir/bad.safetensors"
    expect 1 "^gridlora: info: $dir/bad.safetensors: tensor 'a': unknown dtype 'Q8'" -- info --json "$dir/bad.safetensors"
    printf 'abc' >"$dir/short.safetensors"
    expect 1 "^gridlora: info: $dir/short.safetensors: file is 3 bytes, too short" -- info "$dir/short.safetensors"
    out=$("$bin" info "$dir/short.safetensors" 2>/dev/null); [[ -z "$out" ]] || fail "output on failure: $out" ;;
usage)
    expect 2 "^gridlora: info: missing FILE (try --help)$" -- info
    expect 2 "^gridlora: info: missing FILE" -- info --json
    expect 2 "^gridlora: info: unknown option '--bogus' (try --help)$" -- info --bogus "$good"
    expect 2 "^gridlora: info: takes one FILE, got 'a' and 'b'$" -- info a b
    expect 0 "" -- info --help
    "$bin" info --help | grep -q "^usage: gridlora info \[--json\] FILE" || fail "--help text"
    "$bin" --help | grep -q "info" || fail "info not in the command list" ;;
*) echo "unknown case $2"; exit 1 ;;
esac
