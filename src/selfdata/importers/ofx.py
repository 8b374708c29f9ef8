"""OFX and QFX bank, credit-card and investment statements (1.02 to 2.x).

Spec: the OFX Banking and Investment specifications 2.3,
https://www.financialexchange.org/ (1.x SGML and 2.x XML share the element
vocabulary). Quicken's QFX/QBO is OFX with `<INTU.BID>` in the sign-on. One
tokenizer reads SGML (unclosed leaves), XML and hybrids alike
(`selfdata.importers._ofx_tree`), so the same content in any version gives the
same rows.

Every statement (`STMTRS`, `CCSTMTRS`, `INVSTMTRS`, any number per file) gives
one `accounts` row and its transactions:

- `account_id` is `money.account_id(ACCTID, BANKID)` for bank accounts,
  `(ACCTID, BROKERID)` for investment accounts and `(ACCTID)` alone for cards.
  These are the ids the spec requires inside the account aggregate itself, so
  every statement of the account carries them, in 1.x and 2.x alike; the
  sign-on `<FI>` block (ORG/FID) is optional and often missing (two of the
  seven corpus files lack it), so it would split one account in two. A card
  number is unique without a bank (its first digits name the issuer).
- `institution` is the sign-on `FI/ORG` (for investment accounts without one,
  the `BROKERID`); `number_masked` the masked `ACCTID`; `currency` `CURDEF`;
  `kind` `checking`, `savings` (SAVINGS, MONEYMRKT, CD), `credit_line`,
  `credit_card` or `investment_cash`; `name` stays NULL (statements carry none).
- `extra`: `account_type`, `bank_id`, `branch_id`, `broker_id`, `fid`,
  `intu_bid`, the statement's `statement_start`/`statement_end`, and the
  balances as `{"amount", "as_of"}`: `ledger_balance` (LEDGERBAL),
  `available_balance` (AVAILBAL), `available_cash` (INVBAL/AVAILCASH, as of the
  statement's DTASOF). When a file holds several statements of one account,
  the one ending last gives the row.

Transactions (`STMTTRN`; for investment statements the cash side, see below):

- `booked_date` is `DTPOSTED`'s date as written, in the file's local time (the
  `[-5:EST]` zone and the time of day stay in `extra.posted`, as written);
  `value_date` is `DTAVAIL` (when the funds are available; kept as written in
  `extra.available_date` when it is not a date). `DTUSER`, the date the holder
  initiated it, goes to `extra.user_date`.
- `amount` is `TRNAMT` as signed (OFX amounts are from the holder's view:
  negative is money out). A comma is a decimal separator (`-200,00`); OFX
  has no thousands separators. Amounts with more than two decimals are rounded
  to cents, the exact text kept in `extra.amount_exact`.
- `currency` is the currency `TRNAMT` is in: a `<CURRENCY>` aggregate's
  `CURSYM` when present (then `extra` has `account_currency`, `currency_rate`
  and `account_amount` = amount * CURRATE), else `CURDEF`; with
  `<ORIGCURRENCY>` the amount is already in CURDEF and `extra` has
  `original_currency`, `currency_rate` and `original_amount`.
- `counterparty` is `NAME` (or `PAYEE/NAME`); `description` is NAME and MEMO
  joined: one of them alone when the other is empty or contained in it (banks
  often repeat the name, truncated to 32 characters, inside the memo), else
  `"NAME / MEMO"`. `bank_ref` is `FITID`.
- `balance_after` stays NULL: OFX has no per-transaction balance.
- Every other value goes to `extra` under its lower-case tag (`trntype`,
  `checknum`, `sic`, `refnum`, `srvrtid`, `correctfitid`...); nested
  aggregates are prefixed (`payee_city`, `bankacctto_acctid`), and any account
  number in them is masked.
- A transaction without `DTPOSTED` or `TRNAMT`, or whose date or amount is
  unusable, is rejected with its line. `CORRECTACTION` (REPLACE/DELETE) is kept
  in `extra`, not applied.

Investment statements: `INVBANKTRAN` (cash deposits, interest, fees) is read
as above. Buys, sells, `INCOME`, `INVEXPENSE`, `MARGININTEREST` and
`RETOFCAP` move cash, so each is a transaction too: `booked_date` is `DTTRADE`,
`value_date` `DTSETTLE`, `amount` the signed `TOTAL`, `description` the
`INVTRAN` `MEMO`, `bank_ref` the `FITID`, and `extra` has `investment_type`
(`BUYSTOCK`...), the security (`security_id`, `security_id_type`, and the
`ticker` and `security_name` from the file's `SECLIST`), `units`,
`unitprice`, `commission`, `fees`, `subacctsec`, `subacctfund`... Transactions
that move no cash (`REINVEST`, `SPLIT`, `TRANSFER`, `JRNLSEC`, `JRNLFUND`,
`CLOSUREOPT`), positions (`INVPOSLIST`), the `BALLIST` and the security list
itself are not stored.

Charsets follow the header (`CHARSET:1252` for 1.x, the XML declaration for
2.x); UTF-8 under a 1252 header and bytes no charset defines are mended and
counted as repairs (see `_ofx_tree`). A file with no statement, or that ends
inside an aggregate or a tag (cut off), is a `ParseError` naming the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from selfdata.errors import ParseError
from selfdata.importers import _ofx_tree, money
from selfdata.importers._ofx_tree import Element
from selfdata.importers.base import Batch, Source
from selfdata.importers.columns import json_text as _json

__all__ = ["detect", "name", "patterns", "read", "tables", "version"]

name = "ofx"
version = "1"
patterns = ("*.ofx", "*.qfx", "*.qbo")
tables = ("accounts", "transactions")

# Transactions per batch; OFX files are small, so this is nearly always one.
BATCH_ROWS = 50_000

_DETECT = re.compile(rb"OFXHEADER\s*:|<\?OFX[\s?]|<OFX\s*>", re.IGNORECASE)
_DATE = re.compile(
    r"(\d{4})(\d{2})(\d{2})(?:\d{2}(?:\d{2}(?:\d{2}(?:[.,]\d+)?)?)?)?\s*(\[[^\]]*\])?"
)
_STATEMENTS = {"STMTRS": "BANKACCTFROM", "CCSTMTRS": "CCACCTFROM", "INVSTMTRS": "INVACCTFROM"}
_KINDS = {
    **{"CHECKING": "checking", "SAVINGS": "savings", "MONEYMRKT": "savings", "CD": "savings"},
    "CREDITLINE": "credit_line",
}
# Investment transactions that move cash: their TOTAL is a transaction.
_CASH_INVESTMENTS = frozenset(
    {
        *("BUYDEBT", "BUYMF", "BUYOPT", "BUYOTHER", "BUYSTOCK"),
        *("SELLDEBT", "SELLMF", "SELLOPT", "SELLOTHER", "SELLSTOCK"),
        *("INCOME", "INVEXPENSE", "MARGININTEREST", "RETOFCAP"),
    }
)
# Values with a canonical column (or read on purpose); the rest go to `extra`.
_BANK_READ = frozenset({"DTPOSTED", "TRNAMT", "FITID", "NAME", "MEMO", "DTAVAIL", "DTUSER"})
_INVESTMENT_READ = frozenset({"DTTRADE", "DTSETTLE", "TOTAL", "FITID", "MEMO"})
# Aggregates whose leaves would collide with the transaction's own (NAME, ACCTID).
_PREFIXED = frozenset({"PAYEE", "BANKACCTTO", "CCACCTTO", "INVACCTTO"})
_FX = ("CURRENCY", "ORIGCURRENCY")
_RENAMED = {"UNIQUEID": "security_id", "UNIQUEIDTYPE": "security_id_type"}
# Investment figures kept in `extra` as JSON numbers rather than text.
_NUMBERS = frozenset(
    {
        *("UNITS", "UNITPRICE", "COMMISSION", "FEES", "TAXES", "LOAD", "MARKUP"),
        *("MARKDOWN", "WITHHOLDING", "STATEWITHHOLDING", "PENALTY", "ACCRDINT", "GAIN"),
    }
)
_CENT = Decimal("0.01")
_LIMIT = Decimal(10) ** 16  # DECIMAL(18,2)


def detect(head: bytes, filename: str) -> bool:
    """True when the head has an OFX header (`OFXHEADER:`, `<?OFX`) or an `<OFX>` root.

    The file's name does not matter: banks name OFX files `.ofx`, `.qfx`, `.qbo`, `.txt`...

    Example:
        >>> detect(b"OFXHEADER:100\\r\\nDATA:OFXSGML\\r\\n", "download.txt")
        True
    """
    return _DETECT.search(head) is not None


def read(source: Source) -> Iterator[Batch]:
    """The file's accounts, then its transactions.

    Example:
        >>> from pathlib import Path
        >>> batches = read(Source(Path("tests/data/ofx/checking_102_cp1252.ofx")))
        >>> [(batch.table, batch.rows.num_rows) for batch in batches]
        [('accounts', 1), ('transactions', 6)]
    """
    with source.open() as stream:
        data = stream.read()
    root = _ofx_tree.parse(data, source.display_name, source.repaired)
    statements = list(_statements(root))
    if not statements:
        raise ParseError(source.display_name, _no_statement(root), line=_ofx_line(root))
    signon = _Signon.of(root)
    securities = _securities(root)
    accounts: dict[str, tuple[tuple[str, int], dict[str, Any]]] = {}
    transactions: list[dict[str, Any]] = []
    for order, statement in enumerate(statements):
        account = _account(statement, signon, source)
        rank = (_date_text(_period(statement)[1]) or "", order)
        held = accounts.get(account["account_id"])
        if held is None or rank > held[0]:
            accounts[account["account_id"]] = (rank, account)
        reader = _StatementReader(source, account, securities)
        transactions.extend(reader.rows(statement))
    yield Batch("accounts", money.table_of("accounts", (row for _, row in accounts.values())))
    for start in range(0, len(transactions), BATCH_ROWS):
        chunk = transactions[start : start + BATCH_ROWS]
        yield Batch("transactions", money.table_of("transactions", chunk))


@dataclass(frozen=True)
class _Signon:
    """What the sign-on response says about the institution."""

    org: str | None
    fid: str | None
    intu_bid: str | None

    @classmethod
    def of(cls, root: Element) -> _Signon:
        sonrs = next(root.iter("SONRS"), None)
        if sonrs is None:
            return cls(None, None, None)
        fi = sonrs.find("FI") or Element("FI", sonrs.line)
        return cls(fi.value("ORG"), fi.value("FID"), sonrs.value("INTU.BID"))


def _statements(element: Element) -> Iterator[Element]:
    for child in element.children:
        if child.tag in _STATEMENTS and child.text is None:
            yield child
        else:
            yield from _statements(child)


def _no_statement(root: Element) -> str:
    """Why there is nothing to import, with the institution's own words if it refused."""
    refusals = [
        f"code {status.value('CODE')}: {status.value('MESSAGE') or status.value('SEVERITY')}"
        for status in root.iter("STATUS")
        if status.value("CODE") not in (None, "0")
    ]
    said = f"; the institution answered {'; '.join(refusals)}" if refusals else ""
    return f"no statement (<STMTRS>, <CCSTMTRS> or <INVSTMTRS>) in the file{said}"


