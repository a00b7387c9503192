#!/usr/bin/python3
"""Reference values for logreg_test.go (TestFitMatchesSklearn).

Run with Debian's interpreter (scikit-learn 1.2.1, numpy 1.24.2):

    /usr/bin/python3 model/logreg/testdata/sklearn_reference.py

The data generator is integer arithmetic mirrored exactly by refData() in
logreg_test.go; labels are integer comparisons so both sides agree bit for bit.
"""
import numpy as np
import sklearn
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

N = 200


def k(i, j):
    return (i * 37 + j * 101 + ((i * i * 13) % 97) * (j + 1)) % 1000


def data(missing):
    X = np.zeros((N, 4))
    y = np.zeros(N)
    w = np.zeros(N)
    for i in range(N):
        X[i, 0] = k(i, 0) / 100 - 5
        X[i, 1] = k(i, 1) / 500
        X[i, 2] = k(i, 2) / 10 - 50
        X[i, 3] = 1.0 if i % 7 == 0 else 0.0
        if missing:
            if i % 5 == 2:
                X[i, 1] = np.nan
            if i % 11 == 3:
                X[i, 2] = np.nan
        s = 3 * k(i, 0) - 2 * k(i, 1) + k(i, 2) + 4 * k(i, 4) - 3000
        y[i] = 1.0 if s > 0 else 0.0
        w[i] = 1 + i % 3
    return X, y, w


def show(name, pipe):
    lr = pipe[-1]
    print(name)
    print("  coef      =", ", ".join(repr(float(c)) for c in lr.coef_[0]))
    print("  intercept =", repr(float(lr.intercept_[0])))


print("sklearn", sklearn.__version__, "numpy", np.__version__)
common = dict(solver="newton-cholesky", tol=1e-12, max_iter=1000)

X, y, w = data(False)
p = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, **common)).fit(X, y)
show("plain C=1", p)
print("  proba rows 0,1,2 =", ", ".join(repr(float(v)) for v in p.predict_proba(X[:3])[:, 1]))

p = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, **common))
p.fit(X, y, standardscaler__sample_weight=w, logisticregression__sample_weight=w)
show("weighted C=0.05", p)

p = make_pipeline(StandardScaler(), LogisticRegression(C=10.0, class_weight="balanced", **common)).fit(X, y)
show("balanced C=10", p)

p = make_pipeline(StandardScaler(), LogisticRegression(C=100.0, **common)).fit(X, y)
show("weak C=100 (data are separable, so no unpenalized case)", p)

p = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, class_weight={0: 1.0, 1: 3.0}, **common))
p.fit(X, y, standardscaler__sample_weight=w, logisticregression__sample_weight=w)
show("class_weight={0:1,1:3} + sample weights C=1", p)

Xm, y, w = data(True)
p = make_pipeline(SimpleImputer(strategy="mean", add_indicator=True), StandardScaler(),
                  LogisticRegression(C=1.0, **common)).fit(Xm, y)
show("missing+indicators C=1", p)
print("  proba rows 2,3 =", ", ".join(repr(float(v)) for v in p.predict_proba(Xm[2:4])[:, 1]))
print("  positives =", int(y.sum()), "of", N)
