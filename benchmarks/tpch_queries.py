"""The 22 TPC-H queries on a dataframe library with Dask's names.

Each ``qN(read, dd)`` builds query N lazily: ``read(table, columns)`` gives
the table as a lazy DataFrame and ``dd`` is ``lamina.dataframe`` or
``dask.dataframe``. The queries keep to what both libraries share;
semi- and anti-joins go through ``semi``/``anti``, which use a lazy
``isin`` on lamina and a merge on dask (whose ``isin`` takes in-memory
values only). ``run(n, folder, dd)`` computes query N and returns pandas
in the shape of the SQL result (``tpch_sql.SQL[n]``), for ``same`` to
compare with DuckDB's.

Joins put the larger side on the left and say ``broadcast=True`` where
the right side is small after its filters, and some reads name their
columns, as a user of either library would; ``reader(..., whole_tables=True)``
ignores those ``columns=`` (lamina's projection pushdown finds them).
"""

from __future__ import annotations

import os
from typing import Any, Callable

import pandas as pd

D = pd.Timestamp
SCALAR_NAMES = {6: "revenue", 14: "promo_revenue", 17: "avg_yearly", 19: "revenue"}


def is_lamina(dd: Any) -> bool:
    return dd.__name__.startswith("lamina")


def semi(frame: Any, key: str, values: Any, dd: Any) -> Any:
    """Rows of ``frame`` whose ``key`` is among the lazy Series ``values``."""
    if is_lamina(dd):
        return frame[frame[key].isin(values)]
    keys = values.to_frame(name="__semi_key").drop_duplicates()
    return frame.merge(keys, left_on=key, right_on="__semi_key")[list(frame.columns)]


def anti(frame: Any, key: str, values: Any, dd: Any) -> Any:
    """Rows of ``frame`` whose ``key`` is not among the lazy Series ``values``."""
    if is_lamina(dd):
        return frame[~frame[key].isin(values)]
    keys = values.to_frame(name="__anti_key").drop_duplicates()
    joined = frame.merge(keys, left_on=key, right_on="__anti_key", how="left")
    return joined[joined["__anti_key"].isna()][list(frame.columns)]


def _revenue(frame: Any) -> Any:
    return frame.l_extendedprice * (1 - frame.l_discount)


def q1(read: Callable, dd: Any) -> Any:
    li = read("lineitem", ["l_returnflag", "l_linestatus", "l_quantity", "l_extendedprice",
                           "l_discount", "l_tax", "l_shipdate"])
    li = li[li.l_shipdate <= D("1998-09-02")]
    disc_price = _revenue(li)
    li = li.assign(disc_price=disc_price, charge=disc_price * (1 + li.l_tax))
    out = li.groupby(["l_returnflag", "l_linestatus"]).agg(
        sum_qty=("l_quantity", "sum"), sum_base_price=("l_extendedprice", "sum"),
        sum_disc_price=("disc_price", "sum"), sum_charge=("charge", "sum"),
        avg_qty=("l_quantity", "mean"), avg_price=("l_extendedprice", "mean"),
        avg_disc=("l_discount", "mean"), count_order=("l_quantity", "count"))
    return out.reset_index().sort_values(["l_returnflag", "l_linestatus"])


def q2(read: Callable, dd: Any) -> Any:
    region, nation, part = read("region"), read("nation"), read("part")
    supplier = read("supplier", ["s_suppkey", "s_name", "s_address", "s_nationkey", "s_phone",
                                 "s_acctbal", "s_comment"])
    partsupp = read("partsupp", ["ps_partkey", "ps_suppkey", "ps_supplycost"])
    europe = region[region.r_name == "EUROPE"][["r_regionkey"]]
    nations = nation.merge(europe, left_on="n_regionkey", right_on="r_regionkey")
    suppliers = supplier.merge(nations[["n_nationkey", "n_name"]], left_on="s_nationkey",
                               right_on="n_nationkey")
    brass = part[(part.p_size == 15) & part.p_type.str.endswith("BRASS")]
    offers = partsupp.merge(brass[["p_partkey", "p_mfgr"]], left_on="ps_partkey",
                            right_on="p_partkey", broadcast=True)
    offers = offers.merge(suppliers, left_on="ps_suppkey", right_on="s_suppkey",
                          broadcast=True)
    cheapest = offers.groupby("p_partkey").agg(min_cost=("ps_supplycost", "min"))
    cheapest = cheapest.reset_index().rename(columns={"p_partkey": "min_partkey"})
    best = offers.merge(cheapest, left_on=["p_partkey", "ps_supplycost"],
                        right_on=["min_partkey", "min_cost"], broadcast=True)
    columns = ["s_acctbal", "s_name", "n_name", "p_partkey", "p_mfgr", "s_address",
               "s_phone", "s_comment"]
    return best[columns].sort_values(["s_acctbal", "n_name", "s_name", "p_partkey"],
                                     ascending=[False, True, True, True],
                                     npartitions=1).head(100, compute=False)