def _ofx_line(root: Element) -> int:
    ofx = next(root.iter("OFX"), None)
    return ofx.line if ofx is not None else 1


def _securities(root: Element) -> dict[str, dict[str, str]]:
    """SECLIST: security id -> its ticker and name, to label investment transactions."""
    found: dict[str, dict[str, str]] = {}
    for info in root.iter("SECINFO"):
        secid = info.find("SECID")
        unique = secid.value("UNIQUEID") if secid is not None else None
        if unique:
            labels = {"ticker": info.value("TICKER"), "security_name": info.value("SECNAME")}
            found[unique] = {key: value for key, value in labels.items() if value}
    return found


def _account(statement: Element, signon: _Signon, source: Source) -> dict[str, Any]:
    """The `accounts` row of one statement."""
    holder = statement.find(_STATEMENTS[statement.tag])
    number = holder.value("ACCTID") if holder is not None else None
    if holder is None or number is None:
        raise ParseError(
            source.display_name,
            f"<{statement.tag}> has no <{_STATEMENTS[statement.tag]}>/<ACCTID>, "
            "so its transactions belong to no account",
            line=statement.line,
        )
    bank_id, broker_id = holder.value("BANKID"), holder.value("BROKERID")
    account_type = holder.value("ACCTTYPE")
    kind = {"CCSTMTRS": "credit_card", "INVSTMTRS": "investment_cash"}.get(statement.tag)
    start, end = _period(statement)
    extra = {
        "account_type": account_type,
        "bank_id": bank_id,
        "branch_id": holder.value("BRANCHID"),
        "broker_id": broker_id,
        "fid": signon.fid,
        "intu_bid": signon.intu_bid,
        "statement_start": _date_text(start),
        "statement_end": _date_text(end),
        **_balances(statement),
    }
    return {
        "account_id": money.account_id(number, bank_id or broker_id),
        "institution": signon.org or broker_id,
        "number_masked": money.mask_number(number),
        "currency": statement.value("CURDEF"),
        "kind": kind or _KINDS.get((account_type or "").upper()),
        "extra": _json({key: value for key, value in extra.items() if value is not None}),
    }


