#!/usr/bin/env bash
# Load for the restart loop's loaded half: bench/acd_vs_app_queue.py again and again
# until LOG.stop exists (or N rounds). Skips a round while another bench of the same kind
# runs (it has fixed ports and runtime folder /tmp/centrala-acdbench), then loads the
# machine with two busy-looping processes for that round instead.
#   scripts/load_loop.sh LOG [SECONDS]
set -u
log=${1:?usage: load_loop.sh LOG [SECONDS]}
secs=${2:-120}
py=${PYTHON_BIN:-/work/main/.venv/bin/python}
here=${SRC:-$(cd "$(dirname "$0")/.." && pwd)}
while [ ! -e "$log.stop" ]; do
  if pgrep -f "bench/acd_vs_app_queue.py" >/dev/null; then
    echo "$(date -u +%T) another acd bench runs: busy loops for ${secs}s" >>"$log"
    timeout "$secs" "$py" -c "while True: pass" & timeout "$secs" "$py" -c "while True: pass"
    wait
  else
    echo "$(date -u +%T) bench round" >>"$log"
    (cd "$here" && PYTHONPATH=$here "$py" bench/acd_vs_app_queue.py --seconds "$secs") \
      >>"$log" 2>&1
    echo "$(date -u +%T) bench exit $?" >>"$log"
  fi
done
