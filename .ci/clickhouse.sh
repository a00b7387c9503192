#!/usr/bin/env bash
# Throwaway ClickHouse server for tests and benchmarks.
#
#   .ci/clickhouse.sh install          install Debian's clickhouse-server/-client if missing
#   .ci/clickhouse.sh start DIR [PORT] start a server with its data under DIR on 127.0.0.1:PORT
#                                      (default 19000); waits until it answers; prints the DSN
#   .ci/clickhouse.sh stop DIR         stop the server started under DIR (by its PID) and wait
#
# The server listens on loopback only, keeps everything under DIR, and uses UTC.
set -euo pipefail

cmd=${1:-}
case "$cmd" in
install)
  if command -v clickhouse-server >/dev/null 2>&1 && command -v clickhouse-client >/dev/null 2>&1; then
    exit 0
  fi
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null
  ;;
start)
  dir=${2:?usage: start DIR [PORT]}
  port=${3:-19000}
  http=$((port + 1))
  mkdir -p "$dir"/{data,tmp,user_files,log}
  dir=$(cd "$dir" && pwd)
  cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/log/server.log</log><errorlog>$dir/log/error.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>$port</tcp_port>
  <http_port>$http</http_port>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>/etc/clickhouse-server/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
XML
  clickhouse-server --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 &
  echo $! >"$dir/pid"
  for _ in $(seq 1 120); do
    if clickhouse-client --host 127.0.0.1 --port "$port" -q "SELECT 1" >/dev/null 2>&1; then
      echo "clickhouse://127.0.0.1:$port/default"
      exit 0
    fi
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "clickhouse-server exited; see $dir/log" >&2
      tail -20 "$dir/log/error.log" "$dir/log/stdout.log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  echo "clickhouse-server did not answer on port $port within 60s" >&2
  exit 1
  ;;
stop)
  dir=${2:?usage: stop DIR}
  [ -f "$dir/pid" ] || exit 0
  pid=$(cat "$dir/pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$dir/pid"; exit 0; }
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/pid"
  ;;
*)
  sed -n '2,10p' "$0" >&2
  exit 2
  ;;
esac