def _period(statement: Element) -> tuple[str | None, str | None]:
    listing = statement.find("BANKTRANLIST") or statement.find("INVTRANLIST") or statement
    start = listing.value("DTSTART") or statement.value("DTSTART")
    return start, listing.value("DTEND") or statement.value("DTEND")


def _balances(statement: Element) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for tag, key in (("LEDGERBAL", "ledger_balance"), ("AVAILBAL", "available_balance")):
        balance = statement.find(tag)
        if balance is not None:
            found[key] = _balance(balance.value("BALAMT"), balance.value("DTASOF"))
    invbal = statement.find("INVBAL")
    if invbal is not None and invbal.value("AVAILCASH"):
        found["available_cash"] = _balance(invbal.value("AVAILCASH"), statement.value("DTASOF"))
    return found


def _balance(amount: str | None, as_of: str | None) -> dict[str, Any]:
    value = _decimal(amount) if amount else None
    return {"amount": float(value) if value is not None else amount, "as_of": _date_text(as_of)}


class _StatementReader:
    """One statement's transactions as `transactions` rows; bad ones rejected."""

    def __init__(
        self, source: Source, account: dict[str, Any], securities: dict[str, dict[str, str]]
    ) -> None:
        self.source = source
        self.account_id: str = account["account_id"]
        self.curdef: str | None = account["currency"]
        self.securities = securities

    def rows(self, statement: Element) -> Iterator[dict[str, Any]]:
        listing = "INVTRANLIST" if statement.tag == "INVSTMTRS" else "BANKTRANLIST"
        for child in _listed(statement, listing):
            if child.tag == "STMTTRN":
                yield from self._bank(child, {})
            elif child.tag == "INVBANKTRAN":
                for stmttrn in child.children:
                    if stmttrn.tag == "STMTTRN":
                        context = {"subacctfund": child.value("SUBACCTFUND")}
                        yield from self._bank(stmttrn, context)
            elif child.tag in _CASH_INVESTMENTS:
                yield from self._investment(child)

    def _bank(self, stmttrn: Element, context: dict[str, Any]) -> Iterator[dict[str, Any]]:
        posted, amount = self._required(stmttrn, stmttrn, "DTPOSTED", "TRNAMT")
        if posted is None or amount is None:
            return
        payee = stmttrn.find("PAYEE")
        counterparty = stmttrn.value("NAME") or (payee.value("NAME") if payee is not None else None)
        written_posted, available = stmttrn.value("DTPOSTED") or "", stmttrn.value("DTAVAIL")
        value_date = _parse_date(available)
        extra = {
            **_flatten(stmttrn, _BANK_READ),
            # The time and zone, as written, when the date-time has more than a date.
            "posted": written_posted if len(written_posted) > 8 else None,
            "user_date": _date_text(stmttrn.value("DTUSER")) or stmttrn.value("DTUSER"),
            "available_date": available if value_date is None else None,
            **context,
        }
        yield self._row(
            stmttrn,
            booked_date=posted,
            value_date=value_date,
            amount=amount,
            description=_describe(counterparty, stmttrn.value("MEMO")),
            counterparty=counterparty,
            bank_ref=stmttrn.value("FITID"),
            extra=extra,
        )

    def _investment(self, element: Element) -> Iterator[dict[str, Any]]:
        invtran = next(element.iter("INVTRAN"), None) or Element("INVTRAN", element.line)
        traded, total = self._required(element, invtran, "DTTRADE", "TOTAL")
        if traded is None or total is None:
            return
        extra: dict[str, Any] = {
            "investment_type": element.tag,
            **_flatten(element, _INVESTMENT_READ),
        }
        extra.update(self.securities.get(extra.get("security_id", ""), {}))
        yield self._row(
            element,
            booked_date=traded,
            value_date=_parse_date(invtran.value("DTSETTLE")),
            amount=total,
            description=invtran.value("MEMO"),
            counterparty=None,
            bank_ref=invtran.value("FITID"),
            extra=extra,
        )

    def _required(
        self, element: Element, dated: Element, date_tag: str, amount_tag: str
    ) -> tuple[date | None, Decimal | None]:
        """The date and amount a transaction cannot do without, or (None, None) after a reject."""
        written_date = dated.value(date_tag)
        amount_leaf = next((leaf for leaf in element.leaves() if leaf.tag == amount_tag), None)
        written_amount = amount_leaf.text if amount_leaf is not None else None
        problem = None
        booked = _parse_date(written_date)
        amount = _decimal(written_amount) if written_amount else None
        if written_date is None or not written_amount:
            missing = date_tag if written_date is None else amount_tag
            problem = f"<{element.tag}> without <{missing}>"
        elif booked is None:
            problem = f"<{date_tag}> {written_date!r} is not a date"
        elif amount is None or abs(amount) >= _LIMIT:
            problem = f"<{amount_tag}> {written_amount!r} is not an amount"
        if problem:
            self.source.reject("transactions", problem, element.line)
            return None, None
        return booked, amount

    def _row(
        self, element: Element, *, amount: Decimal, extra: dict[str, Any], **columns: Any
    ) -> dict[str, Any]:
        cents = amount.quantize(_CENT, rounding=ROUND_HALF_EVEN)
        if cents != amount:
            extra["amount_exact"] = str(amount)
        currency, fx = _currency(element, self.curdef, cents)
        extra.update(fx)
        return {
            "account_id": self.account_id,
            "amount": cents,
            "currency": currency,
            **columns,
            "extra": _json({key: value for key, value in extra.items() if value is not None}),
        }


