#!/usr/bin/env bash
# Records the differential corpus: each program runs in an 80x24 tmux pane (TERM=xterm-256color) while
# `pipe-pane -o` copies everything it writes to <name>.bin. Keys are sent with send-keys. The recordings
# are what the tests replay; run this again only to refresh them (the bytes then change). With names as
# arguments (e.g. `record.sh htop claude`) only those are recorded again. htop, dialog and whiptail come
# from Debian packages of the same names; the agent TUIs (claude, codex) need .ci/install-agent-clis and are
# recorded by record-agent.cs against the local model server of the real-agent tests.
set -euo pipefail
cd "$(dirname "$0")"
sock="zs-record-$$"
t() { tmux -L "$sock" -f /dev/null "$@"; }
repo="$(git rev-parse --show-toplevel)"
wanted() { [ ${#names[@]} -eq 0 ] || [[ " ${names[*]} " == *" $1 "* ]]; }
names=("$@")
record() { # name, command, then key groups (each sent after a pause)
  local name=$1 cmd=$2; shift 2
  wanted "$name" || return 0
  rm -f "$name.bin"
  t new-session -d -s rec -x 80 -y 24 "stty -echo; sleep 0.3; exec env TERM=xterm-256color LANG=C.UTF-8 $cmd"
  t set-option -t rec remain-on-exit on
  t pipe-pane -o -t rec "cat >> '$PWD/$name.bin'"
  sleep 1
  for keys in "$@"; do t send-keys -t rec $keys; sleep 0.4; done
  sleep 0.5
  t kill-server || true
  echo "$name: $(wc -c < "$name.bin") bytes"
}
record vim "vim -u DEFAULTS -i NONE -c 'syntax on' '$repo/src/Zeroshot.Terminal/ResizeDebouncer.cs'" \
  "j j j w w" "o" "-l hello from the corpus 日本語 ✓" "Escape" "G" "gg" ":q! Enter"
record less "sh -c \"git -C '$repo' log --color=always -20 --stat | less -R\"" "Space" "j j j" "/Screen Enter" "G" "q"
record top "top -d 0.3" "" "M" "" "q"
record git-log "sh -c \"git -C '$repo' log --color=always --graph --decorate --oneline -40; sleep 0.5\""
record ls "sh -c \"ls --color=always -la /usr/bin | head -60; sleep 0.5\""
record htop "htop -d 5 --no-mouse" "" "F5" "Down Down" "q"
record dialog "dialog --title Corpus --checklist 'Record which programs?' 12 50 4 vim 'an editor' on less 'a pager' off htop 'processes' on top 'processes' off" \
  "Down" "Space" "Tab" "Enter"
record whiptail "whiptail --title Corpus --yesno 'Keep the recording small?' 10 40" "Tab" "Enter"
# The agent TUIs: the model server scripts one answer; record-agent.cs types the prompt and waits for it.
for agent in claude codex; do
  wanted "$agent" || continue
  dotnet run --file "$PWD/record-agent.cs" -- "$agent" "$PWD/$agent.bin"
  echo "$agent: $(wc -c < "$agent.bin") bytes"
done
