#!/usr/bin/env bash
# Load for the restart loop's loaded half, until LOG.stop exists.
#
#   scripts/load_loop.sh LOG [bench|busy] [SECONDS]
#
# bench: bench/acd_vs_app_queue.py --seconds SECONDS, round after round. CAUTION: the bench's
#        platform uses fixed ports 14038-14390 (bench/acd_bench_lab.py ENV), the same as
#        integration slot 2: only use it when nobody runs slot 2 (nor another bench).
# busy:  two processes spinning on the CPU (the machine has 2 cores), SECONDS at a time.
# Each round is logged with the load average.
set -u
log=${1:?usage: load_loop.sh LOG [bench|busy] [SECONDS]}
mode=${2:-busy}
secs=${3:-120}
py=${PYTHON_BIN:-/work/main/.venv/bin/python}
here=${SRC:-$(cd "$(dirname "$0")/.." && pwd)}
while [ ! -e "$log.stop" ]; do
  echo "$(date -u +%T) $mode round, load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$log"
  if [ "$mode" = bench ]; then
    (cd "$here" && PYTHONPATH=$here "$py" bench/acd_vs_app_queue.py --seconds "$secs") \
      >>"$log" 2>&1
  else
    timeout "$secs" "$py" -c "while True: pass" & timeout "$secs" "$py" -c "while True: pass"
    wait
  fi
done
