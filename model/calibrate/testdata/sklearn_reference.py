#!/usr/bin/python3
"""Reference values for calibrate_test.go. Run with Debian's interpreter
(scikit-learn 1.2.1):

    /usr/bin/python3 model/calibrate/testdata/sklearn_reference.py

Scores and labels are integer formulas mirrored by refScores() in the test.
"""
import numpy as np
import sklearn
from sklearn.calibration import _sigmoid_calibration
from sklearn.isotonic import IsotonicRegression

N = 60
s = np.array([((i * 37) % 50) / 50 for i in range(N)])  # ties: 50 distinct values, 60 rows
y = np.array([1.0 if ((i * 37) % 50) + (i * 13) % 41 > 45 else 0.0 for i in range(N)])
w = np.array([1.0 + i % 4 for i in range(N)])
q = np.array([0.0, 0.05, 0.23, 0.5, 0.61, 0.87, 0.99])

print("sklearn", sklearn.__version__)
print("positives", int(y.sum()))
iso = IsotonicRegression(out_of_bounds="clip").fit(s, y, sample_weight=w)
print("isotonic weighted predict(q) =", ", ".join(repr(float(v)) for v in iso.predict(q)))
iso = IsotonicRegression(out_of_bounds="clip").fit(s, y)
print("isotonic unweighted predict(q) =", ", ".join(repr(float(v)) for v in iso.predict(q)))
p = np.clip(s, 1e-15, 1 - 1e-15)
f = np.log(p / (1 - p))
a, b = _sigmoid_calibration(f, y)
print("platt a, b =", repr(float(a)), repr(float(b)))
