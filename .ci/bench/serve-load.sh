#!/usr/bin/env bash
# Load figures for `duesight serve` on loopback with wrk.
#
#   .ci/bench/serve-load.sh [ACCOUNTS]
#
# ACCOUNTS (default 100000) accounts are generated into a serving store; a
# model of kind $KIND (default gbdt; logreg also) with its payment-timing model is trained on a
# separate 5,000-account store with the same seed (synth accounts are a
# prefix, so the model fits the served population) and activated. The
# server is started with no rate limit; then
#
#   1. RSS of the server with the online state loaded (VmRSS, VmHWM), and
#      the service's own state estimate from /metrics;
#   2. wrk, single-invoice POST /v1/score by id (serve-load-single.lua);
#   3. wrk, $BATCH-invoice batches (serve-load-batch.lua) → invoices/s.
#
# Environment: DUESIGHT_LOAD_DIR (work directory, kept and reused: stores
# are generated only once), DURATION (wrk seconds, default 20), CONNS
# (connections for single scores, default 16), BCONNS (for batches,
# default 4), BATCH (default 1000), THREADS (wrk threads, default 2).
# wrk and the server share the machine's cores: the figures are for both
# on the same box.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/../.."
.ci/deps.sh

ACCOUNTS=${1:-100000}
WORK=${DUESIGHT_LOAD_DIR:-$(mktemp -d -t duesight-load-XXXXXX)}
DURATION=${DURATION:-20}
CONNS=${CONNS:-16}
BCONNS=${BCONNS:-4}
BATCH=${BATCH:-1000}
THREADS=${THREADS:-2}
mkdir -p "$WORK"
BIN=$WORK/duesight
echo "work directory: $WORK"
go build -o "$BIN" ./cmd/duesight

KIND=${KIND:-gbdt}
if [ ! -f "$WORK/train/manifest.json" ]; then
  "$BIN" --store "file://$WORK/train" gen --accounts 5000 --to 2025-07-01 --truth "" >/dev/null
fi
echo "== training a $KIND model on 5,000 accounts"
"$BIN" --store "file://$WORK/train" train --kind "$KIND" --models "$WORK/models" --activate yes --format text | tail -2
if [ ! -f "$WORK/serve-$ACCOUNTS/manifest.json" ]; then
  echo "== generating $ACCOUNTS accounts"
  /usr/bin/time -f "gen: %e s, max RSS %M KiB" \
    "$BIN" --store "file://$WORK/serve-$ACCOUNTS" gen --accounts "$ACCOUNTS" --to 2025-07-01 --truth "" --format text
fi
KEY=$("$BIN" keys create --role admin --keys "$WORK/keys.json" --name load --format json |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')

PORT=${PORT:-18080}
URL=http://127.0.0.1:$PORT
echo "== starting the server"
"$BIN" --store "file://$WORK/serve-$ACCOUNTS" --log-level warn serve --addr "127.0.0.1:$PORT" \
  --models "$WORK/models" --keys "$WORK/keys.json" --rate-limit -1 >"$WORK/serve.out" 2>"$WORK/serve.err" &
PID=$!
trap 'kill -INT $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
START=$(date +%s)
until grep -q "ready:" "$WORK/serve.out"; do
  if ! kill -0 $PID 2>/dev/null; then
    cat "$WORK/serve.out" "$WORK/serve.err"
    exit 1
  fi
  sleep 1
done
cat "$WORK/serve.out"
echo "load to ready: $(($(date +%s) - START)) s (wall, including process start)"
grep -E 'VmRSS|VmHWM' /proc/$PID/status
curl -s "$URL/metrics" | grep -E '^duesight_feature_state_(entries|bytes)'

echo "== collecting open invoice ids"
/usr/bin/python3 - "$URL" "$KEY" "$WORK/ids.txt" <<'PY'
import json, sys, urllib.request
url, key, out = sys.argv[1], sys.argv[2], sys.argv[3]
ids = []
for k in range(1, 5000):
    req = urllib.request.Request(f"{url}/v1/accounts/A{k:07d}", headers={"Authorization": "Bearer " + key})
    try:
        with urllib.request.urlopen(req) as r:
            ids += [i["invoice_id"] for i in json.load(r)["open_invoices"]]
    except Exception:
        pass
    if len(ids) >= 2000:
        break
open(out, "w").write("\n".join(ids) + "\n")
print(len(ids), "open invoice ids")
PY

echo "== single-invoice POST /v1/score: wrk -t$THREADS -c$CONNS -d${DURATION}s"
KEY=$KEY IDS=$WORK/ids.txt wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/serve-load-single.lua" "$URL"
echo "== $BATCH-invoice batches: wrk -t$THREADS -c$BCONNS -d${DURATION}s"
KEY=$KEY IDS=$WORK/ids.txt BATCH=$BATCH wrk -t"$THREADS" -c"$BCONNS" -d"${DURATION}s" --latency -s "$HERE/serve-load-batch.lua" "$URL"
grep -E 'VmRSS|VmHWM' /proc/$PID/status
