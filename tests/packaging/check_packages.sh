#!/usr/bin/env bash
# Checks the Debian packages cpack made (packaging/CMakeLists.txt): their fields, their files, and the programs run
# from a throwaway root they are unpacked into.
#
#   tests/packaging/check_packages.sh [--strict] DIR [LRELEASE]
#
# DIR holds demand-layering-agent_*.deb and, where the studio was built, demand-layering-studio_*.deb. LRELEASE
# (Qt's lrelease) lets the check prove the installed studio reads its translations from the installed tree.
# --strict (scripts/package.sh): every library the programs load must come from a package; without it, libraries
# from outside any package (a CUDA toolkit in /usr/local/cuda, which the build tree may link) are only reported.
# Run by CTest (package_deb, from the build tree) and by scripts/package.sh (from the release tree). Each check
# prints what it found; the first that fails ends the script with status 1.
set -uo pipefail
strict=0
if [ "${1:-}" = --strict ]; then
    strict=1
    shift
fi
dir=${1:?usage: check_packages.sh [--strict] DIR [LRELEASE]}
lrelease=${2:-}
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/dl-package-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
ok() { echo "ok: $*"; }

shopt -s nullglob
agent=("$dir"/demand-layering-agent_*.deb)
studio=("$dir"/demand-layering-studio_*.deb)
[ ${#agent[@]} -eq 1 ] || fail "expected one demand-layering-agent_*.deb in $dir, found ${#agent[@]}"
[ ${#studio[@]} -le 1 ] || fail "more than one demand-layering-studio_*.deb in $dir"
debs=("${agent[0]}" "${studio[@]}")

# --- the control fields: Depends computed by dpkg-shlibdeps, the agent's without Qt ------------------------------
for deb in "${debs[@]}"; do
    dpkg-deb --info "$deb" >/dev/null || fail "$(basename "$deb") is no readable Debian package"
    echo "== $(basename "$deb")"
    dpkg-deb --field "$deb" Package Version Architecture Depends Recommends | sed 's/^/   /'
done
agent_depends=$(dpkg-deb --field "${agent[0]}" Depends)
[[ "$agent_depends" == *libc6* && "$agent_depends" == *libdnnl* && "$agent_depends" == *libssl* ]] ||
    fail "the agent's Depends lacks what dlayer links (libc6, libdnnl, libssl): dpkg-shlibdeps did not run?"
if grep -qiE 'libqt|qt6' <<<"$agent_depends"; then fail "the agent depends on Qt: $agent_depends"; fi
ok "the agent's Depends names the engine's libraries and no Qt"
if [ ${#studio[@]} -eq 1 ]; then
    studio_depends=$(dpkg-deb --field "${studio[0]}" Depends)
    for p in libqt6widgets6 libqt6keychain1 qt6-qpa-plugins libdnnl; do
        [[ "$studio_depends" == *"$p"* ]] || fail "the studio's Depends lacks $p: $studio_depends"
    done
    ok "the studio's Depends names Qt's widgets, QtKeychain, the platform plugins and the engine's libraries"
fi

# --- every library the programs link comes from a package the Depends names (dpkg-shlibdeps passes over a library
# no package owns without a word) ------------------------------------------------------------------------------
for deb in "${debs[@]}"; do
    depends=$(dpkg-deb --field "$deb" Depends)
    mkdir -p "$work/libs"
    dpkg-deb --extract "$deb" "$work/libs"
    for bin in "$work"/libs/usr/bin/*; do
        # The libraries the program names itself (ldd lists theirs too, which their own packages depend on).
        needed=$(objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}')
        while read -r lib path; do
            grep -qx -- "$lib" <<<"$needed" || continue
            case "$path" in
            not) fail "$(basename "$bin") needs $lib, which is nowhere on this machine" ;;
            esac
            owner=$(dpkg-query --search "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)
            [ -z "$owner" ] && owner=$(dpkg-query --search "$path" 2>/dev/null | head -n 1 | cut -d: -f1)
            if [ -z "$owner" ]; then
                [ "$strict" -eq 1 ] && fail "$(basename "$bin") loads $path, which no package installed"
                echo "   note: $(basename "$bin") loads $path, which no package installed (not in Depends)"
            elif [[ "$owner" != libc6 && "$depends" != *"$owner"* ]]; then
                fail "$(basename "$bin") loads $lib from $owner, which $(basename "$deb")'s Depends does not name"
            fi
        done < <(ldd "$bin" | awk '$2 == "=>" {print $1, $3}')
    done
    rm -rf "$work/libs"
done
ok "every library the programs link comes from a package their Depends names$([ "$strict" -eq 1 ] && echo ', none from elsewhere')"

# --- the files each package lays out ----------------------------------------------------------------------------
expect_files() {
    local deb=$1
    shift
    local listing
    listing=$(dpkg-deb --contents "$deb" | awk '{print $NF}' | sed 's|^\./|/|')
    for f in "$@"; do
        grep -qx -- "$f" <<<"$listing" || fail "$(basename "$deb") lacks $f"
    done
    ok "$(basename "$deb") holds ${*##*/}"
}
expect_files "${agent[0]}" /usr/bin/dlayer /usr/share/man/man1/dlayer.1.gz /lib/systemd/system/dlayer-agent.service \
    /usr/share/doc/demand-layering-agent/copyright /usr/share/doc/demand-layering-agent/changelog.gz
if dpkg-deb --contents "${agent[0]}" | grep -qE 'dlstudio|/applications/|/icons/'; then
    fail "the agent holds the studio's files"
fi
if [ ${#studio[@]} -eq 1 ]; then
    expect_files "${studio[0]}" /usr/bin/dlstudio /usr/share/man/man1/dlstudio.1.gz \
        /usr/share/applications/dlstudio.desktop /usr/share/icons/hicolor/scalable/apps/dlstudio.svg \
        /usr/share/mime/packages/demand-layering.xml /usr/share/dlstudio/translations/dlstudio_ko.qm \
        /usr/share/dlstudio/translations/dlstudio_en.qm /usr/share/doc/demand-layering-studio/copyright
fi

# --- unpacked into a throwaway root: the programs run from there --------------------------------------------------
mkdir -p "$root"
for deb in "${debs[@]}"; do dpkg-deb --extract "$deb" "$root" || fail "cannot unpack $(basename "$deb")"; done
version=$(dpkg-deb --field "${agent[0]}" Version)
out=$("$root/usr/bin/dlayer" --version 2>&1) || fail "the installed dlayer --version failed: $out"
echo "$out" | sed 's/^/   /'
[[ "$out" == "dlayer $version"* ]] || fail "the installed dlayer says '$out', not version $version"
ok "the installed dlayer runs: dlayer $version"
unit=$root/lib/systemd/system/dlayer-agent.service
grep -qx 'ExecStart=/usr/bin/dlayer serve --listen 0.0.0.0:7433' "$unit" ||
    fail "the unit does not start the installed dlayer: $(grep ExecStart "$unit")"
ok "the systemd unit starts /usr/bin/dlayer"

if [ ${#studio[@]} -eq 1 ]; then
    studio_bin=$root/usr/bin/dlstudio
    export QT_QPA_PLATFORM=offscreen
    out=$("$studio_bin" --version 2>/dev/null) || fail "the installed dlstudio --version failed"
    echo "   $out"
    [[ "$out" == *" $version" ]] || fail "the installed dlstudio says '$out', not version $version"
    ok "the installed dlstudio runs: $out"
    out=$("$studio_bin" --lang ko --help 2>/dev/null) || fail "dlstudio --lang ko --help failed"
    grep -q '모델' <<<"$out" || fail "dlstudio --lang ko --help is not in Korean: $out"
    ok "the installed dlstudio speaks Korean with --lang ko"
    # A language only the installed tree has: the studio reads it from share/dlstudio/translations.
    if [ -n "$lrelease" ]; then
        cat >"$work/dlstudio_de.ts" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>main</name>
    <message>
        <source>Demand Layering Studio</source>
        <translation>Demand-Layering-Studio (aus dem installierten Verzeichnis)</translation>
    </message>
</context>
</TS>
EOF
        "$lrelease" -silent "$work/dlstudio_de.ts" -qm "$root/usr/share/dlstudio/translations/dlstudio_de.qm" ||
            fail "lrelease failed"
        out=$("$studio_bin" --lang de --help 2>/dev/null) || fail "dlstudio --lang de --help failed"
        grep -q 'aus dem installierten Verzeichnis' <<<"$out" ||
            fail "the installed dlstudio did not read share/dlstudio/translations/dlstudio_de.qm: $out"
        ok "the installed dlstudio reads its translations from share/dlstudio/translations"
    fi
    unset QT_QPA_PLATFORM
fi

# --- the man pages: they render without groff's warnings, and describe every option --help names ---------------
check_man() {
    local page=$1 help=$2
    local warnings
    warnings=$(zcat "$page" | groff -man -ww -z -t 2>&1)
    [ -z "$warnings" ] || fail "$(basename "$page"): groff warns: $warnings"
    local missing=()
    for opt in $(grep -oE -- '--[a-z][a-z0-9-]+' <<<"$help" | sort -u); do
        [ "$opt" = --help-all ] && continue
        zcat "$page" | grep -qF -- "${opt//-/\\-}" || missing+=("$opt")
    done
    [ ${#missing[@]} -eq 0 ] || fail "$(basename "$page") does not describe ${missing[*]}"
    ok "$(basename "$page") renders cleanly and describes every option --help names"
}
if command -v groff >/dev/null; then
    check_man "$root/usr/share/man/man1/dlayer.1.gz" "$("$root/usr/bin/dlayer" --help 2>&1)"
    [ ${#studio[@]} -eq 1 ] && check_man "$root/usr/share/man/man1/dlstudio.1.gz" \
        "$(QT_QPA_PLATFORM=offscreen "$root/usr/bin/dlstudio" --help 2>/dev/null)"
else
    echo "skip: no groff here to render the man pages"
fi

# --- the desktop file and the MIME types ------------------------------------------------------------------------
if [ ${#studio[@]} -eq 1 ]; then
    desktop=$root/usr/share/applications/dlstudio.desktop
    if command -v desktop-file-validate >/dev/null; then
        out=$(desktop-file-validate "$desktop" 2>&1) || fail "desktop-file-validate: $out"
        [ -z "$out" ] || fail "desktop-file-validate: $out"
        ok "dlstudio.desktop validates"
    else
        echo "skip: no desktop-file-validate (desktop-file-utils)"
    fi
    grep -qx 'Exec=dlstudio %f' "$desktop" || fail "the desktop file does not hand the studio the file it opens"
    mimes=$(sed -n 's/^MimeType=//p' "$desktop" | tr ';' ' ' | xargs)
    for m in $mimes; do
        grep -q "type=\"$m\"" "$root/usr/share/mime/packages/demand-layering.xml" ||
            fail "dlstudio.desktop opens $m, which demand-layering.xml does not define"
    done
    ok "dlstudio.desktop opens $mimes, each defined by the package"
    if command -v update-mime-database >/dev/null; then
        out=$(XDG_DATA_DIRS="$root/usr/share:${XDG_DATA_DIRS:-/usr/local/share:/usr/share}" \
            update-mime-database "$root/usr/share/mime" 2>&1) || fail "update-mime-database: $out"
        [ -z "$out" ] || fail "update-mime-database: $out"
        for m in application/x-dlpack application/x-onnx text/x-darknet-cfg; do
            grep -q "^$m\$" "$root/usr/share/mime/types" || fail "the MIME database built from the package lacks $m"
        done
        grep -q 'DLLPACK' "$root/usr/share/mime/magic" || fail "the MIME database does not know a pack by its magic"
        ok "the MIME types compile: application/x-dlpack (by magic too), application/x-onnx, text/x-darknet-cfg"
    else
        echo "skip: no update-mime-database (shared-mime-info)"
    fi
fi

# --- lintian, where it is installed -----------------------------------------------------------------------------
if command -v lintian >/dev/null; then
    suppress=()
    # A build linking a CUDA toolkit from outside Debian's packages (NVIDIA's, in /usr/local/cuda) needs its
    # RUNPATH to find it: lintian's custom-library-search-path. scripts/package.sh builds without CUDA.
    if "$root/usr/bin/dlayer" --version | grep -qE "CUDA [0-9]"; then suppress=(--suppress-tags custom-library-search-path); fi
    status=0
    lintian --fail-on error,warning "${suppress[@]}" "${debs[@]}" >"$work/lintian.log" 2>&1 || status=$?
    grep -v 'running with root privileges' "$work/lintian.log" | sed 's/^/   /'
    [ "$status" -eq 0 ] || fail "lintian reports errors or warnings (status $status)"
    ok "lintian: no error, no warning${suppress:+ (${suppress[*]}: this build links CUDA from /usr/local)}"
else
    echo "skip: no lintian here"
fi
echo "the packages check out"
