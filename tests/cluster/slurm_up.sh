#!/usr/bin/env bash
# Start a real single-node SLURM cluster on this machine: munge, MariaDB, slurmdbd, slurmctld,
# slurmd. Needs root (daemons run as root, no systemd); installs Debian's packages when missing.
# Idempotent: a second call only waits for the node to be idle. Used by .ci/run before the tests;
# `make slurm-up` for a developer machine. Stop with tests/cluster/slurm_down.sh.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "slurm_up.sh: needs root to start the SLURM daemons (the SLURM tests are skipped without it)" >&2
  exit 1
fi
if ! command -v slurmctld >/dev/null || ! command -v slurmdbd >/dev/null \
    || ! command -v munged >/dev/null || ! command -v mariadbd >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq slurm-wlm slurmdbd munge mariadb-server >/dev/null
fi

HOST=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
STATE=/var/lib/ftexp-slurm
mkdir -p /etc/slurm "$STATE"/{ctld,d} /var/log/slurm /run/munge /run/mysqld /run/slurm

# munge: the credential service every SLURM daemon and client uses
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
chmod 0400 /etc/munge/munge.key
pgrep -x munged >/dev/null || runuser -u munge -- munged

# MariaDB on its unix socket only (no TCP); slurmdbd connects as root through the socket
chown -R mysql:mysql /run/mysqld /var/lib/mysql
if ! pgrep -x mariadbd >/dev/null; then
  (mariadbd --user=mysql --skip-networking --socket=/run/mysqld/mysqld.sock \
     >/var/log/slurm/mariadb.log 2>&1 &)
  for _ in $(seq 100); do
    mariadb -e 'select 1' >/dev/null 2>&1 && break
    sleep 0.2
  done
fi
mariadb -e 'create database if not exists slurm_acct_db'

cat > /etc/slurm/slurmdbd.conf <<CONF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=slurm_acct_db
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurm/slurmdbd.pid
CONF
chmod 600 /etc/slurm/slurmdbd.conf

cat > /etc/slurm/slurm.conf <<CONF
ClusterName=ftexp
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# daemons bind 127.0.0.1 only
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# requeued jobs (preemption, scontrol requeue) may start again at once
JobRequeue=1
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/none
MinJobAge=600
KillWait=30
SlurmdTimeout=60
InactiveLimit=0
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
# cgroup/v1 is the value this slurmd accepts without systemd ("disabled" is rejected)
cat > /etc/slurm/cgroup.conf <<CONF
CgroupPlugin=cgroup/v1
CONF

pgrep -x slurmdbd >/dev/null || slurmdbd
for _ in $(seq 100); do
  sacctmgr -i show cluster >/dev/null 2>&1 && break
  sleep 0.2
done
sacctmgr -i add cluster ftexp >/dev/null 2>&1 || true
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd

for _ in $(seq 150); do
  state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1)
  case "$state" in
    idle|mixed|allocated) echo "slurm_up.sh: node $HOST $state ($CPUS CPUs)"; exit 0 ;;
    down*|drain*) scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true ;;
  esac
  sleep 0.2
done
echo "slurm_up.sh: the node did not come up; see /var/log/slurm/*.log" >&2
exit 1
