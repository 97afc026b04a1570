#!/usr/bin/env bash
# Builds the Debian packages into OUTDIR (default: dist/):
#   demand-layering-studio_VERSION_ARCH.deb   the studio (dlstudio), its translations, desktop file, icon, MIME types
#   demand-layering-agent_VERSION_ARCH.deb    dlayer and the board agent's systemd unit; no Qt
#
#   scripts/package.sh [--no-studio] [OUTDIR] [-- CMAKE_ARGS...]
#
# From a Release tree of its own (build-package/, prefix /usr, Debian's hardening flags from dpkg-buildflags, no
# tests), then checked by tests/packaging/check_packages.sh. Install one with `sudo apt install ./FILE.deb`.
# --no-studio makes the agent alone (a board without Qt 6). The packages leave the CUDA backend out: Debian has no
# CUDA, and dpkg cannot name the packages of a toolkit installed from NVIDIA's installer. CMAKE_ARGS go to cmake
# (-DDL_WITH_CUDA=ON builds a board's agent with CUDA where the toolkit comes from packages, as JetPack's does).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
studio=ON
out=
cmake_args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --no-studio) studio=OFF; shift ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    --) shift; cmake_args=("$@"); break ;;
    -*) echo "package.sh: unknown option $1" >&2; exit 2 ;;
    *) [ -z "$out" ] || { echo "package.sh: one OUTDIR" >&2; exit 2; }; out=$1; shift ;;
    esac
done
out=${out:-$root/dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)
build=${DL_PACKAGE_BUILD:-$root/build-package}

# What building and checking packages needs beyond the project's own dependencies (scripts/setup.sh installs both).
setup_args=(--no-build)
[ "$studio" = OFF ] && setup_args+=(--no-studio)
"$root/scripts/setup.sh" "${setup_args[@]}"

# Debian's hardening, all of it: fortified functions, stack protector, position-independent, read-only relocations
# bound at load (bindnow, which Debian's default leaves out).
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
# Given as cache values, not through CFLAGS and LDFLAGS, which CMake reads only when it first configures a tree.
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
cxxflags="$(dpkg-buildflags --get CXXFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
echo "== configuring $build (Release, prefix /usr, studio $studio)"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
    -DCMAKE_C_FLAGS="$cflags" -DCMAKE_CXX_FLAGS="$cxxflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
    -DDL_BUILD_TESTS=OFF -DDL_BUILD_STUDIO="$studio" -DDL_WITH_CUDA=OFF "${cmake_args[@]}" >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log"; exit 1; }
rm -f "$build.configure.log"
echo "== building"
ninja -C "$build"
echo "== packaging"
rm -rf "$build/_packages"
(cd "$build" && cpack -G DEB -B "$build/_packages")
cp "$build"/_packages/*.deb "$out/"
echo "== checking"
lrelease=
[ -x /usr/lib/qt6/bin/lrelease ] && lrelease=/usr/lib/qt6/bin/lrelease
mkdir -p "$build/_check"
TMPDIR=$build/_check bash "$root/tests/packaging/check_packages.sh" --strict "$build/_packages" $lrelease
echo "== packages in $out:"
(cd "$build/_packages" && for f in *.deb; do echo "   $out/$f ($(du -k "$f" | cut -f1) KiB)"; done)
