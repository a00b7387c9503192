#!/usr/bin/python3
"""Peer side of duesight's XGBoost import test (xgboost_test.go).

Trains XGBoost on a CSV, saves the model with save_model("model.json") and
writes, for the same CSV's rows, XGBoost's own predictions:

  pred.txt     Booster.predict (probabilities / values), flattened row-major
  margin.txt   Booster.predict(output_margin=True), flattened
  contribs.txt Booster.predict(pred_contribs=True), flattened (rows × [K ×] (F+1))

Usage:
  /usr/bin/python3 xgb_export.py --data d.csv --label label --objective binary:logistic \
      --out-dir DIR [--num-class K] [--rounds N] [--max-depth D] [--grow-policy lossguide]
"""
import argparse
import os

import numpy as np
import xgboost as xgb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--label", default="label")
    ap.add_argument("--objective", required=True)
    ap.add_argument("--num-class", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--max-depth", type=int, default=4)
    ap.add_argument("--grow-policy", default="depthwise")
    ap.add_argument("--max-leaves", type=int, default=0)
    ap.add_argument("--base-score", type=float, default=None)
    ap.add_argument("--out-dir", required=True)
    a = ap.parse_args()

    with open(a.data) as f:
        header = f.readline().strip().split(",")
    data = np.genfromtxt(a.data, delimiter=",", skip_header=1, missing_values="", filling_values=np.nan)
    li = header.index(a.label)
    y = data[:, li]
    X = np.delete(data, li, axis=1)
    params = {
        "objective": a.objective,
        "tree_method": "hist",
        "max_depth": a.max_depth,
        "eta": 0.3,
        "nthread": 1,
        "seed": 1,
        "grow_policy": a.grow_policy,
        "max_leaves": a.max_leaves,
        "subsample": 0.9,
    }
    if a.num_class:
        params["num_class"] = a.num_class
    if a.base_score is not None:
        params["base_score"] = a.base_score
    dtrain = xgb.DMatrix(X, label=y)
    bst = xgb.train(params, dtrain, num_boost_round=a.rounds)
    bst.save_model(os.path.join(a.out_dir, "model.json"))
    d = xgb.DMatrix(X)
    fmt = "%.17g"
    np.savetxt(os.path.join(a.out_dir, "pred.txt"), bst.predict(d).astype(np.float64).ravel(), fmt=fmt)
    np.savetxt(os.path.join(a.out_dir, "margin.txt"), bst.predict(d, output_margin=True).astype(np.float64).ravel(), fmt=fmt)
    np.savetxt(os.path.join(a.out_dir, "contribs.txt"), bst.predict(d, pred_contribs=True).astype(np.float64).ravel(), fmt=fmt)


if __name__ == "__main__":
    main()
