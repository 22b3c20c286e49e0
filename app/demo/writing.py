"""The sealed tier of demo incidents: narratives, places, officers, what was taken, support,
people (aliases only) and case-study drafts, written from the incident's scenario.

Everything here is invented and says so: aliases are code words, places are generic ("a
rented flat, Lyon"), no officer, unit or operation is named, and every narrative ends by
saying it is a fictional demo record."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from typing import Any

CITIES = {
    "TH-10": "Bangkok", "TH-20": "Pattaya", "TH-50": "Chiang Mai", "TH-83": "Phuket",
    "BR-RJ": "Rio de Janeiro", "BR-SP": "São Paulo", "BR-PA": "Belém", "BR-BA": "Salvador",
    "FR-IDF": "Paris", "FR-ARA": "Lyon", "FR-OCC": "Toulouse", "FR-PAC": "Marseille",
    "ES-CT": "Barcelona", "ES-MD": "Madrid", "ES-AN": "Seville",
}
ALIASES = ("Cardamom", "Pebble", "Lantern", "Kite", "Ember", "Nutmeg", "Fern", "Comet",
           "Moss", "Sparrow", "Clove", "Tamarind", "Quartz", "Harbour", "Juniper", "Mango",
           "Cinder", "Lagoon", "Thistle", "Marble", "Pepper", "Otter", "Cobalt", "Acorn",
           "Drizzle", "Bramble", "Ripple", "Sesame", "Galaxy", "Minnow")
PLACES = {
    "venue": ("a massage parlour on a side street", "a karaoke bar near the market",
              "a small club above a shop", "a bar by the bus station"),
    "indoor_private": ("a rented flat", "a room in a guesthouse", "a shared apartment",
                       "a studio flat two workers share"),
    "street": ("the usual stretch near the ring road", "a street behind the station",
               "the park road where the outreach van stops"),
    "online": ("online: an advertising site and a messaging app",),
    "other": ("the organisation's office, and meetings with officials",),
    "unknown": ("not known",),
}
TIMES = {"venue": (21, 2), "indoor_private": (18, 1), "street": (22, 4), "online": (9, 18),
         "other": (9, 17), "unknown": (10, 20)}

NARRATIVES: dict[str, tuple[str, ...]] = {
    "venue_raid": (
        "Police and people from an anti-trafficking NGO came into {place} late at night, "
        "saying it was a rescue. {n} workers were taken to the station in one van. {alias} "
        "says nobody asked whether they wanted help; they were asked about their papers.",
        "A raid on {place}. Officers filmed everyone, took the cash from the rooms and read "
        "out a list of names from a tip-off. {alias} and {other} spent the night in a cell.",
    ),
    "shelter": (
        "After being identified as a 'victim', {alias} was placed in a government shelter and "
        "could not leave, call family or work. {alias} says they never said they were "
        "trafficked; they wanted to go back to work and send money home.",
        "{alias} was held in a shelter 'for protection' after a raid. Phone taken, visits "
        "only with staff present. The outreach team could see them once.",
    ),
    "street_checks": (
        "Officers stopped {alias} and {other} three nights in a row for ID checks and "
        "photographed them. They now work further out, where it is darker and less safe.",
        "A patrol checked everyone on {place} and wrote down names. {alias} was told they "
        "would be reported to immigration next time.",
    ),
    "condoms_evidence": (
        "Police searched {alias}'s bag and took the condoms 'as evidence'. The outreach "
        "team hears that others now carry fewer condoms.",
    ),
    "deportation": (
        "{alias} was stopped, held at the immigration detention centre and sent back across "
        "the border. No interpreter; the papers {alias} signed were not explained.",
        "After an ID check {alias} was detained and pressed to sign up for 'voluntary "
        "return'. The outreach team lost contact after the transfer.",
    ),
    "extortion": (
        "An officer told {alias} to pay or be arrested, and kept the money. It has "
        "happened before; {alias} does not want to complain, afraid of losing the room.",
    ),
    "denied_justice": (
        "{alias} was robbed by a client and went to report it. The officer asked about the "
        "work instead and threatened a fine. The robbery was never recorded.",
        "{alias} tried to report an assault. At the station {alias} was asked for papers "
        "and left without filing anything.",
    ),
    "hotel_report": (
        "Hotel staff called the police about {alias}, following a 'report your suspicions' "
        "poster. Officers questioned {alias} in the lobby; the hotel asked them to leave.",
    ),
    "exclusion": (
        "Our organisation was left out of the local anti-trafficking meeting again. The "
        "invitation went to a rescue NGO only; our request to speak was not answered.",
        "A funder asked us to sign a pledge against sex work to keep our health grant. We "
        "did not sign; the grant ends this year.",
    ),
    "building_eviction": (
        "The city and police cleared the building where {n} people lived and "
        "worked, saying it was a brothel. Belongings went into a truck; {alias} lost their "
        "documents.",
        "A notice came one morning and the door was sealed in the afternoon. {alias} and "
        "{other} now sleep at friends' places.",
    ),
    "police_violence": (
        "Two officers stopped {alias} on {place}, insulted them, pushed them against the car "
        "and took the night's money. It was the second time this month.",
        "{alias} was beaten during a 'routine check'. The outreach team went with them to "
        "the clinic.",
    ),
    "house_raid": (
        "Police raided {place} and charged {alias}, who pays the rent, with running a "
        "brothel. The {n} people who share it were questioned and their savings taken.",
        "A raid under the third-party law: {alias} and {other} were taken in and the money "
        "in the house was kept 'as evidence'.",
    ),
    "rescue_operation": (
        "Labour inspectors and police came to {place} saying they were looking for "
        "trafficking victims. Nobody was identified as a victim; the place was closed.",
    ),
    "deplatforming": (
        "{alias}'s advertising account and the account used to screen clients were closed "
        "without warning, and a payment account was frozen.",
        "The site {alias} used for ads removed every profile in the city. Clients are now "
        "met without screening.",
    ),
    "clinic": (
        "The clinic that ran the evening session for sex workers closed it after a change in "
        "funding rules. {alias} and others have no other place to get tested.",
    ),
    "custody": (
        "Social services came after a neighbour's report that {alias} sells sex and opened "
        "a case about their child. Nothing else was alleged.",
    ),
    "end_demand": (
        "Since the police started fining clients on {place}, workers see clients further out "
        "and in cars. {alias} was hurt by a client there was no time to talk to first.",
        "Officers watch {place} to catch clients and stop workers to ask who they meet. "
        "{alias} now works alone, away from the others.",
    ),
    "flat_share": (
        "{alias} and {other} shared a flat for safety. Police charged {alias} with "
        "'procuring' because {alias} paid the rent; their savings were taken.",
        "Two workers sharing the same flat were arrested; the one whose name is on the "
        "lease was charged as a third party. The landlord ended the lease.",
    ),
    "landlord": (
        "The landlord ended {alias}'s lease after a letter from the police about 'renting to "
        "prostitutes'. {alias} has two weeks to leave.",
    ),
    "id_check_deportation": (
        "{alias} was stopped in an ID check, held in the detention centre and given an order "
        "to leave the country. Their lawyer appealed.",
        "After a check near {place}, {alias} spent weeks in detention and was deported. The "
        "outreach team kept their belongings.",
    ),
    "residence_conditional": (
        "{alias}'s residence permit depended on testifying in a case. When {alias} would not, "
        "the permit was not renewed.",
        "{alias} was told the permit would be renewed only if {alias} stopped sex work and "
        "joined an exit programme.",
    ),
    "parlour_raid": (
        "Police and labour inspectors raided {place}. {n} workers were questioned, cash was "
        "taken and those without papers were handed to immigration.",
    ),
}
SUPPORT = (
    "Went with them to the station; called the lawyer we work with.",
    "Follow-up visit next week; food parcel and phone credit given.",
    "Referred to the legal clinic; an appeal is being prepared.",
    "Peer support group twice since; health check arranged.",
    "Helped find a room for the first nights; we keep in touch weekly.",
    "Documented for our shadow report; the person wants no complaint filed for now.",
)
CONTACTS = ("through the drop-in centre", "via the outreach team", "ask the coordinator",
            "through a peer educator", None)
CASE_STUDIES = {
    "venue_raid": "During a 'rescue' raid on a workplace, several workers were held "
                  "overnight and their earnings kept as evidence. None was asked what help "
                  "they wanted; those without papers were handed to immigration.",
    "house_raid": "Women who shared a house for safety were raided under a third-party law. "
                  "The one who paid the rent was charged with running a brothel and the "
                  "others lost their savings.",
    "flat_share": "Two workers shared a flat so that neither worked alone. Police charged the "
                  "one on the lease as a third party, and the landlord ended the lease.",
    "id_check_deportation": "A migrant worker stopped in an identity check spent weeks in "
                            "detention and was deported, although they had asked for help "
                            "with a violent client days before.",
    "end_demand": "Since clients are fined, workers meet them in hidden places and have no "
                  "time to screen them. One worker was hurt by a client they could not check.",
    "police_violence": "A worker on the street was stopped, hit and robbed of "
                       "the night's earnings by officers during a routine check.",
    "building_eviction": "A building where sex workers lived and worked was "
                         "cleared as a brothel. They lost their homes, belongings and "
                         "documents in one afternoon.",
    "shelter": "A worker identified as a 'victim' after a raid was kept in a shelter for "
               "weeks, without a phone, though they wanted to go back to work.",
}
CLOSING = "Fictional record made for the Collateral demo."


def money(amount: Decimal) -> str:
    return f"{amount:,.0f}" if amount == amount.to_integral() else f"{amount:,.2f}"


def _date_in(month: str, today: date, rng: random.Random) -> date:
    year, number = map(int, month.split("-"))
    last = 28 if (year, number) != (today.year, today.month) else max(1, min(28, today.day))
    return date(year, number, rng.randint(1, last))


def _officers(actors: list[str], rng: random.Random) -> str | None:
    parts = []
    if "police" in actors:
        parts.append(f"About {rng.randint(2, 12)} officers, some in plain clothes; no badge "
                     "numbers seen.")
    if "immigration" in actors:
        parts.append("Immigration officers came later with a list.")
    if "labour_inspectorate" in actors:
        parts.append("Two labour inspectors with a police escort.")
    if "rescue_ngo" in actors:
        parts.append("Staff of an anti-trafficking NGO came with them.")
    if "border_guard" in actors:
        parts.append("Handed to border police at the crossing.")
    return " ".join(parts) or None


def sealed_fields(scenario: str, coded: dict[str, Any], today: date,
                  rng: random.Random) -> dict[str, Any]:
    """The sealed-field object incident-form.js would seal for this incident."""
    alias, other = rng.sample(ALIASES, 2)
    city = CITIES.get(coded["region"] or "", "a smaller town")
    place = rng.choice(PLACES[coded["work_setting"]])
    text = rng.choice(NARRATIVES[scenario]).format(
        alias=alias, other=other, n=coded["people_affected"], place=place)
    text = text[0].upper() + text[1:]
    start, end = TIMES[coded["work_setting"]]
    hour = (start + rng.randint(0, (end - start) % 24)) % 24
    taken = None
    if coded["amount_confiscated"] is not None:
        phones = rng.randint(0, 3)
        taken = (f"Cash: {money(coded['amount_confiscated'])} {coded['currency']}"
                 + (f"; {phones} phone{'s' if phones > 1 else ''}" if phones else "")
                 + ". Nothing was given back; no receipt.")
    people = [{"alias": alias, "role": "affected person", "contact": rng.choice(CONTACTS)}]
    if coded["people_affected"] > 1 or rng.random() < 0.3:
        people.append({"alias": other, "role": rng.choice(("co-worker", "witness")),
                       "contact": rng.choice(CONTACTS)})
    days = coded["days_detained"]
    narrative = text + (f" Held for {days} day{'s' if days != 1 else ''}." if days else "")
    return {
        "narrative": f"{narrative}\n\n{CLOSING}",
        "exact_date": _date_in(coded["month"], today, rng).isoformat(),
        "exact_time": f"{hour:02d}:{rng.choice((0, 15, 30, 45)):02d}",
        "place": f"{place[0].upper()}{place[1:]}, {city} (invented for the demo)",
        "officers": _officers(coded["actors"], rng),
        "taken": taken,
        "support": rng.choice(SUPPORT),
        "case_study_draft": CASE_STUDIES.get(scenario) if coded["case_study"] else None,
        "people": people,
        "attachments": None,
    }


def published_text(scenario: str) -> str | None:
    """The de-identified excerpt a coordinator publishes (no date, place or alias)."""
    draft = CASE_STUDIES.get(scenario)
    return f"{draft} (Demo case study: fictional.)" if draft else None
