"""Spending analytics: months, categories, merchants, subscriptions, the unusual.

Each function reads `transactions` and `accounts` (docs/schema.md) and returns
a polars DataFrame; DuckDB does the per-row work. Every function takes `vault`
first (a connection, a path, or None for the default vault, see
`selfdata.analytics.connect`) and optional `start` and `end` booking dates,
both inclusive.

**Categorise first.** `categorize()` (from `selfdata.analytics.categories`,
also importable from here; `selfdata categorize` on the command line) fills
`transactions.merchant` and `.category` from the rules in `categories.toml`
and marks transfers between the person's own accounts. The functions here
read those columns; a row never categorised still gets a merchant, computed on
the fly, but no category.

**Definitions.** Amounts are signed in the vault (`< 0` money out). Here:

- *spending* is money out, positive: `-amount` summed over rows with
  `amount < 0` whose category is not `transfers`;
- *income* is money in over rows that are not `transfers` (refunds included);
- *net* is income - spending.

**Currencies never mix.** Every result carries a `currency` column (the
transaction's, else its account's) and sums and shares are per currency.

**Energy** (the household's other bill) lives in `selfdata.analytics.energy`,
also reachable here as `spending.energy`: daily and hourly use, baseload,
weekday vs weekend, months compared, cost per kWh.

**Aggregates only.** Results name merchants, dates and amounts but never
account numbers, so they can go into a shared report.

Example:
    >>> from selfdata.analytics import spending
    >>> spending.categorize()  # doctest: +SKIP
    >>> spending.monthly(None, start="2024-01-01")  # doctest: +SKIP
    >>> spending.recurring(None).filter(pl.col("active"))  # doctest: +SKIP
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from selfdata.analytics import DateLike, Vault, connect, energy, query
from selfdata.analytics.categories import (
    CategorizeResult,
    categorize,
    merchant_sql,
    normalise_merchant,
    normalise_merchant_sql,
)

__all__ = [
    "CategorizeResult",
    "by_category",
    "by_merchant",
    "categorize",
    "compare_months",
    "energy",
    "monthly",
    "normalise_merchant",
    "normalise_merchant_sql",
    "price_changes",
    "recurring",
    "uncategorised_share",
    "unusual",
]


def monthly(vault: Vault, *, start: DateLike = None, end: DateLike = None) -> pl.DataFrame:
    """Income, spending and net per calendar month and currency, transfers left out.

    Returns:
        `month` (its first day), `currency`, `income`, `spending`, `net`
        (DECIMAL) and `transactions` (rows counted).

    Example:
        >>> monthly(None, start="2024-01-01", end="2024-12-31")  # doctest: +SKIP
    """
    sql = f"""
        WITH {_transactions_sql(merchants=False)}
        SELECT CAST(date_trunc('month', booked_date) AS DATE) AS month, currency,
               coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS income,
               coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS spending,
               sum(amount) AS net,
               count(*) AS transactions
        FROM tx
        WHERE NOT transfer
        GROUP BY ALL
        ORDER BY month, currency
    """
    with connect(vault) as con:
        return query(con, sql, start=start, end=end)


def by_category(vault: Vault, *, start: DateLike = None, end: DateLike = None) -> pl.DataFrame:
    """Spending per category and currency, with each category's share of the total.

    Rows no rule categorised form the category NULL.

    Returns:
        `category`, `currency`, `spending` (DECIMAL), `transactions`, `share`
        (0..1 of the currency's spending), largest first within a currency.

    Example:
        >>> by_category(None, start="2024-06-01", end="2024-06-30")  # doctest: +SKIP
    """
    sql = f"""
        WITH {_transactions_sql(merchants=False)}, {_spend_sql()}
        SELECT category, currency, sum(cost) AS spending, count(*) AS transactions,
               CAST(sum(cost) AS DOUBLE) / sum(CAST(sum(cost) AS DOUBLE))
                   OVER (PARTITION BY currency) AS share
        FROM spend
        GROUP BY category, currency
        ORDER BY currency, spending DESC, category NULLS LAST
    """
    with connect(vault) as con:
        return query(con, sql, start=start, end=end)


def by_merchant(
    vault: Vault, *, start: DateLike = None, end: DateLike = None, top: int | None = None
) -> pl.DataFrame:
    """Spending per merchant and currency, with each merchant's share of the total.

    Args:
        vault: connection, vault path, or None for the default vault.
        start: first booking date, inclusive.
        end: last booking date, inclusive.
        top: keep only the `top` merchants of each currency.

    Returns:
        `merchant`, `category` (its most frequent), `currency`, `spending`
        (DECIMAL), `transactions`, `share`, largest first within a currency.

    Example:
        >>> by_merchant(None, start="2024-01-01", top=10)  # doctest: +SKIP
    """
    sql = f"""
        WITH {_transactions_sql()}, {_spend_sql()}
        SELECT merchant, mode(category) AS category, currency, sum(cost) AS spending,
               count(*) AS transactions,
               CAST(sum(cost) AS DOUBLE) / sum(CAST(sum(cost) AS DOUBLE))
                   OVER (PARTITION BY currency) AS share
        FROM spend
        GROUP BY merchant, currency
        QUALIFY $top IS NULL OR row_number() OVER (
            PARTITION BY currency ORDER BY spending DESC, merchant NULLS LAST) <= $top
        ORDER BY currency, spending DESC, merchant NULLS LAST
    """
    with connect(vault) as con:
        return query(con, sql, start=start, end=end, top=top)


def compare_months(vault: Vault, month: DateLike, *, months: int = 6) -> pl.DataFrame:
    """Spending per category in `month` against the person's own recent average.

    The average is the category's spending over the `months` calendar months
    before `month`, divided by how many of them hold any transaction in that
    currency (so a vault a few months old is not compared with empty months);
    a month without spending in the category counts as zero.

    Args:
        vault: connection, vault path, or None for the default vault.
        month: any day of the month (or `"2024-06"`); None for the current month.
        months: how many previous months to average.

    Returns:
        `category`, `currency`, `this_month`, `average` (rounded to cents;
        NULL with no earlier month), `difference` (this_month - average),
        `months_averaged`; biggest rise first within a currency.

    Example:
        >>> compare_months(None, "2024-06", months=6)  # doctest: +SKIP
    """
    if not isinstance(months, int) or isinstance(months, bool) or months < 1:
        raise ValueError(f"months must be a whole number >= 1, not {months!r}")
    first = _month_start(month)
    sql = f"""
        WITH {_transactions_sql(merchants=False)}, {_spend_sql()},
        covered AS (
            SELECT currency, count(DISTINCT date_trunc('month', booked_date)) AS months
            FROM tx WHERE booked_date < $month GROUP BY currency
        ),
        per_category AS (
            SELECT category, currency,
                   coalesce(sum(cost) FILTER (WHERE booked_date >= $month), 0) AS this_month,
                   coalesce(sum(cost) FILTER (WHERE booked_date < $month), 0) AS earlier
            FROM spend GROUP BY ALL
        ),
        averaged AS (
            SELECT p.category, p.currency, p.this_month,
                   CAST(round(CAST(p.earlier AS DOUBLE) / c.months, 2) AS DECIMAL(18, 2))
                       AS average,
                   coalesce(c.months, 0) AS months_averaged
            FROM per_category AS p LEFT JOIN covered AS c
                ON p.currency IS NOT DISTINCT FROM c.currency
        )
        SELECT category, currency, this_month, average, this_month - average AS difference,
               months_averaged
        FROM averaged
        ORDER BY currency, difference DESC NULLS LAST, category NULLS LAST
    """
    with connect(vault) as con:
        return query(
            con,
            sql,
            month=first,
            start=_add_months(first, -months),
            end=_day_before(_add_months(first, 1)),
        )


def recurring(
    vault: Vault,
    *,
    start: DateLike = None,
    end: DateLike = None,
    max_amount_spread: float = 0.25,
) -> pl.DataFrame:
    """Subscriptions and other regular payments, found by their rhythm.

    Payments out (transfers left out) are grouped by merchant and currency,
    not by account, so a subscription moved to a new card stays one series.
    Same-day payments to a merchant count as one charge. A series is
    recurring when:

    - the median gap between charges falls in a period's range: weekly 5-9
      days, monthly 26-35, quarterly 80-100, yearly 340-390;
    - at least 3 charges (2 for yearly);
    - at least two thirds of the gaps fall in that range (one skipped month
      does not hide a subscription; a shop visited at random does not pass);
    - the median absolute deviation of the amounts is at most
      `max_amount_spread` of their median (price rises pass);
    - weekly series also repeat their amount from one charge to the next at
      least half the time (a weekly box does, a weekly shop does not; monthly
      bills may vary and still count).

    `next_expected` is the last charge plus one period (calendar months for
    monthly, quarterly and yearly). `active` is false when, at the latest
    booking date of the accounts that paid it (capped at `end`), the next
    charge is overdue by more than a grace of 3, 7, 15 or 30 days: a
    subscription that stopped.

    Returns:
        `merchant`, `category`, `currency`, `period`, `charges`,
        `first_charge`, `last_charge`, `typical_amount` (median),
        `last_amount` (both positive DECIMAL), `next_expected`, `active`, and
        `price_changes`: a list of {`date`, `old_amount`, `new_amount`}, one
        for each charge whose amount differs from the one before.

    Example:
        >>> recurring(None).filter(pl.col("active"))  # doctest: +SKIP
    """
    sql = f"""
        WITH {_transactions_sql()}, {_spend_sql()},
        charges AS (
            SELECT merchant, currency, booked_date, sum(cost) AS cost,
                   mode(category) AS category
            FROM spend WHERE merchant IS NOT NULL
            GROUP BY merchant, currency, booked_date
        ),
        steps AS (
            SELECT *, booked_date - lag(booked_date) OVER w AS gap,
                   lag(cost) OVER w AS previous,
                   median(cost) OVER (PARTITION BY merchant, currency) AS typical
            FROM charges
            WINDOW w AS (PARTITION BY merchant, currency ORDER BY booked_date)
        ),
        series AS (
            SELECT merchant, currency, mode(category) AS category, count(*) AS charges,
                   median(gap) AS median_gap,
                   list(gap) FILTER (WHERE gap IS NOT NULL) AS gaps,
                   min(booked_date) AS first_charge, max(booked_date) AS last_charge,
                   any_value(typical) AS typical, arg_max(cost, booked_date) AS last_amount,
                   median(abs(cost - typical)) AS spread,
                   count(*) FILTER (WHERE cost = previous) AS repeats,
                   coalesce(list({{'date': booked_date, 'old_amount': previous,
                                   'new_amount': cost}} ORDER BY booked_date)
                            FILTER (WHERE cost <> previous), []) AS price_changes
            FROM steps GROUP BY merchant, currency
        ),
        periods (period, lo, hi, grace, fewest, step) AS (
            VALUES ('weekly', 5, 9, 3, 3, INTERVAL 7 DAY),
                   ('monthly', 26, 35, 7, 3, INTERVAL 1 MONTH),
                   ('quarterly', 80, 100, 15, 3, INTERVAL 3 MONTH),
                   ('yearly', 340, 390, 30, 2, INTERVAL 1 YEAR)
        ),
        account_last AS (
            SELECT account_id, max(booked_date) AS last_day FROM transactions
            WHERE $end IS NULL OR booked_date <= $end::DATE GROUP BY account_id
        ),
        as_of AS (
            SELECT merchant, currency, max(a.last_day) AS as_of
            FROM spend JOIN account_last AS a USING (account_id) GROUP BY ALL
        ),
        found AS (
            SELECT s.*, p.period, p.grace,
                   CAST(s.last_charge + p.step AS DATE) AS next_expected, o.as_of
            FROM series AS s
            JOIN periods AS p ON s.median_gap BETWEEN p.lo AND p.hi
            JOIN as_of AS o
                ON s.merchant = o.merchant AND s.currency IS NOT DISTINCT FROM o.currency
            WHERE s.charges >= p.fewest
              AND 3 * len(list_filter(s.gaps, lambda g: g BETWEEN p.lo AND p.hi))
                  >= 2 * len(s.gaps)
              AND s.spread <= s.typical * $spread
              -- A weekly shop varies from week to week; a weekly payment mostly
              -- repeats its amount. (Monthly bills may vary: they still count.)
              AND (p.period <> 'weekly' OR 2 * s.repeats >= s.charges - 1)
        )
        SELECT merchant, category, currency, period, charges, first_charge, last_charge,
               typical AS typical_amount, last_amount, next_expected,
               as_of - next_expected <= grace AS active, price_changes
        FROM found
        ORDER BY active DESC, currency, merchant
    """
    with connect(vault) as con:
        return query(con, sql, start=start, end=end, spread=max_amount_spread)


def price_changes(vault: Vault, *, start: DateLike = None, end: DateLike = None) -> pl.DataFrame:
    """Every change of amount in the recurring payments `recurring()` finds.

    Returns:
        `merchant`, `currency`, `date`, `old_amount`, `new_amount`, `change`
        (new - old), by date.

    Example:
        >>> price_changes(None).filter(pl.col("change") > 0)  # doctest: +SKIP
    """
    found = recurring(vault, start=start, end=end)
    return (
        found.select("merchant", "currency", "price_changes")
        .explode("price_changes")
        .drop_nulls("price_changes")
        .unnest("price_changes")
        .with_columns(change=pl.col("new_amount") - pl.col("old_amount"))
        .sort("date", "merchant")
    )


def unusual(
    vault: Vault,
    *,
    start: DateLike = None,
    end: DateLike = None,
    threshold: float = 3.5,
    min_count: int = 5,
    min_ratio: float = 2.0,
) -> pl.DataFrame:
    """Payments unusually large for their merchant, or else their category.

    The measure is the robust z-score of Iglewicz and Hoaglin:
    0.6745 * (amount - median) / MAD, where MAD is the median absolute
    deviation from the median; when MAD is 0 (mostly identical amounts) it is
    (amount - median) / (1.253314 * mean absolute deviation). The baseline is
    the merchant's payments when it has at least `min_count` of them, else the
    category's, over all history up to `end`, so one huge purchase barely
    moves it. A payment is reported when its score exceeds `threshold` and
    it is at least `min_ratio` times the baseline's median: where most amounts
    are identical the deviations are tiny, and a grocery shop 1.8 times the
    usual weekly box is not news.

    Args:
        vault: connection, vault path, or None for the default vault.
        start: first booking date reported, inclusive.
        end: last booking date, inclusive.
        threshold: smallest robust z-score reported (3.5 is the usual cut).
        min_count: fewest payments a baseline needs.
        min_ratio: smallest amount reported, as a multiple of the baseline's median.

    Returns:
        `booked_date`, `merchant`, `category`, `currency`, `amount` (positive
        DECIMAL), `typical` (the baseline's median), `robust_z`, `basis`
        (`merchant` or `category`); highest score first.

    Example:
        >>> unusual(None, start="2024-06-01")  # doctest: +SKIP
    """
    sql = f"""
        WITH {_transactions_sql("NULL")}, {_spend_sql()},
        centred AS (
            SELECT *, median(x) OVER m AS m_median, count(*) OVER m AS m_count,
                      median(x) OVER c AS c_median, count(*) OVER c AS c_count
            FROM (SELECT *, CAST(cost AS DOUBLE) AS x FROM spend)
            WINDOW m AS (PARTITION BY merchant, currency), c AS (PARTITION BY category, currency)
        ),
        spread AS (
            SELECT *, median(abs(x - m_median)) OVER m AS m_mad,
                      avg(abs(x - m_median)) OVER m AS m_mean_ad,
                      median(abs(x - c_median)) OVER c AS c_mad,
                      avg(abs(x - c_median)) OVER c AS c_mean_ad
            FROM centred
            WINDOW m AS (PARTITION BY merchant, currency), c AS (PARTITION BY category, currency)
        ),
        based AS (
            SELECT *,
                   CASE WHEN merchant IS NOT NULL AND m_count >= $min_count THEN 'merchant'
                        WHEN category IS NOT NULL AND c_count >= $min_count THEN 'category'
                   END AS basis
            FROM spread
        ),
        scored AS (
            SELECT *,
                   CASE basis WHEN 'merchant' THEN m_median ELSE c_median END AS typical,
                   CASE basis WHEN 'merchant' THEN {_robust_z("m")} ELSE {_robust_z("c")} END
                       AS robust_z
            FROM based WHERE basis IS NOT NULL
        )
        SELECT booked_date, merchant, category, currency, cost AS amount, typical, robust_z,
               basis
        FROM scored
        WHERE robust_z > $threshold AND x >= typical * $min_ratio
          AND ($start IS NULL OR booked_date >= $start::DATE)
        ORDER BY robust_z DESC, booked_date
    """
    with connect(vault) as con:
        return query(
            con,
            sql,
            start=start,
            end=end,
            threshold=threshold,
            min_count=min_count,
            min_ratio=min_ratio,
        )


def uncategorised_share(
    vault: Vault, *, start: DateLike = None, end: DateLike = None
) -> pl.DataFrame:
    """How much of the spending no rule categorised: the to-do list for `categories.toml`.

    Returns:
        `currency`, `spending`, `uncategorised` (DECIMAL), `share` (0..1).

    Example:
        >>> uncategorised_share(None)  # doctest: +SKIP
    """
    sql = f"""
        WITH {_transactions_sql(merchants=False)}, {_spend_sql()}
        SELECT currency, sum(cost) AS spending,
               coalesce(sum(cost) FILTER (WHERE category IS NULL), 0) AS uncategorised,
               CAST(uncategorised AS DOUBLE) / CAST(spending AS DOUBLE) AS share
        FROM spend GROUP BY currency ORDER BY currency
    """
    with connect(vault) as con:
        return query(con, sql, start=start, end=end)


# A pending or information-only entry (camt `PDNG`/`INFO`, a bank CSV's
# `PENDING` state) is not money spent yet: its booked version comes later.
PENDING_SQL = (
    "coalesce(upper({extra}->>'$.status') IN ('PDNG', 'INFO', 'PENDING')"
    " OR upper({extra}->>'$.state') = 'PENDING', false)"
)


def _transactions_sql(start: str = "$start", *, merchants: bool = True) -> str:
    """CTE `tx`: transactions between `start` and $end with currency, merchant, transfer flag.

    Without `merchants` the merchant column is left as stored: reports that
    never group by merchant skip binding the long normalisation expression.
    """
    merchant = merchant_sql("t.counterparty", "t.description") if merchants else "NULL"
    return f"""
        tx AS (
            SELECT t.booked_date, t.account_id, t.amount, t.category,
                   coalesce(t.currency, a.currency) AS currency,
                   coalesce(t.merchant, {merchant}) AS merchant,
                   coalesce(t.category = 'transfers', false) AS transfer
            FROM transactions AS t LEFT JOIN accounts AS a USING (account_id)
            WHERE ({start} IS NULL OR t.booked_date >= {start}::DATE)
              AND ($end IS NULL OR t.booked_date <= $end::DATE)
              AND NOT {PENDING_SQL.format(extra="t.extra")}
        )"""


def _spend_sql() -> str:
    """CTE `spend`: money out that is not a transfer, with `cost` = -amount."""
    return "spend AS (SELECT *, -amount AS cost FROM tx WHERE amount < 0 AND NOT transfer)"


def _robust_z(prefix: str) -> str:
    return (
        f"CASE WHEN {prefix}_mad > 0 THEN 0.6745 * (x - {prefix}_median) / {prefix}_mad"
        f" WHEN {prefix}_mean_ad > 0 THEN (x - {prefix}_median) / (1.253314 * {prefix}_mean_ad)"
        " END"
    )


def _month_start(month: DateLike) -> date:
    """The first day of the month `month` falls in; `"2024-06"` names a month."""
    if month is None:
        month = date.today()
    elif isinstance(month, datetime):
        month = month.date()
    elif isinstance(month, str):
        month = date.fromisoformat(month + "-01" if len(month) == 7 else month)
    return month.replace(day=1)


def _add_months(first: date, months: int) -> date:
    """The first day of the month `months` after (or before) the month starting on `first`."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _day_before(day: date) -> date:
    return date.fromordinal(day.toordinal() - 1)
