"""What happens to the people each demo organisation works with, as weighted scenarios.

The coded fields follow from a scenario the way they do in life: a "rescue" raid is coded
Protection, is often followed by arrest, confiscation and, for migrants without papers,
deportation; a flat shared by two workers becomes a third-party charge and an eviction. The
places, currencies and proportions are plausible for where sex-worker-led organisations work;
every organisation, person and event is invented."""

from __future__ import annotations

from dataclasses import dataclass, field

Chance = tuple[tuple[str, float], ...]  # (code, probability it is added)


@dataclass(frozen=True)
class Scenario:
    key: str  # the narrative family in writing.py
    weight: float
    kinds: tuple[str, ...]
    four_p: tuple[str, ...]
    actors: tuple[str, ...]
    settings: tuple[str, ...]  # drawn uniformly: repeat a setting to make it likelier
    instruments: tuple[str | None, ...] = (None,)
    maybe_kinds: Chance = ()
    maybe_four_p: Chance = ()
    maybe_actors: Chance = ()
    groups: Chance = ()  # on top of the organisation's usual groups
    people: tuple[int, int] = (1, 1)
    money: float = 0.0  # scale of a confiscated amount against the profile's usual sum
    days: tuple[int, int] | None = None  # days detained when someone was held


@dataclass(frozen=True)
class Place:
    country: str
    weight: float
    regions: tuple[tuple[str | None, float], ...]  # ISO 3166-2 (or None), weight


@dataclass(frozen=True)
class Profile:
    places: tuple[Place, ...]
    currency: str
    money: tuple[int, int, int]  # low, high, rounded to
    groups: Chance  # the people this organisation usually works with
    scenarios: tuple[Scenario, ...]
    # Months (counted from the first demo month) with more incidents, and how many more.
    surges: dict[int, float] = field(default_factory=dict)
    incidents: int = 120


THAILAND = Profile(
    places=(Place("TH", 1.0, (("TH-10", 0.40), ("TH-20", 0.25), ("TH-50", 0.20),
                              ("TH-83", 0.10), (None, 0.05))),),
    currency="THB", money=(1_500, 60_000, 100),
    groups=(("woman", 0.85), ("trans", 0.12), ("man", 0.04), ("undocumented_migrant", 0.45),
            ("citizen", 0.40), ("documented_migrant", 0.10)),
    surges={4: 1.8, 5: 2.4, 16: 1.7, 17: 2.2},  # operations before the high season
    incidents=130,
    scenarios=(
        Scenario("venue_raid", 26, ("raid",), ("protection",), ("police",), ("venue",) * 4 +
                 ("indoor_private",), ("rescue_operation", "rescue_operation", None),
                 maybe_kinds=(("arrest_detention", 0.7), ("confiscation", 0.6),
                              ("deportation", 0.3), ("forced_rehabilitation", 0.25)),
                 maybe_four_p=(("prosecution", 0.2),),
                 maybe_actors=(("rescue_ngo", 0.5), ("immigration", 0.3)),
                 groups=(("undocumented_migrant", 0.5),), people=(2, 14), money=1.0,
                 days=(1, 10)),
        Scenario("shelter", 9, ("forced_rehabilitation",), ("protection",),
                 ("social_services",), ("venue", "indoor_private"),
                 ("victim_identification",), maybe_kinds=(("status_withdrawal", 0.3),),
                 maybe_actors=(("rescue_ngo", 0.6),), groups=(("undocumented_migrant", 0.6),),
                 people=(1, 6), days=(20, 120)),
        Scenario("street_checks", 18, ("profiling_surveillance",), ("prevention",),
                 ("police",), ("street",), (None, "anti_irregular_migration"),
                 maybe_kinds=(("violence_by_officials", 0.45), ("confiscation", 0.35)),
                 maybe_four_p=(("prosecution", 0.3),), groups=(("trans", 0.2),),
                 people=(1, 3), money=0.1),
        Scenario("condoms_evidence", 8, ("health_harm",), ("prosecution",), ("police",),
                 ("street", "venue"), (None,), maybe_kinds=(("confiscation", 0.5),),
                 maybe_four_p=(("prevention", 0.4),), people=(1, 4), money=0.05),
        Scenario("deportation", 14, ("deportation", "arrest_detention"), ("protection",),
                 ("immigration", "police"), ("venue", "indoor_private", "street"),
                 ("anti_irregular_migration", "voluntary_return"),
                 maybe_four_p=(("prevention", 0.5),), maybe_actors=(("border_guard", 0.2),),
                 groups=(("undocumented_migrant", 1.0),), people=(1, 5), days=(5, 45)),
        Scenario("extortion", 10, ("violence_by_officials",), ("prosecution",), ("police",),
                 ("street", "venue", "indoor_private"), (None,),
                 maybe_kinds=(("confiscation", 0.7),), people=(1, 2), money=0.3),
        Scenario("denied_justice", 6, ("denied_justice",), ("prosecution",), ("police",),
                 ("street", "indoor_private"), (None,),
                 maybe_kinds=(("arrest_detention", 0.3),), people=(1, 1), days=(1, 3)),
        Scenario("hotel_report", 5, ("profiling_surveillance",), ("prevention",),
                 ("hotel_transport_staff", "police"), ("indoor_private",),
                 ("report_suspicions_campaign",), maybe_kinds=(("eviction", 0.4),),
                 people=(1, 2)),
        Scenario("exclusion", 4, ("partnership_exclusion",), ("partnership",),
                 ("rescue_ngo",), ("other",), ("partnership_exclusion",), people=(1, 1)),
    ),
)

