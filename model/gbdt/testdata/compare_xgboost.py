#!/usr/bin/python3
"""XGBoost side of duesight's GBDT comparison harness.

Trains XGBoost (tree_method=hist) on a CSV with the given hyper-parameters,
times training and batch prediction, and writes the test-set predictions so
that the Go side scores both learners with the same metric code.

Run by compare_test.go (DUESIGHT_COMPARE_XGBOOST=1); it can also be run by
hand:

  /usr/bin/python3 compare_xgboost.py --train train.csv --test test.csv \
      --label label --rounds 200 --max-depth 6 --eta 0.1 --out pred.txt

Prints one JSON object on stdout: train_seconds and train_cpu_seconds
(xgb.train only; the DMatrix is built before, dmatrix_seconds),
predict_seconds / predict_cpu_seconds (best of --predict-repeat over
Booster.predict on a fresh DMatrix and inplace_predict on the array),
rows_per_second, auc and logloss (scikit-learn's, as a cross-check),
xgboost_version, omp_wait_policy and the load average after the run.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import xgboost as xgb


def read_csv(path, label):
    try:
        import pandas as pd
        df = pd.read_csv(path, na_values=[""], keep_default_na=True)
        if label not in df.columns:
            sys.exit(f"compare_xgboost.py: {path}: no column {label!r}")
        y = df[label].to_numpy(dtype=np.float64)
        X = df.drop(columns=[label]).to_numpy(dtype=np.float64)
        names = [c for c in df.columns if c != label]
        return X, y, names
    except ImportError:
        with open(path) as f:
            header = f.readline().strip().split(",")
        data = np.genfromtxt(path, delimiter=",", skip_header=1, missing_values="", filling_values=np.nan)
        li = header.index(label)
        y = data[:, li]
        X = np.delete(data, li, axis=1)
        return X, y, [h for i, h in enumerate(header) if i != li]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--label", default="label")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--max-depth", type=int, default=6)
    ap.add_argument("--eta", type=float, default=0.1)
    ap.add_argument("--min-child-weight", type=float, default=1.0)
    ap.add_argument("--lambda", dest="lam", type=float, default=1.0)
    ap.add_argument("--max-bin", type=int, default=256)
    ap.add_argument("--nthread", type=int, default=2)
    ap.add_argument("--base-score", type=float, default=None,
                    help="default: the training positive rate (what duesight estimates)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--predict-repeat", type=int, default=3)
    ap.add_argument("--out", required=True, help="file for test-set probabilities, one per line")
    a = ap.parse_args()

    Xtr, ytr, names = read_csv(a.train, a.label)
    Xte, yte, _ = read_csv(a.test, a.label)
    base = a.base_score if a.base_score is not None else float(np.mean(ytr))
    t0 = time.perf_counter()
    dtr = xgb.DMatrix(Xtr, label=ytr, nthread=a.nthread)
    dm = time.perf_counter() - t0
    params = {
        "objective": "binary:logistic",
        "tree_method": "hist",
        "nthread": a.nthread,
        "max_depth": a.max_depth,
        "eta": a.eta,
        "min_child_weight": a.min_child_weight,
        "lambda": a.lam,
        "max_bin": a.max_bin,
        "base_score": base,
        "seed": a.seed,
        "eval_metric": "logloss",
    }
    t0, c0 = time.perf_counter(), time.process_time()
    bst = xgb.train(params, dtr, num_boost_round=a.rounds)
    train_s = time.perf_counter() - t0
    train_cpu = time.process_time() - c0
    # XGBoost caches predictions per DMatrix, so every timed call gets a
    # fresh DMatrix (its construction is not timed). inplace_predict on the
    # numpy array is timed too; the faster of the two paths is reported.
    best = best_cpu = float("inf")
    pred = None
    for _ in range(a.predict_repeat):
        d = xgb.DMatrix(Xte, nthread=a.nthread)
        t0, c0 = time.perf_counter(), time.process_time()
        pred = bst.predict(d)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        bst.inplace_predict(Xte)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    np.savetxt(a.out, pred.astype(np.float64), fmt="%.9g")
    out = {
        "xgboost_version": xgb.__version__,
        "train_seconds": train_s,
        "train_cpu_seconds": train_cpu,
        "predict_cpu_seconds": best_cpu,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "dmatrix_seconds": dm,
        "predict_seconds": best,
        "rows_per_second": len(yte) / best,
        "rows": len(ytr),
        "features": len(names),
        "loadavg_after": open("/proc/loadavg").read().split()[:3] if sys.platform.startswith("linux") else None,
    }
    try:
        from sklearn.metrics import log_loss, roc_auc_score
        out["auc"] = float(roc_auc_score(yte, pred))
        out["logloss"] = float(log_loss(yte, pred))
    except ImportError:
        pass
    print(json.dumps(out))


if __name__ == "__main__":
    main()
