#!/usr/bin/env bash
# Benchmark: duesight's GBDT against XGBoost 1.7 (Debian's python3-xgboost,
# tree_method=hist, 2 threads, same rounds/depth/eta/min_child_weight/lambda/
# max_bin) on duesight's own point-in-time feature table, in the same run.
#
#   .ci/bench/xgboost.sh                 # 5,000 generated accounts (~150k invoices)
#   ACCOUNTS=20000 .ci/bench/xgboost.sh  # larger
#
# Steps: generate a history, export its feature table (issue snapshot), split
# it by issue date (oldest 80% train, newest 20% test; invoices whose label is
# still unknown are left out), then run model/gbdt's TestCompareXGBoost on the
# two CSV files. It prints AUC, log loss, train time and batch-predict rows/s
# of both learners and the ratios (medians of DUESIGHT_COMPARE_REPEAT runs),
# then the same on a Zeng et al. (2008)-style subset of the features, which
# shows what duesight's richer features add over the classic history
# aggregates.
set -euo pipefail
cd "$(dirname "$0")/../.."
.ci/deps.sh
work=$(mktemp -d /tmp/duesight-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
go build -o "$work/duesight" ./cmd/duesight
(
  cd "$work"
  ./duesight gen --accounts "${ACCOUNTS:-5000}" --to 2026-01-01 --truth "" --format json >/dev/null
  ./duesight features export table.csv --format json >/dev/null
)
/usr/bin/python3 - "$work" <<'PY'
import sys, pandas as pd
work = sys.argv[1]
df = pd.read_csv(f"{work}/table.csv", na_values=[""], keep_default_na=True)
df = df[df["label_status"] != "unpaid_pending"]          # unknown labels stay out
df = df.sort_values(["issue_date", "invoice_id"], kind="mergesort")
keys = ["invoice_id", "account_id", "snapshot", "as_of", "issue_date", "due_date", "amount_minor", "currency",
        "label_status", "days_late", "days_late_lower_bound", "late_bucket", "settled_date", "written_off", "censored"]
feat = df.drop(columns=keys)
cut = int(len(feat) * 0.8)
cut_day = df["issue_date"].iloc[cut]                    # no issue date on both sides
train, test = feat[(df["issue_date"] < cut_day).values], feat[(df["issue_date"] >= cut_day).values]
train.to_csv(f"{work}/train.csv", index=False, na_rep="")
test.to_csv(f"{work}/test.csv", index=False, na_rep="")
# Zeng et al. (2008)-style features: the customer's paid/late counts and
# ratios, amount-weighted late ratio, mean days late, outstanding and
# overdue counts and amounts, and the invoice's amount and terms.
zeng = ["hist_paid_n", "hist_late_n", "hist_late_ratio", "hist_late_amount_ratio", "hist_days_late_mean",
        "open_n", "overdue_n", "open_amount_log", "overdue_amount_ratio", "inv_amount_log", "inv_terms_days", "late"]
train[zeng].to_csv(f"{work}/train_zeng.csv", index=False, na_rep="")
test[zeng].to_csv(f"{work}/test_zeng.csv", index=False, na_rep="")
print(f"feature table: {len(df)} labelled invoices, {feat.shape[1]-1} features; train {len(train)} (< {cut_day}), test {len(test)}", file=sys.stderr)
PY
compare() {
  DUESIGHT_COMPARE_XGBOOST=1 DUESIGHT_COMPARE_TRAIN="$work/$1" DUESIGHT_COMPARE_TEST="$work/$2" \
  DUESIGHT_COMPARE_LABEL=late go test -count=1 -run '^TestCompareXGBoost$' -v ./model/gbdt/ 2>&1 | grep -v '^=== RUN'
}
echo "== all of duesight's features"
compare train.csv test.csv
echo "== Zeng-style features only (both learners)"
compare train_zeng.csv test_zeng.csv
