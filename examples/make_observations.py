#!/usr/bin/env python3
"""Regenerates examples/observations.csv and examples/observations.npz (Python standard library only).

The observations are sampled by the CLI from one generated 3x3 delegation game (IA 0.7 for both
players, CA of the principals 0.5): 50 outcomes from each of the sets all, ne, eps_ne (IC 0.5)
and played (IC 0.5, CC 0.5), 200 rows. The .npz holds the same rows in the array layout of
docs/INFERENCE.md (actions int64 [R, n], agents and principals float64 [R, n], set int64 [R],
dims int64 [n]); the test InferenceIo.ExampleObservationsCsvAndNpzAgree reads both.

Usage (from the repository root, after building): python3 examples/make_observations.py [--dgeval build/dgeval]
"""
import argparse
import csv
import os
import struct
import subprocess
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SETS = {"all": 0, "ne": 1, "eps_ne": 2, "played": 3}


def npy(descr, shape, values):
    """A version 1.0 .npy file: C order, little endian."""
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else ""))
    pad = 64 - (10 + len(header) + 1) % 64
    header = (header + " " * pad + "\n").encode("latin1")
    fmt = {"<f8": "<%dd", "<i8": "<%dq"}[descr] % len(values)
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + struct.pack(fmt, *values)


def write_npz(path, arrays):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in arrays:
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dgeval", default=os.path.join(HERE, "..", "build", "dgeval"))
    args = ap.parse_args()
    out_csv = os.path.join(HERE, "observations.csv")
    with tempfile.TemporaryDirectory() as tmp:
        game = os.path.join(tmp, "game.npz")
        subprocess.run([args.dgeval, "generate", "--dims", "3x3", "--games", "1", "--ia", "0.7",
                        "--ca-principals", "0.5", "--seed", "3", "--output", game], check=True)
        subprocess.run([args.dgeval, "infer", "--game", game, "--sample", "all,ne,eps_ne,played",
                        "--ic", "0.5", "--cc", "0.5", "--samples", "50", "--seed", "1", "--resamples", "0",
                        "--write-observations", out_csv], check=True, stdout=subprocess.DEVNULL)
    with open(out_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    n = 2
    write_npz(os.path.join(HERE, "observations.npz"), [
        ("actions", npy("<i8", (len(rows), n), [int(r["action_%d" % i]) for r in rows for i in range(n)])),
        ("agents", npy("<f8", (len(rows), n), [float(r["agent_%d" % i]) for r in rows for i in range(n)])),
        ("principals", npy("<f8", (len(rows), n), [float(r["principal_%d" % i]) for r in rows for i in range(n)])),
        ("set", npy("<i8", (len(rows),), [SETS[r["set"]] for r in rows])),
        ("dims", npy("<i8", (n,), [3, 3])),
    ])
    print("wrote %s and observations.npz (%d rows)" % (out_csv, len(rows)))


if __name__ == "__main__":
    main()
