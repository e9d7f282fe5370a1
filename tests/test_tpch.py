"""All 22 TPC-H queries on lamina.dataframe equal DuckDB's SQL on the same files.

The tables come from ``tpchgen-cli`` at scale factor 0.01 (60,000 lineitem
rows), cut into files of 20,000 rows so that joins, shuffles and tree
reductions see several partitions.
"""

import importlib.util
import os

import pytest

pytest.importorskip("duckdb", reason="DuckDB runs the reference SQL")
BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "benchmarks")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, os.path.join(BENCHMARKS, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tpch_check, tpch_data, tpch_sql, tpch_queries = (
    _load(n) for n in ("tpch_check", "tpch_data", "tpch_sql", "tpch_queries"))


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    if not tpch_data.tpchgen_available():
        pytest.skip("tpchgen-cli is not installed (pip install tpchgen-cli, in the test "
                    "extra)")
    folder = str(tmp_path_factory.mktemp("tpch-sf0.01"))
    tpch_data.generate(folder, 0.01, rows_per_file=20_000)
    return folder, tpch_sql.connect(folder, threads=1)


@pytest.mark.parametrize("n", range(1, 23))
def test_query_equals_duckdb(tables, n):
    import lamina.dataframe as ld

    folder, con = tables
    want = tpch_sql.duckdb_result(n, folder, con=con)
    got = tpch_queries.run(n, folder, ld)
    assert len(want) > 0 or n == 17, f"query {n} selects no rows: the test proves little"
    why = tpch_check.same(got, want)
    assert why is None, f"query {n}: {why}"


def test_comparison_notices_a_wrong_value(tables):
    folder, con = tables
    want = tpch_sql.duckdb_result(1, folder, con=con)
    wrong = want.copy()
    wrong.loc[0, "sum_qty"] += 1
    assert tpch_check.same(wrong, want) is not None
    assert tpch_check.same(want.iloc[1:], want) is not None
