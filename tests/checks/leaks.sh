#!/usr/bin/env bash
# tests/checks/leaks.sh BIN [valgrind|lsan] [STAGE...]: the demo path checked for leaks and
# memory errors (docs/CHECKS.md). scripts/train-default.sh --tiny trains every stage of
# the shipped model at the tiny preset (base twice, multidc, grids, grid, gridfill: the
# training runs), then `gridlora demo` runs in a scratch tree holding that models/default/
# and a link to examples/ (as tests/test_cli_demo.sh). Every gridlora process runs:
#   valgrind  under valgrind memcheck (BIN a build without -march=native: valgrind has no
#             AVX-512; `make check-leaks` builds build-valgrind/ so);
#   lsan      as it is, BIN being an AddressSanitizer build (build-asan/gridlora), whose
#             LeakSanitizer reports at exit.
# Exit 1 when any process failed, had a memcheck error or lost memory (definitely or
# indirectly; "possibly lost" and "still reachable" are listed in the logs, not counted).
# Logs: $LEAKS_LOGS (default /tmp/gl_leaks), one file per process.
set -u
bin=$(readlink -f "$1")
mode=${2:-valgrind}
shift 2 || shift $#
src=$(cd "$(dirname "$0")/../.." && pwd)
logs=${LEAKS_LOGS:-/tmp/gl_leaks}
tmp=$(mktemp -d /tmp/gl_leaks_tree.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
rm -rf "$logs"
mkdir -p "$logs"
wrap=$tmp/gridlora
case $mode in
valgrind)
    cat > "$wrap" <<EOW
#!/bin/sh
exec valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \\
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=40 \\
    --log-file=$logs/valgrind.%p.log "$bin" "\$@"
EOW
    ;;
lsan)
    cat > "$wrap" <<EOW
#!/bin/sh
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:log_path=$logs/asan \\
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 exec "$bin" "\$@"
EOW
    ;;
*) echo "leaks.sh: mode is valgrind or lsan"; exit 2 ;;
esac
chmod +x "$wrap"
fail() { echo "leaks.sh: FAIL: $*"; exit 1; }
echo "== leaks ($mode): scripts/train-default.sh --tiny"
bash "$src/scripts/train-default.sh" --tiny --bin "$wrap" --models "$tmp/models/default" \
    --work "$tmp/work" "$@" > "$logs/train.out" 2>&1 || fail "train-default.sh --tiny: $(tail -3 "$logs/train.out")"
ln -s "$src/examples" "$tmp/examples"
echo "== leaks ($mode): gridlora demo"
(cd "$tmp" && "$wrap" demo) > "$logs/demo.out" 2>&1 || fail "demo exited $?: $(tail -5 "$logs/demo.out")"
n=$(ls "$logs" | grep -c -E '^(valgrind|asan)')
if [ "$mode" = valgrind ]; then
    bad=$(grep -l -E "ERROR SUMMARY: [1-9]|definitely lost: [1-9]|indirectly lost: [1-9]" "$logs"/valgrind.* 2>/dev/null)
    echo "== leaks: $(ls "$logs"/valgrind.* | wc -l) processes under memcheck"
else
    bad=$(ls "$logs"/asan.* 2>/dev/null)
    echo "== leaks: $n LeakSanitizer report file(s)"
fi
[ -z "$bad" ] || fail "reports in: $bad"
echo "ok: no memcheck error and no lost memory (logs: $logs)"
