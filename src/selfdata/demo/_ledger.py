"""Alex's money: every statement line of the three accounts, with the category it should get.

Three accounts, in the formats a Londoner would really download:

- **current**: a Monzo current account (GBP), its CSV export. Salary in,
  rent out by standing order, direct debits (gym, energy, broadband, council
  tax, the card), and the card payments of the day: coffees, lunches,
  groceries, Transport for London.
- **card**: a Barclaycard Visa credit card (GBP), as monthly OFX 2 downloads:
  Netflix (its price rises once), iCloud, Amazon, the cinema, and the
  Barcelona week paid in euros (each euro payment followed by the card's
  non-sterling transaction fee in pounds).
- **savings**: an easy-access savings account at a bank that offers ISO 20022
  camt.053 statements (UK banks give an IBAN and, for business and some
  personal accounts, camt): the monthly transfer in from Monzo, interest, and
  the holiday money taken out.

Transfers between these accounts appear on both sides (the savings transfer
and the holiday money between Monzo and the savings account, the card
repayment between Monzo and the card), so spending must leave them out.

Statement texts are spelled the way these banks print them (`TESCO STORES
2044 LONDON GBR`, `SAINSBURYS S/MKTS`, `TFL TRAVEL CH`, `SQ *...`,
`NETFLIX.COM`, `APPLE.COM/BILL`), and every merchant carries the category
the shipped rules of `selfdata/analytics/categories.toml` give it, as read
from those rules by hand (`None` where no rule matches: two Barcelona
sights). The truth of spending is summed from these entries, never from the
analytics.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from selfdata.demo._life import Life, Purchase, days_of

__all__ = [
    "ACCOUNTS",
    "CARD_OWED_BEFORE",
    "EUR_IN_GBP",
    "SAVINGS_BEFORE",
    "Account",
    "Entry",
    "Subscription",
    "ledger",
    "other_regular",
    "subscriptions",
]

_CENT = Decimal("0.01")
# What a euro cost in pounds on the card, and the card's fee on foreign payments.
EUR_IN_GBP = Decimal("0.8571")
_FX_FEE = Decimal("0.0299")
CARD_OWED_BEFORE = Decimal("312.45")  # the statement before the period, repaid in its first month
SAVINGS_BEFORE = Decimal("8400.00")
_INTEREST_A_YEAR = Decimal("0.041")


@dataclass(frozen=True)
class Account:
    """One of Alex's accounts as its statements describe it."""

    key: str
    institution: str
    number: str  # the card number, or the IBAN
    currency: str
    kind: str


ACCOUNTS = {
    "current": Account("current", "Monzo", "", "GBP", "checking"),
    "card": Account("card", "Barclaycard", "4929381044017734", "GBP", "credit_card"),
    "savings": Account(
        "savings", "Thames Savings Bank", "GB53THSB40512331804417", "GBP", "savings"
    ),
}


@dataclass(frozen=True)
class Entry:
    """One statement line: signed `amount` (< 0 money out) in `currency`."""

    account: str  # a key of ACCOUNTS
    booked: date
    at: datetime | None  # the local time of the payment, where the statement shows it
    amount: Decimal
    currency: str
    name: str  # the counterparty as the statement names it
    description: str  # the statement text
    category: str | None  # what the shipped rules give it; "transfers" between own accounts
    kind: str  # the bank's word for it: Card payment, Direct Debit, Faster payment...
    ref: str  # the bank's own id: Monzo's transaction id, OFX FITID, camt AcctSvcrRef
    monzo: tuple[str, str] = ("General", "")  # Monzo's own category and emoji
    rate: Decimal | None = None  # for a foreign card payment: pounds per unit of `currency`


@dataclass(frozen=True)
class Subscription:
    """A regular payment: its merchant as `normalise_merchant` names it, period, amounts."""

    merchant: str
    period: str
    amounts: tuple[Decimal, ...]  # each distinct amount in the order charged
    account: str
    charges: int


