#!/usr/bin/env bash
# A throw-away single-node Slurm cluster for tests (docs/SLURM.md, Tests).
#
#   slurm_cluster.sh start DIR   # munged + slurmctld + slurmd, everything under DIR; waits until the
#                                # node is idle; prints "export SLURM_CONF=DIR/slurm.conf"
#   slurm_cluster.sh stop DIR    # stops exactly the daemons `start` started (DIR/*.pid)
#
# Needs root (slurmd runs jobs as their submitting user) and Debian's slurm-wlm and munge
# (scripts/install-deps.sh). Exit codes of `start`: 0 up, 1 a daemon failed (its log is printed),
# 77 slurm or munge is not installed or we are not root (the caller reports a SKIP).
# Nothing outside DIR is touched: the daemons get their own munge key and socket, their own
# slurm.conf, state, spool, pid and log files, and free ports on 127.0.0.1; a system munged or
# Slurm on the same host is left alone.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

# slurmd can take a few seconds to register; 30 s covers a loaded 2-core machine.
SLURM_CLUSTER_WAIT_S=${SLURM_CLUSTER_WAIT_S:-30}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

dump_logs() {
  local f
  for f in "$dir"/munged.log "$dir"/slurmctld.log "$dir"/slurmd.log; do
    [ -f "$f" ] || continue
    echo "---- $f (last 20 lines)" >&2
    tail -n 20 "$f" >&2
  done
}

# wait_pidfile FILE SECONDS: the daemon wrote its pid file and that process is alive.
wait_pidfile() {
  local f=$1 secs=$2 i
  for i in $(seq 1 $((secs * 10))); do
    if [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

stop_pid() {
  local f=$1 pid i
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

case $cmd in
stop)
  # slurmd first: it ends the job steps it runs; then the controller, then munged.
  stop_pid "$dir/slurmd.pid"
  stop_pid "$dir/slurmctld.pid"
  stop_pid "$dir/munged.pid"
  exit 0
  ;;
start) ;;
*) usage ;;
esac

missing=()
for tool in munged mungekey slurmctld slurmd sinfo srun sbatch squeue scontrol; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "slurm_cluster: not installed: ${missing[*]} (scripts/install-deps.sh installs slurm-wlm and munge)" >&2
  exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "slurm_cluster: needs root (slurmd starts job steps as the submitting user)" >&2
  exit 77
fi
PATH=$PATH:/usr/sbin
mkdir -p "$dir"
dir=$(readlink -f "$dir")
# munged refuses a key, socket or log directory that others can write to.
chmod 0700 "$dir"
mkdir -p "$dir/state" "$dir/spool"

# munge: a fresh key and a private socket.
rm -f "$dir/munge.key"
mungekey --create --keyfile="$dir/munge.key" --bits=1024
chmod 0400 "$dir/munge.key"
# --force: the key and socket live under a mktemp directory whose parent (/tmp) is world-writable
# with the sticky bit, which munged's permission check would otherwise reject.
munged --force --key-file="$dir/munge.key" --socket="$dir/munge.socket" --pid-file="$dir/munged.pid" \
  --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" --num-threads=2
if ! wait_pidfile "$dir/munged.pid" 10; then
  echo "slurm_cluster: munged did not start" >&2
  dump_logs
  exit 1
fi

host=$(hostname -s)
# The node's real CPUs and memory as slurmd sees them (slurmd -C), less 256 MB for the daemons.
node_line=$(slurmd -C | head -1)
cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$node_line")
sockets=$(sed -n 's/.* SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$node_line")
cores=$(sed -n 's/.* CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$node_line")
threads=$(sed -n 's/.* ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$node_line")
mem=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$node_line")
mem=$((mem > 512 ? mem - 256 : mem))
ctld_port=$(free_port)
slurmd_port=$(free_port)
while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done

cat > "$dir/slurm.conf" <<EOF
# Written by tests/tools/slurm_cluster.sh for a test; everything lives in $dir.
ClusterName=vktest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
LaunchParameters=use_interactive_step
SchedulerType=sched/backfill
# Cores are shared: a 3-point array on a 2-CPU node runs all points at once (the benchmarks are
# tiny and mostly wait on the network).
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus Boards=1 SocketsPerBoard=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
export SLURM_CONF=$dir/slurm.conf

# -i: ignore (there is no) saved state; both daemons detach and write their pid files.
slurmctld -i -f "$dir/slurm.conf"
if ! wait_pidfile "$dir/slurmctld.pid" 15; then
  echo "slurm_cluster: slurmctld did not start" >&2
  dump_logs
  exit 1
fi
slurmd -f "$dir/slurm.conf"
if ! wait_pidfile "$dir/slurmd.pid" 15; then
  echo "slurm_cluster: slurmd did not start" >&2
  dump_logs
  exit 1
fi

# Wait (bounded) for the node to register and become idle.
state=""
for i in $(seq 1 $((SLURM_CLUSTER_WAIT_S * 5))); do
  state=$(sinfo -h -n "$host" -o '%T' 2>/dev/null | head -1 || true)
  case $state in idle | idle~ | mixed) break ;; esac
  sleep 0.2
done
case $state in
idle | idle~ | mixed) ;;
*)
  echo "slurm_cluster: node $host is '${state:-unknown}' after ${SLURM_CLUSTER_WAIT_S}s, not idle" >&2
  dump_logs
  exit 1
  ;;
esac
echo "export SLURM_CONF=$dir/slurm.conf"
