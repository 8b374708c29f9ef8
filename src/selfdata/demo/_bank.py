"""Alex's bank statements in three real formats: a Monzo CSV, OFX 2 and camt.053.

Why these three (see `_ledger` for what is in each account): a UK current
account is most often downloaded as CSV, and Monzo's export is the common one;
UK card issuers offer OFX/QFX downloads for money software; and ISO 20022
camt.053 statements carry an IBAN, which a savings account at a bank with
camt statements (or a business-style account) has. A GBP current account as
camt would be rare in the UK, so camt is the savings account.

    bank/MonzoDataExport_<first>_<last>.csv
        Monzo's export (https://monzo.com/help/monzo-plus/export-transactions):
        `Transaction ID, Date (DD/MM/YYYY), Time, Type, Name, Emoji, Category,
        Amount, Currency, Local amount, Local currency, Notes and #tags,
        Address, Receipt, Description, Category split, Money Out, Money In`;
        emoji, a typographic apostrophe, `SQ *` prefixes.
    bank/barclaycard_<yyyy-mm>.ofx
        OFX 2.2 XML (https://www.financialexchange.org/): `CCSTMTRS` with
        `CURDEF` GBP, one file per calendar month; euro payments carry a
        `<CURRENCY>` aggregate (CURRATE, CURSYM EUR), so TRNAMT is in euros;
        DTPOSTED a day or two after DTUSER, with Barclaycard's `[0:GMT]` zone.
    bank/savings_camt053_<yyyy-mm>.xml
        camt.053.001.08 (https://www.iso20022.org/): one monthly statement,
        opening and closing booked balances (OPBD, CLBD), entries with
        `AcctSvcrRef`, bank transaction codes (PMNT/RCDT/ESCT for a transfer in,
        PMNT/ICDT/ESCT out, ACMT/MDOP/INTR for interest), the debtor or
        creditor as `Pty/Nm` (the v8 shape) and the remittance text.

Amounts are written from the ledger's Decimals: what the truth sums is what
the files say.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from selfdata.demo._gpx import write_lines
from selfdata.demo._ledger import ACCOUNTS, CARD_OWED_BEFORE, EUR_IN_GBP, SAVINGS_BEFORE, Entry
from selfdata.demo._life import Life

__all__ = ["write_bank"]

_MONZO_HEADER = (
    "Transaction ID,Date,Time,Type,Name,Emoji,Category,Amount,Currency,Local amount,"
    "Local currency,Notes and #tags,Address,Receipt,Description,Category split,Money Out,"
    "Money In\n"
)


def write_bank(folder: Path, life: Life, entries: list[Entry]) -> list[Path]:
    """Write the three accounts' statements under `folder`; returns the paths."""
    current = [e for e in entries if e.account == "current"]
    card = [e for e in entries if e.account == "card"]
    savings = [e for e in entries if e.account == "savings"]
    last = life.today - timedelta(days=1)
    monzo = folder / f"MonzoDataExport_{life.first:%Y-%m-%d}_{last:%Y-%m-%d}.csv"
    write_lines(monzo, _monzo(current))
    paths = [monzo]
    for month, first, end in _months(life):
        lines = [e for e in card if first <= e.booked <= end]
        path = folder / f"barclaycard_{month:%Y-%m}.ofx"
        write_lines(path, _ofx(lines, first, end, card))
        paths.append(path)
    balance = SAVINGS_BEFORE
    for month, first, end in _months(life):
        lines = [e for e in savings if first <= e.booked <= end]
        path = folder / f"savings_camt053_{month:%Y-%m}.xml"
        write_lines(path, _camt(lines, first, end, balance, month))
        balance += sum((e.amount for e in lines), Decimal(0))
        paths.append(path)
    return paths


def _months(life: Life) -> Iterator[tuple[date, date, date]]:
    """(first of month, first day, last day) of each month of the period, clipped to it."""
    month = life.first.replace(day=1)
    while month < life.today:
        following = (month + timedelta(days=32)).replace(day=1)
        yield month, max(month, life.first), min(following, life.today) - timedelta(days=1)
        month = following


# -- Monzo CSV ----------------------------------------------------------------


def _monzo(entries: list[Entry]) -> Iterator[str]:
    yield _MONZO_HEADER
    for e in sorted(entries, key=lambda e: (e.booked, e.at.timestamp() if e.at else 0)):
        amount = f"{e.amount:.2f}"
        out, into = (amount, "") if e.amount < 0 else ("", amount)
        time = f"{e.at:%H:%M:%S}" if e.at else "00:00:00"
        category, emoji = e.monzo
        address = "" if e.kind != "Card payment" else "London"
        fields = [
            e.ref, f"{e.booked:%d/%m/%Y}", time, e.kind, e.name, emoji, category, amount,
            e.currency, amount, e.currency, "", address, "", e.description, "", out, into,
        ]  # fmt: skip
        yield ",".join(_csv(f) for f in fields) + "\n"