@dataclass(frozen=True)
class _Merchant:
    account: str
    name: str
    description: str
    category: str | None
    monzo: tuple[str, str] = ("General", "")
    kind: str = "Card payment"


_MERCHANTS = {
    "pret": _Merchant(
        "current", "Pret A Manger", "PRET A MANGER KINGS CROSS LONDON GBR", "eating_out",
        ("Eating out", "☕"),
    ),
    "pret_airport": _Merchant(
        "current", "Pret A Manger", "PRET A MANGER GATWICK S GATWICK GBR", "eating_out",
        ("Eating out", "☕"),
    ),
    "itsu": _Merchant(
        "current", "itsu", "ITSU KINGS CROSS LONDON GBR", "eating_out", ("Eating out", "🍣")
    ),
    "wasabi": _Merchant(
        "current", "Wasabi", "WASABI KINGS CROSS LONDON GBR", "eating_out", ("Eating out", "🍱")
    ),
    "five_guys": _Merchant(
        "current", "Five Guys", "FIVE GUYS KINGS CROSS LONDON GBR", "eating_out",
        ("Eating out", "🍔"),
    ),
    "wagamama": _Merchant(
        "current", "wagamama", "WAGAMAMA LONDON BRIDGE LONDON GBR", "eating_out",
        ("Eating out", "🍜"),
    ),
    "deliveroo": _Merchant(
        "current", "Deliveroo", "DELIVEROO LONDON GBR", "eating_out", ("Eating out", "🍕")
    ),
    "tesco": _Merchant(
        "current", "Tesco", "TESCO STORES 2044 LONDON GBR", "groceries", ("Groceries", "🛒")
    ),
    "sainsburys": _Merchant(
        "current", "Sainsbury's", "SAINSBURYS S/MKTS LONDON GBR", "groceries",
        ("Groceries", "🛒"),
    ),
    "bakery": _Merchant(
        "current", "Flour Power City Bakery", "SQ *FLOUR POWER CITY BAKERY LONDON GBR",
        "groceries", ("Groceries", "🥖"),
    ),
    "tfl": _Merchant(
        "current", "Transport for London", "TFL TRAVEL CH TFL.GOV.UK/CP GBR", "transport",
        ("Transport", "🚇"),
    ),
    "trainline": _Merchant("card", "TRAINLINE.COM", "TRAINLINE.COM EDINBURGH", "travel"),
    "odeon": _Merchant("card", "ODEON CINEMAS", "ODEON SURREY QUAYS LONDON", "entertainment"),
    "amazon": _Merchant("card", "AMAZON.CO.UK*{ref}", "AMAZON.CO.UK LUXEMBOURG", "shopping"),
    "netflix": _Merchant("card", "NETFLIX.COM", "NETFLIX.COM AMSTERDAM", "subscriptions"),
    "icloud": _Merchant("card", "APPLE.COM/BILL", "APPLE.COM/BILL HOLLYHILL", "subscriptions"),
    "restaurant": _Merchant("card", "{venue}", "{venue} BARCELONA", "eating_out"),
    "bar": _Merchant("card", "{venue}", "{venue} BARCELONA", "eating_out"),
    "taxi_bcn": _Merchant("card", "TAXI BARCELONA", "TAXI BARCELONA 0342", "transport"),
    "hotel_bcn": _Merchant("card", "HOTEL 54 BARCELONETA", "HOTEL 54 BARCELONA", "travel"),
    "casa_batllo": _Merchant("card", "CASA BATLLO", "CASA BATLLO BARCELONA", None),
    "sagrada": _Merchant("card", "SAGRADA FAMILIA", "SAGRADA FAMILIA BARCELONA", None),
    "fx_fee": _Merchant("card", "NON-STERLING TRANSACTION FEE", "", "fees"),
}  # fmt: skip
_VENUES = {
    "restaurant": ("RESTAURANT 7 PORTES", "RESTAURANT CAN SOLE", "RESTAURANT LA MAR SALADA"),
    "bar": ("BAR PINOTXO", "BAR CANETE", "BAR DEL PLA"),
}


