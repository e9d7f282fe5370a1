"""Genotype PCA: ``lamina pca`` beside PLINK 2 on the same .bed file, 2 threads.

Run:  python benchmarks/bench_pca_plink.py                       # 2,000 x 40,000, minutes
      python benchmarks/bench_pca_plink.py --samples 3000 --variants 117000 --no-exact

The cohort: three populations (Balding–Nichols drift from one ancestral
frequency per variant, ``lamina.linalg.genotype_matrix``), variants x
samples, written as PLINK 1 ``.bed`` by ``lamina.linalg.write_bed``, with
``--missing`` calls set missing at random. Each program runs in its own
subprocess under GNU ``time`` (peak RSS, wall time, start-up and file
reading included, Python's bytecode compiled beforehand as an installed
package has it; CPU seconds too, which other users' load on a shared
machine disturbs less than wall time), all on the same file with 2 threads:

* ``lamina pca FILE.bed -k 10`` at its defaults (block Krylov until the
  top-10 eigenvalues settle), and with ``--power-iter 2`` (Dask's algorithm);
* ``plink2 --pca 10 approx`` and, unless ``--no-exact``, exact ``plink2 --pca 10``.

Reference: the eigenvalues of the dense mean-imputed Patterson-scaled
GRM (``numpy.linalg.eigvalsh``, formed block by block, float64), the
definition PLINK 2 ``approx`` and lamina share (exact ``plink2 --pca``
corrects the GRM for missingness instead, so with ``--missing > 0`` its
values differ by design). The table gives wall time, peak RSS, ratios to
``plink2 approx``, the worst relative error of the top-10 eigenvalues, and
``|cos|`` between each program's PC1/PC2 sample scores and PLINK 2 approx's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from lamina.linalg import genotype_matrix, patterson_reference, write_bed  # noqa: E402


def simulate(prefix: str, n_variants: int, n_samples: int, missing: float, seed: int) -> None:
    g = genotype_matrix((n_variants, n_samples), chunks=(5000, n_samples), seed=seed,
                        n_populations=3, fst=0.05)
    rng = np.random.default_rng(seed)

    class Blocks:
        shape = g.shape

        def __getitem__(self, rows):
            block = g[rows].compute().astype(np.int8)
            block[rng.random(block.shape) < missing] = -1
            return block

    write_bed(Blocks(), prefix, variants_per_block=5000)


def exact_eigenvalues(prefix: str, k: int) -> np.ndarray:
    from lamina.linalg import read_bed

    gt = read_bed(prefix, variants_per_block=4000)
    m, n = gt.array.shape
    gram = np.zeros((n, n))
    for start in range(0, m, 4000):
        x = patterson_reference(gt.array[start:start + 4000].compute())
        gram += x.T @ x
    return np.linalg.eigvalsh(gram)[::-1][:k] / m


def run(cmd: list[str], env: dict, tmp: str) -> tuple[float, float, float, str]:
    """``(wall s, CPU s, peak RSS MiB, stdout)`` of one command, measured by GNU time.

    GNU time forks the command from its own small process: a child forked
    from this one would inherit its peak RSS in ``ru_maxrss``.
    """
    report = os.path.join(tmp, "time.txt")
    proc = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", report, *cmd],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    out = proc.stdout.decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed:\n{out[-2000:]}")
    wall, user, system, rss_kib = open(report).read().split()[-4:]
    return float(wall), float(user) + float(system), float(rss_kib) / 1024, out


def eigenvec(path: str) -> np.ndarray:
    return np.loadtxt(path, skiprows=1, usecols=(2, 3), ndmin=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--variants", type=int, default=40000)
    parser.add_argument("--missing", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-exact", action="store_true", help="skip exact plink2 --pca")
    args = parser.parse_args()
    plink2 = shutil.which("plink2")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONPATH=ROOT)
    k = 10
    with tempfile.TemporaryDirectory() as tmp:
        # start-up as an installed package has it: bytecode compiled once, beforehand
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
        subprocess.run([sys.executable, "-c", "import lamina.cli, lamina.linalg"], env=env,
                       cwd=ROOT, check=True)
        prefix = os.path.join(tmp, "cohort")
        simulate(prefix, args.variants, args.samples, args.missing, args.seed)
        print(f"cohort: {args.variants} variants x {args.samples} samples, 3 populations, "
              f"missing {args.missing:g}, {args.threads} threads")
        t = time.perf_counter()
        exact = exact_eigenvalues(prefix, k)
        print(f"reference eigh: {time.perf_counter() - t:.1f} s; top-{k}:",
              np.array2string(exact, precision=4))
        rows = []
        lamina = [sys.executable, "-m", "lamina.cli", "pca", prefix + ".bed", "-k", str(k),
                  "--threads", str(args.threads)]
        runs = [("lamina (krylov, default)", lamina + ["--out", prefix + "_lk"], "_lk"),
                ("lamina (power q=2, Dask)", lamina + ["--power-iter", "2", "--out",
                                                       prefix + "_lp"], "_lp")]
        if plink2 is not None:
            base = [plink2, "--bfile", prefix, "--threads", str(args.threads), "--pca", str(k)]
            runs.append(("plink2 --pca approx", base + ["approx", "--out", prefix + "_pa"],
                         "_pa"))
            if not args.no_exact:
                runs.append(("plink2 --pca (exact)", base + ["--out", prefix + "_pe"], "_pe"))
        else:
            print("plink2 is not installed: its rows are skipped")
        for name, cmd, tag in runs:
            wall, cpu, rss, out = run(cmd, env, tmp)
            values = np.loadtxt(prefix + tag + ".eigenval")
            passes = next((line.split("passes: ")[1].split(",")[0] for line in out.splitlines()
                           if "passes: " in line), "")
            rows.append((name, wall, cpu, rss, (np.abs(values - exact) / exact).max(), passes,
                         tag))
        scores = {tag: eigenvec(prefix + tag + ".eigenvec") for *_, tag in rows}
        peer = "_pa" if "_pa" in scores else rows[0][-1]
        peer_row = next(r for r in rows if r[-1] == peer)
        print(f"\n{'program':26} {'wall s':>7} {'x peer':>6} {'CPU s':>7} {'x peer':>6} "
              f"{'peak MiB':>8} {'x peer':>6} {'max rel err':>11} {'passes':>6} "
              f"{'|cos| PC1, PC2 vs plink2 approx':>31}")
        for name, wall, cpu, rss, rel, passes, tag in rows:
            a, b = scores[tag], scores[peer]
            cos = [abs(a[:, j] @ b[:, j]) / np.linalg.norm(a[:, j]) / np.linalg.norm(b[:, j])
                   for j in range(2)]
            print(f"{name:26} {wall:7.2f} {wall / peer_row[1]:6.3f} {cpu:7.2f} "
                  f"{cpu / peer_row[2]:6.3f} {rss:8.0f} {rss / peer_row[3]:6.3f} {rel:11.2e} "
                  f"{passes:>6} {cos[0]:15.6f} {cos[1]:15.6f}")


if __name__ == "__main__":
    main()
