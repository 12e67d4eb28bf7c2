"""Readable three-word file names such as ``brave-lions-dance``."""

from __future__ import annotations

import random
from pathlib import Path

ADJECTIVES: tuple[str, ...] = (
    "bold", "brave", "bright", "calm", "clever", "cold", "cool", "curly", "cute",
    "dry", "eager", "early", "empty", "fair", "fancy", "fast", "few", "fluffy", "fresh",
    "funny", "gentle", "giant", "good", "great", "green", "happy", "heavy", "honest", "hot",
    "jolly", "kind", "late", "lazy", "light", "little", "loud", "lucky", "mighty", "modern",
    "neat", "nice", "old", "orange", "polite", "proud", "purple", "quick", "quiet", "rare",
    "red", "rich", "shaggy", "shiny", "short", "silly", "slow", "small", "smart",
    "soft", "sour", "spicy", "strong", "sweet", "tall", "tame", "tasty", "thick", "tidy",
    "tiny", "tough", "warm", "wet", "wild", "wise", "witty", "young",
)  # fmt: skip

NOUNS: tuple[str, ...] = (
    "ants", "apes", "apples", "badgers", "bats", "bears", "beds", "bees", "birds", "boats",
    "books", "buses", "cameras", "carrots", "cars", "cats", "chairs", "clouds", "cobras",
    "coins", "cooks", "cows", "crabs", "cups", "deer", "dingos", "dodos", "dogs", "donkeys",
    "doors", "dragons", "ducks", "eagles", "eels", "eggs", "falcons", "ferrets", "fans",
    "files", "fishes", "flies", "foxes", "frogs", "geese", "goats", "hats",
    "hornets", "horses", "islands", "jars", "kangaroos", "keys", "kids", "kings", "kiwis",
    "lamps", "laws", "lemons", "lions", "lizards", "llamas", "maps", "mice", "monkeys",
    "moles", "moons", "moose", "numbers", "owls", "pans", "parks", "pears", "pens", "pigs",
    "planes", "plants", "poets", "queens", "rabbits", "rats", "rivers", "roses", "seals",
    "sheep", "shirts", "snails", "socks", "spiders", "squids", "stars", "swans", "tables",
    "teachers", "tigers", "toes", "toys", "trains", "trees", "turtles", "walls", "waves",
    "windows", "wolves", "worms", "zebras",
)  # fmt: skip

VERBS: tuple[str, ...] = (
    "accept", "act", "add", "admire", "agree", "allow", "appear", "argue", "arrive", "ask",
    "attend", "bake", "bathe", "beam", "begin", "behave",
    "boil", "bow", "brake", "breathe", "brush", "build", "burn", "buy", "call", "camp",
    "care", "carry", "change", "check", "cheer", "chew", "clap", "clean", "cough",
    "count", "cover", "crash", "cross", "cry", "dance", "decide", "deliver",
    "develop", "drive", "drop", "eat", "end", "explain", "fail", "fetch", "film", "fix",
    "float", "fly", "fold", "give", "glow", "grab", "greet", "grin", "grow", "guess", "hammer",
    "hang", "happen", "heal", "hear", "help", "hide", "hope", "hug", "hunt", "invent", "jam",
    "jog", "joke", "judge", "juggle", "jump", "kick", "kneel", "knock", "know",
    "laugh", "lay", "lead", "learn", "leave", "lick", "listen", "live", "look",
    "love", "march", "matter", "melt", "move", "obey", "occur", "own", "pay",
    "peel", "perform", "play", "poke", "pretend", "promise", "protect", "provide", "pull",
    "push", "raise", "relate", "relax", "remain", "repair", "report", "rescue",
    "retire", "rest", "return", "rhyme", "ring", "roll", "rule", "run", "rush", "say",
    "search", "sell", "serve", "shake", "share", "shave", "shine", "shop", "shout",
    "sing", "sink", "sip", "sit", "sleep", "slide", "smash", "smell", "smile",
    "sneeze", "sniff", "sort", "speak", "spend", "stand", "stare", "study",
    "swim", "switch", "talk", "taste", "teach", "tease", "tell", "thank", "think", "tickle",
    "tie", "touch", "travel", "trade", "train", "try", "turn", "type", "unite", "vanish",
    "visit", "wait", "walk", "warn", "wash", "watch", "wave", "whisper", "win", "wink",
    "wonder", "work", "worry", "yawn", "yell",
)  # fmt: skip


def readable_name(rng: random.Random) -> str:
    """Three random words, e.g. ``brave-lions-dance``."""
    return f"{rng.choice(ADJECTIVES)}-{rng.choice(NOUNS)}-{rng.choice(VERBS)}"


def unique_readable_name(directory: Path, rng: random.Random, suffix: str = ".md") -> str:
    """A readable name with no existing ``<name><suffix>`` file in ``directory``."""
    for _ in range(100):
        name = readable_name(rng)
        if not (directory / f"{name}{suffix}").exists():
            return name
    # Practically unreachable with ~1.6 million combinations; a counter still guarantees it.
    base = readable_name(rng)
    counter = 2
    while (directory / f"{base}-{counter}{suffix}").exists():
        counter += 1
    return f"{base}-{counter}"
