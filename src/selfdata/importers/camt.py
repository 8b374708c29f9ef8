"""ISO 20022 bank-to-customer cash management messages: camt.052, camt.053, camt.054.

Spec: the ISO 20022 message definitions, Bank-to-Customer Cash Management
(https://www.iso20022.org/iso-20022-message-definitions): camt.053
BankToCustomerStatement (`BkToCstmrStmt/Stmt`), camt.052 BankToCustomerAccountReport
(`BkToCstmrAcctRpt/Rpt`, intraday) and camt.054 BankToCustomerDebitCreditNotification
(`BkToCstmrDbtCdtNtfctn/Ntfctn`), versions .001.02 to .001.08. Elements are
matched by local name, so every version, a prefixed root (`ns2:Document`) and
a missing XML declaration read alike. The file is streamed with expat; one
statement's child (its account, a balance, an entry) is held at a time.

Each statement, report or notification (a *statement* below) names its account:

- `accounts`: one row per account per file. `account_id` is
  `money.account_id(IBAN or Othr/Id, institution)` (an IBAN is an identity on its
  own, so the same account meets in every file and format); `institution` is the
  servicer's BIC (`BIC`/`BICFI`), else its name; `name` the account's `Nm`;
  `number_masked` the masked number; `currency` the account's `Ccy`, else the
  currency of its balances when they all agree; `kind` from `Tp/Cd` (CACC, TRAN,
  SLRY: checking; SVGS, LLSV, ONDP: savings; LOAN: loan), else `checking`.
  `extra` holds the owner, the servicer's name, the type code, and every
  balance (`Bal`: type code such as OPBD/CLBD/ITBD/CLAV, amount signed by its
  `CdtDbtInd`, currency, date) with its statement's id. The vault keeps the
  row of the first import that brought an account, so later files' balances
  are read but not stored.

Each entry (`Ntry`) becomes `transactions` rows:

- The entry's amount (`Amt`, currency from its `Ccy`) is negative for `DBIT`.
  A reversal (`RvslInd` true) keeps the sign `CdtDbtInd` gives (the indicator
  already says which way the money moved) and says `"reversal": true` in extra.
- An entry with one `TxDtls`, or none, is one transaction of the entry's amount:
  that is what the account was booked with, whatever currency the detail's own
  amount is in (a differing detail amount goes to extra as `detail_amount`).
- A batch entry with several `TxDtls` is one transaction per detail: the
  detail's `Amt` (v3+) or `AmtDtls/TxAmt/Amt`, signed by the detail's
  `CdtDbtInd` or else the entry's; extra `batch` says which detail of how many,
  and the entry's own amount. A detail without a usable amount is rejected with
  its line. When no detail has an amount the entry stays one transaction.
- `booked_date` is `BookgDt` (`Dt`, or the date part of `DtTm` as written);
  without one (pending entries often have none) it is the `ValDt`, and extra says
  `"booked_date_from": "value_date"`. `value_date` is `ValDt`.
- `counterparty` is the creditor for money out and the debtor for money in
  (`RltdPties/Cdtr/Nm`, or `Cdtr/Pty/Nm` from v8 on). Banks write reversals
  with the original roles or the swapped ones, so a party that is the account
  holder (same account number, or the account's or owner's name) is passed over
  for the other; a missing party is not replaced. The counterparty's account
  is kept masked (never a whole IBAN), with its bank's BIC and the ultimate party.
- `description` is the first of: the unstructured remittance (`RmtInf/Ustrd`,
  blocks joined by a space), the structured creditor references
  (`Strd/CdtrRefInf/Ref`), `Strd/AddtlRmtInf`, `AddtlTxInf`, `AddtlNtryInf`; the
  others are kept in extra.
- `bank_ref` is the bank's `AcctSvcrRef` (the detail's, else the entry's).
  Extra adds the message (`camt.053.001.02`), the statement id, the status, the
  entry's `NtryRef`, `EndToEndId`, `TxId`, `MndtId`, `InstrId`, the bank
  transaction code (`Domn/Fmly/SubFmlyCd` as `PMNT/RDDT/ESDD`, and `Prtry/Cd`),
  and a return reason.
- Status (`Sts`, or `Sts/Cd` from v8 on) is in every row's extra. Pending
  (`PDNG`) and information-only (`INFO`) entries of intraday camt.052 reports are
  kept, not dropped: they are what the bank said, but not (yet) booked, and the
  booked entry of a later statement is a row of its own. Sums of booked money
  filter on `coalesce(extra->>'$.status', 'BOOK') = 'BOOK'`.
- Amounts with more than two decimals are rounded to cents (counted as a
  repair); the exact amount is in extra as `amount_exact`.

A file that is not camt, or cut off, or whose statement has no account, is a
`ParseError` naming the line. An entry without an amount, a credit/debit
indicator or any date is rejected with its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, NamedTuple, NoReturn

from selfdata import xmlsafe
from selfdata.errors import ParseError
from selfdata.importers.base import Batch, Source
from selfdata.importers.columns import json_text as _json
from selfdata.importers.money import (
    account_id,
    mask_number,
    normalise_account_number,
    table_of,
)

__all__ = ["detect", "name", "patterns", "read", "tables", "version"]

name = "camt"
version = "1"
patterns = ("*camt*.xml", "*.xml", "*.052", "*.053", "*.054")
tables = ("accounts", "transactions")

# Transactions per batch: memory stays flat whatever the statement's size.
BATCH_ROWS = 10_000

# Message element -> (its statement element, the message family).
_MESSAGES = {
    "BkToCstmrAcctRpt": ("Rpt", "camt.052"),
    "BkToCstmrStmt": ("Stmt", "camt.053"),
    "BkToCstmrDbtCdtNtfctn": ("Ntfctn", "camt.054"),
}
_HEAD = re.compile(
    rb"urn:iso:std:iso:20022:tech:xsd:camt\.05[234]\."
    rb"|<(?:[A-Za-z_][\w.-]*:)?BkToCstmr(?:Stmt|AcctRpt|DbtCdtNtfctn)[\s/>]"
)
_NAMESPACE = re.compile(r"camt\.05[234]\.\d{3}\.\d{2}")
# xs:decimal as the schema allows it (no exponent).
_DECIMAL = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)\s*")
_CENT = Decimal("0.01")
_TOO_LARGE = Decimal("1e16")  # DECIMAL(18,2) holds 16 digits before the point
_SIGNS = {"CRDT": 1, "DBIT": -1}
_KINDS = {
    **{"CACC": "checking", "TRAN": "checking", "SLRY": "checking"},
    **{"SVGS": "savings", "LLSV": "savings", "ONDP": "savings", "LOAN": "loan"},
}
_ROUNDED = "amount with more than two decimals rounded to cents (exact in extra.amount_exact)"


def detect(head: bytes, filename: str) -> bool:
    """True when the head names a camt.052/053/054 namespace or message element.

    Example:
        >>> detect(b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">', "x")
        True
        >>> detect(b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">', "x")
        False
    """
    return _HEAD.search(head) is not None


def read(source: Source) -> Iterator[Batch]:
    """Stream a camt file: its transactions as entries end, its accounts last.

    Example:
        >>> from pathlib import Path
        >>> batches = read(Source(Path("tests/data/camt/batch_v02.xml")))
        >>> [batch.table for batch in batches]
        ['transactions', 'accounts']
    """
    reader = _Reader(source)
    with source.open() as stream:
        for _ in xmlsafe.feed(reader.parser, stream, source.display_name):
            if len(reader.rows) >= BATCH_ROWS:
                yield Batch("transactions", table_of("transactions", reader.rows))
                reader.rows = []
    if reader.message is None:
        reason = "no <BkToCstmrStmt>, <BkToCstmrAcctRpt> or <BkToCstmrDbtCdtNtfctn>: not camt"
        raise ParseError(source.display_name, reason)
    if reader.rows:
        yield Batch("transactions", table_of("transactions", reader.rows))
    if reader.accounts:
        rows = [account.row() for account in reader.accounts.values()]
        yield Batch("accounts", table_of("accounts", rows))


class _Node:
    """One element of a statement's child, kept until the child ends."""

    __slots__ = ("attrs", "children", "line", "tag", "text")

    def __init__(self, tag: str, attrs: dict[str, str], line: int) -> None:
        self.tag = tag
        self.attrs = attrs
        self.line = line
        self.children: list[_Node] = []
        self.text: str | None = None  # leaves only

    def findall(self, path: str) -> list[_Node]:
        """Descendants along `path` of local names, e.g. `NtryDtls/TxDtls`."""
        found = [self]
        for tag in path.split("/"):
            found = [child for node in found for child in node.children if child.tag == tag]
        return found

    def find(self, path: str) -> _Node | None:
        found = self.findall(path)
        return found[0] if found else None

    def text_of(self, *paths: str) -> str | None:
        """The first non-empty text along any of `paths`, tried in order."""
        for path in paths:
            for node in self.findall(path):
                if node.text:
                    return node.text
        return None

    def joined(self, path: str) -> str | None:
        """Every non-empty text along `path`, joined by a space (Ustrd blocks)."""
        return " ".join(node.text for node in self.findall(path) if node.text) or None


@dataclass
class _Account:
    """An account as its statements in one file describe it, balances gathered."""

    account_id: str
    number: str  # normalised, to tell the account holder from the other party
    institution: str | None
    name: str | None
    number_masked: str | None
    currency: str | None
    kind: str | None
    details: dict[str, Any]
    balances: list[dict[str, Any]] = field(default_factory=list)

    def merge(self, other: _Account) -> None:
        """Fill what this statement left out from another statement of the account."""
        for key in ("institution", "name", "number_masked", "currency", "kind"):
            if getattr(self, key) is None:
                setattr(self, key, getattr(other, key))
        for key, value in other.details.items():
            self.details.setdefault(key, value)
        self.balances.extend(other.balances)

    def row(self) -> dict[str, Any]:
        currencies = {b["currency"] for b in self.balances if b.get("currency")}
        currency = self.currency or (next(iter(currencies)) if len(currencies) == 1 else None)
        extra = {**self.details, "balances": self.balances or None}
        return {
            "account_id": self.account_id,
            "institution": self.institution,
            "name": self.name,
            "number_masked": self.number_masked,
            "currency": currency,
            "kind": self.kind or "checking",
            "extra": _json(_compact(extra)),
        }


@dataclass
class _Statement:
    tag: str  # Stmt, Rpt or Ntfctn
    message: str  # camt.053.001.02, or the family when the namespace is missing
    line: int
    depth: int
    id: str | None = None
    account: _Account | None = None
    balances: list[dict[str, Any]] = field(default_factory=list)


class _Entry(NamedTuple):
    """What an entry gives every transaction made from it."""

    node: _Node
    amount: Decimal  # signed
    sign: int
    currency: str | None
    booked_date: date
    value_date: date | None
    extra: dict[str, Any]


class _Reader:
    """Expat callbacks: each statement child is built as a small tree, then used."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.parser = xmlsafe.make_parser()
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._text
        self.stack: list[str] = []
        self.chars: list[str] = []
        self.nodes: list[_Node] = []  # the open elements of the statement child being built
        self.namespace: str | None = None
        self.message: str | None = None  # the message element's local name
        self.statement: _Statement | None = None
        self.rows: list[dict[str, Any]] = []
        self.accounts: dict[str, _Account] = {}

    # expat callbacks

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        local = tag.rpartition(":")[2]
        depth = len(self.stack)
        self.stack.append(local)
        self.chars = []
        statement = self.statement
        if statement is not None and depth > statement.depth:
            node = _Node(local, attrs, self.parser.CurrentLineNumber)
            if self.nodes:
                self.nodes[-1].children.append(node)
            self.nodes.append(node)
        elif depth == 0:
            self._root(local, attrs)
        elif depth == 1 and self.message is None:
            self._message(local)
        elif self.message is not None and self.stack[-2] == self.message:
            statement_tag, family = _MESSAGES[self.message]
            if local == statement_tag:
                namespace = self.namespace or ""
                message = namespace if namespace.startswith(family) else family
                line = self.parser.CurrentLineNumber
                self.statement = _Statement(local, message, line, depth)

    def _end(self, _tag: str) -> None:
        self.stack.pop()
        if self.nodes:
            node = self.nodes.pop()
            if not node.children:
                node.text = "".join(self.chars).strip()
            if not self.nodes:
                self._statement_child(node)
        elif self.statement is not None and len(self.stack) == self.statement.depth:
            self._close(self.statement)
            self.statement = None
        self.chars = []

    def _text(self, data: str) -> None:
        self.chars.append(data)

    # structure

    def _root(self, local: str, attrs: dict[str, str]) -> None:
        for value in attrs.values():
            if found := _NAMESPACE.search(value):
                self.namespace = found.group()
                break
        if local in _MESSAGES:
            self._message(local)
        elif local != "Document":
            self._not_camt(f"the root element is <{local}>")

    def _message(self, local: str) -> None:
        if local not in _MESSAGES:
            self._not_camt(f"<Document> holds <{local}>")
        self.message = local

    def _not_camt(self, what: str) -> NoReturn:
        reason = f"not a camt.052, camt.053 or camt.054 message: {what}"
        raise ParseError(self.source.display_name, reason, line=self.parser.CurrentLineNumber)

    def _statement_child(self, node: _Node) -> None:
        statement = self.statement
        assert statement is not None  # nodes are only built inside a statement
        if node.tag == "Id":
            statement.id = node.text
        elif node.tag == "Acct":
            statement.account = _account(node, statement, self.source)
        elif node.tag == "Bal":
            statement.balances.append(_balance(node, statement.id))
        elif node.tag == "Ntry":
            if statement.account is None:
                reason = f"an <Ntry> comes before its <{statement.tag}>'s <Acct>"
                raise ParseError(self.source.display_name, reason, line=node.line)
            self.rows.extend(_transactions(node, statement, statement.account, self.source))

    def _close(self, statement: _Statement) -> None:
        account = statement.account
        if account is None:
            reason = f"<{statement.tag}> {statement.id or ''} has no <Acct>".replace("  ", " ")
            raise ParseError(self.source.display_name, reason, line=statement.line)
        account.balances.extend(statement.balances)
        known = self.accounts.get(account.account_id)
        if known is None:
            self.accounts[account.account_id] = account
        else:
            known.merge(account)


# accounts and balances


def _account(node: _Node, statement: _Statement, source: Source) -> _Account:
    """The statement's account; without an id the file cannot be placed."""
    iban = node.text_of("Id/IBAN")
    number = iban or node.text_of("Id/Othr/Id")
    if number is None:
        reason = f"the <Acct> of <{statement.tag}> has no <Id><IBAN> or <Id><Othr><Id>"
        raise ParseError(source.display_name, reason, line=node.line)
    bic = node.text_of("Svcr/FinInstnId/BIC", "Svcr/FinInstnId/BICFI")
    servicer = node.text_of("Svcr/FinInstnId/Nm")
    type_code = node.text_of("Tp/Cd", "Tp/Prtry")
    details = {
        "owner": node.text_of("Ownr/Nm", "Ownr/Pty/Nm"),
        "servicer": servicer,
        "servicer_bic": bic,
        "account_type": type_code,
    }
    return _Account(
        account_id=account_id(number, bic or servicer),
        number=normalise_account_number(number),
        institution=bic or servicer,
        name=node.text_of("Nm"),
        number_masked=mask_number(number),
        currency=node.text_of("Ccy"),
        kind=_KINDS.get(type_code or ""),
        details=_compact(details),
    )


def _balance(node: _Node, statement_id: str | None) -> dict[str, Any]:
    """A balance as the account's extra keeps it: type, signed amount, currency, date."""
    raw = node.text_of("Amt")
    amount = _decimal(raw)
    if amount is not None and node.text_of("CdtDbtInd") == "DBIT":
        amount = -amount
    amount_node = node.find("Amt")
    balance = {
        "statement_id": statement_id,
        "type": node.text_of("Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry"),
        "amount": raw if amount is None else str(amount),
        "currency": amount_node.attrs.get("Ccy") if amount_node is not None else None,
        "date": node.text_of("Dt/Dt", "Dt/DtTm"),
    }
    return _compact(balance)


# entries


def _transactions(
    node: _Node, statement: _Statement, account: _Account, source: Source
) -> list[dict[str, Any]]:
    """An entry's transactions: one per detail of a batch, else one for the entry."""
    entry = _entry(node, account, source)
    if entry is None:
        return []
    details = node.findall("NtryDtls/TxDtls")
    amounts = [_detail_amount(detail, entry) for detail in details]
    if len(details) > 1 and any(amount is not None for amount in amounts):
        rows = []
        for index, (part, amount) in enumerate(zip(details, amounts, strict=True), 1):
            if amount is None:
                reason = f"detail {index} of a batch <Ntry> (line {node.line}) has no usable <Amt>"
                source.reject("transactions", reason, part.line)
                continue
            batch: dict[str, Any] = {"index": index, "of": len(details)}
            batch |= {"entry_amount": str(entry.amount), "entry_currency": entry.currency}
            rows.append(_row(statement, account, entry, part, amount, {"batch": batch}, source))
        return rows
    detail = details[0] if len(details) == 1 else None
    more: dict[str, Any] = {}
    if detail is not None and amounts[0] is not None:
        if amounts[0] != (entry.amount, entry.currency):
            more["detail_amount"] = {"amount": str(amounts[0][0]), "currency": amounts[0][1]}
    elif len(details) > 1:
        more["details"] = len(details)  # listed without amounts: the entry is one booking
    own = (entry.amount, entry.currency)
    return [_row(statement, account, entry, detail, own, more, source)]


def _entry(node: _Node, account: _Account, source: Source) -> _Entry | None:
    """The entry's amount, sign and dates, or None after rejecting it."""

    def reject(reason: str) -> None:
        source.reject("transactions", reason, node.line)

    raw = node.text_of("Amt")
    value = _decimal(raw)
    if value is None:
        reject("<Ntry> without <Amt>" if raw is None else f"<Ntry> <Amt> {raw!r} is no amount")
        return None
    indicator = node.text_of("CdtDbtInd")
    if indicator not in _SIGNS:
        reject(f"<Ntry> whose <CdtDbtInd> is {indicator!r}, not CRDT or DBIT")
        return None
    booked_raw = node.text_of("BookgDt/Dt", "BookgDt/DtTm")
    value_raw = node.text_of("ValDt/Dt", "ValDt/DtTm")
    booked = _date(booked_raw or value_raw)
    if booked is None:
        what = booked_raw or value_raw
        bad = f"<Ntry> date {what!r} is not an ISO date (YYYY-MM-DD)"
        reject("<Ntry> without <BookgDt> or <ValDt>" if what is None else bad)
        return None
    sign = _SIGNS[indicator]
    amount_node = node.find("Amt")
    extra = {
        "status": node.text_of("Sts/Cd", "Sts/Prtry", "Sts"),
        "reversal": True if node.text_of("RvslInd") in ("true", "1") else None,
        "entry_ref": node.text_of("NtryRef"),
        "booking_time": node.text_of("BookgDt/DtTm"),
        "booked_date_from": None if booked_raw else "value_date",
    }
    return _Entry(
        node,
        _signed(value, sign),
        sign,
        (amount_node.attrs.get("Ccy") if amount_node is not None else None) or account.currency,
        booked,
        _date(value_raw),
        extra,
    )


def _detail_amount(detail: _Node, entry: _Entry) -> tuple[Decimal, str | None] | None:
    """A detail's own signed amount and currency (v3+ `Amt`, else `AmtDtls/TxAmt/Amt`)."""
    for path in ("Amt", "AmtDtls/TxAmt/Amt"):
        node = detail.find(path)
        value = _decimal(node.text if node is not None else None)
        if node is not None and value is not None:
            sign = _SIGNS.get(detail.text_of("CdtDbtInd") or "", entry.sign)
            return _signed(value, sign), node.attrs.get("Ccy") or entry.currency
    return None


def _row(
    statement: _Statement,
    account: _Account,
    entry: _Entry,
    detail: _Node | None,
    amount: tuple[Decimal, str | None],
    more: dict[str, Any],
    source: Source,
) -> dict[str, Any]:
    """One transactions row, from the entry and (where there is one) its detail."""
    value, currency = amount
    cents = value.quantize(_CENT, rounding=ROUND_HALF_EVEN)
    if cents != value:
        source.repaired(_ROUNDED)
    where = detail or _Node("TxDtls", {}, entry.node.line)  # an entry without details
    description, texts = _description(where, entry.node)
    party = _party(where, account, outgoing=value < 0)
    extra = {
        "message": statement.message,
        "statement_id": statement.id,
        **entry.extra,
        "amount_exact": str(value) if cents != value else None,
        **_codes(where.find("BkTxCd") or entry.node.find("BkTxCd")),
        **_references(where),
        **party,
        **texts,
        "return_reason": where.text_of("RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry"),
        **more,
    }
    return {
        "account_id": account.account_id,
        "booked_date": entry.booked_date,
        "value_date": entry.value_date,
        "amount": cents,
        "currency": currency,
        "description": description,
        "counterparty": extra.pop("counterparty", None),
        "bank_ref": where.text_of("Refs/AcctSvcrRef") or entry.node.text_of("AcctSvcrRef"),
        "extra": _json(_compact(extra)),
    }


def _description(detail: _Node, entry: _Node) -> tuple[str | None, dict[str, str | None]]:
    """The statement text, and the other texts (those it was not) for extra."""
    texts = {
        "remittance": detail.joined("RmtInf/Ustrd"),
        "creditor_ref": detail.joined("RmtInf/Strd/CdtrRefInf/Ref"),
        "remittance_info": detail.joined("RmtInf/Strd/AddtlRmtInf"),
        "additional_info": detail.text_of("AddtlTxInf"),
        "entry_info": entry.text_of("AddtlNtryInf"),
    }
    description = next((text for text in texts.values() if text), None)
    rest = {key: text for key, text in texts.items() if text != description}
    return description, rest


def _party(detail: _Node, account: _Account, *, outgoing: bool) -> dict[str, str | None]:
    """The other party: the creditor of money out, the debtor of money in.

    Banks write reversals and returns with either the original roles or the
    swapped ones, so when that party is the account holder (its account number
    or name) the other one is taken. A party that is simply missing is not
    replaced: the other side is then most often the holder, named differently.
    """
    preferred, other = ("Cdtr", "Dbtr") if outgoing else ("Dbtr", "Cdtr")
    party = _side(detail, preferred)
    if _is_holder(party, account):
        party = _side(detail, other)
        if _is_holder(party, account):
            return {}
    name, number, side = party
    if name is None and number is None:
        return {}
    bic_paths = (f"RltdAgts/{side}Agt/FinInstnId/BIC", f"RltdAgts/{side}Agt/FinInstnId/BICFI")
    ultimate = (f"RltdPties/Ultmt{side}/Nm", f"RltdPties/Ultmt{side}/Pty/Nm")
    return {
        "counterparty": name,
        "counterparty_account": mask_number(number),
        "counterparty_bic": detail.text_of(*bic_paths),
        "ultimate_counterparty": detail.text_of(*ultimate),
    }


def _side(detail: _Node, side: str) -> tuple[str | None, str | None, str]:
    """A party's name and account number (v8 nests the name in `Pty`), and its side."""
    name = detail.text_of(f"RltdPties/{side}/Nm", f"RltdPties/{side}/Pty/Nm")
    number = detail.text_of(f"RltdPties/{side}Acct/Id/IBAN", f"RltdPties/{side}Acct/Id/Othr/Id")
    return name, number, side


def _is_holder(party: tuple[str | None, str | None, str], account: _Account) -> bool:
    name, number, _ = party
    if number and normalise_account_number(number) == account.number:
        return True
    holder = {text.casefold() for text in (account.name, account.details.get("owner")) if text}
    return name is not None and name.casefold() in holder


def _references(detail: _Node) -> dict[str, str | None]:
    end_to_end = detail.text_of("Refs/EndToEndId")
    return {
        # NOTPROVIDED is the scheme's placeholder for "the payer gave none".
        "end_to_end_id": None if end_to_end == "NOTPROVIDED" else end_to_end,
        "tx_id": detail.text_of("Refs/TxId"),
        "mandate_id": detail.text_of("Refs/MndtId"),
        "instruction_id": detail.text_of("Refs/InstrId"),
    }


def _codes(code: _Node | None) -> dict[str, str | None]:
    """The bank transaction code: ISO `PMNT/RDDT/ESDD` and the bank's own code."""
    if code is None:
        return {}
    parts = [code.text_of(p) for p in ("Domn/Cd", "Domn/Fmly/Cd", "Domn/Fmly/SubFmlyCd")]
    return {
        "bank_tx_code": "/".join(part for part in parts if part) or None,
        "bank_tx_code_proprietary": code.text_of("Prtry/Cd"),
        "bank_tx_code_issuer": code.text_of("Prtry/Issr"),
    }


# values


def _decimal(text: str | None) -> Decimal | None:
    """An xs:decimal that fits DECIMAL(18,2) once rounded, or None."""
    if text is None or not _DECIMAL.fullmatch(text):
        return None
    value = Decimal(text.strip())
    return value if abs(value) < _TOO_LARGE else None


def _signed(value: Decimal, sign: int) -> Decimal:
    """`value` with the indicator's sign; zero stays 0, never -0."""
    if value == 0:
        return abs(value)
    return -value if sign < 0 else value


def _date(text: str | None) -> date | None:
    """The date an ISO date or date-time was written with (no time-zone shift)."""
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
