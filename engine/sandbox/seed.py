"""Deterministic, realistic seed data for the five sandboxes, with deliberate overlaps.

One seeded random "world" of organisations, people and products is drawn first; every system then
takes slices of it, so the same real-world party shows up in several systems the way the merge
rules must find it:

* ERP companies reappear in Invoiced with the same e-mail and ``tax_id`` = org number, with only
  the org number (different e-mail), or with only the e-mail; some reappear in the CRM
  (``OrgNumber``/``Email``) and in Wave (``email``).
* ERP persons reappear as Invoiced ``type: person`` customers, webshop buyers and Wave customers.
* Webshop SKUs overlap ERP ``product_code``s, and some Invoiced item ids are those SKUs.
* People with and without an employer; multi-line orders; names with æøå, é, ü, ß.

``world(scale)`` is a pure function of ``scale`` (same scale → identical data). ``seed_data``
answers ``{system_id: {resource: [records]}}`` in the systems' own shapes; ``seed_system`` resets
a running system and loads its part through ``load_records``.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.sandbox.base import SandboxSystem, iso_z, wave_id
from engine.sandbox.custom import iso_micro

__all__ = ["Org", "Person", "Product", "World", "seed_data", "seed_system", "world"]

Records = dict[str, list[dict[str, Any]]]

BASE_TIME = datetime(2024, 1, 2, 8, 0, tzinfo=UTC)

_FIRST = [
    "Ola",
    "Kari",
    "Åse",
    "Bjørn",
    "Øystein",
    "Ingrid",
    "Sigrún",
    "Håkon",
    "Zoë",
    "René",
    "Émilie",
    "Jürgen",
    "Søren",
    "Märta",
    "Eirik",
    "Nora",
    "Lars",
    "Solveig",
    "Thomas",
    "Maja",
    "Ahmed",
    "Fatima",
    "Jonas",
    "Liv",
    "Tiril",
    "Magnus",
    "Aurora",
    "Sindre",
]
_LAST = [
    "Nordmann",
    "Ødegård",
    "Bråthen",
    "Sæther",
    "Groß",
    "Müller",
    "Lefèvre",
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Berg",
    "Haugen",
    "Dahl",
    "Løvås",
    "Strøm",
    "Aasen",
    "Østby",
    "Kvåle",
    "Nguyen",
    "Khan",
    "Brækhus",
    "Fjærli",
    "Weiß",
]
_WORDS = [
    "Fjord",
    "Nordlys",
    "Bølge",
    "Havbris",
    "Skog",
    "Fjell",
    "Ørn",
    "Mølle",
    "Kløver",
    "Sæter",
    "Brygge",
    "Strand",
    "Lyngen",
    "Vårsol",
    "Tindved",
    "Elvebakken",
    "Måke",
    "Furu",
    "Rypa",
    "Isbre",
    "Kaffebrenneri",
    "Bakeri",
    "Snekkeri",
    "Regnskap",
    "Café",
]
_SUFFIX = ["AS", "AS", "AS", "ASA", "ANS", "DA", "GmbH", "AB"]
_PLACES = [
    ("0150", "Oslo", "NO"),
    ("5003", "Bergen", "NO"),
    ("7010", "Trondheim", "NO"),
    ("4006", "Stavanger", "NO"),
    ("9008", "Tromsø", "NO"),
    ("3015", "Drammen", "NO"),
    ("1606", "Fredrikstad", "NO"),
    ("10115", "Berlin", "DE"),
    ("75001", "Paris", "FR"),
    ("8001", "Zürich", "CH"),
    ("111 20", "Stockholm", "SE"),
]
_STREETS = [
    "Storgata",
    "Kirkegata",
    "Øvre Slottsgate",
    "Bjørnstjerne Bjørnsons gate",
    "Strandveien",
    "Torggata",
    "Hauptstraße",
    "Rue de Rivoli",
    "Drottninggatan",
]
_GOODS = [
    "Kaffe",
    "Te",
    "Kopp",
    "Termos",
    "Sekk",
    "Ullgenser",
    "Lue",
    "Votter",
    "Kart",
    "Lykt",
    "Kniv",
    "Skje",
    "Brødfjøl",
    "Ostehøvel",
    "Sokker",
    "Pledd",
]
_ADJ = ["Blå", "Rød", "Grønn", "Stor", "Liten", "Økologisk", "Klassisk", "Lett", "Crème"]
_SERVICES = ["Konsulenttime", "Installasjon", "Opplæring", "Support", "Frakt", "Service-avtale"]
_CURRENCY = {"NO": "NOK", "SE": "SEK", "DE": "EUR", "FR": "EUR", "CH": "CHF"}


@dataclass(frozen=True)
class Org:
    n: int
    name: str
    org_number: str
    email: str
    phone: str
    website: str
    street: str
    postal_code: str
    city: str
    country: str

    @property
    def currency(self) -> str:
        return _CURRENCY[self.country]


@dataclass(frozen=True)
class Person:
    n: int
    first: str
    last: str
    email: str
    phone: str
    employer: int | None  # index into World.orgs

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class Product:
    n: int
    sku: str
    name: str
    description: str
    price: Decimal
    service: bool


@dataclass(frozen=True)
class World:
    scale: int
    orgs: list[Org]
    persons: list[Person]
    products: list[Product]


def _ascii(text: str) -> str:
    text = text.replace("ø", "o").replace("Ø", "O").replace("æ", "ae").replace("Æ", "Ae")
    text = text.replace("ß", "ss").replace("ü", "ue").replace("ö", "oe").replace("ä", "ae")
    norm = unicodedata.normalize("NFKD", text)
    return "".join(c for c in norm if c.isascii() and (c.isalnum() or c in "-.")).lower()


def _org_number(rng: random.Random) -> str:
    """A 9-digit Norwegian organisation number with a valid MOD11 check digit."""
    while True:
        digits = [rng.randint(8, 9)] + [rng.randint(0, 9) for _ in range(7)]
        rest = sum(d * w for d, w in zip(digits, (3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
        check = 0 if rest == 0 else 11 - rest
        if check != 10:
            return "".join(map(str, digits)) + str(check)


def world(scale: int) -> World:
    """The shared cast of every seed at ``scale`` (60·N orgs, 100·N people, 50·N products)."""
    n = max(scale, 0)
    rng = random.Random(f"engine-sandbox-seed:{n}")
    orgs: list[Org] = []
    taken: set[str] = set()
    for i in range(60 * n):
        name = f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {rng.choice(_SUFFIX)}"
        while name in taken:
            name = f"{name.rsplit(' ', 1)[0]} {len(taken) % 97} {name.rsplit(' ', 1)[1]}"
        taken.add(name)
        domain = _ascii(name.rsplit(" ", 1)[0].replace(" ", "-")) + (".no" if i % 7 else ".com")
        postal, city, country = _PLACES[0 if i % 5 == 0 else rng.randrange(len(_PLACES))]
        orgs.append(
            Org(
                i,
                name,
                _org_number(rng),
                f"post@{domain}",
                f"+47 {rng.randint(20000000, 99999999)}",
                f"https://www.{domain}",
                f"{rng.choice(_STREETS)} {rng.randint(1, 120)}",
                postal,
                city,
                country,
            )
        )
    persons = []
    for i in range(100 * n):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        employer = rng.randrange(len(orgs)) if orgs and i % 5 < 3 else None
        email = f"{_ascii(first)}.{_ascii(last)}{i}@" + (
            orgs[employer].email.split("@")[1] if employer is not None else "example.net"
        )
        persons.append(
            Person(i, first, last, email, f"+47 {rng.randint(40000000, 49999999)}", employer)
        )
    products: list[Product] = []
    for i in range(50 * n):
        service = i % 6 == 5
        name = (
            f"{rng.choice(_SERVICES)} {i}"
            if service
            else f"{rng.choice(_ADJ)} {rng.choice(_GOODS).lower()} {i}"
        )
        price = Decimal(rng.randint(2, 400) * 25) / Decimal(4 if service else 10)
        products.append(
            Product(
                i,
                f"SKU-{10001 + i}",
                name.capitalize() if service else name,
                f"{name} — levert fra lager i Norge",
                price.quantize(Decimal("0.01")),
                service,
            )
        )
    return World(n, orgs, persons, products)


def _at(k: int) -> datetime:
    return BASE_TIME + timedelta(minutes=17 * k)


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def seed_data(scale: int) -> dict[str, Records]:
    """Every system's seed records at ``scale`` (pure: same scale → identical data)."""
    w = world(scale)
    rng = random.Random(f"engine-sandbox-orders:{scale}")
    return {
        "customerp": _erp(w, rng),
        "invoiced": _invoiced(w, rng),
        "customwebshop": _webshop(w, rng),
        "customcrm": _crm(w, rng),
        "wave": _wave(w, rng),
    }