def q3(read: Callable, dd: Any) -> Any:
    customer, orders, lineitem = read("customer"), read("orders"), read("lineitem")
    customers = customer[customer.c_mktsegment == "BUILDING"][["c_custkey"]]
    orders = orders[orders.o_orderdate < D("1995-03-15")]
    orders = orders[["o_orderkey", "o_custkey", "o_orderdate", "o_shippriority"]].merge(
        customers, left_on="o_custkey", right_on="c_custkey", broadcast=True)
    li = lineitem[lineitem.l_shipdate > D("1995-03-15")]
    li = li[["l_orderkey", "l_extendedprice", "l_discount"]]
    joined = li.merge(orders, left_on="l_orderkey", right_on="o_orderkey", broadcast=True)
    joined = joined.assign(revenue=_revenue(joined))
    out = joined.groupby(["l_orderkey", "o_orderdate", "o_shippriority"]).agg(
        revenue=("revenue", "sum")).reset_index()
    out = out.sort_values(["revenue", "o_orderdate", "l_orderkey"],
                          ascending=[False, True, True], npartitions=1)
    return out.head(10, compute=False)[["l_orderkey", "revenue", "o_orderdate",
                                        "o_shippriority"]]


def q4(read: Callable, dd: Any) -> Any:
    orders, lineitem = read("orders"), read("lineitem")
    orders = orders[(orders.o_orderdate >= D("1993-07-01"))
                    & (orders.o_orderdate < D("1993-10-01"))]
    late = lineitem[lineitem.l_commitdate < lineitem.l_receiptdate][["l_orderkey"]]
    late = semi(late, "l_orderkey", orders.o_orderkey, dd)
    orders = semi(orders[["o_orderkey", "o_orderpriority"]], "o_orderkey", late.l_orderkey,
                  dd)
    out = orders.groupby("o_orderpriority").agg(order_count=("o_orderkey", "count"))
    return out.reset_index().sort_values("o_orderpriority")


def q5(read: Callable, dd: Any) -> Any:
    region, nation, customer = read("region"), read("nation"), read("customer")
    orders, lineitem = read("orders"), read("lineitem")
    supplier = read("supplier", ["s_suppkey", "s_nationkey"])
    asia = region[region.r_name == "ASIA"][["r_regionkey"]]
    nations = nation.merge(asia, left_on="n_regionkey", right_on="r_regionkey")
    suppliers = supplier.merge(nations[["n_nationkey", "n_name"]], left_on="s_nationkey",
                               right_on="n_nationkey")[["s_suppkey", "s_nationkey", "n_name"]]
    orders = orders[(orders.o_orderdate >= D("1994-01-01"))
                    & (orders.o_orderdate < D("1995-01-01"))][["o_orderkey", "o_custkey"]]
    orders = orders.merge(customer[["c_custkey", "c_nationkey"]], left_on="o_custkey",
                          right_on="c_custkey")
    li = lineitem[["l_orderkey", "l_suppkey", "l_extendedprice", "l_discount"]]
    li = li.merge(suppliers, left_on="l_suppkey", right_on="s_suppkey", broadcast=True)
    joined = li.merge(orders, left_on=["l_orderkey", "s_nationkey"],
                      right_on=["o_orderkey", "c_nationkey"], broadcast=True)
    joined = joined.assign(revenue=_revenue(joined))
    out = joined.groupby("n_name").agg(revenue=("revenue", "sum")).reset_index()
    return out.sort_values("revenue", ascending=False)


