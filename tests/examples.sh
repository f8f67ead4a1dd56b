#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs each example and compares what it prints with examples/NAME.expected.
set -u
srcdir=${srcdir:-.}
status=0
for name in generator pipeline parser bounded-buffer; do
    expected="$srcdir/examples/$name.expected"
    # TEST_WRAPPER, if set, is a command that runs the program (a cross
    # build's emulator: see tests/cross-check.sh); it is split on spaces.
    # shellcheck disable=SC2086
    if ! actual=$(${TEST_WRAPPER:-} ./examples/$name); then
        echo "FAIL: examples/$name exited with an error"
        status=1
    elif [ "$actual" != "$(cat "$expected")" ]; then
        echo "FAIL: examples/$name printed something else than $expected:"
        printf '%s\n' "$actual" | diff -u "$expected" - || true
        status=1
    else
        printf '%s\n' "$actual"
        echo "ok: examples/$name"
    fi
done
exit $status
