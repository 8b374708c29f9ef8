"""Merchant names and spending categories: normalisation, rules, `categorize()`.

**Merchants.** A statement line such as `PAYPAL *SPOTIFY 35314369001 GB` or
`CB CARREFOUR 12/03` names a merchant inside noise that differs by bank.
`normalise_merchant_sql(expr)` builds a DuckDB expression, and
`normalise_merchant(text)` is the same thing for one Python string; both apply
`MERCHANT_REWRITES`, one list of regular expressions, so they cannot drift.
In order, the text is folded (accents removed, upper case), then loses:

1. payment-processor and bank prefixes: `PAYPAL *`, `SQ *`, `SumUp *`,
   `ZETTLE_*`, `IZ *`, `TST*`, `SP *`, `GOOGLE *`, `CB`/`CB*` (French carte
   bleue), `PAIEMENT PAR CARTE`, `CARTE X1234 12/03`, `VIR SEPA`, `PRLV SEPA`,
   `CARD PAYMENT TO`, `DIRECT DEBIT TO`... (several may stack);
2. a few brand aliases: `APPLE.COM/BILL ...` is Apple, `AMZN` is Amazon,
   `UBER *EATS` is Uber Eats and any other `UBER *...` is Uber;
3. card numbers (`CARD 1234`, `XXXX1234`, `*1234`, `CARTE X1234`);
4. a store or reference number of three or more digits and everything after
   it (`TESCO STORES 3297 LEEDS`, `STARBUCKS #1234 SEATTLE WA`);
5. dates (`12/03`, `2024-03-12`, `12MAR`, `12 MARS 2024`), times (`12:30`,
   `12H30`), amounts with a currency (`12.34 GBP`), tagged references
   (`REF ...`, and SEPA's `ECH/`, `MDT/`, `RUM`, `LIB` fields to the end);
6. reference tokens: `*` followed by anything with a digit, any word of six or
   more characters holding a digit (`P1A2B3C4`), any run of 3+ digits;
7. web domains (`NETFLIX.COM`, `AMAZON.CO.UK`, `TFL.GOV.UK/CP`);
8. a legal form and everything after it (`SPOTIFY AB STOCKHOLM`,
   `ACME LTD SALARY SEP`);
9. trailing country codes (`GB`, `GBR`, `FR`, `FRA`, `US`...), then a trailing
   big city from `PLACES` with an optional state code (`LONDON`, `PARIS`,
   `SEATTLE WA`), unless the city follows `DE`, `DU`, `OF`, `FOR`... (`GARE DE LYON`,
   `TRANSPORT FOR LONDON`);
10. trailing shop words (`STORES`, `SUPERMARKET`, `MKTP`...);

and is finally title-cased word by word (words with `&` such as `M&S` stay as
written). So `PAYPAL *SPOTIFY`, `Spotify AB Stockholm` and `SPOTIFY P1A2B3C4`
all become `Spotify`. A transaction's merchant is its normalised
counterparty, or its normalised description when there is no counterparty;
NULL when nothing is left. The SQL and Python give the same name; letters
outside Latin scripts pass through unchanged. (Upper-casing differs between
Python and DuckDB for a few rare letters such as ligatures; `ß` is spelled
`ss` first in both.)

**Categories.** Rules are data: `categories.toml` in this package holds the
default rule set, and a `categories.toml` beside the vault (same format) holds
the person's own, which are checked first and so override the defaults:

    [categories.groceries]
    keywords = ["tesco", "carrefour", "boulangerie"]   # whole words
    patterns = ['\\bm&s simply food\\b']                 # RE2 regular expressions
    direction = "out"     # optional: only money "in" or "out"
    priority = 0          # optional: higher is checked first

Keywords and patterns are matched, case-insensitively and without accents,
against the counterparty, the description and the merchant together. Where
several rules match, the winner is the first by: the person's rules before the
defaults, higher `priority`, the longest matched text (so `uber eats` beats
`uber`), then order in the file.

**Transfers** between the person's own accounts are money moving, not money
spent. `categorize()` pairs opposite amounts of the same currency in two
different accounts booked at most `transfer_days` apart (each row in at most
one pair, the closest in time first) and marks both `transfers`; the default
rules add statement words such as `Pot transfer`, `Virement interne` or
`Savings`. A pair outranks the default rules, while the person's own rules
outrank a pair (a row they categorised is never paired).

Example:
    >>> normalise_merchant("PAYPAL *SPOTIFY 35314369001 GB")
    'Spotify'
    >>> categorize("data/selfdata.duckdb")  # doctest: +SKIP
    CategorizeResult(rows=1520, categorised=1408, transfer_pairs=31, ...)
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import duckdb

from selfdata.errors import ConfigError
from selfdata.vault import open_vault, resolve_vault_path

__all__ = [
    "MERCHANT_REWRITES",
    "PLACES",
    "USER_RULES_FILE",
    "CategorizeResult",
    "Rewrite",
    "Rule",
    "categorize",
    "load_rules",
    "merchant_sql",
    "normalise_merchant",
    "normalise_merchant_sql",
]

USER_RULES_FILE = "categories.toml"
"""The person's own rules, beside the vault file."""


