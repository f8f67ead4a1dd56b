#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-races.sh TOOL... - run the seeded-race cases under race detectors
# (helgrind, drd, tsan) and compare libcothread with the control.
#
# A race-* case seeds one race in its own source. It passes when, in every
# run, the control (stackswitch.c) reports it and the libcothread build
# reports it too, with the first frame of every report in the case's file:
# a report that starts inside the library is the library's fault. A race
# on a coroutine lock or queue has no control (see lock-* below) and must
# be reported in every run, as it is with the pthread lock in its place. An ok-*
# case passes when neither build gets any report, of a race or of a lock
# order. A lock-* case exists only
# for cothread (coroutine locks have no stack-switching control): it seeds a
# lock-order inversion between CoMutexes, which helgrind and ThreadSanitizer
# must report in every run (DRD checks no lock order). Races are counted from
# the tools' output; a non-zero exit status (a case that computed a wrong
# value, or a tool that gave up) fails the case too.
#
# Environment (make check-races sets them): RACE_CASES, RACE_BUILDDIR (the
# programs), RACE_SRCDIR (the sources), LIBTOOL, VALGRIND, RUNS (default 1),
# RACE_ORDER_ANYWHERE (make check-races-tsan-app: a lock-* case's report
# may lack the case's own frames).
# Each run's output is kept in RACE_BUILDDIR/PROGRAM.TOOL.RUN.log.

set -u

if test $# -eq 0; then
    echo "usage: $0 helgrind|drd|tsan..." >&2
    exit 2
fi
runs=${RUNS:-1}
srcdir=${RACE_SRCDIR:-$(dirname "$0")}
builddir=${RACE_BUILDDIR:-.}
libtool=${LIBTOOL:-"${SHELL:-/bin/sh} ./libtool"}
valgrind=${VALGRIND:-valgrind}
cases=${RACE_CASES:-$(cd "$srcdir" && ls race-*.c ok-*.c | sed 's/\.c$//')}

# run TOOL PROGRAM LOG: the tool's whole output goes to LOG; prints the
# program's exit status.
run() {
    case $1 in
    helgrind | drd)
        $libtool --mode=execute $valgrind --tool="$1" --num-callers=30 \
            "$2" >"$3" 2>&1 ;;
    tsan)
        # Ours last: later options win, and every report must be printed.
        TSAN_OPTIONS="${TSAN_OPTIONS:-} halt_on_error=0 exitcode=0" \
            $libtool --mode=execute "$2" >"$3" 2>&1 ;;
    *)
        echo "check-races: unknown tool $1" >&2
        exit 2 ;;
    esac
    echo $?
}

# count TOOL FILE LOG: prints "REPORTS ELSEWHERE", the number of race
# reports and how many of them have their first frame outside FILE.
count() {
    awk -v tool="$1" -v file="$2" '
        function start() { n++; want = 1 }
        tool == "helgrind" && /Possible data race/ { start(); next }
        tool == "drd" && /Conflicting (load|store) by thread/ { start(); next }
        tool == "tsan" && /WARNING: ThreadSanitizer: data race/ { start(); next }
        want && ((tool != "tsan" && /^==[0-9]+== +at 0x/) ||
                 (tool == "tsan" && /^ +#0 /)) {
            if (index($0, "(" file ":") == 0 && index($0, "/" file ":") == 0 &&
                index($0, " " file ":") == 0)
                out++
            want = 0
        }
        END { printf "%d %d\n", n, out }
    ' "$3"
}

# lock_order TOOL FILE LOG: prints 1 if LOG holds a lock-order report
# whose stacks pass through FILE (the report starts in the library's lock
# annotation, then comes the case's own call), or any at all if FILE is
# empty; else 0.
lock_order() {
    awk -v tool="$1" -v file="$2" '
        tool == "helgrind" && /lock order ".*" violated/ { inside = 1 }
        tool == "tsan" && /WARNING: ThreadSanitizer: lock-order-inversion/ { inside = 1 }
        inside && (file == "" || index($0, "(" file ":") || index($0, "/" file ":") ||
                   index($0, " " file ":")) { found = 1 }
        END { print found ? 1 : 0 }
    ' "$3"
}

# outcome TOOL CASE PROGRAM RUN: one word-ish result for one run.
outcome() {
    log=$builddir/$3.$1.$4.log
    status=$(run "$1" "$builddir/$3" "$log")
    case $2 in
    lock-*)
        # RACE_ORDER_ANYWHERE: ThreadSanitizer's stacks stop in a library
        # not built with it, before the case's own call.
        order_file=$2.c
        test -n "${RACE_ORDER_ANYWHERE:-}" && order_file=
        if test "$status" -ne 0; then
            echo "exit $status"
        elif test "$(lock_order "$1" "$order_file" "$log")" -eq 1; then
            echo "found"
        else
            echo "not found"
        fi
        return ;;
    esac
    # A correct case must show no lock-order report either, wherever it
    # starts.
    order=
    case $2 in
    ok-*)
        if test "$(lock_order "$1" "" "$log")" -eq 1; then
            order="lock order"
        fi ;;
    esac
    set -- $(count "$1" "$2.c" "$log") "$2"
    reports="$1 reports"
    test "$1" -eq 1 && reports="1 report"
    if test "$status" -ne 0; then
        echo "exit $status"
    elif test "$1" -eq 0 && test -n "$order"; then
        echo "$order"
    elif test "$1" -eq 0; then
        case $3 in race-*) echo "not found" ;; *) echo "clean" ;; esac
    elif test "$2" -eq 0; then
        case $3 in race-*) echo "found" ;; *) echo "$reports${order:+; $order}" ;; esac
    else
        echo "$reports, $2 elsewhere${order:+; $order}"
    fi
}