def _listed(statement: Element, tag: str) -> list[Element]:
    """The children of the statement's transaction list, then the statement's own.

    A list whose end tag is missing has had its content handed to the statement
    (see `_ofx_tree`), so transactions are looked for there too; a well-formed
    statement has none of them as direct children.
    """
    listing = statement.find(tag)
    return [*(listing.children if listing is not None else []), *statement.children]


def _flatten(element: Element, read: frozenset[str]) -> dict[str, Any]:
    """Every leaf not read into a column, by lower-case tag; first one wins."""
    found: dict[str, Any] = {}
    _flatten_into(found, element, read, prefix="")
    return found


def _flatten_into(
    found: dict[str, Any], element: Element, read: frozenset[str], prefix: str
) -> None:
    for child in element.children:
        if child.text is None:
            if child.tag in _FX:
                continue
            inner = f"{child.tag.lower()}_" if child.tag in _PREFIXED else prefix
            _flatten_into(found, child, frozenset() if inner else read, inner)
            continue
        if child.tag in read or not child.text:
            continue
        key = prefix + _RENAMED.get(child.tag, child.tag.lower())
        found.setdefault(key, _extra_value(child.tag, child.text))


def _extra_value(tag: str, text: str) -> Any:
    if tag == "ACCTID":
        return money.mask_number(text)
    if tag in _NUMBERS:
        number = _decimal(text)
        return float(number) if number is not None else text
    return text