@dataclass(frozen=True)
class Rewrite:
    """One step of merchant normalisation: replace every match of `pattern`.

    Patterns are written in the common ground of RE2 (DuckDB) and Python's
    `re` with ASCII classes: no look-around, no back-references in patterns.
    """

    why: str
    pattern: str
    replacement: str = " "


_MONTHS = (
    "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|SEPT|OCT|NOV|DEC|JANV|FEV|FEVR|MARS|AVR|MAI|JUIN|JUIL|AOUT"
)
_WORD_PREFIXES = (
    r"PAIEMENT PAR CARTE|PAIEMENT CB|PAIEMENT|ACHAT CB|ACHAT|"
    r"CARTE X?\d{4}(?: \d{1,2}/\d{1,2}(?:/\d{2,4})?)?|CARTE|CB|"
    r"VIR(?:EMENT)?(?: SEPA)?(?: (?:RECU|EMIS|INST|INSTANTANE))?(?: (?:DE|A|POUR))?|"
    r"PRLV(?: SEPA)?|PRELEVEMENT(?: SEPA)?|"
    r"CARD PAYMENT(?: TO)?|CONTACTLESS(?: PAYMENT)?|DIRECT DEBIT(?: PAYMENT)?(?: TO)?|"
    r"STANDING ORDER(?: TO)?|BANK GIRO CREDIT(?: REF)?|FASTER PAYMENTS?(?: (?:TO|FROM))?|"
    r"PP\.\d+\.PP(?: \.)?"
)
_STAR_PREFIXES = r"PAYPAL|SQ|SUMUP|ZETTLE_?|IZETTLE|IZ|TST|SP|GOOGLE|CB"
_COUNTRIES = (
    "GB|GBR|UK|FR|FRA|US|USA|DE|DEU|IE|IRL|ES|ESP|IT|ITA|NL|NLD|BE|BEL|CH|CHE|SE|SWE|"
    "LU|LUX|PT|PRT|AT|AUT|DK|DNK|NO|NOR|FI|FIN|PL|POL|CA|CAN|AU|AUS"
)
_LEGAL_FORMS = (
    r"AB|LTD|LIMITED|PLC|GMBH|SARL|SAS|SA|SRL|BV|NV|INC|LLC|CORP|AG|"
    r"S\.A\.R\.L\.?|S\.A\.S\.?|S\.A\.?"
)
PLACES = (
    "LONDON", "LEEDS", "MANCHESTER", "BIRMINGHAM", "GLASGOW", "EDINBURGH", "BRISTOL",
    "LIVERPOOL", "SHEFFIELD", "NEWCASTLE", "NOTTINGHAM", "CARDIFF", "BELFAST", "CAMBRIDGE",
    "OXFORD", "BRIGHTON", "READING", "DUBLIN", "CORK", "PARIS", "LYON", "MARSEILLE",
    "TOULOUSE", "NICE", "NANTES", "BORDEAUX", "LILLE", "STRASBOURG", "MONTPELLIER", "RENNES",
    "GRENOBLE", "BERLIN", "MUNICH", "MUNCHEN", "HAMBURG", "FRANKFURT", "AMSTERDAM", "BRUSSELS",
    "BRUXELLES", "MADRID", "BARCELONA", "LISBON", "LISBOA", "FARO", "ROME", "MILAN",
    "STOCKHOLM", "COPENHAGEN", "OSLO", "GENEVA", "GENEVE", "ZURICH", "LUXEMBOURG", "NEW YORK",
    "SEATTLE", "SAN FRANCISCO", "SAN JOSE", "LOS ANGELES", "CHICAGO", "BOSTON", "SUNNYVALE",
    "MOUNTAIN VIEW", "CUPERTINO", "LOS GATOS",
)  # fmt: skip
"""Trailing city names `normalise_merchant` removes (upper case, accents removed)."""