BRAZIL = Profile(
    places=(Place("BR", 1.0, (("BR-RJ", 0.40), ("BR-SP", 0.30), ("BR-PA", 0.15),
                              ("BR-BA", 0.10), (None, 0.05))),),
    currency="BRL", money=(120, 9_000, 10),
    groups=(("woman", 0.65), ("trans", 0.35), ("citizen", 0.85), ("man", 0.04),
            ("documented_migrant", 0.08), ("undocumented_migrant", 0.05)),
    surges={9: 1.6, 10: 2.5, 11: 1.8},  # "clean-up" operations before a large event
    incidents=120,
    scenarios=(
        Scenario("building_eviction", 12, ("eviction",), ("prevention",),
                 ("municipality", "police"), ("venue", "indoor_private"),
                 ("third_party_law", None), maybe_kinds=(("violence_by_officials", 0.4),),
                 maybe_four_p=(("prosecution", 0.4),), people=(4, 30)),
        Scenario("police_violence", 22, ("violence_by_officials",), ("prosecution",),
                 ("police",), ("street",) * 3 + ("venue",), (None,),
                 maybe_kinds=(("confiscation", 0.45), ("arrest_detention", 0.2)),
                 groups=(("trans", 0.5),), people=(1, 3), money=0.3, days=(1, 2)),
        Scenario("house_raid", 16, ("raid", "third_party_charge"), ("prosecution",),
                 ("police",), ("venue", "indoor_private"), ("third_party_law",),
                 maybe_kinds=(("confiscation", 0.7), ("arrest_detention", 0.5),
                              ("eviction", 0.3)),
                 maybe_actors=(("prosecutor_court", 0.6),), people=(2, 9), money=1.0,
                 days=(1, 6)),
        Scenario("rescue_operation", 9, ("raid",), ("protection",),
                 ("labour_inspectorate", "police"), ("venue",), ("rescue_operation",),
                 maybe_kinds=(("confiscation", 0.4), ("forced_rehabilitation", 0.3)),
                 maybe_actors=(("rescue_ngo", 0.5),), people=(3, 12), money=0.6),
        Scenario("denied_justice", 12, ("denied_justice",), ("prosecution",), ("police",),
                 ("street", "indoor_private", "online"), (None,),
                 maybe_kinds=(("violence_by_officials", 0.3),), groups=(("trans", 0.4),),
                 people=(1, 1)),
        Scenario("deplatforming", 10, ("deplatforming",), ("prevention",),
                 ("platform_company",), ("online",), ("tech_platform_policy",),
                 maybe_actors=(("bank_payment", 0.5),), people=(1, 3)),
        Scenario("clinic", 7, ("health_harm",), ("prevention",), ("health_service",),
                 ("street", "venue"), (None,), maybe_four_p=(("partnership", 0.3),),
                 groups=(("trans", 0.5),), people=(1, 8)),
        Scenario("custody", 4, ("custody_loss",), ("protection",), ("social_services",),
                 ("street", "indoor_private"), (None,),
                 maybe_four_p=(("prevention", 0.4),), people=(1, 1)),
        Scenario("exclusion", 6, ("partnership_exclusion",), ("partnership",),
                 ("municipality",), ("other",), ("partnership_exclusion",), people=(1, 1)),
    ),
)