def seed_system(system: SandboxSystem, scale: int) -> None:
    """Reset ``system`` and load its seed records (resources in dependency order)."""
    records = seed_data(scale).get(system.system_id, {})
    system.reset()
    for resource in system.resources:
        if resource in records:
            system.load_records(resource, records[resource])


# ---- per-system builders: slices of the world in each system's own shapes ------------------


def _employees(w: World, org: int) -> list[Person]:
    return [p for p in w.persons if p.employer == org]


def _erp_person_customers(w: World) -> list[Person]:
    return [p for p in w.persons[: 40 * w.scale] if p.employer is None][: 10 * w.scale]


def _lines(rng: random.Random, products: list[Product], most: int = 4) -> list[Product]:
    return rng.sample(products, k=min(len(products), rng.randint(1, most)))


def _erp(w: World, rng: random.Random) -> Records:
    n = w.scale
    customers: list[dict[str, Any]] = []
    for org in w.orgs[: 25 * n]:
        staff = _employees(w, org.n)
        created, updated = stamps_iso(org.n)
        customers.append(
            {
                "id": len(customers) + 1,
                "type": "company",
                "name": org.name,
                "org_number": org.org_number,
                "vat_number": f"NO{org.org_number}MVA" if org.country == "NO" else None,
                "email": org.email,
                "phone": org.phone,
                "website": org.website,
                "contact_person": {
                    "first_name": staff[0].first,
                    "last_name": staff[0].last,
                    "email": staff[0].email,
                    "phone": None,
                    "mobile": staff[0].phone,
                }
                if staff
                else None,
                "invoice_address": {
                    "line1": org.street,
                    "line2": None,
                    "city": org.city,
                    "region": None,
                    "postal_code": org.postal_code,
                    "country": org.country,
                },
                "delivery_address": None,
                "currency": org.currency,
                "payment_terms_days": 30 if org.n % 3 else 14,
                "credit_limit": float(50000 + 1000 * (org.n % 50)),
                "language": "nb" if org.country == "NO" else "en",
                "is_active": True,
                "notes": None,
                "created_at": created,
                "updated_at": updated,
            }
        )
    for p in _erp_person_customers(w):
        created, updated = stamps_iso(1000 + p.n)
        customers.append(
            {
                "id": len(customers) + 1,
                "type": "person",
                "name": p.name,
                "email": p.email,
                "phone": p.phone,
                "currency": "NOK",
                "payment_terms_days": 14,
                "is_active": True,
                "invoice_address": {
                    "line1": f"{_STREETS[p.n % 6]} {p.n % 90 + 1}",
                    "line2": None,
                    "city": _PLACES[p.n % 7][1],
                    "region": None,
                    "postal_code": _PLACES[p.n % 7][0],
                    "country": "NO",
                },
                "created_at": created,
                "updated_at": updated,
            }
        )
    contacts: list[dict[str, Any]] = []
    employed = [
        (p, p.employer) for p in w.persons if p.employer is not None and p.employer < 25 * n
    ]
    for p, employer in employed[: 30 * n]:
        created, updated = stamps_iso(2000 + p.n)
        contacts.append(
            {
                "id": len(contacts) + 1,
                "customer_id": employer + 1,
                "first_name": p.first,
                "last_name": p.last,
                "email": p.email,
                "phone": p.phone,
                "created_at": created,
                "updated_at": updated,
            }
        )
    products: list[dict[str, Any]] = []
    for pr in w.products[: 30 * n]:
        created, updated = stamps_iso(3000 + pr.n)
        products.append(
            {
                "id": pr.n + 1,
                "product_code": pr.sku,
                "name": pr.name,
                "description": pr.description,
                "product_type": "service" if pr.service else "goods",
                "unit": "hours" if pr.service else "pcs",
                "sales_price": float(pr.price),
                "cost_price": float((pr.price * Decimal("0.6")).quantize(Decimal("0.01"))),
                "currency": "NOK",
                "vat_rate": 25,
                "ean": None if pr.service else f"70{pr.n:011d}",
                "income_account": "3000",
                "is_active": True,
                "created_at": created,
                "updated_at": updated,
            }
        )
    orders: list[dict[str, Any]] = []
    for i in range(40 * n):
        cust = customers[rng.randrange(len(customers))]
        created, updated = stamps_iso(4000 + i)
        lines = [
            {
                "line_no": k + 1,
                "product_id": pr.n + 1,
                "description": pr.name,
                "quantity": rng.randint(1, 5),
                "unit": "hours" if pr.service else "pcs",
                "unit_price": float(pr.price),
                "discount_percent": 10 if k == 2 else 0,
                "vat_rate": 25,
            }
            for k, pr in enumerate(_lines(rng, w.products[: 30 * n]))
        ]
        orders.append(
            {
                "id": i + 1,
                "customer_id": cust["id"],
                "order_date": date_str(i),
                "due_date": date_str(i + 14),
                "customer_reference": f"PO-{7000 + i}",
                "our_reference": "Salg",
                "currency": cust["currency"],
                "payment_terms_days": cust["payment_terms_days"],
                "status": ("draft", "confirmed", "confirmed", "invoiced")[i % 4],
                "lines": lines,
                "notes": None,
                "created_at": created,
                "updated_at": updated,
            }
        )
    return {"customers": customers, "contacts": contacts, "products": products, "orders": orders}