_PLACE = "|".join(sorted(PLACES, key=len, reverse=True))
_SHOP_WORDS = r"STORES?|SUPERSTORE|SUPERMARKETS?|S/MKTS|MKTP|MKTPLACE|MARKETPLACE|PMTS"


def _digit_token(min_length: int) -> str:
    """A word of at least `min_length` letters and digits holding a digit, look-around free."""
    ways = [
        rf"[A-Z0-9]{{{before}}}\d[A-Z0-9]{{{min_length - 1 - before},}}"
        for before in range(min_length - 1)
    ]
    ways.append(rf"[A-Z0-9]{{{min_length - 1},}}\d[A-Z0-9]*")
    return r"\b(?:" + "|".join(ways) + r")\b"


MERCHANT_REWRITES: tuple[Rewrite, ...] = (
    Rewrite("one space between words", r"[\s\xA0]+", " "),
    Rewrite("no space at the ends", r"^ +| +$", ""),
    Rewrite(
        "payment-processor and bank prefixes, several may stack",
        rf"^(?:(?:{_WORD_PREFIXES})(?: +|$)|(?:{_STAR_PREFIXES}) ?\* ?)+",
        "",
    ),
    Rewrite("Apple's billing line is Apple", r"^APPLE\.COM/BILL\b.*$", "APPLE"),
    Rewrite("Amazon's abbreviation", r"^AMZN\b", "AMAZON"),
    Rewrite("Uber Eats", r"^UBER ?\*? ?EATS\b.*$", "UBER EATS"),
    Rewrite("every other Uber line is a ride", r"^UBER ?\*.*$", "UBER"),
    Rewrite("Transport for London's many fare lines", r"^TFL\b.*$", "TFL"),
    Rewrite(
        "card numbers",
        r"\bCARD(?: NO\.?)? ?[X*]*\d{4}\b|\b(?:X{2,} ?)+\d{4}\b|\bCARTE X?\d{4}\b",
    ),
    Rewrite("a store or reference number and the place after it", r" #?\d{3,}\b.*$", ""),
    Rewrite("ISO dates", r"\b\d{4}-\d{2}-\d{2}\b"),
    Rewrite("amounts with a currency", r"\b\d+(?:[.,]\d+)? ?(?:EUR|GBP|USD|CHF)\b"),
    Rewrite("numeric dates", r"\b\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?\b"),
    Rewrite("dates with a month name", rf"\b\d{{1,2}} ?(?:{_MONTHS})(?: ?\d{{2,4}})?\b"),
    Rewrite("times", r"\b\d{1,2}[:H]\d{2}(?::\d{2})?\b"),
    Rewrite(
        "references and SEPA's tagged fields, to the end",
        r" (?:REF(?:ERENCE)?|ECH|MDT|RUM|LIB|ID EMETTEUR|NUM(?:ERO)?|FACTURE)\b.*$",
        "",
    ),
    Rewrite("a star and a reference after it", r"\*\S*\d\S*"),
    Rewrite("reference tokens", _digit_token(6)),
    Rewrite("runs of digits", r"\b\d{3,}\b"),
    Rewrite(
        "web domains",
        r"(?:\.(?:CO|COM|GOV|ORG|AC|NET))?\.(?:COM|NET|ORG|IO|UK|FR|DE|EU|ES|IT|NL|BE|IE|SE"
        r"|CH|LU|US|APP|TV)\b(?:/\S*)?",
    ),
    Rewrite("leftover punctuation", r"[*#_|;:,\"()\[\]]+| -+ "),
    Rewrite("one space between words", r"  +", " "),
    Rewrite("punctuation at the ends", r"^[-./+' ]+|[-./+' ]+$", ""),
    Rewrite("a legal form and what follows", rf" (?:{_LEGAL_FORMS})(?: .*)?$", ""),
    Rewrite("trailing country codes", rf"(?: (?:{_COUNTRIES}))+$", ""),
    Rewrite(
        "a trailing city, kept after DE, DU, OF, FOR...",
        rf"( (?:DE|DU|DES|D|OF|FOR|IN|AT|LA|LE|ST|SAINT) (?:{_PLACE})(?: [A-Z]{{2}}| \d{{1,2}})?)$"
        rf"| (?:{_PLACE})(?: [A-Z]{{2}}| \d{{1,2}})?$",
        r"\1",
    ),
    Rewrite("trailing shop words", rf"(?: (?:{_SHOP_WORDS}))+$", ""),
    Rewrite("no space at the ends", r"^ +| +$", ""),
)
"""The merchant normalisation steps, in order; see the module docstring."""

