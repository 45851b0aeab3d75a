#!/usr/bin/env bash
# Stop the single-node SLURM that slurm_up.sh started (job state is kept for the next start).
set -uo pipefail
for daemon in slurmd slurmctld slurmdbd mariadbd munged; do
  pkill -x "$daemon" && echo "stopped $daemon"
done
exit 0
