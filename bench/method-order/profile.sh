#!/usr/bin/env bash
# Writes src/Zeroshot.Cli/method-order.txt: the managed methods a supervisor (and its sim agents, and the `run`,
# `status` and `list` commands around it) really runs, most-called first. The Native AOT build places these methods
# first and together (ILC's explicit method layout, dotnet/runtime#117537), so a supervisor's code fits in a few
# hundred pages instead of touching most of the 7.6 MB of managed code. The kernel maps the binary 64 KB at a time
# (fault-around), so a method called once drags its neighbours into memory: the order is what keeps them out.
#
#   sudo bash bench/method-order/profile.sh [--minutes N]     # N: how long the supervisors run (default 6)
#
# How: a uprobe on the first instruction of every managed method of the native binary (its __managedcode section;
# /sys/kernel/tracing/uprobe_events, Documentation/trace/uprobetracer.rst), then two detached supervisors for N
# minutes (ten `sleep` agents; ten `sim` agents) with `status ID`, `status ID --json` and `list` every 10 s, and
# `run --demo` on a terminal; uprobe_profile then holds each probe's hit count.
# Needs root, tracefs, nm and readelf (binutils), script (util-linux), the .NET SDK and a C linker. About 9 minutes:
# the build 1–2, the probes (~39 000) under a minute, the run N. The build goes to a temporary folder, so the
# repository's bin/obj stay yours; the file written is given to $SUDO_USER.
# Methods renamed since the file was written are skipped by ILC; methods it does not list come after, in ILC's order.
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=6
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "profile.sh: unknown argument '$1' (known: --minutes N, --help)" >&2; exit 2 ;;
  esac
