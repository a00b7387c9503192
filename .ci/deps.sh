#!/usr/bin/env bash
# Installs the Debian packages the tests need, if any is missing:
# clickhouse-server/-client (store tests), python3-xgboost, python3-sklearn
# and python3-pandas (peer comparisons, reference values, the README's
# analyst path) and wrk (HTTP load). Needs root or sudo; does nothing when
# all are present.
set -euo pipefail
need=()
command -v clickhouse-server >/dev/null 2>&1 || need+=(clickhouse-server)
command -v clickhouse-client >/dev/null 2>&1 || need+=(clickhouse-client)
/usr/bin/python3 -c 'import xgboost' >/dev/null 2>&1 || need+=(python3-xgboost)
/usr/bin/python3 -c 'import sklearn' >/dev/null 2>&1 || need+=(python3-sklearn)
/usr/bin/python3 -c 'import pandas' >/dev/null 2>&1 || need+=(python3-pandas)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
echo "installing: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${need[@]}" >/dev/null