def ledger(life: Life, seed: int) -> list[Entry]:
    """Every statement line of the period, in booking order within each account."""
    rng = random.Random(f"selfdata-demo:{seed}:ledger")
    # A card payment posted after the period ends is in no statement yet.
    entries = [e for e in _purchases(rng, life) if e.booked < life.today]
    entries += _calendar(rng, life)
    entries += list(_card_repayments(rng, entries, life))
    entries += list(_savings_interest(rng, entries, life))
    entries.sort(key=lambda e: (e.account, e.booked, e.at.timestamp() if e.at else 0, e.ref))
    return entries


def subscriptions(life: Life) -> list[Subscription]:
    """The subscriptions and bills Alex pays, as `spending.recurring()` should find them."""
    found = []
    for merchant, key, account in _REGULAR:
        charges = [(d, a) for d, a in _regular_dates(life, key)]
        amounts = tuple(dict.fromkeys(a for _, a in charges))
        if len(charges) >= 3:
            found.append(Subscription(merchant, "monthly", amounts, account, len(charges)))
    return found


def other_regular(life: Life, entries: list[Entry]) -> list[Subscription]:
    """Regular payments that are no subscription: the cinema on the first Sunday of each month,
    always the same price, which `recurring()` finds by its rhythm, as it documents."""
    cinema = [e for e in entries if e.name == _MERCHANTS["odeon"].name]
    amounts = tuple(dict.fromkeys(-e.amount for e in cinema))
    return [Subscription("Odeon Cinemas", "monthly", amounts, "card", len(cinema))]


# -- Purchases made along the way ---------------------------------------------


def _purchases(rng: random.Random, life: Life) -> Iterator[Entry]:
    """The plan's purchases; fares add up to one Transport for London charge a day."""
    fares: dict[date, list[Purchase]] = {}
    for purchase in life.purchases:
        if purchase.merchant in ("tfl", "tfl_bus"):
            fares.setdefault(purchase.at.date(), []).append(purchase)
            continue
        yield from _card_or_current(rng, purchase)
    for day, taps in sorted(fares.items()):
        total = min(sum((t.amount for t in taps), Decimal(0)), Decimal("8.50"))  # daily cap
        # TfL charges the day's fares the next morning, as one line.
        charged = datetime.combine(day + timedelta(days=1), time(4, 12), ZoneInfo("Europe/London"))
        if charged.date() < life.today:
            yield _entry(rng, "tfl", charged, total)
    yield from _deliveries(rng, life)
    yield from _amazon(rng, life)
    yield from _the_two_coffees(rng, life)


def _card_or_current(rng: random.Random, purchase: Purchase) -> Iterator[Entry]:
    entry = _entry(rng, purchase.merchant, purchase.at, purchase.amount, purchase.currency)
    yield entry
    if purchase.currency != "GBP":  # the card's fee, in pounds, with the payment
        pounds = (purchase.amount * EUR_IN_GBP).quantize(_CENT, ROUND_HALF_EVEN)
        fee = (pounds * _FX_FEE).quantize(_CENT, ROUND_HALF_EVEN)
        yield replace(
            _entry(rng, "fx_fee", purchase.at, fee),
            booked=entry.booked,
            description=f"NON-STERLING TRANSACTION FEE {purchase.amount} EUR",
        )


def _deliveries(rng: random.Random, life: Life) -> Iterator[Entry]:
    """A takeaway some Sunday evenings at home."""
    for day in days_of(life.first, life.today):
        at = datetime.combine(day, time(19, 40), ZoneInfo("Europe/London"))
        stay = life.segment_at(at.astimezone(ZoneInfo("UTC")))
        home = getattr(stay, "place", None) == life.persona.home
        if day.weekday() == 6 and home and rng.random() < 0.3:
            amount = Decimal(f"{rng.uniform(17, 32):.2f}")
            yield _entry(rng, "deliveroo", at + timedelta(minutes=rng.randint(0, 50)), amount)