_COMPILED = tuple(
    (re.compile(rewrite.pattern, re.ASCII), rewrite.replacement) for rewrite in MERCHANT_REWRITES
)


def normalise_merchant(text: str | None) -> str | None:
    """The merchant named in one statement text, as `normalise_merchant_sql()` gives it.

    Example:
        >>> normalise_merchant("TESCO STORES 3297 LEEDS")
        'Tesco'
        >>> normalise_merchant("CB CARREFOUR 12/03")
        'Carrefour'
    """
    if text is None:
        return None
    folded = _strip_accents(text.replace("ß", "ss")).upper()
    for pattern, replacement in _COMPILED:
        folded = pattern.sub(replacement, folded)
    titled = " ".join(_title(word) for word in folded.split(" "))
    return titled or None


def normalise_merchant_sql(expression: str) -> str:
    """A DuckDB expression: the merchant named in the VARCHAR `expression`.

    Example:
        >>> import duckdb
        >>> sql = normalise_merchant_sql("'Spotify AB Stockholm'")
        >>> duckdb.sql(f"SELECT {sql}").fetchall()
        [('Spotify',)]
    """
    sql = f"upper(strip_accents(replace({expression}, 'ß', 'ss')))"
    for rewrite in MERCHANT_REWRITES:
        sql = (
            f"regexp_replace({sql}, {_literal(rewrite.pattern)}, "
            f"{_literal(rewrite.replacement)}, 'g')"
        )
    titled = (
        f"array_to_string(list_transform(string_split({sql}, ' '), lambda w: "
        "CASE WHEN contains(w, '&') THEN w ELSE upper(w[1]) || lower(w[2:]) END), ' ')"
    )
    return f"nullif({titled}, '')"


def merchant_sql(counterparty: str = "counterparty", description: str = "description") -> str:
    """A DuckDB expression: a transaction's merchant, from its counterparty or else description.

    Example:
        >>> import duckdb
        >>> sql = merchant_sql("NULL", "'PRLV SEPA EDF'")
        >>> duckdb.sql(f"SELECT {sql}").fetchall()
        [('Edf',)]
    """
    return (
        f"coalesce({normalise_merchant_sql(counterparty)}, {normalise_merchant_sql(description)})"
    )


