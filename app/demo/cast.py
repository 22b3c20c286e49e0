"""Who is in the demo: three invented organisations (each name ends in "(demo)" so it cannot
be taken for a real one), their members, a collective, its analyst and a researcher. E-mail
addresses use the reserved `.example` domain (RFC 2606), so no mail can reach anyone."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from .scenarios import BRAZIL, FRANCE_SPAIN, THAILAND, Profile


@dataclass(frozen=True)
class Person:
    name: str  # a pseudonym, as members often use
    email: str
    role: str  # coordinator | outreach | analyst | researcher


@dataclass(frozen=True)
class DemoOrg:
    name: str
    profile: Profile
    coordinator: Person
    members: tuple[Person, ...]  # invited by the coordinator, in this order


ORGS = (
    DemoOrg("Rim Nam Workers' Circle (demo)", THAILAND,
            Person("Marigold", "marigold@rimnam.example", "coordinator"),
            (Person("Tamarind", "tamarind@rimnam.example", "outreach"),
             Person("Kestrel", "kestrel@rimnam.example", "analyst"))),
    DemoOrg("Coletivo Ipê Amarelo (demo)", BRAZIL,
            Person("Jabuticaba", "jabuticaba@ipe-amarelo.example", "coordinator"),
            (Person("Maracujá", "maracuja@ipe-amarelo.example", "outreach"),)),
    DemoOrg("Lucioles Migrant Workers' Collective (demo)", FRANCE_SPAIN,
            Person("Coquelicot", "coquelicot@lucioles.example", "coordinator"),
            (Person("Mistral", "mistral@lucioles.example", "outreach"),
             # The collective's analyst; the network's secretariat sits with Lucioles.
             Person("Heron", "heron@tidewater.example", "analyst"))),
)
COLLECTIVE = "Tidewater Demo Network"
COLLECTIVE_ANALYST = "heron@tidewater.example"
# Invited by Rim Nam's coordinator; asks for and gets an anonymised extract.
RESEARCHER = Person("Quill", "quill@university.example", "researcher")

# Short, common words: five of them make a passphrase of about 37 bits, easy to type. Enough
# for a demo behind Argon2id; real members choose their own on the registration page.
_WORD_LIST = (
    "acorn amber anchor apple arrow aspen autumn badge bamboo basil beacon berry birch "
    "blanket bloom breeze brick bridge bronze brook bucket butter cabin cactus candle canoe "
    "canyon carpet cedar chalk cherry cliff cloud clover cobble comet copper coral cotton "
    "crane creek crystal daisy delta desert dune eagle echo elbow ember fable falcon feather "
    "fern fiddle field flame flint forest fossil fountain garden garnet ginger glacier grape "
    "gravel harbor hazel heron hill honey island ivory jacket jasmine jelly jungle kettle "
    "kiwi ladder lagoon lantern lemon lilac linen lotus maple marble meadow melon mint "
    "mirror moss mountain nectar needle noodle oasis ocean olive orbit orchid otter paddle "
    "panda paper parrot pebble pepper pillow pine planet plum pond poppy prairie pumpkin "
    "quartz quill rabbit raven reef ribbon ridge river robin rocket saddle sage salmon "
    "sand scarf shell silver slate sparrow spice spruce squirrel stone straw summit "
    "sunset swan table teapot thistle thunder tiger timber tulip tunnel turtle valley "
    "velvet violet walnut willow window winter yarrow zebra")
WORDS = tuple(_WORD_LIST.split())


def passphrase(words: int = 5) -> str:
    return " ".join(secrets.choice(WORDS) for _ in range(words))
