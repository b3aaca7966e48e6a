#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the store's tests.
#
#   ci/pg.sh start DIR   initialise a cluster in DIR (an empty or new
#                        directory), start it on a free local port, create
#                        the database "mlthreat" and print its URL
#   ci/pg.sh stop DIR    stop that cluster and remove DIR
#
# PostgreSQL refuses to run as root, so as root the cluster belongs to and
# runs as the postgres user. The server binaries are taken from PATH or the
# newest /usr/lib/postgresql/*/bin (Debian's postgresql package).
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$2

bindir() {
  local d
  if command -v initdb >/dev/null 2>&1; then
    # Through symbolic links: createdb may sit only beside the real initdb.
    d=$(dirname "$(readlink -f "$(command -v initdb)")")
    if [ -x "$d/pg_ctl" ] && [ -x "$d/createdb" ]; then
      echo "$d"
      return
    fi
  fi
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
    echo "$0: no PostgreSQL server binaries (install the postgresql package)" >&2
    exit 1
  fi
  echo "$d"
}

# as_pg runs a command as the cluster's owner.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

case $action in
start)
  bin=$(bindir)
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
  fi
  as_pg "$bin/initdb" -D "$dir/data" -U mlthreat -A trust -E UTF8 --locale=C --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    port=$((20000 + RANDOM % 40000))
    port_free "$port" || continue
    if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null; then
      echo "$port" >"$dir/port"
      as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U mlthreat mlthreat
      echo "postgres://mlthreat@127.0.0.1:$port/mlthreat?sslmode=disable"
      exit 0
    fi
  done
  echo "$0: could not start PostgreSQL:" >&2
  cat "$dir/server.log" >&2 || true
  exit 1
  ;;
stop)
  [ -d "$dir" ] || exit 0
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_pg "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null || true
  fi
  rm -rf "$dir"
  ;;
*)
  usage
  ;;
esac