@dataclass(frozen=True)
class Rule:
    """One category rule: a regular expression over the folded statement text.

    `pattern` is RE2 syntax, matched against lower-case text without accents;
    `origin` 0 is the person's file, 1 the defaults; `position` is the order
    in its file.
    """

    category: str
    pattern: str
    origin: int
    priority: int
    position: int
    direction: Literal["in", "out"] | None


def load_rules(user_file: Path | None = None) -> list[Rule]:
    """The person's rules from `user_file` (if it exists), then the shipped defaults.

    Raises:
        ConfigError: a file is not TOML or a rule has the wrong shape.

    Example:
        >>> rules = load_rules()
        >>> sorted({rule.category for rule in rules})[:3]
        ['cash', 'charity', 'eating_out']
    """
    rules: list[Rule] = []
    if user_file is not None and user_file.exists():
        rules += _parse_rules(user_file, _read_toml(user_file), origin=0)
    shipped = resources.files("selfdata.analytics").joinpath(USER_RULES_FILE)
    defaults = tomllib.loads(shipped.read_text(encoding="utf-8"))
    rules += _parse_rules(Path(str(shipped)), defaults, origin=1)
    return rules


@dataclass(frozen=True)
class CategorizeResult:
    """What `categorize()` did.

    `uncategorised_share` is, per currency, the part of spending (money out,
    transfers excluded) whose rows no rule categorised: 0.0 to 1.0.
    """

    rows: int
    categorised: int
    transfer_pairs: int
    uncategorised_share: dict[str, float]


def categorize(vault_path: str | Path | None = None, *, transfer_days: int = 3) -> CategorizeResult:
    """Set `merchant` and `category` of every transaction, in one transaction.

    Merchants are normalised (module docstring), categories come from the
    person's `categories.toml` beside the vault and then the shipped rules,
    and internal transfers are paired. Rows no rule matches get a NULL
    category, so running it again after editing the rules gives the same
    result as a first run.

    Args:
        vault_path: the vault file; None for the default vault.
        transfer_days: most days between the two sides of a transfer.

    Returns:
        Counts of rows, categorised rows and transfer pairs, and the share of
        spending left uncategorised per currency.

    Raises:
        ConfigError: a rules file is unreadable or holds a bad rule.
        ValueError: `transfer_days` is not a whole number >= 0.

    Example:
        >>> categorize("data/selfdata.duckdb").uncategorised_share  # doctest: +SKIP
        {'EUR': 0.04, 'GBP': 0.11}
    """
    if not isinstance(transfer_days, int) or isinstance(transfer_days, bool) or transfer_days < 0:
        raise ValueError(f"transfer_days must be a whole number >= 0, not {transfer_days!r}")
    path = resolve_vault_path(vault_path)
    rules = load_rules(path.parent / USER_RULES_FILE)
    con = open_vault(path, read_only=False)
    try:
        _check_patterns(con, rules, path.parent / USER_RULES_FILE)
        con.execute("BEGIN TRANSACTION")
        try:
            pairs = _categorize(con, rules, transfer_days)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return _result(con, pairs)
    finally:
        con.close()


def _fold(text: str) -> str:
    """Text as rules see it: lower case, accents removed (`strip_accents(lower(...))`)."""
    return _strip_accents(text).lower()


