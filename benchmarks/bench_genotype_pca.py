"""Genotype PCA on msprime cohorts: ``lamina pca`` beside PLINK 2 and sgkit, 2 threads.

Run:  python benchmarks/bench_genotype_pca.py --samples 5000 --variants 100000 --dir D
      python benchmarks/bench_genotype_pca.py --samples 50000 --variants 200000 --tiles 4 \\
          --dir D --reference converged --plink-approx-variants 20000 --no-exact

The cohort (``genotype_cohorts.py``: island model, migration, MAF >= 0.01)
is simulated once into ``--dir`` (reused when its files are there) as
``.bed``, as ``.pgen`` (``plink2 --make-pgen`` of that ``.bed``) and, with
``--vcz``, as VCF Zarr. Each program runs in its own subprocess under GNU
``time`` (wall, CPU seconds, peak RSS; start-up and file reading
included), 2 threads, one at a time:

* ``lamina pca`` at its defaults on the ``.bed``, the ``.pgen`` and the VCF Zarr;
* ``plink2 --pca 10 approx`` and exact ``plink2 --pca 10`` (``--no-exact``
  skips it); ``--plink-approx-variants N`` runs approx on the first ``N``
  variants only (its time then is for that subset, and its error is
  against that subset's own converged lamina run);
* ``sgkit.pca`` (randomized, Dask threads) on the VCF Zarr, with
  ``--sgkit-python`` naming a Python that has sgkit (it pins its own
  dask and zarr; skipped when not given or when it fails).

Reference eigenvalues: ``--reference plink-exact`` takes exact
``plink2 --pca``'s (the same GRM when no call is missing, as here; that
row's error is then 0 by definition); ``--reference converged`` a lamina
block Krylov run with ``--tol 1e-10`` (for sizes where exact is out of
reach). The table gives ratios to ``plink2 --pca approx`` and the worst
relative error of the top-10 eigenvalues.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_pca_plink import run  # noqa: E402
from genotype_cohorts import write_cohort  # noqa: E402

K = 10


def ensure_cohort(args: argparse.Namespace) -> str:
    prefix = os.path.join(args.dir, "cohort")
    if not os.path.exists(prefix + ".bim") or (args.vcz and not os.path.exists(prefix + ".vcz")):
        try:
            import msprime  # noqa: F401
        except ImportError:
            sys.exit("msprime is not installed (pip install msprime): cannot simulate the cohort")
        os.makedirs(args.dir, exist_ok=True)
        write_cohort(prefix, args.samples, args.variants, tiles=args.tiles, vcz=args.vcz,
                     seed=args.seed)
    return prefix


def plink_subset(plink2: str, prefix: str, n_variants: int, env: dict, tmp: str) -> str:
    """The first ``n_variants`` variants as their own .bed (for a plink2 approx run on a subset)."""
    out = f"{prefix}_first{n_variants}"
    if not os.path.exists(out + ".bed"):
        subprocess.run([plink2, "--bfile", prefix, "--threads", "2", "--to-bp", str(n_variants),
                        "--chr", "1", "--make-bed", "--out", out], check=True, env=env, cwd=tmp,
                       capture_output=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--variants", type=int, default=100000)
    parser.add_argument("--tiles", type=int, default=1)
    parser.add_argument("--dir", required=True, help="where the cohort files are (or go)")
    parser.add_argument("--vcz", action="store_true", help="also VCF Zarr (lamina and sgkit)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reference", choices=("plink-exact", "converged"),
                        default="plink-exact")
    parser.add_argument("--no-exact", action="store_true", help="skip exact plink2 --pca")
    parser.add_argument("--no-pgen", action="store_true", help="skip the .pgen rows")
    parser.add_argument("--plink-approx-variants", type=int, default=None)
    parser.add_argument("--sgkit-python", default=None)
    args = parser.parse_args()
    plink2 = shutil.which("plink2")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONPATH=ROOT)
    prefix = ensure_cohort(args)
    tmp = args.dir
    n_variants = sum(1 for _ in open(prefix + ".bim"))
    n_samples = sum(1 for _ in open(prefix + ".fam"))
    print(f"cohort: {n_variants} variants x {n_samples} samples (msprime, 3 populations, "
          f"tiles {args.tiles}), {args.threads} threads")
    lamina = [sys.executable, "-m", "lamina.cli", "pca", "-k", str(K),
              "--threads", str(args.threads)]
    runs = []  # (name, command, output prefix, reference key)
    if args.reference == "converged":
        runs.append(("lamina converged (tol 1e-10)", lamina + [prefix + ".bed", "--tol", "1e-10",
                                                              "--max-iter", "60"],
                     prefix + "_ref", None))
    runs.append(("lamina pca .bed", lamina + [prefix + ".bed"], prefix + "_lb", "all"))
    if not args.no_pgen and plink2 is not None:
        if not os.path.exists(prefix + ".pgen"):
            subprocess.run([plink2, "--bfile", prefix, "--threads", "2", "--make-pgen",
                            "--out", prefix], check=True, env=env, cwd=tmp, capture_output=True)
        runs.append(("lamina pca .pgen", lamina + [prefix + ".pgen"], prefix + "_lp", "all"))
    if args.vcz:
        runs.append(("lamina pca VCF Zarr", lamina + [prefix + ".vcz"], prefix + "_lz", "all"))
    if plink2 is not None:
        base = [plink2, "--threads", str(args.threads), "--pca", str(K)]
        if args.plink_approx_variants:
            sub = plink_subset(plink2, prefix, args.plink_approx_variants, env, tmp)
            runs.append((f"lamina converged, first {args.plink_approx_variants}",
                         lamina + [sub + ".bed", "--tol", "1e-10", "--max-iter", "60"],
                         sub + "_ref", None))
            runs.append((f"lamina pca .bed, first {args.plink_approx_variants}",
                         lamina + [sub + ".bed"], sub + "_lb", "sub"))
            runs.append((f"plink2 approx, first {args.plink_approx_variants}",
                         base + ["approx", "--bfile", sub, "--out", sub + "_pa"], sub + "_pa",
                         "sub"))
        else:
            runs.append(("plink2 --pca approx", base + ["approx", "--bfile", prefix, "--out",
                                                        prefix + "_pa"], prefix + "_pa", "all"))
        if not args.no_exact:
            runs.insert(0, ("plink2 --pca (exact)", base + ["--bfile", prefix, "--out",
                                                            prefix + "_pe"], prefix + "_pe",
                            "all"))
    if args.sgkit_python and args.vcz:
        runs.append(("sgkit.pca (randomized, n_iter 4)",
                     [args.sgkit_python, os.path.join(ROOT, "benchmarks", "sgkit_pca.py"),
                      prefix + ".vcz", "-k", str(K), "--threads", str(args.threads), "--out",
                      prefix + "_sg"], prefix + "_sg", "all"))
    results = []
    for name, cmd, out, ref in runs:
        if cmd[0] == sys.executable:
            cmd = cmd + ["--out", out]
        try:
            wall, cpu, rss, text = run(cmd, env, tmp)
        except RuntimeError as exc:
            print(f"{name}: failed, skipped\n{str(exc)[-600:]}")
            continue
        passes = next((line.split("passes: ")[1].split(",")[0] for line in text.splitlines()
                       if "passes: " in line), "")
        results.append((name, wall, cpu, rss, np.loadtxt(out + ".eigenval"), passes, ref))
        print(f"{name}: {wall:.1f} s wall, {cpu:.1f} s CPU, {rss:.0f} MiB"
              + (f", {passes} passes" if passes else ""), flush=True)
    if args.reference == "plink-exact":
        reference = {"all": next((r[4] for r in results if r[0].startswith("plink2 --pca (")),
                                 None)}
    else:
        reference = {"all": next((r[4] for r in results
                                  if r[0].startswith("lamina converged (")), None)}
    reference["sub"] = next((r[4] for r in results if r[0].startswith("lamina converged, ")),
                            None)
    peer = next((r for r in results if r[0].startswith("plink2") and "approx" in r[0]),
                results[0])
    print(f"\n| program | wall s | x approx | CPU s | x approx | peak MiB | x approx "
          f"| max rel err top-{K} | passes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, wall, cpu, rss, values, passes, ref in results:
        exact = reference.get(ref) if ref else None
        err = f"{(np.abs(values - exact) / exact).max():.2e}" if exact is not None else "ref"
        print(f"| {name} | {wall:.1f} | {wall / peer[1]:.3f} | {cpu:.1f} | {cpu / peer[2]:.3f} "
              f"| {rss:.0f} | {rss / peer[3]:.3f} | {err} | {passes} |")
    if reference["all"] is not None:
        print(f"\nreference top-{K} eigenvalues:", np.array2string(reference["all"],
                                                                  precision=4))


if __name__ == "__main__":
    main()
