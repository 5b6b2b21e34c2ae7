"""Sample events for the demo, benchmarks and tests: customer support tickets.

Generated with Faker from a fixed seed. Customers repeat across tickets the way they do
in real streams, and some fields hold no personal data at all (ids, statuses,
timestamps, version strings), so both detection and its hard negatives get exercised.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from streamer.errors import DependencyMissingError

_AREA_CODES = (212, 213, 206, 303, 312, 415, 512, 617, 646, 702, 718, 805, 917)
_TEMPLATES = (
    "Hi, this is {name}. Please call me back at {phone} about order {order}.",
    "My card {card} was charged twice for order {order}. Reach me at {email}.",
    "I moved; new address is {address}. My SSN is {ssn} if you need to verify.",
    "Refund to IBAN {iban} please. Ticket opened from {ip}.",
    "Can't log in since app version {version}. My email is {email}, phone {phone}.",
    "Date of birth {dob} is wrong on my account, it should be {dob}. Thanks, {name}",
    "The export at {url} shows someone else's data! Request id {uuid}.",
    "Printer model {part} keeps jamming, serial {serial}. No rush.",
    "Everything works again after the update to {version}, thanks for the help!",
)


def _faker(seed: int) -> Any:
    try:
        from faker import Faker
    except ImportError:
        raise DependencyMissingError("sample events", "faker", "samples") from None
    faker = Faker("en_US")
    faker.seed_instance(seed)
    return faker


def support_tickets(count: int, *, seed: int = 7, customers: int = 500) -> Iterator[dict[str, Any]]:
    """``count`` support-ticket events from ``customers`` distinct customers."""
    faker = _faker(seed)
    rng = random.Random(seed)
    people = [
        {
            "id": f"C{100000 + i}",
            "name": faker.name(),
            "email": faker.email(),
            "phone": rng.choice(
                ["({a}) 555-01{n:02d}", "+1 {a}-555-01{n:02d}", "{a}.555.01{n:02d}"]
            ).format(a=rng.choice(_AREA_CODES), n=rng.randint(0, 99)),
        }
        for i in range(max(1, customers))
    ]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for number in range(count):
        person = rng.choice(people)
        values = {
            "name": person["name"],
            "phone": person["phone"],
            "email": person["email"],
            "order": f"#{rng.randint(100000, 999999)}",
            "card": faker.credit_card_number(
                card_type=rng.choice(["visa16", "mastercard", "amex"])
            ),
            "address": faker.address().replace("\n", ", "),
            "ssn": faker.ssn(),
            "iban": faker.iban(),
            "ip": faker.ipv4_public(),
            "version": f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 40)}",
            "dob": faker.date_of_birth(minimum_age=18, maximum_age=90).strftime("%m/%d/%Y"),
            "url": faker.url() + "account/" + faker.user_name(),
            "uuid": str(faker.uuid4()),
            "part": f"PX-{rng.randint(1000, 9999)}",
            "serial": f"SN{rng.randint(10**7, 10**8 - 1)}",
        }
        yield {
            "ticket_id": f"T-{number:07d}",
            "created_at": (start + timedelta(seconds=17 * number)).isoformat(),
            "status": rng.choice(["open", "pending", "solved"]),
            "priority": rng.choice(["low", "normal", "high"]),
            "customer": {"id": person["id"], "name": person["name"], "email": person["email"]},
            "channel": rng.choice(["email", "chat", "phone"]),
            "message": rng.choice(_TEMPLATES).format(**values),
        }