FRANCE_SPAIN = Profile(
    places=(Place("FR", 0.7, (("FR-IDF", 0.45), ("FR-ARA", 0.20), ("FR-OCC", 0.15),
                              ("FR-PAC", 0.15), (None, 0.05))),
            Place("ES", 0.3, (("ES-CT", 0.50), ("ES-MD", 0.30), ("ES-AN", 0.15),
                              (None, 0.05)))),
    currency="EUR", money=(150, 12_000, 10),
    groups=(("woman", 0.80), ("trans", 0.15), ("man", 0.05), ("undocumented_migrant", 0.40),
            ("documented_migrant", 0.35), ("asylum_seeker", 0.10), ("citizen", 0.15)),
    surges={13: 1.5, 14: 2.0, 15: 1.6},  # a summer of identity checks
    incidents=110,
    scenarios=(
        Scenario("end_demand", 16, ("profiling_surveillance",), ("prevention",),
                 ("police",), ("street",), ("end_demand_law",),
                 maybe_kinds=(("health_harm", 0.45), ("violence_by_officials", 0.2)),
                 people=(1, 4)),
        Scenario("flat_share", 14, ("third_party_charge",), ("prosecution",),
                 ("police", "prosecutor_court"), ("indoor_private",), ("third_party_law",),
                 maybe_kinds=(("eviction", 0.5), ("confiscation", 0.6),
                              ("arrest_detention", 0.5)),
                 maybe_actors=(("landlord", 0.4),), people=(2, 4), money=1.0, days=(1, 2)),
        Scenario("landlord", 10, ("eviction",), ("prevention",), ("landlord",),
                 ("indoor_private",), ("third_party_law",),
                 maybe_four_p=(("prosecution", 0.4),), people=(1, 3)),
        Scenario("id_check_deportation", 14, ("arrest_detention", "deportation"),
                 ("prevention",), ("police", "immigration"), ("street", "indoor_private"),
                 ("anti_irregular_migration",), maybe_four_p=(("protection", 0.3),),
                 groups=(("undocumented_migrant", 1.0),), people=(1, 2), days=(2, 60)),
        Scenario("residence_conditional", 8, ("status_withdrawal",), ("protection",),
                 ("immigration",), ("street", "indoor_private", "online"),
                 ("cooperation_conditional_residence", "victim_identification"),
                 maybe_actors=(("prosecutor_court", 0.4),), maybe_four_p=(("prosecution", 0.4),),
                 groups=(("documented_migrant", 0.7), ("asylum_seeker", 0.3)), people=(1, 1)),
        Scenario("deplatforming", 9, ("deplatforming",), ("prevention",),
                 ("bank_payment",), ("online",), ("tech_platform_policy",),
                 maybe_actors=(("platform_company", 0.6),), people=(1, 2)),
        Scenario("parlour_raid", 11, ("raid",), ("protection",),
                 ("police", "labour_inspectorate"), ("venue",), ("rescue_operation",),
                 maybe_kinds=(("confiscation", 0.6), ("deportation", 0.35),
                              ("arrest_detention", 0.5)),
                 maybe_actors=(("immigration", 0.35),), groups=(("undocumented_migrant", 0.5),),
                 people=(2, 10), money=0.8, days=(1, 30)),
        Scenario("custody", 4, ("custody_loss",), ("protection",), ("social_services",),
                 ("indoor_private", "street"), (None,), maybe_four_p=(("prevention", 0.5),),
                 people=(1, 1)),
        Scenario("denied_justice", 8, ("denied_justice",), ("prosecution",), ("police",),
                 ("street", "indoor_private"), (None,),
                 maybe_kinds=(("deportation", 0.25),), people=(1, 1)),
        Scenario("exclusion", 5, ("partnership_exclusion",), ("partnership",),
                 ("municipality",), ("other",), ("partnership_exclusion",), people=(1, 1)),
    ),
)
