#!/usr/bin/env bash
# Installs the Debian packages on a fresh Debian 12: a minimal bookworm that debootstrap makes in a throwaway folder,
# where `apt install ./FILE.deb` has to fetch every dependency the packages name; then runs the installed programs.
#
#   tests/packaging/fresh-debian.sh [--mirror URL] FILE.deb...
#
# Needs root (debootstrap, chroot) and Debian's mirror (default: the one this machine's apt uses), a few minutes and
# about 1 GiB under ${TMPDIR:-/var/tmp}. Not part of CTest (tests/packaging/check_packages.sh is): run it on the
# packages scripts/package.sh made. Prints what apt installed and what the programs say; status 1 when one fails.
set -euo pipefail
mirror=
debs=()
while [ $# -gt 0 ]; do
    case "$1" in
    --mirror) mirror=$2; shift 2 ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) debs+=("$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"); shift ;;
    esac
done
[ ${#debs[@]} -gt 0 ] || { echo "fresh-debian.sh: give the .deb files to install" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "fresh-debian.sh: needs root (debootstrap, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
if [ -z "$mirror" ]; then
    mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
    mirror=${mirror:-http://deb.debian.org/debian}
fi

root=$(mktemp -d "${TMPDIR:-/var/tmp}/dl-debian12.XXXXXX")
chmod 755 "$root" # apt's downloads run as _apt, which must reach the lists inside
cleanup() {
    for m in proc dev/pts dev; do mountpoint -q "$root/$m" && umount -l "$root/$m"; done
    rm -rf "$root"
}
trap cleanup EXIT

echo "== debootstrap bookworm (minbase) from $mirror into $root"
start=$SECONDS
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
    { tail -n 20 "$root.debootstrap.log"; exit 1; }
rm -f "$root.debootstrap.log"
echo "   $(chroot "$root" dpkg-query -W | wc -l) packages, in $((SECONDS - start)) s"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mkdir -p "$root/tmp/debs"
cp "${debs[@]}" "$root/tmp/debs/"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive "$@"; }

in_root apt-get update -qq
before=$(in_root dpkg-query -W | wc -l)
files=$(cd "$root/tmp/debs" && ls *.deb | sed 's|^|./|' | tr '\n' ' ')
echo "== apt install $files"
in_root sh -c "cd /tmp/debs && apt-get install -y -q $files" >"$root/apt.log" 2>&1 ||
    { tail -n 30 "$root/apt.log"; exit 1; }
grep -E '^(Setting up demand-layering|[0-9]+ upgraded)' "$root/apt.log" | sed 's/^/   /'
echo "   $(( $(in_root dpkg-query -W | wc -l) - before )) packages installed with them"
in_root dpkg-query -W -f='   ${Package} ${Version} ${Status}\n' 'demand-layering-*'

echo "== the installed programs"
status=0
in_root dlayer --version | sed 's/^/   /' || status=1
in_root sh -c 'man -w dlayer 2>/dev/null || ls /usr/share/man/man1/dlayer.1.gz' | sed 's/^/   man page: /' || status=1
# A real run: YOLOv3-tiny (seeded weights) streamed by the two-stage pipeline from a pack made on first use.
src=$(cd "$(dirname "$0")/../.." && pwd)
cp "$src/resources/models/darknet/yolov3-tiny.cfg" "$root/tmp/"
in_root dlayer run /tmp/yolov3-tiny.cfg --arch two-stage --budget 4M --iterations 2 --warmup 1 2>&1 |
    tr '\r' '\n' | grep -v '^packing layer' | sed 's/^/   /' || status=1
if in_root test -x /usr/bin/dlstudio; then
    mkdir -m 0700 "$root/tmp/runtime"
    in_root env QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=/tmp/runtime dlstudio --version 2>&1 | sed 's/^/   /' ||
        status=1
fi
[ "$status" -eq 0 ] && echo "installed on a fresh Debian 12 and ran"
exit "$status"
