#!/usr/bin/env python3
"""The vectorised baseline: the measures dgeval computes, written as a researcher would in NumPy
(and JAX, jit-compiled, when it is importable), batched over games.

For a batch of games, agents' and principals' utilities of shape [B, n, k_1, ..., k_n] (float32,
as dgeval reads them from .npy files), it computes, for every game at once (no Python loop over
games or outcomes; one over the n players):

- EPIC standardisation of each utility (docs/MATH.md §3): offset = the mean over outcomes,
  magnitude = the L2 norm of the centred vector, the standardised vector (zero when constant);
- IA per player (§4.1): 1 - ||nu_i - nu_hat_i||_2 / 2, clipped to [0, 1];
- CA of the principals and of the agents (§4.2): 1 - sum_i m_i ||nu_i - mu|| / sum_i m_i, with
  mu the magnitude-weighted mean of the standardised vectors (1 when every magnitude is 0);
- the extrema of average welfare, w(s) = (1/n) sum_i u_i(s), of both sides (§2);
- the agents' pure-NE mask at IC = 1 with dgeval's default tolerance (§1.4): outcome s passes for
  player i when u_i(s) + 1e-10 >= the best reply max_a u_i(a, s_-i); the NE count;
- the worst-NE regrets of both sides (dgeval's default strategy, worst-ne): with s0 the pure NE of
  least agents' welfare (the first in C order on ties), w* - w(s0) and w_hat* - w_hat(s0); NaN
  where there is no pure NE.

The arithmetic is float64 (the float32 input is converted), as dgeval's; JAX runs with x64 on.

    python bench/baseline.py --agents a.npy --principals p.npy --out r.npz   # results (NumPy)
    python bench/baseline.py --agents a.npy --principals p.npy --time        # timings, each backend

bench/compare_baseline.py times this against dgeval on the same files; scripts/test.d/baseline.sh
checks its results against dgeval's.
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np

NE_TOLERANCE = 1e-10  # dgeval's default --ne-tolerance, the authors' slack

# The dgeval result columns this baseline computes (dgeval --columns takes the same list).
COLUMNS = ("offset_agents,magnitude_agents,offset_principals,magnitude_principals,ia,ca_principals,ca_agents,"
           "welfare_agents_max,welfare_agents_min,welfare_principals_max,welfare_principals_min,"
           "pure_ne_count,agents_welfare_regret,principals_welfare_regret")


def evaluate(xp, agents, principals, tol=NE_TOLERANCE):
    """The measures of a batch, with the array module xp (numpy or jax.numpy).

    agents, principals: [B, n, k_1..k_n]. Returns a dict of arrays named as dgeval's columns,
    plus 'pure_ne_mask' ([B, k_1..k_n], bool).
    """
    u = agents.astype(xp.float64)
    v = principals.astype(xp.float64)
    games, n = u.shape[0], u.shape[1]
    actions = u.shape[2:]
    uf = u.reshape(games, n, -1)
    vf = v.reshape(games, n, -1)

    def standardise(x):  # EPIC: mean shift, L2 scale; a constant utility gets c = its value, m = 0
        constant = x.max(axis=2) == x.min(axis=2)
        c = xp.where(constant, x[:, :, 0], x.mean(axis=2))
        centred = x - c[:, :, None]
        m = xp.where(constant, 0.0, xp.sqrt((centred * centred).sum(axis=2)))
        nu = centred / xp.where(m > 0, m, 1.0)[:, :, None]
        return c, m, nu

    def collective(m, nu):
        total = m.sum(axis=1)
        safe = xp.where(total > 0, total, 1.0)
        mu = (m[:, :, None] * nu).sum(axis=1) / safe[:, None]
        spread = xp.sqrt(((nu - mu[:, None, :]) ** 2).sum(axis=2))
        return xp.where(total > 0, 1.0 - (m * spread).sum(axis=1) / safe, 1.0)

    c_a, m_a, nu_a = standardise(uf)
    c_p, m_p, nu_p = standardise(vf)
    ia = xp.clip(1.0 - xp.sqrt(((nu_a - nu_p) ** 2).sum(axis=2)) / 2.0, 0.0, 1.0)

    w = uf.sum(axis=1) / n  # [B, N]
    wp = vf.sum(axis=1) / n
    w_max, wp_max = w.max(axis=1), wp.max(axis=1)

    mask = None
    for i in range(n):  # player i's best reply: the max over its own action axis
        ui = u[:, i]
        ok = ui + tol >= ui.max(axis=1 + i, keepdims=True)
        mask = ok if mask is None else mask & ok
    flat = mask.reshape(games, -1)
    count = flat.sum(axis=1)
    worst = xp.argmin(xp.where(flat, w, xp.inf), axis=1)  # first in C order on ties
    w0 = xp.take_along_axis(w, worst[:, None], axis=1)[:, 0]
    wp0 = xp.take_along_axis(wp, worst[:, None], axis=1)[:, 0]
    some = count > 0
    return {
        "offset_agents": c_a, "magnitude_agents": m_a, "offset_principals": c_p, "magnitude_principals": m_p,
        "ia": ia, "ca_principals": collective(m_p, nu_p), "ca_agents": collective(m_a, nu_a),
        "welfare_agents_max": w_max, "welfare_agents_min": w.min(axis=1),
        "welfare_principals_max": wp_max, "welfare_principals_min": wp.min(axis=1),
        "pure_ne_count": count,
        "agents_welfare_regret": xp.where(some, w_max - w0, xp.nan),
        "principals_welfare_regret": xp.where(some, wp_max - wp0, xp.nan),
        "pure_ne_mask": mask.reshape((games,) + tuple(actions)),
    }


def numpy_backend():
    return "numpy", lambda a, p: evaluate(np, a, p), lambda x: x, lambda r: r


def jax_backends():
    """(name, function, put, wait) for JAX on the CPU and on the first GPU, where present."""
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
    except Exception as e:  # not installed, or a broken install: NumPy alone
        if not isinstance(e, ImportError):
            print(f"baseline.py: JAX unusable ({type(e).__name__}: {e}); NumPy only", file=sys.stderr)
        return []
    fn = jax.jit(lambda a, p: evaluate(jnp, a, p))
    out = []
    for platform in ("cpu", "gpu"):
        try:
            dev = jax.devices(platform)[0]
        except Exception:  # RuntimeError: no such platform (no GPU, or JAX without CUDA)
            continue
        out.append((f"jax-{platform}", fn, lambda x, d=dev: jax.device_put(x, d),
                    lambda r: jax.tree_util.tree_map(lambda y: y.block_until_ready(), r)))
    return out


def backends(names=None):
    found = [numpy_backend()] + jax_backends()
    return [b for b in found if names is None or b[0] in names]


def time_backend(backend, agents, principals, repeats=3, warmup=1):
    """Median and minimum seconds of one evaluation, the inputs already in the backend's memory
    (and compiled, for JAX: the warm-up runs are not timed)."""
    name, fn, put, wait = backend
    a, p = put(agents), put(principals)
    wait((a, p))
    times = []
    for i in range(warmup + repeats):
        t0 = time.perf_counter()
        wait(fn(a, p))
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", required=True)
    ap.add_argument("--principals", required=True)
    ap.add_argument("--out", help="write the NumPy results to this .npz (dgeval's column names)")
    ap.add_argument("--backend", default=None,
                    help="with --out: numpy (default), jax-cpu or jax-gpu; with --time: a comma-separated list")
    ap.add_argument("--time", action="store_true", help="time every backend found, one JSON object per line")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args(argv)
    agents = np.load(args.agents)
    principals = np.load(args.principals)
    if agents.shape != principals.shape or agents.ndim < 3 or agents.ndim != agents.shape[1] + 2:
        sys.exit(f"baseline.py: expected agents and principals of one shape [B, n, k_1..k_n], "
                 f"got {agents.shape} and {principals.shape}")
    if args.out:
        name = args.backend or "numpy"
        found = backends([name])
        if not found:
            sys.exit(f"baseline.py: backend {name} not available")
        _, fn, put, wait = found[0]
        r = wait(fn(put(agents), put(principals)))
        np.savez(args.out, **{k: np.asarray(v) for k, v in r.items()})
    if args.time:
        names = args.backend.split(",") if args.backend else None
        for b in backends(names):
            med, best = time_backend(b, agents, principals, args.repeats, args.warmup)
            print(json.dumps({"backend": b[0], "games": int(agents.shape[0]), "dims": "x".join(map(str, agents.shape[2:])),
                              "input_bytes": int(agents.nbytes + principals.nbytes), "median_s": med, "min_s": best}),
                  flush=True)
    if not args.out and not args.time:
        ap.error("nothing to do: give --out and/or --time")


if __name__ == "__main__":
    main()
