#!/usr/bin/python3
"""Reference values for metrics_test.go (TestMetricsMatchSklearn). Run with
Debian's interpreter (scikit-learn 1.2.1):

    /usr/bin/python3 model/eval/testdata/sklearn_reference.py

refData() in the test mirrors this integer generator: scores take 11 values
in steps of 0.1 (many ties, including exactly 0 and 1), labels are integer
formulas, weights are 1..3.
"""
import numpy as np
import sklearn
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

N = 40
p = np.array([((i * 7) % 11) / 10 for i in range(N)])
y = np.array([1.0 if ((i * 7) % 11) * 3 + (i * 5) % 13 > 20 else 0.0 for i in range(N)])
w = np.array([1.0 + i % 3 for i in range(N)])

print("sklearn", sklearn.__version__, "positives", int(y.sum()))
for name, sw in [("unweighted", None), ("weighted", w)]:
    print(name)
    print("  roc_auc_score          ", repr(roc_auc_score(y, p, sample_weight=sw)))
    print("  average_precision_score", repr(average_precision_score(y, p, sample_weight=sw)))
    print("  log_loss               ", repr(log_loss(y, p, sample_weight=sw)))
    print("  brier_score_loss       ", repr(brier_score_loss(y, p, sample_weight=sw)))