def _categorize(con: duckdb.DuckDBPyConnection, rules: list[Rule], transfer_days: int) -> int:
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE staged AS
        SELECT *, strip_accents(lower(concat_ws(' | ', counterparty, description, merchant)))
                  AS haystack
        FROM (
            SELECT t.rowid AS row_id, t.account_id, t.booked_date, t.amount,
                   coalesce(t.currency, a.currency) AS currency, t.counterparty, t.description,
                   {merchant_sql("t.counterparty", "t.description")} AS merchant
            FROM transactions AS t LEFT JOIN accounts AS a USING (account_id)
        )
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE matched AS
        WITH texts AS (SELECT DISTINCT haystack, amount > 0 AS money_in FROM staged),
        hits AS ({_hits_sql(rules)})
        SELECT haystack, money_in, arg_min(category, rank) AS category,
               arg_min(origin, rank) AS origin
        FROM hits GROUP BY haystack, money_in
    """)
    pairs = _pair_transfers(con, transfer_days)
    con.execute("""
        UPDATE transactions AS t
        SET merchant = s.merchant,
            category = CASE WHEN s.origin = 0 THEN s.category
                            WHEN s.paired THEN 'transfers'
                            ELSE s.category END
        FROM (
            SELECT s.row_id, s.merchant, m.category, m.origin,
                   s.row_id IN (SELECT out_id FROM pairs UNION ALL SELECT in_id FROM pairs)
                       AS paired
            FROM staged AS s
            LEFT JOIN matched AS m ON m.haystack = s.haystack AND m.money_in = (s.amount > 0)
        ) AS s
        WHERE t.rowid = s.row_id
    """)
    return pairs


def _pair_transfers(con: duckdb.DuckDBPyConnection, transfer_days: int) -> int:
    """Pair opposite amounts in two accounts; rows the person's rules matched stay out.

    Each round keeps the candidate pairs that are each side's best (closest in
    time, then first row); the best remaining pair always is, so every round
    makes progress and the rounds end.
    """
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE candidates AS
        WITH free AS (
            SELECT s.* FROM staged AS s
            LEFT JOIN matched AS m ON m.haystack = s.haystack AND m.money_in = (s.amount > 0)
            WHERE m.origin IS DISTINCT FROM 0 AND s.amount <> 0
        )
        SELECT o.row_id AS out_id, i.row_id AS in_id,
               abs(i.booked_date - o.booked_date) AS days_apart
        FROM free AS o JOIN free AS i
          ON o.amount < 0 AND i.amount = -o.amount AND i.currency = o.currency
         AND i.account_id <> o.account_id
         AND abs(i.booked_date - o.booked_date) <= ?
        """,
        [transfer_days],
    )
    con.execute("CREATE OR REPLACE TEMP TABLE pairs (out_id BIGINT, in_id BIGINT)")
    while True:
        added = con.execute("""
            INSERT INTO pairs
            SELECT out_id, in_id FROM (
                SELECT out_id, in_id,
                       row_number() OVER (PARTITION BY out_id ORDER BY days_apart, in_id) AS o,
                       row_number() OVER (PARTITION BY in_id ORDER BY days_apart, out_id) AS i
                FROM candidates
                WHERE out_id NOT IN (SELECT out_id FROM pairs)
                  AND in_id NOT IN (SELECT in_id FROM pairs)
            )
            WHERE o = 1 AND i = 1
        """).fetchall()
        if not added or not added[0][0]:
            break
    counted = con.execute("SELECT count(*) FROM pairs").fetchall()
    return int(counted[0][0])


def _result(con: duckdb.DuckDBPyConnection, pairs: int) -> CategorizeResult:
    rows, categorised = con.execute(
        "SELECT count(*), count(category) FROM transactions"
    ).fetchall()[0]
    shares = con.execute("""
        SELECT coalesce(t.currency, a.currency, '?'),
               sum(t.amount) FILTER (WHERE t.category IS NULL) / sum(t.amount)
        FROM transactions AS t LEFT JOIN accounts AS a USING (account_id)
        WHERE t.amount < 0 AND t.category IS DISTINCT FROM 'transfers'
        GROUP BY ALL ORDER BY 1
    """).fetchall()
    return CategorizeResult(
        rows=int(rows),
        categorised=int(categorised),
        transfer_pairs=pairs,
        uncategorised_share={str(currency): float(share or 0.0) for currency, share in shares},
    )


