#!/bin/sh
# Builds the differential fuzzers with clang, libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer. fuzz_archive_row checks the bridge's row reader,
# fuzz_stamp_memo checks stamp_permits_memo() against stamp_permits(), and
# fuzz_alert_arena checks alert parsing and stamping in a JSON arena scope against
# malloc, and the reported number limits against a plain scan.
#
#   tests/fuzz/build.sh [BUILD_DIR]      (default: build-fuzz)
#   FUZZ_FINDINGS_DIR=findings BUILD_DIR/fuzz_archive_row -jobs=1 -max_len=4096 \
#       -dict=tests/fuzz/archive_row.dict CORPUS_DIR
#   BUILD_DIR/fuzz_stamp_memo -jobs=1 -max_len=4096 -dict=tests/fuzz/stamp_memo.dict \
#       CORPUS_DIR tests/fuzz/stamp_memo_seeds
#   BUILD_DIR/fuzz_alert_arena -jobs=1 -max_len=70000 CORPUS_DIR tests/data/alerts/valid
#
# Without FUZZ_FINDINGS_DIR the first mismatch of fuzz_archive_row aborts and libFuzzer
# keeps the input. fuzz_stamp_memo and fuzz_alert_arena always abort at the first
# mismatch.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build-fuzz}
flags="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined -g -O1 -fno-omit-frame-pointer"

cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_FLAGS="$flags" >/dev/null
cmake --build "$build" --target iactn_common -j 1 >/dev/null
clang $flags -fsanitize=fuzzer -I"$src/common" -I"$src/bridge" \
    $(pkg-config --cflags jansson libpq openssl) \
    "$src/tests/fuzz/fuzz_archive_row.c" "$src/bridge/archive_row.c" \
    "$build/common/libiactn_common.a" \
    $(pkg-config --libs jansson libpq openssl) -o "$build/fuzz_archive_row"
clang $flags -fsanitize=fuzzer -I"$src/common" \
    $(pkg-config --cflags jansson libpq openssl) \
    "$src/tests/fuzz/fuzz_stamp_memo.c" "$build/common/libiactn_common.a" \
    $(pkg-config --libs jansson libpq openssl) -o "$build/fuzz_stamp_memo"
clang $flags -fsanitize=fuzzer -I"$src/common" -I"$src/tests/unit" \
    $(pkg-config --cflags jansson libpq openssl) \
    "$src/tests/fuzz/fuzz_alert_arena.c" "$build/common/libiactn_common.a" \
    $(pkg-config --libs jansson libpq openssl) -o "$build/fuzz_alert_arena"
echo "$build/fuzz_archive_row"
echo "$build/fuzz_stamp_memo"
echo "$build/fuzz_alert_arena"
