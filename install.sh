#!/usr/bin/env bash
# Installs zeroshot as a Native AOT executable (starts in milliseconds, a quarter of the JIT build's CPU and memory):
#   bash install.sh                 # → ~/.local/bin/zeroshot
#   bash install.sh --prefix DIR    # → DIR/bin/zeroshot (the program's files in DIR/lib/zeroshot)
# Needs the .NET SDK and a C linker (clang, or gcc's cc): `apt-get install -y clang` on Debian.
# Run again to update; `rm -r ~/.local/lib/zeroshot ~/.local/bin/zeroshot` removes it.
set -euo pipefail
cd "$(dirname "$0")"

prefix="${PREFIX:-$HOME/.local}"
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --warnaserror) extra+=(-warnaserror); shift ;;   # CI: any trim/AOT warning fails the install
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (known: --prefix DIR, --warnaserror, --help)" >&2; exit 2 ;;
  esac
done

command -v dotnet >/dev/null 2>&1 || { echo "install.sh: the .NET SDK (dotnet) is not on PATH: https://dotnet.microsoft.com/download" >&2; exit 1; }
if ! command -v clang >/dev/null 2>&1 && ! command -v cc >/dev/null 2>&1; then
  echo "install.sh: Native AOT needs a C linker: install clang (apt-get install -y clang) or gcc" >&2
  exit 1
fi
case "$(uname -s)/$(uname -m)" in
  Linux/aarch64|Linux/arm64) rid=linux-arm64 ;;
  Linux/*) rid=linux-x64 ;;
  Darwin/arm64) rid=osx-arm64 ;;
  Darwin/*) rid=osx-x64 ;;
  *) echo "install.sh: no Native AOT build for $(uname -s)/$(uname -m)" >&2; exit 1 ;;
esac

lib="$prefix/lib/zeroshot"
bin="$prefix/bin"
staging="$prefix/lib/.zeroshot-install.$$"
trap 'rm -rf "$staging"' EXIT
echo "building zeroshot with Native AOT ($rid); this takes a minute or two"
dotnet publish src/Zeroshot.Cli -c Release -r "$rid" -p:PublishAot=true -p:DebugType=none -p:GenerateDocumentationFile=false \
  ${extra[@]+"${extra[@]}"} -o "$staging" -v q -nologo
# Swap the new build in whole, so a zeroshot running from the old one keeps its files until it exits.
mkdir -p "$bin"
rm -rf "$lib.old"
[ -d "$lib" ] && mv "$lib" "$lib.old"
mv "$staging" "$lib"
rm -rf "$lib.old"
ln -sfn "$lib/zeroshot" "$bin/zeroshot"
echo "installed: $bin/zeroshot ($(du -h "$lib/zeroshot" | cut -f1), $("$bin/zeroshot" --version))"
case ":$PATH:" in
  *":$bin:"*) ;;
  *) echo "note: $bin is not on your PATH; add it (e.g. echo 'export PATH=\"$bin:\$PATH\"' >> ~/.bashrc)" ;;
esac
