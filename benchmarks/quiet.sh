# Sourced by the CPU record scripts (hinton_cpu_records.sh, hinton_fp32_records.sh).
# wait_quiet SECONDS: wait, up to SECONDS, for the 1-minute load average to fall below $QUIET;
# past that, say so and return 1 (the caller runs anyway: the record keeps the load at the start).
wait_quiet() {
  local waited=0 load
  while load=$(cut -d' ' -f1 /proc/loadavg); awk "BEGIN{exit !($load >= $QUIET)}"; do
    if [ $waited -ge "$1" ]; then echo "still busy (load $load) after ${waited} s: running anyway" >&2; return 1; fi
    sleep 30; waited=$((waited + 30))
  done
  echo "quiet: load $load"
}
