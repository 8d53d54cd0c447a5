"""Generic passages for the text null (calibration.py): what a query's cosine with *unrelated* text looks like.

Generated, not shipped: a seeded mix of everyday and technical topics, each passage a few sentences on one
topic, phrased from a small vocabulary written for this file (so nothing here is anyone else's text and
the set is the same on every machine). They are not meant to be read, only to land where real passages
land in a text model's space: short declarative sentences about a subject, a place, a time, an action.
A query about any one topic finds a few passages of its own topic among them; the calibration's robust
statistics (median and spread) are not moved by those few.
"""

from __future__ import annotations

import random

PASSAGES = 1200
SEED = 21

# topic -> (things, actions, qualities): the subject matter of one passage
TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "cooking": (
        ("the soup", "fresh bread", "the oven", "a recipe", "garlic", "the sauce", "olive oil", "rice", "the pan"),
        ("simmers for an hour", "needs more salt", "is served warm", "was baked this morning", "burns easily"),
        ("spicy", "homemade", "crispy", "bitter", "seasonal"),
    ),
    "gardening": (
        ("the roses", "tomato plants", "the hedge", "compost", "seedlings", "the lawn", "a greenhouse", "tulip bulbs"),
        ("need water every day", "were planted in spring", "grow well in shade", "should be pruned in autumn"),
        ("overgrown", "blooming", "dry", "muddy", "green"),
    ),
    "travel": (
        ("the train", "our flight", "the hotel", "a passport", "the ferry", "the border", "a rental car", "luggage"),
        ("was delayed by two hours", "leaves at dawn", "was booked online", "crosses the mountains"),
        ("crowded", "cheap", "comfortable", "remote", "scenic"),
    ),
    "weather": (
        ("the storm", "heavy rain", "fog", "the forecast", "snow", "a heat wave", "strong wind", "the temperature"),
        ("is expected tomorrow", "closed the roads", "dropped below zero", "lasted all week"),
        ("cold", "humid", "mild", "stormy", "clear"),
    ),
    "finance": (
        ("the budget", "interest rates", "the invoice", "a mortgage", "tax returns", "the bank", "savings", "shares"),
        ("rose by three percent", "must be paid by Friday", "were audited last year", "fell sharply"),
        ("annual", "overdue", "quarterly", "fixed", "volatile"),
    ),
    "health": (
        ("the patient", "a vaccine", "the clinic", "blood pressure", "the nurse", "a fever", "sleep", "exercise"),
        ("improved after a week", "was checked twice", "reduces the risk", "requires a prescription"),
        ("chronic", "mild", "healthy", "tired", "routine"),
    ),
    "sport": (
        ("the team", "the match", "a goal", "the coach", "the stadium", "the league", "a marathon", "the referee"),
        ("won in extra time", "trained all season", "was cancelled because of rain", "set a new record"),
        ("fast", "exhausting", "professional", "amateur", "final"),
    ),
    "music": (
        ("the band", "a guitar", "the choir", "an album", "the concert", "the drummer", "a melody", "the piano"),
        ("played until midnight", "was recorded live", "needs tuning", "sold out in minutes"),
        ("loud", "acoustic", "classical", "rhythmic", "quiet"),
    ),
    "history": (
        ("the empire", "an ancient city", "the treaty", "the king", "a battle", "the revolution", "old coins"),
        ("collapsed after a century", "was signed in secret", "changed the borders", "was rebuilt in stone"),
        ("medieval", "ancient", "royal", "forgotten", "colonial"),
    ),
    "science": (
        ("the experiment", "a molecule", "the telescope", "the theory", "cells", "the sample", "a magnetic field"),
        ("was measured in the lab", "confirmed the prediction", "reacts with oxygen", "orbits a distant star"),
        ("precise", "microscopic", "chemical", "theoretical", "unexpected"),
    ),
    "animals": (
        ("the dog", "a cat", "the horse", "wild birds", "a fox", "the cows", "bees", "a whale", "the rabbit"),
        ("sleeps in the barn", "hunts at night", "migrates south in winter", "needs a walk every morning"),
        ("friendly", "wild", "hungry", "shy", "young"),
    ),
    "family": (
        ("my grandmother", "the children", "our neighbours", "a wedding", "the baby", "my brother", "the cousins"),
        ("visited on Sunday", "moved to another town", "celebrated a birthday", "started school this year"),
        ("happy", "busy", "large", "close", "noisy"),
    ),
    "work": (
        ("the meeting", "a deadline", "the manager", "the contract", "a new colleague", "the report", "the office"),
        ("was postponed again", "ends at five", "was signed yesterday", "needs a second review"),
        ("urgent", "weekly", "remote", "formal", "part-time"),
    ),
    "school": (
        ("the teacher", "homework", "the exam", "a lecture", "the library", "students", "the timetable"),
        ("starts at nine", "was graded last week", "covers three chapters", "is open until eight"),
        ("difficult", "optional", "final", "crowded", "short"),
    ),
    "housing": (
        ("the kitchen", "a leaking roof", "the landlord", "new windows", "the heating", "the garage", "the stairs"),
        ("was repaired last winter", "needs painting", "costs too much to fix", "was rented out"),
        ("old", "damp", "spacious", "cosy", "empty"),
    ),
    "shopping": (
        ("the market", "a discount", "the receipt", "new shoes", "the shop", "groceries", "a gift", "the queue"),
        ("closes early on Saturday", "was returned for a refund", "was cheaper online", "sold out quickly"),
        ("expensive", "second-hand", "local", "fresh", "cheap"),
    ),
    "art": (
        ("the painting", "a sculpture", "the gallery", "a sketch", "the museum", "watercolours", "the portrait"),
        ("was restored last year", "hangs in the hall", "was sold at auction", "uses bright colours"),
        ("abstract", "famous", "modern", "fragile", "large"),
    ),
    "film and books": (
        ("the novel", "a film", "the author", "the director", "the last chapter", "a poem", "the sequel"),
        ("was translated into ten languages", "won an award", "ends with a surprise", "was filmed abroad"),
        ("popular", "long", "funny", "dark", "short"),
    ),
    "transport": (
        ("the bus", "a bicycle", "the bridge", "traffic", "the motorway", "a taxi", "the harbour", "the tram"),
        ("was late this morning", "was closed for repairs", "runs every ten minutes", "was stuck for an hour"),
        ("busy", "electric", "slow", "public", "narrow"),
    ),
    "politics": (
        ("the election", "parliament", "the mayor", "a new law", "the minister", "voters", "the council"),
        ("was approved by a narrow margin", "meets on Tuesday", "raised taxes", "promised new schools"),
        ("national", "local", "controversial", "public", "democratic"),
    ),
    "nature": (
        ("the forest", "a river", "the mountains", "the lake", "a waterfall", "the coast", "old oak trees"),
        ("froze last winter", "flooded the valley", "is home to many species", "was protected by law"),
        ("quiet", "steep", "deep", "wild", "rocky"),
    ),
    "software": (
        ("the program", "the server", "a configuration file", "the database", "the compiler", "the library"),
        ("crashed after the update", "reads its settings at start-up", "logs every request", "was rebuilt"),
        ("slow", "open-source", "deprecated", "stable", "experimental"),
    ),
    "computers": (
        ("the laptop", "a keyboard", "the hard disk", "the screen", "the network", "a printer", "the battery"),
        ("stopped working", "was replaced last month", "needs a new driver", "is connected by cable"),
        ("wireless", "broken", "portable", "fast", "external"),
    ),
    "files and systems": (
        ("the directory", "a backup", "the archive", "user accounts", "the kernel", "permissions", "a script"),
        ("is copied every night", "was compressed to save space", "runs as a daemon", "checks the logs"),
        ("hidden", "temporary", "read-only", "default", "remote"),
    ),
    "language": (
        ("the word", "a grammar rule", "the dictionary", "an accent", "the translation", "a dialect", "spelling"),
        ("comes from Latin", "changed over centuries", "is hard to learn", "has two meanings"),
        ("foreign", "formal", "common", "rare", "regional"),
    ),
    "law": (
        ("the court", "a lawyer", "the judge", "the witness", "a fine", "the verdict", "a lawsuit", "the police"),
        ("was appealed", "took three years", "was settled out of court", "was read aloud"),
        ("legal", "fair", "criminal", "civil", "final"),
    ),
    "food and drink": (
        ("coffee", "green tea", "the wine", "a cheese", "fresh fruit", "the restaurant", "chocolate", "the menu"),
        ("tastes better cold", "comes from the south", "was ordered for dinner", "is made by hand"),
        ("sweet", "strong", "local", "organic", "sour"),
    ),
    "space": (
        ("the rocket", "the moon", "a satellite", "the astronauts", "the planet", "a comet", "the space station"),
        ("launched at night", "was visible from Earth", "returned safely", "circles the Earth every day"),
        ("distant", "bright", "frozen", "orbital", "manned"),
    ),
    "clothes": (
        ("a winter coat", "the dress", "wool socks", "the jacket", "a hat", "leather boots", "the uniform"),
        ("was washed too hot", "fits well", "was made by a tailor", "keeps out the rain"),
        ("warm", "elegant", "waterproof", "tight", "colourful"),
    ),
    "energy": (
        ("solar panels", "the power plant", "wind turbines", "the electricity bill", "a battery", "the grid"),
        ("produce more in summer", "was shut down", "rose again this year", "stores energy for the night"),
        ("renewable", "nuclear", "efficient", "cheap", "green"),
    ),
}
COLOURS = ("red", "blue", "green", "yellow", "orange", "purple", "pink", "white", "black", "grey", "brown")
SHAPES = ("circle", "square", "triangle", "star", "heart", "cross", "line", "dot", "arrow", "ring", "box")
# Colours and shapes are an everyday topic too (signs, toys, drawings, clothes): without it, any passage
# naming a coloured shape would stand out from every reference passage for a query naming another one.
TOPICS["drawings"] = (
    tuple(f"a {colour} {shape}" for colour in COLOURS for shape in SHAPES),
    ("was drawn on the board", "hangs on the wall", "is printed on the sign", "was painted by the children"),
    ("small", "bright", "faded", "large", "neat"),
)
PLACES = (
    "in the village",
    "at the station",
    "near the old church",
    "in the city centre",
    "on the island",
    "behind the school",
    "at home",
    "in the north",
    "by the sea",
    "across the valley",
    "at the factory",
)
TIMES = (
    "yesterday",
    "last summer",
    "every morning",
    "in 1998",
    "on Monday",
    "after the holidays",
    "at night",
    "for many years",
    "next week",
    "twice a month",
    "during the war",
    "this year",
)
TEMPLATES = (
    "{Thing} {action}.",
    "{Thing} {action} {time}.",
    "{Place}, {thing} {action}.",
    "Everyone said that {thing} was {quality}.",
    "{Time}, {thing} {action} {place}.",
    "It is {quality}, and {thing} {action}.",
    "We noticed that {thing} {action}.",
    "{Thing} is {quality} {place}.",
    "Nobody expected that {thing} {action} {time}.",
    "According to the notes, {thing} {action}.",
    "{Thing} seemed {quality}, so {other} {action2}.",
)


def passages(count: int = PASSAGES, seed: int = SEED) -> list[str]:
    """`count` passages of one to five sentences, each on one topic; the same list on every machine. A
    quarter are one sentence: titles, notes and a memo's spoken sentence are short, and a short query sits
    closer to a short text on its topic than to a long one."""
    rng = random.Random(seed)
    names = sorted(TOPICS)
    out: dict[str, None] = {}  # insertion-ordered, without repeats
    number = 0
    while len(out) < count:
        things, actions, qualities = TOPICS[names[number % len(names)]]
        number += 1
        sentences = []
        for _ in range(1 if rng.random() < 0.25 else rng.randint(2, 5)):
            thing, other = rng.sample(things, 2)
            values = {
                "thing": thing,
                "other": other,
                "action": rng.choice(actions),
                "action2": rng.choice(actions),
                "quality": rng.choice(qualities),
                "place": rng.choice(PLACES),
                "time": rng.choice(TIMES),
            }
            sentence = rng.choice(TEMPLATES).format(
                **values, **{key.capitalize(): value[:1].upper() + value[1:] for key, value in values.items()}
            )
            sentences.append(sentence)
        out[" ".join(sentences)] = None
    return list(out)
