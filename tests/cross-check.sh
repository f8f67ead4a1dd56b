#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds cothread and its cmocka tests for another platform and runs
# make check there:
#
#   tests/cross-check.sh TARGET
#
# TARGET is a Linux architecture run under qemu-user (i686, s390x, aarch64,
# riscv64, armhf, ppc64el, mips64el, m68k, hppa, alpha, sparc64, powerpc),
# musl (x86-64 with musl-gcc, run natively) or wasm32 (Emscripten, run
# under Node.js).
#
# - On Debian 12, as root, it first installs what is missing: the compiler
#   and C library, qemu-user or Node.js, and cmocka for the target through
#   multiarch where Debian has it. Elsewhere (riscv64 and the ports
#   architectures, which are not in Debian 12's archive; musl; wasm32)
#   cmocka is compiled from Debian's own cmocka source package, as a static
#   library, with a small config.h written here.
# - It builds out of tree in build-cross-TARGET (removed and made anew each
#   run). The source tree must not be configured in-tree: run
#   "make distclean" there first, or use a fresh clone.
# - Under qemu (every architecture but i686 where the kernel runs i386
#   programs itself), COTHREAD_TEST_UNDER_QEMU=1 makes the tests that
#   qemu-user cannot run skip themselves; on wasm32 the tests skip what
#   WebAssembly lacks. Each skipped test prints its reason; the script
#   lists them at the end, with the time each step took.
#
# Exits non-zero on any failure.
set -euo pipefail

die() { printf 'cross-check: %s\n' "$*" >&2; exit 1; }
step() { printf '\n=== %s\n' "$*"; }

targets="i686 s390x aarch64 riscv64 armhf ppc64el mips64el m68k hppa alpha sparc64 powerpc musl wasm32"
target=${1:-}
# triplet: the cross tools' prefix; arch: Debian's architecture; multiarch:
# where Debian puts that architecture's libraries (/usr/lib/MULTIARCH);
# cmocka: multiarch (Debian's package for the target) or source.
libc_dev=
case $target in
    i686)     triplet=i686-linux-gnu arch=i386 multiarch=i386-linux-gnu qemu=qemu-i386 cmocka=multiarch ;;
    s390x)    triplet=s390x-linux-gnu arch=s390x qemu=qemu-s390x cmocka=multiarch ;;
    aarch64)  triplet=aarch64-linux-gnu arch=arm64 qemu=qemu-aarch64 cmocka=multiarch ;;
    armhf)    triplet=arm-linux-gnueabihf arch=armhf qemu=qemu-arm cmocka=multiarch ;;
    ppc64el)  triplet=powerpc64le-linux-gnu arch=ppc64el qemu=qemu-ppc64le cmocka=multiarch ;;
    mips64el) triplet=mips64el-linux-gnuabi64 arch=mips64el qemu=qemu-mips64el cmocka=multiarch ;;
    riscv64)  triplet=riscv64-linux-gnu arch=riscv64 qemu=qemu-riscv64 cmocka=source ;;
    m68k)     triplet=m68k-linux-gnu arch=m68k qemu=qemu-m68k cmocka=source ;;
    hppa)     triplet=hppa-linux-gnu arch=hppa qemu=qemu-hppa cmocka=source ;;
    alpha)    triplet=alpha-linux-gnu arch=alpha qemu=qemu-alpha cmocka=source
              libc_dev=libc6.1-dev-alpha-cross ;;   # alpha's glibc is libc6.1
    sparc64)  triplet=sparc64-linux-gnu arch=sparc64 qemu=qemu-sparc64 cmocka=source ;;
    powerpc)  triplet=powerpc-linux-gnu arch=powerpc qemu=qemu-ppc cmocka=source ;;
    musl)     triplet= arch= qemu= cmocka=source ;;
    wasm32)   triplet=wasm32-unknown-emscripten arch= qemu= cmocka=source ;;
    *) echo "usage: $0 TARGET, one of: $targets" >&2; exit 2 ;;
