#!/usr/bin/env python3
"""probe_ref.py — scikit-learn / NumPy twins of lgp-probe's numerics.

  probe_ref.py logreg OUT.safetensors   fixture + sklearn multinomial logistic regression
  probe_ref.py knn OUT.safetensors      fixture + brute-force cosine kNN (k=20, T=0.07)
  probe_ref.py embed OUT.safetensors N_TRAIN N_TEST C K NOISE SEED
                                        Gaussian class clusters for pipeline tests
  probe_ref.py check RESULT.json OUT.safetensors
                                        sklearn accuracy on the embed fixture's subset

Fixtures are written as safetensors (written here by hand, no library needed) so the C
unit tests read them with lgp_st_load. All data come from fixed NumPy seeds.
"""
import json
import struct
import sys

import numpy as np


def st_save(path, tensors):
    """Minimal safetensors writer: tensors tile the buffer in insertion order."""
    dt = {np.float32: "F32", np.float64: "F64", np.int64: "I64", np.int32: "I32"}
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        b = a.tobytes()
        header[name] = {"dtype": dt[a.dtype.type], "shape": list(a.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def preprocess(x):
    """cyanure preprocess(centering=True, normalize=True, columns=False), float64."""
    x = np.asarray(x, np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.where(n > 0, x / np.where(n > 0, n, 1), 0.0)


def objective(W, X, y, lam):
    """(1/n) sum CE(W x_i, y_i) + lam/2 ||W||^2, W [K, C]."""
    Z = X @ W.T
    m = Z.max(axis=1, keepdims=True)
    lse = (m[:, 0] + np.log(np.exp(Z - m).sum(axis=1)))
    return float(np.mean(lse - Z[np.arange(len(y)), y]) + 0.5 * lam * np.sum(W * W))


def clusters(rng, n, C, K, noise, means=None):
    if means is None:
        means = rng.standard_normal((K, C))
    y = np.arange(n) % K
    rng.shuffle(y)
    X = means[y] + noise * rng.standard_normal((n, C))
    return X.astype(np.float32), y.astype(np.int64), means


def sk_fit(Xp, y, lam, K):
    from sklearn.linear_model import LogisticRegression
    n = len(y)
    m = LogisticRegression(multi_class="multinomial", fit_intercept=False, C=1.0 / (n * lam),
                           tol=1e-12, solver="lbfgs", max_iter=100000)
    m.fit(Xp, y)
    W = m.coef_
    if K == 2:  # sklearn stores one row for two classes; not used by the fixtures
        raise SystemExit("K == 2 not supported by the reference")
    return W


def cmd_logreg(out):
    rng = np.random.default_rng(7)
    t = {}
    # (n_train, C, K, noise, lambda): well-conditioned, moderate, and the paper's lambda
    cases = [(300, 20, 5, 1.0, 1e-2), (400, 32, 6, 1.5, 1e-4), (500, 16, 4, 2.0, 2.5e-4 / 500)]
    for ci, (n, C, K, noise, lam) in enumerate(cases):
        Xtr, ytr, means = clusters(rng, n, C, K, noise)
        Xte, yte, _ = clusters(rng, 1000, C, K, noise, means)
        Xtr_p = preprocess(Xtr).astype(np.float32)
        Xte_p = preprocess(Xte).astype(np.float32)
        W = sk_fit(Xtr_p.astype(np.float64), ytr, lam, K)
        S = Xte_p.astype(np.float64) @ W.T
        t.update({f"c{ci}.Xraw": Xtr, f"c{ci}.Xtr": Xtr_p, f"c{ci}.ytr": ytr,
                  f"c{ci}.Xte": Xte_p, f"c{ci}.yte": yte,
                  f"c{ci}.lambda": np.array([lam]), f"c{ci}.K": np.array([K], np.int64),
                  f"c{ci}.W": W.astype(np.float64),
                  f"c{ci}.obj": np.array([objective(W, Xtr_p.astype(np.float64), ytr, lam)]),
                  f"c{ci}.pred": S.argmax(axis=1).astype(np.int64),
                  f"c{ci}.margin": np.array([np.min(np.abs(np.sort(S, axis=1)[:, -1] - np.sort(S, axis=1)[:, -2]))])})
    t["ncases"] = np.array([len(cases)], np.int64)
    st_save(out, t)


def knn_ref(Xtr, ytr, Xte, K, k, T):
    def unit(x):
        x = np.asarray(x, np.float64)
        n = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.where(n > 0, n, 1)
    sim = unit(Xte) @ unit(Xtr).T
    votes = np.zeros((len(Xte), K))
    for i in range(len(Xte)):
        nb = np.argsort(-sim[i], kind="stable")[:k]  # ties: lower train index first
        np.add.at(votes[i], ytr[nb], np.exp(sim[i, nb] / T))
    return votes


def cmd_knn(out):
    rng = np.random.default_rng(11)
    n, m, C, K, k, T = 600, 300, 24, 8, 20, 0.07
    Xtr, ytr, means = clusters(rng, n, C, K, 2.5)
    Xte, yte, _ = clusters(rng, m, C, K, 2.5, means)
    votes = knn_ref(Xtr, ytr, Xte, K, k, T)
    top5 = np.argsort(-votes, axis=1, kind="stable")[:, :5]
    st_save(out, {"Xtr": Xtr, "ytr": ytr, "Xte": Xte, "yte": yte,
                  "k": np.array([k], np.int64), "T": np.array([T]), "K": np.array([K], np.int64),
                  "votes": votes, "pred": votes.argmax(axis=1).astype(np.int64),
                  "top5": top5.astype(np.int64)})


def cmd_embed(out, ntr, nte, C, K, noise, seed):
    rng = np.random.default_rng(int(seed))
    Xtr, ytr, means = clusters(rng, int(ntr), int(C), int(K), float(noise))
    Xte, yte, _ = clusters(rng, int(nte), int(C), int(K), float(noise), means)
    st_save(out, {"Xtr": Xtr, "ytr": ytr, "Xte": Xte, "yte": yte})


def st_load(path):
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    dt = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}
    return {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                             dt[v["dtype"]]).reshape(v["shape"])
            for k, v in h.items() if k != "__metadata__"}


def cmd_check(st, listfile, result_json):
    t = st_load(st)
    rows = [int(line.split()[0].split("/")[-1]) for line in open(listfile) if line.strip()]
    X, y = preprocess(t["Xtr"][rows]), t["ytr"][rows]
    K = int(max(t["ytr"].max(), t["yte"].max())) + 1
    W = sk_fit(X, y, 2.5e-4 / len(rows), K)
    S = preprocess(t["Xte"]) @ W.T
    sk = 100.0 * np.mean(S.argmax(axis=1) == t["yte"])
    ours = json.load(open(result_json))[0]["top1"]
    print(f"# sklearn top-1 {sk:.4f}, lgp-probe {ours:.4f}")
    sys.exit(0 if abs(sk - ours) < 1e-9 else 1)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"logreg": cmd_logreg, "knn": cmd_knn, "embed": cmd_embed, "check": cmd_check}[cmd](*args)
