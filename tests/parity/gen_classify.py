"""gen_classify.py — scikit-learn's answers for the transfer probes (core/transfer/classify.h) on
fixed embeddings: NearestCentroid, KNeighborsClassifier(metric='cosine'), LogisticRegression
(multinomial, lbfgs, tight tol) at fixed C, and the metrics, into classify.safetensors.

Cases: "blobs" (4 Gaussian blobs, 16-d, unequal classes), "real" (64-d, embedding-like: low-rank
correlated features, per-feature scales over e^±2, nonzero means, one constant feature, 5 classes),
"bin" (2 classes, 8-d). Features are float32; sklearn gets them as float64 so it works in double.
NearestCentroid has no predict_proba in sklearn 1.2: its probabilities are the documented
softmax(-d^2/2) computed here in numpy. Float64 results are stored as float32 (st.py)."""
import os
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score,
                             recall_score, roc_auc_score)
from sklearn.model_selection import LeaveOneOut, cross_val_score
from sklearn.neighbors import KNeighborsClassifier, NearestCentroid
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import st

K_GRID = [1, 3, 5, 7, 9, 15]
FIXED_C = [0.1, 10.0]


def blobs(rng):
    d = 16
    centres = rng.normal(0, 0.45, (4, d))
    def draw(sizes):
        y = np.concatenate([np.full(s, c) for c, s in enumerate(sizes)])
        return centres[y] + rng.normal(0, 1, (len(y), d)), y
    xtr, ytr = draw([40, 35, 25, 20])
    xte, yte = draw([24, 21, 15, 12])
    return xtr, ytr, xte, yte


def real(rng):
    d, K, r = 64, 5, 8
    mix = rng.normal(0, 1, (r, d))
    scale = np.exp(rng.uniform(-2, 2, d))
    offset = rng.normal(0, 3, d)
    shift = rng.normal(0, 0.8, (K, r))
    def draw(n):
        y = rng.integers(0, K, n)
        z = rng.normal(0, 1, (n, r)) + shift[y]
        x = (z @ mix + rng.normal(0, 0.7, (n, d))) * scale + offset
        x[:, 7] = 2.5  # a constant feature: std 0 must not blow up standardising
        return x, y
    xtr, ytr = draw(150)
    xte, yte = draw(100)
    return xtr, ytr, xte, yte


def binary(rng):
    d = 8
    w = rng.normal(0, 1, d)
    def draw(n):
        x = rng.normal(0, 1, (n, d))
        y = (x @ w + rng.normal(0, 1.5, n) > 0).astype(np.int64)
        return x, y
    xtr, ytr = draw(60)
    xte, yte = draw(40)
    return xtr, ytr, xte, yte


def metrics(out, pre, y, pred, prob, K):
    prob = prob.astype(np.float32).astype(np.float64)  # the C side sees float32 probabilities
    out[pre + "acc"] = np.array([accuracy_score(y, pred)])
    out[pre + "bacc"] = np.array([balanced_accuracy_score(y, pred)])
    out[pre + "f1"] = np.array([f1_score(y, pred, average="macro", zero_division=0)])
    out[pre + "confusion"] = confusion_matrix(y, pred, labels=list(range(K))).astype(np.int32)
    out[pre + "recall"] = recall_score(y, pred, labels=list(range(K)), average=None,
                                       zero_division=0)
    if K == 2:
        out[pre + "auroc"] = np.array([roc_auc_score(y, prob[:, 1])])
    else:
        out[pre + "auroc"] = np.array([roc_auc_score(y, prob, multi_class="ovr", average="macro")])


def mean_grad(pipe, X, y, C):
    """max |gradient| of mean cross-entropy + |W|^2 / (2 C n) at a fitted pipeline's solution."""
    X = pipe[0].transform(X)
    lr = pipe[-1]
    W, b = lr.coef_, lr.intercept_
    if len(lr.classes_) == 2:  # sklearn keeps w1 of the symmetric pair (w0 = -w1)
        W, b = np.vstack([-W, W]), np.concatenate([-b, b])
    n, K = len(y), len(lr.classes_)
    Z = X @ W.T + b
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    G = P - np.eye(K)[y]
    return np.abs(np.concatenate([(G.T @ X / n + W / (C * n)).ravel(), G.mean(0)])).max()