def _amazon(rng: random.Random, life: Life) -> Iterator[Entry]:
    for day in days_of(life.first, life.today):
        if rng.random() < 1.5 / 30:
            at = datetime.combine(day, time(21, rng.randint(0, 59)), ZoneInfo("Europe/London"))
            yield _entry(rng, "amazon", at, Decimal(f"{rng.uniform(7, 64):.2f}"))


def _the_two_coffees(rng: random.Random, life: Life) -> Iterator[Entry]:
    """Two identical coffees on one day: one for a colleague, paid separately.

    On an office day without the usual morning coffee, so that there are two, not three.
    """
    coffees = {p.at.date() for p in life.purchases if p.merchant == "pret"}
    later = life.office_days[len(life.office_days) * 2 // 3 :]
    day = next(d for d in later if d not in coffees)
    at = datetime.combine(day, time(10, 41, 12), ZoneInfo("Europe/London"))
    for minutes in (0, 1):
        yield _entry(rng, "pret", at + timedelta(minutes=minutes), Decimal("3.45"))


def _entry(
    rng: random.Random, key: str, at: datetime, amount: Decimal, currency: str = "GBP"
) -> Entry:
    """A card payment of `amount` (positive) at merchant `key`."""
    merchant = _MERCHANTS[key]
    venue = rng.choice(_VENUES.get(key, ("",)))
    # Amazon's order references mix letters and digits (`2K8DF71X4`).
    ref = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(8))
    ref = ref[:3] + str(rng.randrange(10)) + ref[3:]
    name = merchant.name.format(venue=venue, ref=ref)
    # The card posts a payment a day or two after it was made; Monzo shows it at once.
    posted = (
        at.date() + timedelta(days=rng.choice((1, 1, 2)))
        if merchant.account == "card"
        else at.date()
    )
    return Entry(
        account=merchant.account,
        booked=posted,
        at=at,
        amount=-amount,
        currency=currency,
        name=name,
        description=merchant.description.format(venue=venue, ref=ref) or name,
        category=merchant.category,
        kind=merchant.kind,
        ref=_ref(rng, merchant.account, posted),
        monzo=merchant.monzo,
        rate=EUR_IN_GBP if currency == "EUR" else None,
    )


# -- Money on a calendar ------------------------------------------------------

# (merchant as normalised, key, account) of the subscriptions and bills.
_REGULAR = (
    ("Netflix", "netflix", "card"),
    ("Apple", "icloud", "card"),
    ("Spotify", "spotify", "current"),
    ("Borough Gym & Spa", "gym", "current"),
    ("Octopus Energy", "octopus", "current"),
    ("Hyperoptic", "hyperoptic", "current"),
    ("Giffgaff", "giffgaff", "current"),
    ("Southwark Council", "council_tax", "current"),
    ("Thames Lettings", "rent", "current"),
)
# key -> (day of month, amount, name, description, category, kind, Monzo category/emoji)
_BILLS = {
    "rent": (1, "1850.00", "Thames Lettings", "THAMES LETTINGS LTD RENT", "housing",
             "Standing order", ("Bills", "🏠")),
    "council_tax": (1, "164.00", "Southwark Council", "COUNCIL TAX 51283904", "taxes",
                    "Direct Debit", ("Bills", "🏛")),
    "gym": (2, "39.00", "Borough Gym & Spa", "BOROUGH GYM & SPA", "health", "Direct Debit",
            ("Personal care", "🏋")),
    "spotify": (14, "11.99", "Spotify", "SPOTIFY P2B7C4D9E1 STOCKHOLM SWE", "subscriptions",
                "Card payment", ("Entertainment", "🎵")),
    "octopus": (15, "78.00", "Octopus Energy", "OCTOPUS ENERGY", "utilities", "Direct Debit",
                ("Bills", "💡")),
    "hyperoptic": (20, "30.00", "Hyperoptic", "HYPEROPTIC LTD", "utilities", "Direct Debit",
                   ("Bills", "📶")),
    "giffgaff": (22, "10.00", "giffgaff", "GIFFGAFF.COM", "utilities", "Card payment",
                 ("Bills", "📱")),
    "netflix": (3, "10.99", "", "", "subscriptions", "", ("", "")),
    "icloud": (7, "2.99", "", "", "subscriptions", "", ("", "")),
}  # fmt: skip
# Netflix's new price, from the charge at this fraction of the period on.
_NETFLIX_RISE = (Decimal("12.99"), 0.55)
_SALARY = (Decimal("3412.50"), "ACME ANALYTICS LTD", "ACME ANALYTICS LTD SALARY")
_SAVINGS_MONTHLY = Decimal("600.00")
_HOLIDAY_MONEY = Decimal("500.00")
_OWNER = "ALEX MORGAN"
_THANKS = "PAYMENT RECEIVED - THANK YOU"