# summary OUTCOME...: the outcomes of all runs, folded when they agree.
summary() {
    first=$1
    for o in "$@"; do
        if test "$o" != "$first"; then
            printf '%s' "$1"
            shift
            printf ', %s' "$@"
            echo
            return
        fi
    done
    echo "$first"
}

# Known limits of a tool, not of the library: TOOL:CASE pairs where the tool
# misses, in some runs, a race that cothread does not hide. DRD and
# ThreadSanitizer reuse the slots of joined threads, and a reader that has
# synchronised with a slot's later occupant looks ordered after the earlier
# one's accesses; under churn every coroutine's thread is joined when it
# finishes. plain-churn.c shows the same misses on plain threads. Such a
# row says LIMIT and does not fail the run; a report that starts in the
# library still fails it.
known_limits=${RACE_KNOWN_LIMITS:-drd:race-churn tsan:race-churn}

line='%-26s %-9s %-26s %-26s %s\n'
printf "$line" case tool control cothread verdict
failed=0
for tool in "$@"; do
    for c in $cases; do
        ctl=
        co=
        verdict=PASS
        found=0
        i=1
        if test "$tool" = drd && case $c in lock-*) true ;; *) false ;; esac; then
            # DRD does not check lock order, for pthread locks either.
            printf "$line" "$c" "$tool" "-" "-" "n/a (DRD checks no lock order)"
            continue
        fi
        while test "$i" -le "$runs"; do
            # Coroutine locks have no control: with stack switching, every
            # coroutine of a thread is that thread to the tools.
            if test -f "$builddir/$c-control"; then
                a=$(outcome "$tool" "$c" "$c-control" "$i")
            else
                a="-"
            fi
            b=$(outcome "$tool" "$c" "$c" "$i")
            ctl="$ctl|$a"
            co="$co|$b"
            case $c:$a:$b in
            race-*:found:found | race-*:-:found) found=$((found + 1)) ;;
            race-*:"not found":"not found" | race-*:"not found":found) ;;
            ok-*:clean:clean | ok-*:-:clean) ;;
            lock-*:-:found) found=$((found + 1)) ;;
            *) verdict=FAIL ;;
            esac
            i=$((i + 1))
        done
        case " $known_limits " in
        *" $tool:$c "*)
            case $co in
            *elsewhere*) ;;
            *) if test "$verdict" = FAIL; then verdict="LIMIT (tool, see README)"; fi ;;
            esac ;;
        esac
        case $c:$verdict in
        race-*:PASS)
            if test "$found" -eq 0; then
                verdict="PASS (control misses it)"
            elif test "$found" -ne "$runs"; then
                verdict="FAIL (control found it $found/$runs times)"
            fi ;;
        esac
        case $verdict in FAIL*) failed=1 ;; esac
        IFS='|'
        set -f
        ctl=$(summary ${ctl#|})
        co=$(summary ${co#|})
        set +f
        unset IFS
        printf "$line" "$c" "$tool" "$ctl" "$co" "$verdict"
    done
done
exit $failed