def _csv(field: str) -> str:
    if any(c in field for c in ',"\n'):
        return '"' + field.replace('"', '""') + '"'
    return field


# -- OFX 2 (the card) -----------------------------------------------------------


def _ofx(lines: list[Entry], first: date, end: date, card: list[Entry]) -> Iterator[str]:
    account = ACCOUNTS["card"]
    owed = CARD_OWED_BEFORE - sum((_pounds(e) for e in card if e.booked <= end), Decimal(0))
    yield '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
    yield (
        '<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE"'
        ' NEWFILEUID="NONE"?>\n'
    )
    yield "<OFX>\n <SIGNONMSGSRSV1>\n  <SONRS>\n"
    yield "   <STATUS>\n    <CODE>0</CODE>\n    <SEVERITY>INFO</SEVERITY>\n   </STATUS>\n"
    yield f"   <DTSERVER>{_ofx_time(end + timedelta(days=1), 7)}</DTSERVER>\n"
    yield "   <LANGUAGE>ENG</LANGUAGE>\n"
    yield "   <FI>\n    <ORG>Barclaycard</ORG>\n    <FID>5432</FID>\n   </FI>\n"
    yield "  </SONRS>\n </SIGNONMSGSRSV1>\n"
    yield " <CREDITCARDMSGSRSV1>\n  <CCSTMTTRNRS>\n   <TRNUID>1</TRNUID>\n"
    yield "   <STATUS>\n    <CODE>0</CODE>\n    <SEVERITY>INFO</SEVERITY>\n   </STATUS>\n"
    yield "   <CCSTMTRS>\n    <CURDEF>GBP</CURDEF>\n"
    yield f"    <CCACCTFROM>\n     <ACCTID>{account.number}</ACCTID>\n    </CCACCTFROM>\n"
    yield "    <BANKTRANLIST>\n"
    yield f"     <DTSTART>{_ofx_time(first, 0)}</DTSTART>\n"
    yield f"     <DTEND>{_ofx_time(end, 23, 59, 59)}</DTEND>\n"
    for e in lines:
        yield from _stmttrn(e)
    yield "    </BANKTRANLIST>\n"
    yield f"    <LEDGERBAL>\n     <BALAMT>{-owed:.2f}</BALAMT>\n"
    yield f"     <DTASOF>{_ofx_time(end, 23, 59, 59)}</DTASOF>\n    </LEDGERBAL>\n"
    yield f"    <AVAILBAL>\n     <BALAMT>{Decimal('6500.00') - owed:.2f}</BALAMT>\n"
    yield f"     <DTASOF>{_ofx_time(end, 23, 59, 59)}</DTASOF>\n    </AVAILBAL>\n"
    yield "   </CCSTMTRS>\n  </CCSTMTTRNRS>\n </CREDITCARDMSGSRSV1>\n</OFX>\n"


def _stmttrn(e: Entry) -> Iterator[str]:
    kind = "CREDIT" if e.amount > 0 else "FEE" if e.category == "fees" else "DEBIT"
    yield "     <STMTTRN>\n"
    yield f"      <TRNTYPE>{kind}</TRNTYPE>\n"
    yield f"      <DTPOSTED>{_ofx_time(e.booked, 0)}</DTPOSTED>\n"
    if e.at is not None:
        # The zone written is GMT, so the time must be UTC (a Barcelona payment is 2 h behind).
        utc = e.at.astimezone(UTC)
        user = _ofx_time(utc.date(), utc.hour, utc.minute, utc.second)
        yield f"      <DTUSER>{user}</DTUSER>\n"
    yield f"      <TRNAMT>{e.amount:.2f}</TRNAMT>\n"
    yield f"      <FITID>{e.ref}</FITID>\n"
    yield f"      <NAME>{escape(e.name[:32])}</NAME>\n"
    if e.description and e.description != e.name:
        yield f"      <MEMO>{escape(e.description)}</MEMO>\n"
    if e.rate is not None:
        yield "      <CURRENCY>\n"
        yield f"       <CURRATE>{e.rate}</CURRATE>\n       <CURSYM>{e.currency}</CURSYM>\n"
        yield "      </CURRENCY>\n"
    yield "     </STMTTRN>\n"


def _ofx_time(day: date, hour: int, minute: int = 0, second: int = 0) -> str:
    return f"{day:%Y%m%d}{hour:02d}{minute:02d}{second:02d}.000[0:GMT]"


def _pounds(entry: Entry) -> Decimal:
    if entry.rate is None:
        return entry.amount
    return (entry.amount * EUR_IN_GBP).quantize(Decimal("0.01"), ROUND_HALF_EVEN)


# -- camt.053.001.08 (savings) --------------------------------------------------


