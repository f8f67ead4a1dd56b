#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# make installcheck (and so make distcheck): builds a program outside the
# tree against the installed library through pkg-config, shared and static,
# runs both, and checks that the shared library exports only the public API.
# Environment: CC, PKG_CONFIG, libdir, srcdir.
set -eu
: "${CC:=cc}" "${PKG_CONFIG:=pkg-config}" "${srcdir:=.}"
export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cflags=$($PKG_CONFIG --cflags cothread)
libs=$($PKG_CONFIG --libs cothread)
static_libs=$($PKG_CONFIG --static --libs cothread)
echo "pkg-config --cflags --libs cothread: $cflags $libs"
echo "pkg-config --static --libs cothread: $static_libs"

expected=$(cat "$srcdir/examples/generator.expected")

# Shared: the installed header and library, found only through pkg-config.
$CC -o "$work/shared" "$srcdir/examples/generator.c" $cflags $libs
out=$(LD_LIBRARY_PATH="$libdir" "$work/shared")
[ "$out" = "$expected" ] || { echo "shared build printed: $out"; exit 1; }
echo "ok: shared build through pkg-config runs"

# Static: the archive and what --static adds must suffice for -static.
$CC -static -o "$work/static" "$srcdir/examples/generator.c" $cflags $static_libs
if command -v ldd >/dev/null && ldd "$work/static" 2>&1 | grep -q cothread; then
    echo "static build still needs the shared library"; exit 1
fi
out=$("$work/static")
[ "$out" = "$expected" ] || { echo "static build printed: $out"; exit 1; }
echo "ok: static build through pkg-config --static runs"

# Exported symbols: the public API and nothing else.
so=$(ls "$libdir"/libcothread.so.* | head -n 1)
exports=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRW]$/ { print $3 }' | sort)
public=$(sed -n 's/^COTHREAD_API [^(]*[ *]\([a-z_]*\)(.*/\1/p' \
         "$srcdir/include/qemu-coroutine.h" | sort)
if [ "$exports" != "$public" ]; then
    echo "exported symbols differ from the public API:"
    printf '%s\n' "$public" > "$work/public"
    printf '%s\n' "$exports" | diff -u "$work/public" - || true
    exit 1
fi
echo "ok: $(printf '%s\n' "$exports" | wc -l) exported symbols, all public API"