def _invoiced(w: World, rng: random.Random) -> Records:
    n = w.scale
    customers: list[dict[str, Any]] = []
    for i, org in enumerate([*w.orgs[: 10 * n], *w.orgs[25 * n : 35 * n]]):
        shared = org.n < 10 * n
        mode = i % 3 if shared else 0  # 0: e-mail + tax id, 1: tax id only, 2: e-mail only
        created, updated = stamps_unix(org.n)
        customers.append(
            {
                "id": len(customers) + 1,
                "name": org.name,
                "type": "company",
                "email": f"faktura@{org.email.split('@')[1]}" if mode == 1 else org.email,
                "tax_id": None if mode == 2 else org.org_number,
                "phone": org.phone,
                "address1": org.street,
                "city": org.city,
                "postal_code": org.postal_code,
                "country": org.country,
                "currency": org.currency.lower(),
                "payment_terms": "NET 30" if org.n % 3 else "NET 14",
                "language": "nb",
                "metadata": {},
                "created_at": created,
                "updated_at": updated,
            }
        )
    others = [p for p in w.persons[40 * n :] if p.employer is None][: 5 * n]
    for p in [*_erp_person_customers(w)[: 5 * n], *others]:
        created, updated = stamps_unix(1000 + p.n)
        customers.append(
            {
                "id": len(customers) + 1,
                "name": p.name,
                "type": "person",
                "email": p.email,
                "phone": p.phone,
                "country": "NO",
                "currency": "nok",
                "payment_terms": "NET 14",
                "created_at": created,
                "updated_at": updated,
            }
        )
    by_org = {c["name"]: c["id"] for c in customers if c["type"] == "company"}
    contacts: list[dict[str, Any]] = []
    for org in [*w.orgs[: 10 * n], *w.orgs[25 * n : 35 * n]]:
        for k, p in enumerate(_employees(w, org.n)[:2]):
            created, updated = stamps_unix(2000 + p.n)
            contacts.append(
                {
                    "id": len(contacts) + 1,
                    "customer": by_org[org.name],
                    "name": p.name,
                    "email": p.email,
                    "phone": p.phone,
                    "title": "Daglig leder" if k == 0 else "Regnskap",
                    "primary": k == 0,
                    "created_at": created,
                    "updated_at": updated,
                }
            )
    contacts = contacts[: 20 * n]
    items: list[dict[str, Any]] = []
    for k, pr in enumerate(
        [*w.products[: 8 * n], *w.products[30 * n : 34 * n], *w.products[45 * n : 50 * n]]
    ):
        created, updated = stamps_unix(3000 + pr.n)
        items.append(
            {
                "id": None if pr.n >= 45 * n else pr.sku,
                "name": pr.name,
                "description": pr.description,
                "unit_cost": float(pr.price),
                "currency": "nok",
                "type": "service" if pr.service else "product",
                "created_at": created + k,
                "updated_at": updated + k,
            }
        )
    catalog = [it for it in items if it["id"] is not None]
    invoices: list[dict[str, Any]] = []
    for i in range(30 * n):
        cust = customers[rng.randrange(len(customers))]
        created, updated = stamps_unix(4000 + i)
        lines = [
            {
                "catalog_item": it["id"],
                "name": it["name"],
                "quantity": rng.randint(1, 4),
                "unit_cost": it["unit_cost"],
                "type": it["type"],
            }
            for it in rng.sample(catalog, k=min(len(catalog), rng.randint(1, 3)))
        ]
        if i % 4 == 3:
            lines.append({"name": "Frakt", "quantity": 1, "unit_cost": 99, "type": "service"})
        invoices.append(
            {
                "id": i + 1,
                "customer": cust["id"],
                "currency": cust["currency"],
                "date": created,
                "payment_terms": cust["payment_terms"],
                "draft": i % 7 == 0,
                "sent": i % 7 != 0 and i % 2 == 0,
                "purchase_order": f"PO-{8000 + i}",
                "notes": "Takk for handelen!",
                "items": lines,
                "created_at": created,
                "updated_at": updated,
            }
        )
    return {"customers": customers, "contacts": contacts, "items": items, "invoices": invoices}