def _camt(
    lines: list[Entry], first: date, end: date, opening: Decimal, month: date
) -> Iterator[str]:
    account = ACCOUNTS["savings"]
    closing = opening + sum((e.amount for e in lines), Decimal(0))
    statement = f"THSB{month:%Y%m}{account.number[-4:]}"
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield (
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    )
    yield " <BkToCstmrStmt>\n  <GrpHdr>\n"
    yield f"   <MsgId>{statement}-MSG</MsgId>\n"
    yield f"   <CreDtTm>{end + timedelta(days=1)}T06:00:00+00:00</CreDtTm>\n"
    yield "  </GrpHdr>\n  <Stmt>\n"
    yield f"   <Id>{statement}</Id>\n"
    yield f"   <ElctrncSeqNb>{month.year * 100 + month.month}</ElctrncSeqNb>\n"
    yield f"   <CreDtTm>{end + timedelta(days=1)}T06:00:00+00:00</CreDtTm>\n"
    yield f"   <FrToDt>\n    <FrDtTm>{first}T00:00:00+00:00</FrDtTm>\n"
    yield f"    <ToDtTm>{end}T23:59:59+00:00</ToDtTm>\n   </FrToDt>\n"
    yield "   <Acct>\n"
    yield f"    <Id>\n     <IBAN>{account.number}</IBAN>\n    </Id>\n"
    yield "    <Tp>\n     <Cd>SVGS</Cd>\n    </Tp>\n"
    yield f"    <Ccy>{account.currency}</Ccy>\n    <Nm>Easy Access Saver</Nm>\n"
    yield "    <Ownr>\n     <Nm>ALEX MORGAN</Nm>\n    </Ownr>\n"
    yield "    <Svcr>\n     <FinInstnId>\n      <BICFI>THSBGB2L</BICFI>\n"
    yield f"      <Nm>{account.institution}</Nm>\n     </FinInstnId>\n    </Svcr>\n"
    yield "   </Acct>\n"
    yield from _balance("OPBD", opening, first - timedelta(days=1))
    yield from _balance("CLBD", closing, end)
    for e in lines:
        yield from _entry(e)
    yield "  </Stmt>\n </BkToCstmrStmt>\n</Document>\n"


def _balance(code: str, amount: Decimal, day: date) -> Iterator[str]:
    yield f"   <Bal>\n    <Tp>\n     <CdOrPrtry>\n      <Cd>{code}</Cd>\n"
    yield "     </CdOrPrtry>\n    </Tp>\n"
    yield f'    <Amt Ccy="GBP">{abs(amount):.2f}</Amt>\n'
    yield f"    <CdtDbtInd>{'CRDT' if amount >= 0 else 'DBIT'}</CdtDbtInd>\n"
    yield f"    <Dt>\n     <Dt>{day}</Dt>\n    </Dt>\n   </Bal>\n"


def _entry(e: Entry) -> Iterator[str]:
    credit = e.amount > 0
    domain, family, sub = (
        ("ACMT", "MDOP", "INTR") if e.kind == "Interest"
        else ("PMNT", "RCDT", "ESCT") if credit
        else ("PMNT", "ICDT", "ESCT")
    )  # fmt: skip
    party = "Dbtr" if credit else "Cdtr"
    yield "   <Ntry>\n"
    yield f'    <Amt Ccy="{e.currency}">{abs(e.amount):.2f}</Amt>\n'
    yield f"    <CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd>\n"
    yield "    <Sts>\n     <Cd>BOOK</Cd>\n    </Sts>\n"
    yield f"    <BookgDt>\n     <Dt>{e.booked}</Dt>\n    </BookgDt>\n"
    yield f"    <ValDt>\n     <Dt>{e.booked}</Dt>\n    </ValDt>\n"
    yield f"    <AcctSvcrRef>{e.ref}</AcctSvcrRef>\n"
    yield f"    <BkTxCd>\n     <Domn>\n      <Cd>{domain}</Cd>\n      <Fmly>\n"
    yield f"       <Cd>{family}</Cd>\n       <SubFmlyCd>{sub}</SubFmlyCd>\n"
    yield "      </Fmly>\n     </Domn>\n    </BkTxCd>\n"
    yield "    <NtryDtls>\n     <TxDtls>\n"
    yield f"      <Refs>\n       <EndToEndId>{e.ref[-12:]}</EndToEndId>\n      </Refs>\n"
    yield f'      <Amt Ccy="{e.currency}">{abs(e.amount):.2f}</Amt>\n'
    yield f"      <CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd>\n"
    if e.kind != "Interest":
        yield f"      <RltdPties>\n       <{party}>\n        <Pty>\n"
        yield f"         <Nm>{escape(e.name)}</Nm>\n        </Pty>\n       </{party}>\n"
        yield "      </RltdPties>\n"
    yield f"      <RmtInf>\n       <Ustrd>{escape(e.description)}</Ustrd>\n      </RmtInf>\n"
    yield "     </TxDtls>\n    </NtryDtls>\n   </Ntry>\n"
