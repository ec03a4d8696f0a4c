#!/usr/bin/env bash
# Start-up time of chat, for a tool people run often (`make bench-startup`).
#
# Usage: bench/startup.sh [RUNS]      (DENO=/path/to/deno to pick the deno,
#                                      HYPERFINE=none to use the plain loop)
#
# Each line is a whole process, start to exit, run as the executables run
# (the "chat" permission set of deno.json, no prompts), timed by hyperfine
# when it is installed (apt-get install hyperfine), else by a plain loop:
#
#   deno, empty program   deno's own start-up: the floor for `deno run`
#   chat --version        answered before the command-line parser loads
#   chat --help           loads the parser (node:util) and nothing else
#   chat join             starts, connects to a local server, registers and
#                         prints the welcome (the prompt, in a terminal); its
#                         input is empty, so it then leaves and exits: this is
#                         time-to-prompt plus one loopback round trip
#   dist/chat ...         the same with the compiled executable, when dist/chat
#                         is one that runs (not the DENORT_BIN stand-in)
set -euo pipefail
cd "$(dirname "$0")/.."

DENO=${DENO:-deno}
HYPERFINE=${HYPERFINE:-hyperfine}
RUNS=${1:-30}
CHAT="$DENO run -q --permission-set=chat --no-prompt main.ts"

# A server on a free loopback port for join to connect to, read as a
# coprocess: its port comes from its first log line, and the rest of its log
# is drained so that it never blocks on a full pipe. Stopped by its pid.
coproc SERVER { exec $CHAT serve --host 127.0.0.1 --port 0 --max-users 1000 </dev/null 2>&1; }
# shellcheck disable=SC2153 # SERVER_PID is set by coproc
server_pid=$SERVER_PID
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
port=
while IFS= read -r -t 10 line <&"${SERVER[0]}"; do
  if [[ $line =~ listening\ on\ 127\.0\.0\.1:([0-9]+) ]]; then
    port=${BASH_REMATCH[1]}
    break
  fi
done
if [[ -z $port ]]; then
  echo "bench: the server did not start" >&2
  exit 1
fi
exec {server_log}<&"${SERVER[0]}" # a coprocess's own descriptor is not inherited
cat <&"$server_log" >/dev/null &

names=("deno, empty program" "chat --version" "chat --help" "chat join")
commands=(
  "$DENO run -q data:text/javascript,"
  "$CHAT --version"
  "$CHAT --help"
  "$CHAT join 127.0.0.1:$port --name bench"
)
if [[ -x dist/chat ]] && [[ $(dist/chat --version 2>/dev/null) == "chat "* ]]; then
  names+=("dist/chat --version" "dist/chat join")
  commands+=("dist/chat --version" "dist/chat join 127.0.0.1:$port --name bench")
else
  echo "bench: dist/chat is missing or does not run on its own; timing deno run only" >&2
fi

echo "$("$DENO" --version | head -1), $(nproc 2>/dev/null || echo '?') CPUs, $RUNS runs each"
if command -v "$HYPERFINE" >/dev/null; then
  args=()
  for i in "${!commands[@]}"; do args+=(--command-name "${names[$i]}" "${commands[$i]}"); done
  # -N: no intermediate shell, whose start-up would blur millisecond figures.
  # hyperfine gives each run an empty stdin, which is what ends `chat join`.
  "$HYPERFINE" -N --warmup 3 --runs "$RUNS" "${args[@]}"
else
  echo "bench: hyperfine not found; timing with a plain loop (mean of $RUNS runs)" >&2
  for i in "${!commands[@]}"; do
    read -r -a words <<<"${commands[$i]}"
    "${words[@]}" </dev/null >/dev/null 2>&1 || true # warm-up
    start=$(date +%s%N)
    for ((n = 0; n < RUNS; n++)); do "${words[@]}" </dev/null >/dev/null 2>&1 || true; done
    end=$(date +%s%N)
    printf '%-22s %6.1f ms\n' "${names[$i]}" "$(((end - start) / RUNS / 1000))e-3"
  done
fi