def q6(read: Callable, dd: Any) -> Any:
    li = read("lineitem")
    li = li[(li.l_shipdate >= D("1994-01-01")) & (li.l_shipdate < D("1995-01-01"))
            & (li.l_discount >= 0.05) & (li.l_discount <= 0.07) & (li.l_quantity < 24)]
    return (li.l_extendedprice * li.l_discount).sum(min_count=1)


def q7(read: Callable, dd: Any) -> Any:
    nation, orders, lineitem = read("nation"), read("orders"), read("lineitem")
    supplier = read("supplier", ["s_suppkey", "s_nationkey"])
    customer = read("customer", ["c_custkey", "c_nationkey"])
    pair = nation[nation.n_name.isin(["FRANCE", "GERMANY"])][["n_nationkey", "n_name"]]
    suppliers = supplier.merge(pair, left_on="s_nationkey", right_on="n_nationkey")
    suppliers = suppliers[["s_suppkey", "n_name"]].rename(columns={"n_name": "supp_nation"})
    customers = customer.merge(pair, left_on="c_nationkey", right_on="n_nationkey")
    customers = customers[["c_custkey", "n_name"]].rename(columns={"n_name": "cust_nation"})
    li = lineitem[(lineitem.l_shipdate >= D("1995-01-01"))
                  & (lineitem.l_shipdate <= D("1996-12-31"))]
    li = li[["l_orderkey", "l_suppkey", "l_shipdate", "l_extendedprice", "l_discount"]]
    li = li.merge(suppliers, left_on="l_suppkey", right_on="s_suppkey", broadcast=True)
    orders = orders[["o_orderkey", "o_custkey"]].merge(
        customers, left_on="o_custkey", right_on="c_custkey", broadcast=True)
    joined = li.merge(orders, left_on="l_orderkey", right_on="o_orderkey", broadcast=True)
    joined = joined[((joined.supp_nation == "FRANCE") & (joined.cust_nation == "GERMANY"))
                    | ((joined.supp_nation == "GERMANY") & (joined.cust_nation == "FRANCE"))]
    joined = joined.assign(l_year=joined.l_shipdate.dt.year, volume=_revenue(joined))
    out = joined.groupby(["supp_nation", "cust_nation", "l_year"]).agg(
        revenue=("volume", "sum")).reset_index()
    return out.sort_values(["supp_nation", "cust_nation", "l_year"])


def q8(read: Callable, dd: Any) -> Any:
    region, nation = read("region"), read("nation")
    customer = read("customer", ["c_custkey", "c_nationkey"])
    orders, lineitem = read("orders"), read("lineitem")
    supplier, part = read("supplier"), read("part")
    america = region[region.r_name == "AMERICA"][["r_regionkey"]]
    nations = nation.merge(america, left_on="n_regionkey", right_on="r_regionkey")
    customers = customer.merge(nations[["n_nationkey"]], left_on="c_nationkey",
                               right_on="n_nationkey")[["c_custkey"]]
    orders = orders[(orders.o_orderdate >= D("1995-01-01"))
                    & (orders.o_orderdate <= D("1996-12-31"))]
    orders = orders[["o_orderkey", "o_custkey", "o_orderdate"]].merge(
        customers, left_on="o_custkey", right_on="c_custkey", broadcast=True)
    steel = part[part.p_type == "ECONOMY ANODIZED STEEL"][["p_partkey"]]
    li = lineitem[["l_orderkey", "l_partkey", "l_suppkey", "l_extendedprice", "l_discount"]]
    li = li.merge(steel, left_on="l_partkey", right_on="p_partkey", broadcast=True)
    suppliers = supplier[["s_suppkey", "s_nationkey"]].merge(
        nation[["n_nationkey", "n_name"]], left_on="s_nationkey", right_on="n_nationkey")
    li = li.merge(suppliers, left_on="l_suppkey", right_on="s_suppkey", broadcast=True)
    joined = li.merge(orders, left_on="l_orderkey", right_on="o_orderkey", broadcast=True)
    volume = _revenue(joined)
    joined = joined.assign(o_year=joined.o_orderdate.dt.year, volume=volume,
                           brazil=volume.where(joined.n_name == "BRAZIL", 0.0))
    out = joined.groupby("o_year").agg(brazil=("brazil", "sum"), total=("volume", "sum"))
    out = out.assign(mkt_share=out.brazil / out.total)[["mkt_share"]]
    return out.reset_index().sort_values("o_year")