esac
multiarch=${multiarch:-$triplet}

srcdir=$(cd "$(dirname "$0")/.." && pwd)
cd "$srcdir"
builddir=$srcdir/build-cross-$target
jobs=$(nproc 2>/dev/null || echo 2)
export DEBIAN_FRONTEND=noninteractive
started=$SECONDS
timings=()
lap() { timings+=("$(printf '%-22s %4ds' "$1" $((SECONDS - lap_start)))"); lap_start=$SECONDS; }
lap_start=$SECONDS

# A VPATH build next to an in-tree one fails (configure refuses, or make
# picks up the tree's objects through VPATH).
if [ -f config.status ] ||
   [ -n "$(find lib tests examples \( -name '*.o' -o -name '*.lo' -o -name '*.la' \) -print -quit)" ]; then
    die "$srcdir is configured or built in-tree (config.status or object files are there);" \
        "an out-of-tree build in build-cross-$target cannot work next to it." \
        "Run 'make distclean' in $srcdir first, or use a fresh clone."
fi

if [ "$target" = wasm32 ]; then
    # Debian's emcc needs acorn, which Debian installs outside node's
    # default path; each emcc call otherwise re-checks the toolchain.
    [ -d /usr/share/nodejs ] && export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
    export EMCC_SKIP_SANITY_CHECK=1
fi

step "packages for $target"
packages=(make pkg-config)
[ -x configure ] || packages+=(autoconf automake libtool)
case $target in
    musl)   packages+=(gcc musl-tools xz-utils) ;;
    wasm32) packages+=(emscripten nodejs xz-utils) ;;
    *)      packages+=("gcc-$triplet" "${libc_dev:-libc6-dev-$arch-cross}")
            packages+=(qemu-user) ;;   # i686 too: the kernel may not run i386 programs
esac
if [ "$cmocka" = multiarch ]; then
    # Also brings libc6:ARCH, the dynamic loader and libc the programs run with.
    packages+=("libcmocka-dev:$arch")
else
    packages+=(xz-utils)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed ||
        missing+=("$p")
done

apt_update() {
    # A mirror in the middle of a sync fails one index now and then: retry,
    # then go on with what was fetched (a missing package still fails below).
    for try in 1 2; do
        apt-get update -qq && return 0
        echo "apt-get update failed (try $try of 2)"
        sleep 5
    done
    echo "warning: going on with the package lists apt-get could fetch"
}

if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "missing packages (install them, or run as root): ${missing[*]}"
    if [ "$cmocka" = multiarch ] && [ "$arch" != "$(dpkg --print-architecture)" ] &&
       ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
        echo "adding Debian architecture $arch"
        dpkg --add-architecture "$arch"
    fi
    echo "installing: ${missing[*]}"
    apt_update
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "all installed: ${packages[*]}"
fi
lap "packages"

# The compiler and archiver the target builds with.
case $target in
    musl)   cc=musl-gcc ar=ar ;;
    wasm32) cc=emcc ar=emar ;;
    *)      cc=$triplet-gcc ar=$triplet-ar ;;
esac
# Emscripten objects linked into a threaded program must be built for
# shared memory, cmocka's too.
cmocka_cflags=
[ "$target" = wasm32 ] && cmocka_cflags=-pthread

