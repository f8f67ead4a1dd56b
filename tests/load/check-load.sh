#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# make check-load: the load itself (options in "$@"), then two runs that
# must fail, to show that each check catches what it is there for: a leak of
# memory per operation must fail the RSS check only, and coroutines left
# suspended at the end must fail the thread check only. $LOAD runs the
# program (through libtool).
set -u
: "${LOAD:?LOAD must name the load program}"

echo "== load $*"
$LOAD "$@"
status=$?
if [ "$status" -ne 0 ]; then
    echo "check-load: the load failed (exit status $status)" >&2
    exit 1
fi

out=${TMPDIR:-/tmp}/check-load.$$
trap 'rm -f "$out"' EXIT

# must_fail NAME FAILING PASSING... -- OPTIONS: the run must exit with 1,
# with a "FAIL FAILING" line and a "PASS x" line for each PASSING.
must_fail() {
    name=$1 failing=$2
    shift 2
    passing=
    while [ "$1" != -- ]; do
        passing="$passing $1"
        shift
    done
    shift
    echo
    echo "== can fail: $name (load $*)"
    $LOAD "$@" >"$out" 2>&1
    status=$?
    sed 's/^/   | /' "$out"
    if [ "$status" -ne 1 ]; then
        echo "check-load: expected exit status 1, got $status" >&2
        exit 1
    fi
    if ! grep -q "^FAIL $failing:" "$out"; then
        echo "check-load: expected the $failing check to fail" >&2
        exit 1
    fi
    for check in $passing; do
        if ! grep -q "^PASS $check:" "$out"; then
            echo "check-load: expected the $check check to pass" >&2
            exit 1
        fi
    done
    echo "== as expected: the $failing check failed, and only it"
}

must_fail "a leak of 256 bytes per operation in the test itself" rss threads results -- \
    --suspended 4000 --ops 20000 --leak-per-op 256
must_fail "3 coroutines left suspended at the end" threads rss results -- \
    --suspended 4000 --ops 20000 --leak-threads 3
echo
echo "check-load: passed"