def q9(read: Callable, dd: Any) -> Any:
    part, partsupp, supplier = read("part"), read("partsupp"), read("supplier")
    lineitem, orders, nation = read("lineitem"), read("orders"), read("nation")
    green = part[part.p_name.str.contains("green", regex=False)][["p_partkey"]]
    offers = partsupp[["ps_partkey", "ps_suppkey", "ps_supplycost"]].merge(
        green, left_on="ps_partkey", right_on="p_partkey", broadcast=True)
    li = lineitem[["l_orderkey", "l_partkey", "l_suppkey", "l_quantity", "l_extendedprice",
                   "l_discount"]]
    li = li.merge(offers[["ps_partkey", "ps_suppkey", "ps_supplycost"]],
                  left_on=["l_partkey", "l_suppkey"], right_on=["ps_partkey", "ps_suppkey"],
                  broadcast=True)
    suppliers = supplier[["s_suppkey", "s_nationkey"]].merge(
        nation[["n_nationkey", "n_name"]], left_on="s_nationkey", right_on="n_nationkey")
    li = li.merge(suppliers[["s_suppkey", "n_name"]], left_on="l_suppkey",
                  right_on="s_suppkey", broadcast=True)
    joined = li.merge(orders[["o_orderkey", "o_orderdate"]], left_on="l_orderkey",
                      right_on="o_orderkey")
    joined = joined.assign(o_year=joined.o_orderdate.dt.year,
                           amount=_revenue(joined) - joined.ps_supplycost * joined.l_quantity)
    out = joined.groupby(["n_name", "o_year"]).agg(sum_profit=("amount", "sum"))
    out = out.reset_index().rename(columns={"n_name": "nation"})
    return out.sort_values(["nation", "o_year"], ascending=[True, False])


def q10(read: Callable, dd: Any) -> Any:
    customer, orders = read("customer"), read("orders")
    lineitem, nation = read("lineitem"), read("nation")
    orders = orders[(orders.o_orderdate >= D("1993-10-01"))
                    & (orders.o_orderdate < D("1994-01-01"))][["o_orderkey", "o_custkey"]]
    li = lineitem[lineitem.l_returnflag == "R"][["l_orderkey", "l_extendedprice",
                                                 "l_discount"]]
    joined = li.merge(orders, left_on="l_orderkey", right_on="o_orderkey", broadcast=True)
    joined = joined.assign(revenue=_revenue(joined))
    revenue = joined.groupby("o_custkey").agg(revenue=("revenue", "sum")).reset_index()
    customers = customer.merge(nation[["n_nationkey", "n_name"]], left_on="c_nationkey",
                               right_on="n_nationkey", broadcast=True)
    out = customers.merge(revenue, left_on="c_custkey", right_on="o_custkey")
    columns = ["c_custkey", "c_name", "revenue", "c_acctbal", "n_name", "c_address",
               "c_phone", "c_comment"]
    return out[columns].sort_values(["revenue", "c_custkey"], ascending=[False, True],
                                    npartitions=1).head(20, compute=False)


def q11(read: Callable, dd: Any) -> Any:
    partsupp = read("partsupp", ["ps_partkey", "ps_suppkey", "ps_supplycost", "ps_availqty"])
    supplier, nation = read("supplier", ["s_suppkey", "s_nationkey"]), read("nation")
    germany = nation[nation.n_name == "GERMANY"][["n_nationkey"]]
    suppliers = supplier.merge(germany, left_on="s_nationkey",
                               right_on="n_nationkey")[["s_suppkey"]]
    offers = partsupp.merge(suppliers, left_on="ps_suppkey", right_on="s_suppkey",
                            broadcast=True)
    offers = offers.assign(value=offers.ps_supplycost * offers.ps_availqty)
    threshold = offers.value.sum() * 0.0001
    out = offers.groupby("ps_partkey").agg(value=("value", "sum")).reset_index()
    out = out[out.value > threshold]
    return out.sort_values(["value", "ps_partkey"], ascending=[False, True])


