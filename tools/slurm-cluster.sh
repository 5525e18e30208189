#!/usr/bin/env bash
# A throw-away single-node SLURM cluster on this machine, for tests (root needed).
#   tools/slurm-cluster.sh up     install (apt) if needed, write /etc/slurm/slurm.conf, start munged, slurmctld, slurmd
#   tools/slurm-cluster.sh down   stop them by PID and remove the state folder
# No systemd: the daemons are started by hand. slurm.conf must live at /etc/slurm/slurm.conf
# because the Snakemake SLURM plugin strips SLURM_CONF before its inner srun.
set -euo pipefail
STATE=${CINECUT_SLURM_STATE:-/tmp/cinecut-slurm}
CONF=/etc/slurm/slurm.conf

up() {
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
  fi
  mkdir -p "$STATE"/{ctld,d,log} /run/munge /etc/slurm
  chown munge:munge /run/munge
  [ -s /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; }
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  [ -f "$CONF" ] && [ ! -f "$STATE/slurm.conf.orig" ] && cp "$CONF" "$STATE/slurm.conf.orig"
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
  cat >"$CONF" <<CONF
ClusterName=cinecut
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=300
# Memory is enforced: the step's processes are measured every second and killed once
# they pass the job's --mem (the rule's mem_mb), as a production cluster would.
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  su -s /bin/sh munge -c "/usr/sbin/munged --pid-file=/run/munge/munged.pid" 2>/dev/null || true
  /usr/sbin/slurmctld
  /usr/sbin/slurmd
  for _ in $(seq 1 60); do
    if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
      echo "slurm: up ($host, $cpus CPUs, ${mem} MB)"
      return 0
    fi
    sleep 0.5
  done
  echo "slurm: the node did not come up; see $STATE/log" >&2
  return 1
}

down() {
  for pid in "$STATE/slurmd.pid" "$STATE/slurmctld.pid" /run/munge/munged.pid; do
    [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
  done
  sleep 1
  if [ -f "$STATE/slurm.conf.orig" ]; then cp "$STATE/slurm.conf.orig" "$CONF"; else rm -f "$CONF"; fi
  rm -rf "$STATE"
  echo "slurm: down"
}

"${1:?usage: $0 up|down}"
