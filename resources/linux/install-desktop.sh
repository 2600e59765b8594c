#!/bin/sh
# Adds Photolens to the Linux desktop menu for the current user (no root needed):
# the .desktop entry, the icons in every size, and the AppStream metainfo.
#
#   resources/linux/install-desktop.sh [PATH_TO_PHOTOLENS]    install
#   resources/linux/install-desktop.sh --uninstall           remove again
#
# PATH_TO_PHOTOLENS defaults to the bundle next to this checkout (dist/photolens/photolens),
# then to `photolens` on PATH. The menu entry runs it by absolute path, so it works even when
# the bundle is not on PATH.
set -eu
APP_ID=org.photolens.Photolens
HERE=$(cd "$(dirname "$0")" && pwd)
ICONS=$(cd "$HERE/../icons" && pwd)
DATA=${XDG_DATA_HOME:-$HOME/.local/share}

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$DATA/applications/$APP_ID.desktop" "$DATA/metainfo/$APP_ID.metainfo.xml"
    for f in "$DATA"/icons/hicolor/*/apps/$APP_ID.png; do rm -f "$f"; done
    echo "Photolens removed from the desktop menu (your library and photos are untouched)."
    exit 0
fi

EXE=${1:-}
if [ -z "$EXE" ]; then
    for candidate in "$HERE/../../dist/photolens/photolens" "$(command -v photolens || true)"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then EXE=$candidate; break; fi
    done
fi
if [ -z "$EXE" ] || [ ! -x "$EXE" ]; then
    echo "error: no photolens executable found; build it with packaging/build.sh or pass its path" >&2
    exit 1
fi
EXE=$(cd "$(dirname "$EXE")" && pwd)/$(basename "$EXE")

mkdir -p "$DATA/applications" "$DATA/metainfo"
for png in "$ICONS"/photolens-*.png; do
    size=$(basename "$png" .png); size=${size#photolens-}
    mkdir -p "$DATA/icons/hicolor/${size}x${size}/apps"
    cp "$png" "$DATA/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
done
sed -e "s|^Exec=photolens|Exec=\"$EXE\"|" -e "s|^TryExec=photolens|TryExec=$EXE|" \
    "$HERE/$APP_ID.desktop" > "$DATA/applications/$APP_ID.desktop"
cp "$HERE/$APP_ID.metainfo.xml" "$DATA/metainfo/"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$DATA/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$DATA/icons/hicolor" || true
echo "Photolens added to the desktop menu (runs $EXE)."
