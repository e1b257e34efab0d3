#!/bin/sh
# A Nagios-style plugin for the demo's exec check: how full is the filesystem holding DIR?
# Usage: check_disk.sh DIR [WARN_PERCENT] [CRIT_PERCENT] (defaults 80 and 90).
# Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; performance data after the '|'.
dir=${1:-.}
warn=${2:-80}
crit=${3:-90}
if [ ! -d "$dir" ]; then
  echo "DISK UNKNOWN - no such directory: $dir"
  exit 3
fi
# POSIX format: a header, then "filesystem 1024-blocks used available capacity mount-point".
if ! out=$(df -P "$dir" 2>&1); then
  echo "DISK UNKNOWN - df failed: $out"
  exit 3
fi
set -- $(printf '%s\n' "$out" | tail -n 1)
total=$2
avail=$4
pct=${5%\%}
mount=$6
if [ "$pct" -ge "$crit" ]; then
  state=CRITICAL code=2
elif [ "$pct" -ge "$warn" ]; then
  state=WARNING code=1
else
  state=OK code=0
fi
echo "DISK $state - ${pct}% used, $((avail / 1024)) MiB free on $mount" \
  "| used=${pct}%;${warn};${crit};0;100 free=${avail}KB;;;0;${total}"
exit $code