def _calendar(rng: random.Random, life: Life) -> Iterator[Entry]:
    for key in _BILLS:
        for day, amount in _regular_dates(life, key):
            yield _bill(rng, key, day, amount)
    for day in _monthly(life, 25, weekdays_only=True):
        yield _income(rng, "current", day, _SALARY[0], _SALARY[1], _SALARY[2], "Faster payment")
    for day in _monthly(life, 26, weekdays_only=True):
        yield from _transfer(rng, "current", "savings", day, _SAVINGS_MONTHLY, "SAVINGS")
    for start in life.holidays:
        day = start - timedelta(days=7)
        if day >= life.first:
            yield from _transfer(rng, "savings", "current", day, _HOLIDAY_MONEY, "HOLIDAY MONEY")


def _regular_dates(life: Life, key: str) -> list[tuple[date, Decimal]]:
    """When a bill or subscription is charged, and how much each time."""
    day_of_month, amount = _BILLS[key][0], Decimal(_BILLS[key][1])
    # Card payments go through any day; debits and standing orders on working days.
    on_card = key in ("netflix", "icloud", "spotify", "giffgaff")
    dates = list(_monthly(life, day_of_month, weekdays_only=not on_card))
    if key == "council_tax":  # ten instalments, April to January
        dates = [d for d in dates if d.month not in (2, 3)]
    charges = [(d, amount) for d in dates]
    if key == "netflix":
        rise = life.first + (life.today - life.first) * _NETFLIX_RISE[1]
        charges = [(d, _NETFLIX_RISE[0] if d >= rise else a) for d, a in charges]
    return charges


def _monthly(life: Life, day_of_month: int, *, weekdays_only: bool) -> Iterator[date]:
    """That day of every month in the period; from a weekend to the Monday after (or, for
    pay day, the Friday before)."""
    month = date(life.first.year, life.first.month, 1)
    while month < life.today:
        day = month.replace(day=day_of_month)
        if weekdays_only and day.weekday() >= 5:
            back = day_of_month >= 25  # pay day and the transfer after it come early
            day -= timedelta(days=day.weekday() - 4) if back else -timedelta(days=7 - day.weekday())
        if life.first <= day < life.today:
            yield day
        month = (month + timedelta(days=32)).replace(day=1)


def _bill(rng: random.Random, key: str, day: date, amount: Decimal) -> Entry:
    if key in ("netflix", "icloud"):
        at = datetime.combine(day, time(6, rng.randint(0, 59)), ZoneInfo("Europe/London"))
        return _entry(rng, key, at, amount)
    _, _, name, description, category, kind, monzo = _BILLS[key]
    at = datetime.combine(
        day, time(rng.randint(3, 9), rng.randint(0, 59)), ZoneInfo("Europe/London")
    )
    return Entry(
        "current", day, at, -amount, "GBP", name, description, category, kind,
        _ref(rng, "current", day), monzo,
    )  # fmt: skip