def q12(read: Callable, dd: Any) -> Any:
    orders, lineitem = read("orders"), read("lineitem")
    li = lineitem[lineitem.l_shipmode.isin(["MAIL", "SHIP"])
                  & (lineitem.l_commitdate < lineitem.l_receiptdate)
                  & (lineitem.l_shipdate < lineitem.l_commitdate)
                  & (lineitem.l_receiptdate >= D("1994-01-01"))
                  & (lineitem.l_receiptdate < D("1995-01-01"))][["l_orderkey", "l_shipmode"]]
    joined = orders[["o_orderkey", "o_orderpriority"]].merge(
        li, left_on="o_orderkey", right_on="l_orderkey", broadcast=True)
    high = joined.o_orderpriority.isin(["1-URGENT", "2-HIGH"])
    joined = joined.assign(high_line_count=high.astype("int64"),
                           low_line_count=(~high).astype("int64"))
    out = joined.groupby("l_shipmode").agg(high_line_count=("high_line_count", "sum"),
                                           low_line_count=("low_line_count", "sum"))
    return out.reset_index().sort_values("l_shipmode")


def q13(read: Callable, dd: Any) -> Any:
    customer, orders = read("customer"), read("orders")
    orders = orders[~orders.o_comment.str.contains("special.*requests", regex=True)]
    joined = customer[["c_custkey"]].merge(orders[["o_orderkey", "o_custkey"]],
                                           left_on="c_custkey", right_on="o_custkey",
                                           how="left")
    counts = joined.groupby("c_custkey").agg(c_count=("o_orderkey", "count")).reset_index()
    out = counts.groupby("c_count").agg(custdist=("c_custkey", "count")).reset_index()
    return out.sort_values(["custdist", "c_count"], ascending=[False, False])


def q14(read: Callable, dd: Any) -> Any:
    lineitem, part = read("lineitem"), read("part")
    li = lineitem[(lineitem.l_shipdate >= D("1995-09-01"))
                  & (lineitem.l_shipdate < D("1995-10-01"))]
    joined = li[["l_partkey", "l_extendedprice", "l_discount"]].merge(
        part[["p_partkey", "p_type"]], left_on="l_partkey", right_on="p_partkey")
    revenue = _revenue(joined)
    promo = revenue.where(joined.p_type.str.startswith("PROMO"), 0.0)
    return promo.sum(min_count=1) * 100.0 / revenue.sum(min_count=1)


def q15(read: Callable, dd: Any) -> Any:
    lineitem = read("lineitem", ["l_suppkey", "l_extendedprice", "l_discount", "l_shipdate"])
    supplier = read("supplier", ["s_suppkey", "s_name", "s_address", "s_phone"])
    li = lineitem[(lineitem.l_shipdate >= D("1996-01-01"))
                  & (lineitem.l_shipdate < D("1996-04-01"))]
    li = li.assign(revenue=_revenue(li))
    revenue = li.groupby("l_suppkey").agg(total_revenue=("revenue", "sum")).reset_index()
    top = revenue[revenue.total_revenue == revenue.total_revenue.max()]
    out = supplier.merge(top, left_on="s_suppkey", right_on="l_suppkey")
    return out[["s_suppkey", "s_name", "s_address", "s_phone", "total_revenue"]].sort_values(
        "s_suppkey")


def q16(read: Callable, dd: Any) -> Any:
    partsupp, part, supplier = read("partsupp"), read("part"), read("supplier")
    complaints = supplier[supplier.s_comment.str.contains("Customer.*Complaints",
                                                          regex=True)].s_suppkey
    parts = part[(part.p_brand != "Brand#45")
                 & ~part.p_type.str.startswith("MEDIUM POLISHED")
                 & part.p_size.isin([49, 14, 23, 45, 19, 3, 36, 9])]
    offers = anti(partsupp[["ps_partkey", "ps_suppkey"]], "ps_suppkey", complaints, dd)
    joined = offers.merge(parts[["p_partkey", "p_brand", "p_type", "p_size"]],
                          left_on="ps_partkey", right_on="p_partkey", broadcast=True)
    out = joined.groupby(["p_brand", "p_type", "p_size"]).ps_suppkey.nunique()
    out = out.rename("supplier_cnt").reset_index()
    return out.sort_values(["supplier_cnt", "p_brand", "p_type", "p_size"],
                           ascending=[False, True, True, True])