def _shop_address(w: World, p: Person) -> dict[str, Any]:
    org = w.orgs[p.employer] if p.employer is not None else None
    postal, city, country = (
        _PLACES[p.n % 7] if org is None else (org.postal_code, org.city, org.country)
    )
    street = org.street if org else f"{_STREETS[p.n % 6]} {p.n % 90 + 1}"
    return {
        "address_1": street,
        "address_2": None,
        "city": city,
        "state": None,
        "postcode": postal,
        "country": country,
    }


def _webshop(w: World, rng: random.Random) -> Records:
    n = w.scale
    customers: list[dict[str, Any]] = []
    for p in [*_erp_person_customers(w)[: 5 * n], *w.persons[40 * n : 65 * n]]:
        org = w.orgs[p.employer] if p.employer is not None and p.n % 2 == 0 else None
        created, updated = stamps_iso(1000 + p.n)
        address = _shop_address(w, p)
        customers.append(
            {
                "id": len(customers) + 1,
                "email": p.email,
                "first_name": p.first,
                "last_name": p.last,
                "company_name": org.name if org else None,
                "vat_number": f"NO{org.org_number}MVA" if org and org.country == "NO" else None,
                "phone": p.phone,
                "billing": address,
                "shipping": address if p.n % 3 else None,
                "accepts_marketing": p.n % 4 == 0,
                "created_at": created,
                "updated_at": updated,
            }
        )
    products: list[dict[str, Any]] = []
    for pr in w.products[10 * n : 35 * n]:
        created, updated = stamps_iso(3000 + pr.n)
        food = any(word in pr.name.lower() for word in ("kaffe", "te "))
        products.append(
            {
                "id": len(products) + 1,
                "sku": pr.sku,
                "name": pr.name,
                "description": f"<p>{pr.description}</p>",
                "short_description": pr.name,
                "regular_price": _money(pr.price),
                "sale_price": _money(pr.price * Decimal("0.8")) if pr.n % 9 == 0 else None,
                "status": "draft" if pr.n % 13 == 0 else "publish",
                "type": "service" if pr.service else "physical",
                "tax_class": "reduced" if food else "standard",
                "stock_quantity": None if pr.service else 10 + pr.n % 40,
                "weight": None if pr.service else 0.25 + (pr.n % 8) / 4,
                "created_at": created,
                "updated_at": updated,
            }
        )
    orders: list[dict[str, Any]] = []
    for i in range(40 * n):
        cust = customers[rng.randrange(len(customers))]
        created, updated = stamps_iso(4000 + i)
        picks = rng.sample(range(len(products)), k=min(len(products), rng.randint(1, 4)))
        lines = [
            {
                "product_id": products[k]["id"],
                "name": products[k]["name"],
                "quantity": rng.randint(1, 3),
                "price": products[k]["regular_price"],
                "discount": "0.00",
            }
            for k in picks
        ]
        status = ("completed", "processing", "pending", "completed", "cancelled")[i % 5]
        orders.append(
            {
                "id": i + 1,
                "customer_id": cust["id"],
                "status": status,
                "currency": "NOK",
                "billing": cust["billing"],
                "shipping": cust["shipping"] or cust["billing"],
                "line_items": lines,
                "shipping_total": "79.00" if i % 3 else "0.00",
                "customer_note": "Ring på dørklokka" if i % 6 == 0 else None,
                "payment_method": ("card", "vipps", "invoice")[i % 3],
                "paid_at": created if status == "completed" else None,
                "created_at": created,
                "updated_at": updated,
            }
        )
    return {"customers": customers, "products": products, "orders": orders}


