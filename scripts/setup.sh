#!/usr/bin/env bash
# Installs what is missing on Debian 12 (as root, or through sudo) and configures + builds into build/.
#   scripts/setup.sh [--no-studio] [--no-build]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

packages=(
    build-essential cmake ninja-build pkg-config git
    libdnnl-dev ocl-icd-opencl-dev
    libonnx-dev libprotobuf-dev protobuf-compiler
    liburing-dev nlohmann-json3-dev libsqlite3-dev libssl-dev openssl
    libonnx-testdata darknet
    dpkg-dev file lintian groff-base shared-mime-info
)

studio=ON
build=1
for a in "$@"; do
    case "$a" in
        --no-studio) studio=OFF ;;
        --no-build) build=0 ;;
        *) echo "setup.sh: unknown option $a" >&2; exit 2 ;;
    esac
done

# The studio's (and the Qt Test suites'): left out by --no-studio, the headless tree a board without Qt 6 builds.
if [ "$studio" = ON ]; then
    packages+=(qt6-base-dev libqt6sql6-sqlite qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools libqcustomplot-dev
        qtkeychain-qt6-dev xvfb xauth desktop-file-utils)
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from elsewhere than Debian (with its own npm); Debian's npm would conflict with it.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing Debian packages: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "$build" -eq 1 ]; then
    echo "== configuring and building into build/"
    cmake -S . -B build -G Ninja -DDL_BUILD_STUDIO="$studio" >build.configure.log 2>&1 || { cat build.configure.log; exit 1; }
    rm -f build.configure.log
    jobs=$(nproc)
    ninja -C build -j "$jobs"
fi