done
tracing=/sys/kernel/tracing
[ -w "$tracing/uprobe_events" ] || { echo "profile.sh: needs root and tracefs at $tracing" >&2; exit 1; }
for tool in nm readelf script dotnet; do
  command -v "$tool" >/dev/null || { echo "profile.sh: needs $tool on PATH (sudo's PATH: try sudo env PATH=\"\$PATH\" bash …)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/zeroshot-method-order.XXXXXX)
group=zsorder
tracing_was=$(cat "$tracing/tracing_on")
cleanup() {
  for d in "$work"/run-*; do
    [ -f "$d/id" ] || continue
    ZEROSHOT_HOME="$d/home" XDG_RUNTIME_DIR="$d/rt" "$work/bin/zeroshot" kill "$(cat "$d/id")" >/dev/null 2>&1 || true
  done
  [ -d "$tracing/events/$group" ] && echo 0 > "$tracing/events/$group/enable" 2>/dev/null || true
  # Our event goes (with all its probes); anybody else's stay.
  grep -q "^p:$group/" "$tracing/uprobe_events" 2>/dev/null && echo "-:$group/hit" >> "$tracing/uprobe_events" || true
  echo "$tracing_was" > "$tracing/tracing_on" 2>/dev/null || true
  sleep 1   # the killed supervisors' last writes
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

echo "building the native binary without an order (a minute or two)"
dotnet publish src/Zeroshot.Cli -c Release -r linux-x64 -p:PublishAot=true -p:ZeroshotMethodOrder=none \
  --artifacts-path "$work/artifacts" -o "$work/bin" >"$work/publish.log" 2>&1 || { cat "$work/publish.log" >&2; exit 1; }

# Every managed method's address and its names (aliases share an address: ILC knows only the method's own name, and
# skips the others). File offset = address - the section's address + the section's offset.
read -r mstart moff msize < <(readelf -SW "$work/bin/zeroshot" | sed 's/^ *\[ *[0-9]*\] *//' \
  | awk '$1 == "__managedcode" { print "0x"$3, "0x"$4, "0x"$5; exit }')
[ -n "${msize:-}" ] || { echo "profile.sh: no __managedcode section in the binary" >&2; exit 1; }
nm --defined-only "$work/bin/zeroshot.dbg" | awk '$2 == "t" || $2 == "T" { print $1, $3 }' | sort -k1,1 \
  | while read -r addr name; do
      a=$((16#$addr))
      if (( a >= mstart && a < mstart + msize )); then echo "$addr $name"; fi
    done \
  | awk '$1 == last { names = names " " $2; next } { if (NR > 1) print last, names; last = $1; names = $2 } END { if (NR > 0) print last, names }' \
  > "$work/methods.txt"
echo "$(wc -l < "$work/methods.txt") managed methods; a uprobe on each"
# All probes are one event (each line after the first appends a probe to it, uprobetracer.rst): the kernel waits for
# a grace period once per event it disables, and ~47 000 events, one per probe, took it most of an hour to disable.
while read -r addr _; do
  printf 'p:%s/hit %s:0x%x\n' "$group" "$work/bin/zeroshot" $((16#$addr - mstart + moff))
done < "$work/methods.txt" | while read -r line; do echo "$line" >> "$tracing/uprobe_events"; done
echo 0 > "$tracing/tracing_on"   # the hit counts in uprobe_profile are kept without recording each event
echo 1 > "$tracing/events/$group/enable"

cat > "$work/sleep.json" <<EOF
{"name": "order-sleep", "maxIterations": 1, "agents": [$(for i in 0 1 2 3 4 5 6 7 8 9; do printf '%s{"id": "a%03d", "role": "worker", "command": ["sleep", "3600"]}' "$([ $i -gt 0 ] && echo ,)" $i; done)]}
EOF
cat > "$work/sim.json" <<EOF
{"name": "order-sim", "prompt": "profile", "agents": [$(for i in 0 1 2 3 4 5 6 7 8 9; do printf '%s{"id": "a%03d", "role": "worker", "provider": "sim", "options": {"durationSeconds": 3600, "cpu": 0, "networkKBps": 0}}' "$([ $i -gt 0 ] && echo ,)" $i; done)]}
EOF
for kind in sleep sim; do
  mkdir -p -m 700 "$work/run-$kind/home" "$work/run-$kind/rt"
  ZEROSHOT_HOME="$work/run-$kind/home" XDG_RUNTIME_DIR="$work/run-$kind/rt" "$work/bin/zeroshot" run "$work/$kind.json" --detach > "$work/run-$kind/id"
done
echo "two supervisors run for $minutes minutes (their first memory trims included); run --demo in a terminal"
end=$((SECONDS + minutes * 60))
# The main job too, in the foreground on a terminal (script(1) gives it one): the printer and the footer.
mkdir -p -m 700 "$work/demo/home" "$work/demo/rt"
ZEROSHOT_HOME="$work/demo/home" XDG_RUNTIME_DIR="$work/demo/rt" script -qec "$work/bin/zeroshot run --demo" /dev/null >/dev/null 2>&1 || true
while [ $SECONDS -lt $end ]; do
  for kind in sleep sim; do
    id=$(cat "$work/run-$kind/id")
    for args in "status $id" "status $id --json" "list"; do
      # shellcheck disable=SC2086
      ZEROSHOT_HOME="$work/run-$kind/home" XDG_RUNTIME_DIR="$work/run-$kind/rt" "$work/bin/zeroshot" $args >/dev/null 2>&1 \
        || { echo "profile.sh: 'zeroshot $args' failed" >&2; exit 1; }
    done
  done
  sleep 10
done

# uprobe_profile: "<file> <event> <hits>", a line per probe in the order they were added, which is methods.txt's.
out=src/Zeroshot.Cli/method-order.txt
awk -v f="$work/bin/zeroshot" 'BEGIN { n = 0 } $1 == f && $2 == "hit" { if ($3 > 0) print $3, n; n++ }' "$tracing/uprobe_profile" \
  | sort -k1,1nr -k2,2n \
  | awk 'NR == FNR { names[FNR - 1] = $0; next } { k = split(names[$2], w, " "); for (i = 2; i <= k; i++) print w[i] }' "$work/methods.txt" - \
  > "$work/order.txt"
ran=$(wc -l < "$work/order.txt")
[ "$ran" -gt 0 ] || { echo "profile.sh: no probe was hit; $out left as it was" >&2; exit 1; }
{
  echo "# The managed methods a supervisor runs, most-called first: written by bench/method-order/profile.sh on $(date -u +%F)."
  cat "$work/order.txt"
} > "$work/method-order.txt"
cp "$work/method-order.txt" "$out"
[ -n "${SUDO_UID:-}" ] && chown "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$out"
echo "$ran names of the methods that ran (of $(wc -l < "$work/methods.txt") methods); wrote $out"
