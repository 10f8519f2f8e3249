#!/usr/bin/env bash
# Runs the probe and htop side by side in two detached 120x40 tmux sessions and measures both from outside via
# /proc/<pid>/stat (utime+stime, 100 Hz ticks) over the same window. The probe also reports its own numbers.
# usage: measure.sh <label> <probe command...>   e.g. measure.sh timer dotnet bin/Release/net10.0/TerminalGuiProbe.dll
set -euo pipefail
label=$1; shift
window=${WINDOW:-60}; warm=5; out=/tmp/tgprobe-$label.txt
ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
echo "== $label  $(date -u +%FT%TZ)  loadavg: $(cat /proc/loadavg)"
tmux new-session -d -s "probe-$label" -x 120 -y 40 "exec $* --seconds $((window + warm + 2)) --warmup $warm --out $out"
tmux new-session -d -s "htop-$label" -x 120 -y 40 "exec htop"
sleep "$warm"
ppid_=$(tmux display -p -t "probe-$label" '#{pane_pid}'); hpid=$(tmux display -p -t "htop-$label" '#{pane_pid}')
p0=$(ticks "$ppid_"); h0=$(ticks "$hpid"); t0=$(date +%s.%N)
sleep "$window"
p1=$(ticks "$ppid_"); h1=$(ticks "$hpid"); t1=$(date +%s.%N)
tmux kill-session -t "htop-$label"
while tmux has-session -t "probe-$label" 2>/dev/null; do sleep 0.5; done
awk -v p="$((p1 - p0))" -v h="$((h1 - h0))" -v t0="$t0" -v t1="$t1" 'BEGIN {
  w = t1 - t0; printf "external over %.1f s: probe %d ticks = %.3f %% of one core; htop %d ticks = %.3f %% of one core\n", w, p, p / 100 / w * 100, h, h / 100 / w * 100 }'
cat "$out"
echo "   loadavg at end: $(cat /proc/loadavg)"