def case(out, name, xtr, ytr, xte, yte):
    xtr = xtr.astype(np.float32)
    xte = xte.astype(np.float32)
    Xtr, Xte = xtr.astype(np.float64), xte.astype(np.float64)
    K = int(ytr.max()) + 1
    p = name + "/"
    out[p + "x_train"], out[p + "y_train"] = xtr, ytr.astype(np.int32)
    out[p + "x_test"], out[p + "y_test"] = xte, yte.astype(np.int32)

    nc = NearestCentroid().fit(Xtr, ytr)
    out[p + "centroid_pred"] = nc.predict(Xte).astype(np.int32)
    d2 = ((Xte[:, None, :] - nc.centroids_[None]) ** 2).sum(-1)
    e = np.exp(-(d2 - d2.min(1, keepdims=True)) / 2)
    out[p + "centroid_prob"] = e / e.sum(1, keepdims=True)
    nc_s = make_pipeline(StandardScaler(), NearestCentroid()).fit(Xtr, ytr)
    out[p + "centroid_std_pred"] = nc_s.predict(Xte).astype(np.int32)

    loo = []
    for k in K_GRID:
        knn = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute")
        loo.append(cross_val_score(knn, xtr, ytr, cv=LeaveOneOut()).mean())
    k_best = K_GRID[int(np.argmax(loo))]  # first maximum: the smaller k
    out[p + "knn_loo"] = np.array(loo)
    out[p + "knn_k"] = np.array([k_best], dtype=np.int32)
    knn = KNeighborsClassifier(n_neighbors=k_best, metric="cosine", algorithm="brute").fit(xtr, ytr)
    out[p + "knn_pred"] = knn.predict(xte).astype(np.int32)
    out[p + "knn_prob"] = knn.predict_proba(xte)
    metrics(out, p + "knn_m_", yte, out[p + "knn_pred"], out[p + "knn_prob"], K)

    for i, C in enumerate(FIXED_C):
        # The reference is sklearn's newton-cg: the same model and objective as lbfgs, but lbfgs
        # stops at scipy's ftol (relative change of f 2.2e-9) with a mean gradient near 1e-6,
        # which moves probabilities by up to ~3e-4 at C = 10; newton-cg reaches ~1e-11.
        ref, lb = (make_pipeline(StandardScaler(), LogisticRegression(
            C=C, multi_class="multinomial", solver=solver, tol=tol, max_iter=it))
            for solver, tol, it in (("newton-cg", 1e-10, 1000), ("lbfgs", 1e-12, 100000)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # newton-cg never meets tol 1e-10 exactly
            ref.fit(Xtr, ytr)
        lb.fit(Xtr, ytr)
        out[p + f"lr{i}_C"] = np.array([C])
        out[p + f"lr{i}_pred"] = ref.predict(Xte).astype(np.int32)
        out[p + f"lr{i}_prob"] = ref.predict_proba(Xte)
        out[p + f"lr{i}_ref_grad"] = np.array([mean_grad(ref, Xtr, ytr, C)])
        out[p + f"lr{i}_lbfgs_pred"] = lb.predict(Xte).astype(np.int32)
        out[p + f"lr{i}_lbfgs_prob"] = lb.predict_proba(Xte)
        out[p + f"lr{i}_lbfgs_grad"] = np.array([mean_grad(lb, Xtr, ytr, C)])
        metrics(out, p + f"lr{i}_m_", yte, out[p + f"lr{i}_pred"], out[p + f"lr{i}_prob"], K)
    # sklearn's own CV choice of C, for the record (its folds differ from ecgfm's).
    cv = make_pipeline(StandardScaler(), LogisticRegressionCV(
        Cs=np.logspace(-4, 4, 9), cv=5, multi_class="multinomial", max_iter=10000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv.fit(Xtr, ytr)
    out[p + "sk_cv_C"] = np.array([cv[-1].C_[0]])


def generate(outdir):
    rng = np.random.default_rng(20261126)
    out = {}
    case(out, "blobs", *blobs(rng))
    case(out, "real", *real(rng))
    case(out, "bin", *binary(rng))
    # Metrics edge: class 3 never true but predicted, class 4 neither; scores with many ties.
    y = np.array([0, 0, 1, 1, 2, 2, 2, 0, 1, 2, 0, 1], dtype=np.int64)
    pred = np.array([0, 1, 1, 3, 2, 0, 2, 0, 3, 2, 1, 1], dtype=np.int64)
    prob = np.round(rng.dirichlet(np.ones(5), len(y)) * 4) / 4 + 0.01
    prob = (prob / prob.sum(1, keepdims=True)).astype(np.float32)
    out["edge/y"], out["edge/pred"], out["edge/prob"] = y.astype(np.int32), pred.astype(np.int32), prob
    out["edge/acc"] = np.array([accuracy_score(y, pred)])
    out["edge/bacc"] = np.array([balanced_accuracy_score(y, pred)])
    out["edge/f1"] = np.array([f1_score(y, pred, average="macro", zero_division=0)])
    out["edge/confusion"] = confusion_matrix(y, pred, labels=list(range(5))).astype(np.int32)
    # roc_auc_score needs every scored class present in truth: OvR over classes 0..2 by hand.
    p64 = prob.astype(np.float64)
    out["edge/auroc"] = np.array([np.mean([roc_auc_score(y == c, p64[:, c]) for c in range(3)])])
    st.save(os.path.join(outdir, "classify.safetensors"), out)