def q17(read: Callable, dd: Any) -> Any:
    lineitem, part = read("lineitem"), read("part")
    parts = part[(part.p_brand == "Brand#23") & (part.p_container == "MED BOX")]
    li = lineitem[["l_partkey", "l_quantity", "l_extendedprice"]].merge(
        parts[["p_partkey"]], left_on="l_partkey", right_on="p_partkey", broadcast=True)
    average = li.groupby("l_partkey").agg(avg_qty=("l_quantity", "mean")).reset_index()
    joined = li.merge(average, on="l_partkey", broadcast=True)
    joined = joined[joined.l_quantity < 0.2 * joined.avg_qty]
    return joined.l_extendedprice.sum(min_count=1) / 7.0


def q18(read: Callable, dd: Any) -> Any:
    customer, orders, lineitem = read("customer"), read("orders"), read("lineitem")
    quantity = lineitem[["l_orderkey", "l_quantity"]].groupby("l_orderkey").l_quantity.sum(
        split_out=True if not is_lamina(dd) else 8).rename("col6")
    large = quantity[quantity > 300].reset_index()
    orders = orders[["o_orderkey", "o_custkey", "o_orderdate", "o_totalprice"]].merge(
        large, left_on="o_orderkey", right_on="l_orderkey", broadcast=True)
    out = orders.merge(customer[["c_custkey", "c_name"]], left_on="o_custkey",
                       right_on="c_custkey")
    columns = ["c_name", "c_custkey", "o_orderkey", "o_orderdate", "o_totalprice", "col6"]
    return out[columns].sort_values(["o_totalprice", "o_orderdate", "o_orderkey"],
                                    ascending=[False, True, True],
                                    npartitions=1).head(100, compute=False)


def q19(read: Callable, dd: Any) -> Any:
    lineitem, part = read("lineitem"), read("part")
    li = lineitem[lineitem.l_shipmode.isin(["AIR", "AIR REG"])
                  & (lineitem.l_shipinstruct == "DELIVER IN PERSON")
                  & (lineitem.l_quantity >= 1) & (lineitem.l_quantity <= 30)]
    parts = part[part.p_brand.isin(["Brand#12", "Brand#23", "Brand#34"])
                 & (part.p_size >= 1) & (part.p_size <= 15)]
    joined = li[["l_partkey", "l_quantity", "l_extendedprice", "l_discount"]].merge(
        parts[["p_partkey", "p_brand", "p_size", "p_container"]], left_on="l_partkey",
        right_on="p_partkey", broadcast=True)
    j = joined

    def case(brand: str, containers: list, low: int, high: int, size: int) -> Any:
        return ((j.p_brand == brand) & j.p_container.isin(containers)
                & (j.l_quantity >= low) & (j.l_quantity <= high) & (j.p_size <= size))

    chosen = j[case("Brand#12", ["SM CASE", "SM BOX", "SM PACK", "SM PKG"], 1, 11, 5)
               | case("Brand#23", ["MED BAG", "MED BOX", "MED PKG", "MED PACK"], 10, 20, 10)
               | case("Brand#34", ["LG CASE", "LG BOX", "LG PACK", "LG PKG"], 20, 30, 15)]
    return _revenue(chosen).sum(min_count=1)


def q20(read: Callable, dd: Any) -> Any:
    supplier = read("supplier", ["s_suppkey", "s_name", "s_address", "s_nationkey"])
    nation, partsupp = read("nation"), read("partsupp")
    part, lineitem = read("part"), read("lineitem")
    forest = part[part.p_name.str.startswith("forest")].p_partkey
    li = lineitem[(lineitem.l_shipdate >= D("1994-01-01"))
                  & (lineitem.l_shipdate < D("1995-01-01"))]
    li = semi(li[["l_partkey", "l_suppkey", "l_quantity"]], "l_partkey", forest, dd)
    shipped = li.groupby(["l_partkey", "l_suppkey"]).agg(qty=("l_quantity", "sum"))
    shipped = shipped.reset_index()
    offers = semi(partsupp[["ps_partkey", "ps_suppkey", "ps_availqty"]], "ps_partkey",
                  forest, dd)
    offers = offers.merge(shipped, left_on=["ps_partkey", "ps_suppkey"],
                          right_on=["l_partkey", "l_suppkey"], broadcast=True)
    offers = offers[offers.ps_availqty > 0.5 * offers.qty]
    canada = nation[nation.n_name == "CANADA"][["n_nationkey"]]
    suppliers = supplier.merge(canada, left_on="s_nationkey", right_on="n_nationkey")
    suppliers = semi(suppliers, "s_suppkey", offers.ps_suppkey, dd)
    return suppliers[["s_name", "s_address"]].sort_values("s_name", npartitions=1)