def _check_patterns(con: duckdb.DuckDBPyConnection, rules: list[Rule], user_file: Path) -> None:
    """Refuse a pattern RE2 cannot compile, naming its category, before anything changes."""
    for rule in rules:
        try:
            con.execute("SELECT regexp_matches('', ?)", [rule.pattern]).fetchall()
        except duckdb.Error as error:
            where = user_file if rule.origin == 0 else "the shipped categories.toml"
            raise ConfigError(
                where, f"[categories.{rule.category}] has a bad pattern {rule.pattern!r}: {error}"
            ) from error


def _hits_sql(rules: list[Rule]) -> str:
    """Every rule a text matches, with the rank that picks the winner (smallest first).

    One SELECT per rule with its pattern as a constant, so DuckDB compiles
    each regular expression once rather than once per row.
    """
    parts = []
    for rule in rules:
        pattern = _literal(rule.pattern)
        direction = {"in": "money_in", "out": "NOT money_in", None: "true"}[rule.direction]
        matches = f"regexp_extract_all(haystack, {pattern})"
        longest = f"list_max(list_transform({matches}, lambda m: length(m)))"
        parts.append(
            f"SELECT haystack, money_in, {_literal(rule.category)} AS category,"
            f" {rule.origin} AS origin,"
            f" [{rule.origin}, {-rule.priority}, -{longest}, {rule.position}] AS rank"
            f" FROM texts WHERE {direction} AND regexp_matches(haystack, {pattern})"
        )
    return "\n UNION ALL ".join(parts)


def _read_toml(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(path, f"cannot be read: {error}") from error


_RULE_KEYS = {"description", "keywords", "patterns", "direction", "priority"}


def _parse_rules(path: Path, data: dict[str, object], origin: int) -> list[Rule]:
    categories = data.get("categories", {})
    if not isinstance(categories, dict):
        raise ConfigError(path, "[categories.NAME] entries must be tables")
    rules: list[Rule] = []
    for name, table in categories.items():
        where = f"[categories.{name}]"
        if not isinstance(table, dict):
            raise ConfigError(path, f"{where} must be a table")
        unknown = set(table) - _RULE_KEYS
        if unknown:
            raise ConfigError(path, f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        direction = table.get("direction")
        if direction not in (None, "in", "out"):
            raise ConfigError(path, f'{where} direction must be "in" or "out", not {direction!r}')
        priority = table.get("priority", 0)
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise ConfigError(path, f"{where} priority must be a whole number, not {priority!r}")
        patterns = [_keywords_pattern(_strings(path, where, table, "keywords"))]
        patterns += ["(?i)" + _strip_accents(p) for p in _strings(path, where, table, "patterns")]
        for pattern in patterns:
            if pattern:
                rules.append(Rule(name, pattern, origin, priority, len(rules), direction))
    return rules


def _strings(path: Path, where: str, table: dict[str, object], key: str) -> list[str]:
    values = table.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise ConfigError(path, f"{where} {key} must be a list of non-empty strings")
    return [str(v) for v in values]


def _keywords_pattern(keywords: list[str]) -> str:
    """One RE2 alternation of whole-word keywords, longest first so it finds the longest."""
    words = sorted({_fold(k.strip()) for k in keywords if k.strip()}, key=lambda k: (-len(k), k))
    return "|".join(_whole_word(word) for word in words)


def _whole_word(word: str) -> str:
    escaped = re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", word)
    start = r"\b" if re.match(r"\w", word[0], re.ASCII) else ""
    end = r"\b" if re.match(r"\w", word[-1], re.ASCII) else ""
    return start + escaped + end


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _title(word: str) -> str:
    return word if "&" in word else word[:1].upper() + word[1:].lower()


def _literal(text: str) -> str:
    """A SQL string literal; DuckDB takes backslashes in it literally."""
    return "'" + text.replace("'", "''") + "'"