def _income(
    rng: random.Random, account: str, day: date, amount: Decimal, name: str, text: str, kind: str
) -> Entry:
    at = datetime.combine(
        day, time(rng.randint(1, 6), rng.randint(0, 59)), ZoneInfo("Europe/London")
    )
    return Entry(
        account, day, at, amount, "GBP", name, text, "income", kind, _ref(rng, account, day),
        ("Income", "💰"),
    )  # fmt: skip


def _transfer(
    rng: random.Random, source: str, target: str, day: date, amount: Decimal, text: str
) -> Iterator[Entry]:
    """Money between two of Alex's accounts: the line on each side."""
    at = datetime.combine(day, time(9, rng.randint(0, 59)), ZoneInfo("Europe/London"))
    for account, sign in ((source, -1), (target, 1)):
        yield Entry(
            account, day, at, sign * amount, "GBP", _OWNER, text, "transfers", "Faster payment",
            _ref(rng, account, day), ("Transfers", "🔁"),
        )  # fmt: skip


def _card_repayments(rng: random.Random, entries: list[Entry], life: Life) -> Iterator[Entry]:
    """On the 10th, Monzo pays the card in full what it owed at the end of the month before.

    Paid in full every month, the card owes at a month's end exactly what was
    spent on it that month; the first repayment clears the statement from
    before the period and what was spent before its month.
    """
    card = [e for e in entries if e.account == "card"]
    owed_before = CARD_OWED_BEFORE
    for number, pay_day in enumerate(_monthly(life, 10, weekdays_only=True)):
        month = pay_day.replace(day=1)
        previous = (month - timedelta(days=1)).replace(day=1)
        since = date.min if number == 0 else previous
        spent = sum((-_pounds(e) for e in card if since <= e.booked < month), Decimal(0))
        owed = spent + (owed_before if number == 0 else 0)
        if owed > 0:
            yield from _repay(rng, pay_day, owed)


def _repay(rng: random.Random, day: date, owed: Decimal) -> Iterator[Entry]:
    at = datetime.combine(day, time(5, rng.randint(0, 59)), ZoneInfo("Europe/London"))
    yield Entry(
        "current", day, at, -owed, "GBP", "Barclaycard", "BARCLAYCARD", "transfers",
        "Direct Debit", _ref(rng, "current", day), ("Bills", "💳"),
    )  # fmt: skip
    yield Entry(
        "card", day, at, owed, "GBP", _THANKS, _THANKS, "transfers", "Payment",
        _ref(rng, "card", day),
    )  # fmt: skip


def _savings_interest(rng: random.Random, entries: list[Entry], life: Life) -> Iterator[Entry]:
    """Interest on the 1st of each month, on the balance at the end of the month before."""
    moves = [e for e in entries if e.account == "savings"]
    paid = Decimal(0)
    for day in _monthly(life, 1, weekdays_only=False):
        if day == life.first:
            continue
        balance = (
            SAVINGS_BEFORE + paid + sum((e.amount for e in moves if e.booked < day), Decimal(0))
        )
        interest = (balance * _INTEREST_A_YEAR / 12).quantize(_CENT, ROUND_HALF_EVEN)
        paid += interest
        at = datetime.combine(day, time(2, 0), ZoneInfo("Europe/London"))
        yield Entry(
            "savings", day, at, interest, "GBP", "Thames Savings Bank", "GROSS INTEREST",
            "income", "Interest", _ref(rng, "savings", day),
        )  # fmt: skip


def _pounds(entry: Entry) -> Decimal:
    """The entry in pounds, as the card's balance counts it."""
    if entry.rate is None:
        return entry.amount
    return (entry.amount * entry.rate).quantize(_CENT, ROUND_HALF_EVEN)


def _ref(rng: random.Random, account: str, day: date) -> str:
    """The bank's id of a line, in each bank's style."""
    if account == "current":
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        return "tx_0000" + "".join(rng.choice(alphabet) for _ in range(15))
    if account == "card":
        return f"{day:%Y%m%d}{rng.randrange(10**11):011d}"
    return f"THSB{day:%Y%m%d}{rng.randrange(10**8):08d}"