def _crm(w: World, rng: random.Random) -> Records:
    n = w.scale
    customers: list[dict[str, Any]] = []
    for org in [*w.orgs[5 * n : 15 * n], *w.orgs[35 * n : 45 * n]]:
        created, updated = stamps_iso(org.n)
        customers.append(
            {
                "Id": f"ACC{len(customers) + 1:06d}",
                "Name": org.name,
                "StreetAddress1": org.street,
                "StreetAddress2": None,
                "City": org.city,
                "ZipCode": org.postal_code,
                "Country": org.country,
                "Phone": org.phone,
                "Email": org.email,
                "Fax": None,
                "Website": org.website,
                "Description": f"Kunde siden {2010 + org.n % 14}",
                "OrgNumber": org.org_number,
                "AccountNumber": str(10001 + org.n) if org.n < 25 * n else None,
                "Currency": org.currency,
                "PaymentTerms": "NET 30",
                "ParentCustomerId": None,
                "LifecycleStage": ("customer", "customer", "prospect", "lead")[org.n % 4],
                "OwnerUserId": f"USR{1 + org.n % 3:03d}",
                "CreatedAt": created,
                "UpdatedAt": updated,
            }
        )
    ids = {c["Name"]: c["Id"] for c in customers}
    contacts: list[dict[str, Any]] = []
    staff = [p for p in w.persons if p.employer is not None and w.orgs[p.employer].name in ids]
    private = [p for p in w.persons[70 * n :] if p.employer is None][: 5 * n]
    for p in [*staff[: 25 * n], *private]:
        created, updated = stamps_iso(2000 + p.n)
        contacts.append(
            {
                "Id": f"CON{len(contacts) + 1:06d}",
                "CustomerId": ids[w.orgs[p.employer].name] if p.employer is not None else None,
                "FirstName": p.first,
                "LastName": p.last,
                "Email": p.email,
                "Phone": None,
                "Mobile": p.phone,
                "JobTitle": "Innkjøper" if p.n % 2 else "Daglig leder",
                "Department": None,
                "IsPrimary": p.n % 3 == 0,
                "StreetAddress1": None,
                "StreetAddress2": None,
                "City": None,
                "ZipCode": None,
                "Country": None,
                "Description": None,
                "CreatedAt": created,
                "UpdatedAt": updated,
            }
        )
    products: list[dict[str, Any]] = []
    for pr in [*w.products[20 * n : 28 * n], *w.products[45 * n : 48 * n]]:
        created, updated = stamps_iso(3000 + pr.n)
        products.append(
            {
                "Id": f"PRD{len(products) + 1:06d}",
                "Sku": pr.sku if pr.n < 45 * n else None,
                "Name": pr.name,
                "Description": pr.description,
                "UnitPrice": float(pr.price),
                "Currency": "NOK",
                "ProductType": "service" if pr.service else "product",
                "Taxable": True,
                "IsActive": True,
                "CreatedAt": created,
                "UpdatedAt": updated,
            }
        )
    orders: list[dict[str, Any]] = []
    for i in range(20 * n):
        created, updated = stamps_iso(4000 + i)
        contact = contacts[rng.randrange(len(contacts))]
        lines = []
        for k in rng.sample(range(len(products)), k=min(len(products), rng.randint(1, 3))):
            qty, price = rng.randint(1, 5), Decimal(str(products[k]["UnitPrice"]))
            lines.append(
                {
                    "ProductId": products[k]["Id"],
                    "Name": products[k]["Name"],
                    "Quantity": qty,
                    "UnitPrice": float(price),
                    "DiscountAmount": 0,
                    "TaxAmount": float((qty * price / 4).quantize(Decimal("0.01"))),
                }
            )
        orders.append(
            {
                "Id": f"ORD{i + 1:06d}",
                "Title": f"Ordre {i + 1}",
                "CustomerId": contact["CustomerId"],
                "ContactId": contact["Id"],
                "Status": ("open", "invoiced", "paid", "draft")[i % 4],
                "OrderDate": date_str(i),
                "DueDate": date_str(i + 30),
                "Currency": "NOK",
                "CustomerReference": f"REF-{i + 1}",
                "Lines": lines,
                "IsPaid": i % 4 == 2,
                "Description": None,
                "CreatedAt": created,
                "UpdatedAt": updated,
            }
        )
    return {"customers": customers, "contacts": contacts, "products": products, "orders": orders}


