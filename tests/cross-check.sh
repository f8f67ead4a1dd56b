#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Cross-builds cothread and its cmocka tests for another architecture and
# runs make check there:
#
#   tests/cross-check.sh i686|s390x|aarch64|riscv64
#
# - On Debian 12, as root, it first installs what is missing: the cross
#   compiler and libc, qemu-user, and cmocka for the target through multiarch
#   (riscv64 is not a Debian 12 architecture: there cmocka is built from
#   Debian's own cmocka source package, as a static library).
# - It builds out of tree in build-cross-TARGET (removed and made anew each
#   run). The source tree must not be configured in-tree: run
#   "make distclean" there first, or use a fresh clone.
# - The test programs and examples run under qemu-user (qemu-ARCH, no
#   binfmt_misc), except i686's, which run natively where the kernel runs
#   i386 programs (some x86-64 kernels have IA-32 emulation off; then they
#   run under qemu-i386 too). Under qemu, COTHREAD_TEST_UNDER_QEMU=1 makes
#   the tests that qemu-user cannot run skip themselves, each printing its
#   reason; the script lists them at the end.
#
# Exits non-zero on any failure.
set -euo pipefail

die() { printf 'cross-check: %s\n' "$*" >&2; exit 1; }
step() { printf '\n=== %s\n' "$*"; }

target=${1:-}
# triplet: the cross tools' prefix; arch: Debian's architecture; multiarch:
# where Debian puts that architecture's libraries (/usr/lib/MULTIARCH).
case $target in
    i686)    triplet=i686-linux-gnu    arch=i386    multiarch=i386-linux-gnu qemu=qemu-i386 ;;
    s390x)   triplet=s390x-linux-gnu   arch=s390x   multiarch=$triplet qemu=qemu-s390x ;;
    aarch64) triplet=aarch64-linux-gnu arch=arm64   multiarch=$triplet qemu=qemu-aarch64 ;;
    riscv64) triplet=riscv64-linux-gnu arch=riscv64 multiarch=$triplet qemu=qemu-riscv64 ;;
    *) echo "usage: $0 i686|s390x|aarch64|riscv64" >&2; exit 2 ;;
esac
# Debian 12 has cmocka for every target but riscv64 (not a release
# architecture there, so not in its archive).
case $arch in
    riscv64) cmocka_from=source ;;
    *)       cmocka_from=multiarch ;;
esac

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

step "packages for $target ($triplet, Debian architecture $arch)"
packages=(make pkg-config "gcc-$triplet" "libc6-dev-$arch-cross")
[ -x configure ] || packages+=(autoconf automake libtool)
packages+=(qemu-user)   # i686 too: the kernel may not run i386 programs
if [ "$cmocka_from" = multiarch ]; then
    # Also brings libc6:ARCH, the dynamic loader and libc the programs run with.
    packages+=("libcmocka-dev:$arch")
else
    packages+=(cmake xz-utils)
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
    if [ "$cmocka_from" = multiarch ] && [ "$arch" != "$(dpkg --print-architecture)" ] &&
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

if [ "$cmocka_from" = source ]; then
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
        (cd "$cmocka_dir" && apt-get source -qq --download-only cmocka)
        tarball=$(find "$cmocka_dir" -maxdepth 1 -name 'cmocka_*.orig.tar.*' ! -name '*.asc' | head -n 1)
        [ -n "$tarball" ] || die "apt-get source cmocka downloaded no source tarball"
        tar -C "$cmocka_dir" -xf "$tarball"
        cmocka_src=$(find "$cmocka_dir" -mindepth 1 -maxdepth 1 -type d -name 'cmocka-*' | head -n 1)
        [ -n "$cmocka_src" ] || die "apt-get source cmocka gave no source tree in $cmocka_dir"
        cmake -S "$cmocka_src" -B "$cmocka_dir/build" -DCMAKE_SYSTEM_NAME=Linux \
            -DCMAKE_SYSTEM_PROCESSOR="$target" -DCMAKE_C_COMPILER="$triplet-gcc" \
            -DCMAKE_BUILD_TYPE=Release -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
            -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF \
            -DCMAKE_INSTALL_PREFIX="$cmocka_prefix" -DCMAKE_INSTALL_LIBDIR=lib >/dev/null
        cmake --build "$cmocka_dir/build" -j "$jobs" >/dev/null
        cmake --install "$cmocka_dir/build" >/dev/null
        # Static only: the test programs then need no library path under qemu.
        rm -f "$cmocka_prefix"/lib/libcmocka.so*
        mv "$cmocka_prefix/lib/libcmocka-static.a" "$cmocka_prefix/lib/libcmocka.a"
    fi
    pkg_config_libdir=$cmocka_prefix/lib/pkgconfig
    lap "cmocka from source"
else
    pkg_config_libdir=/usr/lib/$multiarch/pkgconfig:/usr/share/pkgconfig
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
# pkg-config does not know the target: point it at the target's .pc files.
../configure -q --host="$triplet" --disable-valgrind --enable-werror \
    PKG_CONFIG=pkg-config PKG_CONFIG_LIBDIR="$pkg_config_libdir"
grep -qx 'S\["HAVE_CMOCKA_TRUE"\]=""' config.status ||
    die "configure did not find cmocka for $triplet (see $builddir/config.log)"
make -s -j"$jobs"
lap "configure + build"

step "make check for $target"
unset QEMU_LD_PREFIX TEST_WRAPPER COTHREAD_TEST_UNDER_QEMU
if [ "$target" = i686 ]; then
    # Natively if this kernel runs i386 programs (the probe also needs the
    # i386 loader and libc, libc6:i386).
    printf 'int main(void) { return 0; }\n' > native-probe.c
    "$triplet-gcc" native-probe.c -o native-probe
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
    [ -e "/lib/$multiarch/libc.so.6" ] || runner="$runner -L /usr/$triplet"
    echo "test programs run as: $runner PROGRAM"
    # TEST_WRAPPER: tests/examples.sh runs the examples with it.
    export TEST_WRAPPER=$runner COTHREAD_TEST_UNDER_QEMU=1
    check+=(LOG_COMPILER="$runner")
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
if [ -n "$skipped" ]; then
    step "tests skipped on $target"
    printf '%s\n' "$skipped"
fi
step "timings for $target"
printf '%s\n' "${timings[@]}"
printf '%-22s %4ds\n' "total" $((SECONDS - started))
[ "$status" -eq 0 ] || die "make check failed for $target (logs in $builddir/tests)"
step "cross check passed for $target"