def q21(read: Callable, dd: Any) -> Any:
    supplier = read("supplier", ["s_suppkey", "s_name", "s_nationkey"])
    lineitem, orders, nation = read("lineitem"), read("orders"), read("nation")
    saudi = nation[nation.n_name == "SAUDI ARABIA"][["n_nationkey"]]
    suppliers = supplier.merge(saudi, left_on="s_nationkey",
                               right_on="n_nationkey")[["s_suppkey", "s_name"]]
    lines = lineitem[["l_orderkey", "l_suppkey", "l_receiptdate", "l_commitdate"]]
    late = lines[lines.l_receiptdate > lines.l_commitdate][["l_orderkey", "l_suppkey"]]
    waiting = late.merge(suppliers, left_on="l_suppkey", right_on="s_suppkey",
                         broadcast=True)
    final = orders[orders.o_orderstatus == "F"][["o_orderkey"]]
    waiting = waiting.merge(final, left_on="l_orderkey", right_on="o_orderkey")
    # the other lines of those orders: how many suppliers, how many of them late
    related = semi(lines, "l_orderkey", waiting.l_orderkey, dd)
    suppliers_per_order = related.groupby("l_orderkey").l_suppkey.nunique()
    suppliers_per_order = suppliers_per_order.rename("n_supp").reset_index()
    related_late = related[related.l_receiptdate > related.l_commitdate]
    late_per_order = related_late.groupby("l_orderkey").l_suppkey.nunique()
    late_per_order = late_per_order.rename("n_late").reset_index()
    counts = suppliers_per_order.merge(late_per_order, on="l_orderkey")
    waiting = waiting.merge(counts, on="l_orderkey", broadcast=True)
    waiting = waiting[(waiting.n_supp > 1) & (waiting.n_late == 1)]
    out = waiting.groupby("s_name").agg(numwait=("l_orderkey", "count")).reset_index()
    return out.sort_values(["numwait", "s_name"], ascending=[False, True],
                           npartitions=1).head(100, compute=False)


def q22(read: Callable, dd: Any) -> Any:
    customer = read("customer", ["c_custkey", "c_phone", "c_acctbal"])
    orders = read("orders")
    codes = ["13", "31", "23", "29", "30", "18", "17"]
    customers = customer.assign(cntrycode=customer.c_phone.str.slice(0, 2))
    customers = customers[customers.cntrycode.isin(codes)][["c_custkey", "c_acctbal",
                                                            "cntrycode"]]
    average = customers[customers.c_acctbal > 0.0].c_acctbal.mean()
    customers = customers[customers.c_acctbal > average]
    customers = anti(customers, "c_custkey", orders.o_custkey, dd)
    out = customers.groupby("cntrycode").agg(numcust=("c_custkey", "count"),
                                             totacctbal=("c_acctbal", "sum"))
    return out.reset_index().sort_values("cntrycode")


QUERIES = {n: globals()[f"q{n}"] for n in range(1, 23)}


def reader(folder: str, dd: Any, whole_tables: bool = False) -> Callable:
    """``read(table, columns=None)``: a lazy read of one table of ``folder``
    (``whole_tables``: the columns named are ignored, for the optimizer to find)."""
    def read(table: str, columns: list | None = None) -> Any:
        return dd.read_parquet(os.path.join(folder, table),
                               columns=None if whole_tables else columns)

    return read


def as_result(n: int, value: Any) -> pd.DataFrame:
    """A computed query in the shape of its SQL result (a scalar as a one-cell frame)."""
    if n in SCALAR_NAMES:
        return pd.DataFrame({SCALAR_NAMES[n]: [float(value)]})
    return value.reset_index(drop=True)


def run(n: int, folder: str, dd: Any, whole_tables: bool = False,
        **compute: Any) -> pd.DataFrame:
    """Query ``n`` on the tables of ``folder``, computed."""
    return as_result(n, QUERIES[n](reader(folder, dd, whole_tables), dd).compute(**compute))