if [ "$cmocka" = source ]; then
    cmocka_dir=$srcdir/build-cross-cmocka-$target
    cmocka_prefix=$cmocka_dir/prefix
    if [ -f "$cmocka_prefix/lib/libcmocka.a" ]; then
        step "cmocka for $target: already built in $cmocka_dir"
    else
        step "cmocka for $target, from Debian's cmocka source package"
        if ! apt-cache showsrc cmocka 2>/dev/null | grep -q '^Package:'; then
            [ "$(id -u)" -eq 0 ] || die "no deb-src entry for apt-get source cmocka (run as root to add one)"
            codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
            echo "adding a deb-src entry: /etc/apt/sources.list.d/cothread-cross-deb-src.sources"
            cat > /etc/apt/sources.list.d/cothread-cross-deb-src.sources <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
            apt_update
        fi
        rm -rf "$cmocka_dir"
        mkdir -p "$cmocka_dir"
        (cd "$cmocka_dir" && apt-get source -qq --download-only cmocka 2>&1 |
             grep -v 'Download is performed unsandboxed' || true)
        tarball=$(find "$cmocka_dir" -maxdepth 1 -name 'cmocka_*.orig.tar.*' ! -name '*.asc' | head -n 1)
        [ -n "$tarball" ] || die "apt-get source cmocka downloaded no source tarball"
        tar -C "$cmocka_dir" -xf "$tarball"
        cmocka_src=$(find "$cmocka_dir" -mindepth 1 -maxdepth 1 -type d -name 'cmocka-*' | head -n 1)
        [ -n "$cmocka_src" ] || die "apt-get source cmocka gave no source tree in $cmocka_dir"
        # cmocka is one source file. Its CMake build would run some eighty
        # compiler checks, each a second or more with emcc; every target
        # here is a C99 + POSIX system, so this config.h states what those
        # checks find, and the compiler says the word size and byte order
        # (cmocka lays out a union by them on 32-bit big-endian targets).
        cat > "$cmocka_dir/config.h" <<'EOF'
#define HAVE_INTTYPES_H 1
#define HAVE_MALLOC_H 1
#define HAVE_SIGNAL_H 1
#define HAVE_STRINGS_H 1
#define HAVE_STRUCT_TIMESPEC 1
#define HAVE_CLOCK_GETTIME 1
#define HAVE_CLOCK_REALTIME 1
#define HAVE_SIGLONGJMP 1
#define HAVE_STRSIGNAL 1
#define HAVE_SNPRINTF 1
#define HAVE_VSNPRINTF 1
#define HAVE_GCC_THREAD_LOCAL_STORAGE 1
#define WORDS_SIZEOF_VOID_P __SIZEOF_POINTER__
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define WORDS_BIGENDIAN 1
#endif
/* <stdint.h> declares uintptr_t; cmocka.h would otherwise guess it. */
#define _UINTPTR_T_DEFINED 1
EOF
        mkdir -p "$cmocka_prefix/lib" "$cmocka_prefix/include"
        # shellcheck disable=SC2086
        "$cc" $cmocka_cflags -std=gnu99 -O2 -fPIC -DHAVE_CONFIG_H -I"$cmocka_dir" \
            -I"$cmocka_src/include" -c "$cmocka_src/src/cmocka.c" -o "$cmocka_dir/cmocka.o"
        "$ar" rcs "$cmocka_prefix/lib/libcmocka.a" "$cmocka_dir/cmocka.o"
        cp "$cmocka_src/include/cmocka.h" "$cmocka_prefix/include/"
    fi
    # Given these, configure asks pkg-config nothing about cmocka.
    cmocka_vars=(CMOCKA_CFLAGS="-I$cmocka_prefix/include" CMOCKA_LIBS="$cmocka_prefix/lib/libcmocka.a")
    lap "cmocka from source"
else
    # pkg-config does not know the target: point it at the target's .pc files.
    cmocka_vars=(PKG_CONFIG=pkg-config PKG_CONFIG_LIBDIR="/usr/lib/$multiarch/pkgconfig:/usr/share/pkgconfig")
fi

if [ ! -x configure ]; then
    step "autogen.sh (no configure in this tree)"
    ./autogen.sh
    lap "autogen.sh"
fi

