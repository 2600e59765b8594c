#!/bin/sh
# Smoke test of the bundle as a person without Python would run it: builds dist/photolens
# (unless --no-build), then runs it with an empty environment (PATH=/usr/bin:/bin, a fresh HOME,
# no venv) and checks --version, indexing a small folder of real photos, search --json, and
# (with ../shared/datasets/faces-dev) that faces are found and grouped.
#
#   packaging/smoke.sh [--no-build] [PHOTO_FOLDER]
#
# PHOTO_FOLDER defaults to the first 24 photos of ../shared/datasets/coco-mini.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=1
if [ "${1:-}" = "--no-build" ]; then BUILD=0; shift; fi
SRC=${1:-$ROOT/../shared/datasets/coco-mini}

[ "$BUILD" = 1 ] && "$ROOT/packaging/build.sh"
EXE=$ROOT/dist/photolens/photolens
[ -x "$EXE" ] || { echo "FAIL: $EXE missing; run packaging/build.sh" >&2; exit 1; }
[ -d "$SRC" ] || { echo "FAIL: photo folder $SRC not found; pass one as an argument" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/home" "$WORK/photos"
find "$SRC" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) | sort | head -n 24 |
    while IFS= read -r f; do cp "$f" "$WORK/photos/"; done

# What a desktop session without Python gives a program: no venv, no PYTHONPATH, no site dirs.
run() { env -i PATH=/usr/bin:/bin HOME="$WORK/home" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen "$EXE" "$@"; }
now() { date +%s.%N; }
secs() { echo "$1 $2" | awk '{printf "%.2f", $2 - $1}'; }

t0=$(now); version=$(run --version); t1=$(now)
echo "version: $version (start-up $(secs "$t0" "$t1") s)"
case "$version" in photolens*) ;; *) echo "FAIL: unexpected --version output" >&2; exit 1 ;; esac

t0=$(now); run --library "$WORK/lib" add "$WORK/photos" 2>"$WORK/add.log"; t1=$(now)
echo "add + index of $(ls "$WORK/photos" | wc -l) photos: $(secs "$t0" "$t1") s"

run --library "$WORK/lib" status --json > "$WORK/status.json"
grep -q '"indexed": 24' "$WORK/status.json" || { echo "FAIL: not all photos indexed:" >&2; cat "$WORK/status.json" "$WORK/add.log" >&2; exit 1; }

t0=$(now); run --library "$WORK/lib" search "a dog" -n 5 --json > "$WORK/search.json"; t1=$(now)
echo "search --json (cold process): $(secs "$t0" "$t1") s"
grep -q '"results": \[{"path": "'"$WORK"'/photos/' "$WORK/search.json" || {
    echo "FAIL: search returned no results from the folder:" >&2; cat "$WORK/search.json" >&2; exit 1; }
if run --library "$WORK/lib" search "" --json 2>"$WORK/err.txt"; then
    echo "FAIL: an empty query should exit non-zero" >&2; exit 1
fi
# People: the bundle's face model, dlib and landmark weights find the same face in two photos.
FACES=$ROOT/../shared/datasets/faces-dev/images
if [ -d "$FACES" ]; then
    mkdir -p "$WORK/faces"
    cp "$FACES/f0041.jpg" "$FACES/f0065.jpg" "$WORK/faces/"  # two photos of Colin Powell
    run --library "$WORK/facelib" add "$WORK/faces" 2>"$WORK/faces.log"
    run --library "$WORK/facelib" people --json > "$WORK/people.json"
    grep -q '"faces": 2' "$WORK/people.json" || {
        echo "FAIL: the two faces were not found as one person:" >&2; cat "$WORK/people.json" "$WORK/faces.log" >&2; exit 1; }
    echo "people: one person found in 2 photos"
fi
echo "bundle: $(du -sh "$ROOT/dist/photolens" | cut -f1); smoke test passed"
