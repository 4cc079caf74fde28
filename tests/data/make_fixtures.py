"""Makes the binary fixtures of tests/data with NumPy (run once; the outputs are committed).

Every utility array holds value(b, i, s) = 1000*b + 100*i + s, where s is the C-order flat
index of the outcome, so a test can check any reader against that formula.
"""
import numpy as np


def values(games, dims):
    n = len(dims)
    N = int(np.prod(dims))
    v = np.empty((games, n, N))
    for b in range(games):
        for i in range(n):
            v[b, i] = 1000 * b + 100 * i + np.arange(N)
    return v.reshape((games, n) + tuple(dims))


dims = (2, 3, 4)  # three players, asymmetric
a = values(3, dims)
p = -a
np.save("a_f8.npy", a)                                      # C order, little endian, float64
np.save("a_f8_fortran.npy", np.asfortranarray(a))           # Fortran order
np.save("a_f8_big.npy", a.astype(">f8"))                    # big endian
np.save("a_f4.npy", a.astype("<f4"))                        # float32
np.save("p_f8.npy", p)
np.save("a_i4.npy", a.astype("<i4"))                        # unsupported dtype for utilities
np.save("single_game.npy", a[0])                            # [n, k..]: one game
np.savez("games.npz", agents=a, principals=p)
np.savez_compressed("games_compressed.npz", agents=np.asfortranarray(a), principals=p.astype(">f8"))
sigma = np.full(dims, 1.0 / 24)
np.savez("games_with_strategy.npz", agents=a, principals=p, strategy_correlated=sigma)
np.save("strategy_pure.npy", np.array([[1, 2, 3], [0, 0, 0], [1, 0, 2]], dtype=np.int64))