step "configure and build in build-cross-$target"
rm -rf "$builddir"
mkdir -p "$builddir"
cd "$builddir"
configure=(../configure -q --disable-valgrind --enable-werror "${cmocka_vars[@]}")
case $target in
    musl)   configure+=(CC=musl-gcc) ;;
    wasm32) configure=(emconfigure "${configure[@]}" --host="$triplet") ;;
    *)      configure+=(--host="$triplet") ;;
esac
# emcc prints its version on stderr when configure asks for it.
"${configure[@]}" 2> >(grep -v -e '^emcc (Emscripten' -e '^configure: WARNING: using cross tools' >&2)
grep -qx 'S\["HAVE_CMOCKA_TRUE"\]=""' config.status ||
    die "configure did not find cmocka for $target (see $builddir/config.log)"
make -s -j"$jobs"
lap "configure + build"

step "make check for $target"
unset QEMU_LD_PREFIX TEST_WRAPPER COTHREAD_TEST_UNDER_QEMU
if [ "$target" = i686 ]; then
    # Natively if this kernel runs i386 programs (the probe also needs the
    # i386 loader and libc, libc6:i386).
    printf 'int main(void) { return 0; }\n' > native-probe.c
    "$cc" native-probe.c -o native-probe
    if ./native-probe 2>/dev/null; then
        qemu=
    else
        echo "this kernel does not run i386 programs (IA-32 emulation off?): using qemu-i386"
    fi
fi
check=(make -s -j"$jobs" check VERBOSE=1)
if [ -n "$qemu" ]; then
    # libtool --mode=execute runs the real program (tests/.libs/...) with
    # LD_LIBRARY_PATH set to the uninstalled library; qemu passes it on.
    runner="$builddir/libtool --mode=execute $qemu"
    # Where the target's libc6 is installed through multiarch (a dependency
    # of libcmocka0:ARCH), the programs must use its loader, found at the
    # usual path: with -L /usr/TRIPLET they would get the cross loader and
    # then, through /etc/ld.so.cache, the multiarch libc of another build,
    # and crash. Without it, the cross libc in /usr/TRIPLET is the one.
    [ "$cmocka" = multiarch ] || runner="$runner -L /usr/$triplet"
    echo "test programs run as: $runner PROGRAM"
    # TEST_WRAPPER: tests/examples.sh runs the examples with it.
    export TEST_WRAPPER=$runner COTHREAD_TEST_UNDER_QEMU=1
    check+=(LOG_COMPILER="$runner")
elif [ "$target" = wasm32 ]; then
    echo "test programs run as: $(sed -n 's/^TEST_RUNNER = //p' Makefile) PROGRAM"
else
    echo "test programs run natively"
fi
status=0
"${check[@]}" || status=$?
lap "make check"

# Each test that skipped itself, with the reason it printed just before.
skipped=$(awk '
    FNR == 1 { reason = ""; summary = 0 }
    /^\[  SKIPPED \] [0-9]+ test\(s\), listed below:/ { summary = 1 }
    summary { next }
    /^skipped: / { reason = substr($0, 10); next }
    /^\[  SKIPPED \] / {
        name = $0; sub(/^\[  SKIPPED \] /, "", name)
        file = FILENAME; sub(/\.log$/, "", file)
        printf "%s %s: %s\n", file, name, reason != "" ? reason : "(no reason printed)"
        reason = ""
    }' tests/*.log)
passed=$(cat tests/*.log | grep -c '^\[       OK \]' || true)
step "cmocka tests on $target: $passed passed, $(printf '%s' "$skipped" | grep -c . || true) skipped"
if [ -n "$skipped" ]; then
    printf '%s\n' "$skipped"
fi
grep -h 'coroutines suspended at once' tests/test-scale.log || true
step "timings for $target"
printf '%s\n' "${timings[@]}"
printf '%-22s %4ds\n' "total" $((SECONDS - started))
[ "$status" -eq 0 ] || die "make check failed for $target (logs in $builddir/tests)"
step "cross check passed for $target"