def _wave_address(street: str | None, city: str, postal: str, country: str) -> dict[str, Any]:
    return {
        "addressLine1": street,
        "addressLine2": None,
        "city": city,
        "provinceCode": None,
        "countryCode": country,
        "postalCode": postal,
    }


def _wave(w: World, rng: random.Random) -> Records:
    n = w.scale
    customers: list[dict[str, Any]] = []
    for org in [*w.orgs[: 8 * n], *w.orgs[45 * n : 53 * n]]:
        staff = _employees(w, org.n)
        created, updated = stamps_wave(org.n)
        address = _wave_address(org.street, org.city, org.postal_code, org.country)
        customers.append(
            {
                "id": wave_id("Customer", len(customers) + 1),
                "name": org.name,
                "firstName": staff[0].first if staff else None,
                "lastName": staff[0].last if staff else None,
                "displayId": f"K-{len(customers) + 1:04d}",
                "email": org.email,
                "phone": org.phone,
                "mobile": staff[0].phone if staff else None,
                "website": org.website,
                "internalNotes": None,
                "currency": org.currency,
                "address": address,
                "shippingDetails": {
                    "name": org.name,
                    "phone": org.phone,
                    "instructions": "Leveres i resepsjonen",
                    "address": address,
                }
                if org.n % 4 == 0
                else None,
                "isArchived": False,
                "createdAt": created,
                "modifiedAt": updated,
            }
        )
    for p in _erp_person_customers(w)[: 4 * n]:
        created, updated = stamps_wave(1000 + p.n)
        place = _PLACES[p.n % 7]
        customers.append(
            {
                "id": wave_id("Customer", len(customers) + 1),
                "name": p.name,
                "firstName": p.first,
                "lastName": p.last,
                "displayId": f"K-{len(customers) + 1:04d}",
                "email": p.email,
                "phone": None,
                "mobile": p.phone,
                "website": None,
                "internalNotes": "Privatkunde",
                "currency": "NOK",
                "address": _wave_address(None, place[1], place[0], "NO"),
                "shippingDetails": None,
                "isArchived": False,
                "createdAt": created,
                "modifiedAt": updated,
            }
        )
    products: list[dict[str, Any]] = []
    for pr in w.products[: 12 * n]:
        created, updated = stamps_wave(3000 + pr.n)
        products.append(
            {
                "id": wave_id("Product", pr.n + 1),
                "name": pr.name,
                "description": pr.description,
                "unitPrice": _money(pr.price),
                "incomeAccountId": wave_id("Account", 2 if pr.service else 1),
                "expenseAccountId": None,
                "isSold": True,
                "isBought": False,
                "isArchived": False,
                "createdAt": created,
                "modifiedAt": updated,
            }
        )
    invoices: list[dict[str, Any]] = []
    for i in range(20 * n):
        cust = customers[rng.randrange(len(customers))]
        created, updated = stamps_wave(4000 + i)
        items = [
            {
                "productId": p["id"],
                "description": p["name"],
                "quantity": str(rng.randint(1, 4)),
                "unitPrice": p["unitPrice"],
            }
            for p in rng.sample(products, k=min(len(products), rng.randint(1, 3)))
        ]
        invoices.append(
            {
                "id": wave_id("Invoice", i + 1),
                "customerId": cust["id"],
                "invoiceNumber": str(i + 1),
                "poNumber": f"PO-{9000 + i}",
                "title": "Faktura",
                "invoiceDate": date_str(i),
                "dueDate": date_str(i + 14),
                "currency": cust["currency"],
                "memo": "Betales til konto 1234.56.78903",
                "status": "DRAFT" if i % 5 == 0 else "SAVED",
                "items": items,
                "createdAt": created,
                "modifiedAt": updated,
            }
        )
    return {"customers": customers, "products": products, "invoices": invoices}


def date_str(k: int) -> str:
    return (date(2024, 1, 2) + timedelta(days=k % 300)).isoformat()


def stamps_iso(k: int) -> tuple[str, str]:
    return iso_micro(_at(k)), iso_micro(_at(k) + timedelta(days=k % 9, seconds=k))


def stamps_unix(k: int) -> tuple[int, int]:
    created = int(_at(k).timestamp())
    return created, created + 3600 * (k % 11)


def stamps_wave(k: int) -> tuple[str, str]:
    return iso_z(_at(k)), iso_z(_at(k) + timedelta(hours=k % 13))