def _currency(
    element: Element, curdef: str | None, amount: Decimal
) -> tuple[str | None, dict[str, Any]]:
    """The currency `amount` is in, and the other currency's side for `extra`."""
    aggregate = next((e for tag in _FX for e in element.iter(tag)), None)
    if aggregate is None:
        return curdef, {}
    symbol = aggregate.value("CURSYM")
    rate = _decimal(aggregate.value("CURRATE") or "")
    if not symbol or symbol == curdef:
        return curdef, {}
    rate_number = float(rate) if rate is not None else aggregate.value("CURRATE")
    if aggregate.tag == "CURRENCY":
        converted = (amount * rate).quantize(_CENT) if rate else None
        return symbol, {
            "account_currency": curdef,
            "currency_rate": rate_number,
            "account_amount": float(converted) if converted is not None else None,
        }
    original = (amount / rate).quantize(_CENT) if rate else None
    return curdef, {
        "original_currency": symbol,
        "currency_rate": rate_number,
        "original_amount": float(original) if original is not None else None,
    }


def _describe(name: str | None, memo: str | None) -> str | None:
    """NAME and MEMO as one statement text, without saying the same thing twice."""
    if not name or not memo:
        return name or memo
    plain_name, plain_memo = _plain(name), _plain(memo)
    if plain_name in plain_memo:
        return memo
    if plain_memo in plain_name:
        return name
    return f"{name} / {memo}"


def _plain(text: str) -> str:
    return " ".join(text.split()).casefold()


def _parse_date(text: str | None) -> date | None:
    """The calendar date an OFX date-time is written with (its own zone, not UTC)."""
    match = _DATE.fullmatch(text.strip()) if text else None
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _date_text(text: str | None) -> str | None:
    parsed = _parse_date(text)
    return parsed.isoformat() if parsed else None


def _decimal(text: str | None) -> Decimal | None:
    """An OFX amount: `.` or `,` as the decimal point, never a thousands separator."""
    if not text:
        return None
    decimal = "," if "," in text and "." not in text else "."
    try:
        return money.parse_amount(text, decimal=decimal)
    except (ValueError, InvalidOperation):
        return None
