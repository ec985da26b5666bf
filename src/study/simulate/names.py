"""Invented display names for simulated contacts: common first and last names, combined at random.

Never real-person data: the combinations are drawn by the seed. Tests use them to check that
reports do not leak names.
"""

from __future__ import annotations

import numpy as np

FIRST = (
    "Anna", "Bernd", "Clara", "Dieter", "Elif", "Felix", "Greta", "Hannes", "Ines", "Jonas",
    "Katrin", "Lukas", "Mara", "Nils", "Olga", "Paul", "Rita", "Stefan", "Tanja", "Uwe",
    "Vera", "Wolfgang", "Yasmin", "Zoe", "Ahmed", "Beatriz", "Chen", "Dario", "Emma", "Farid",
    "Giulia", "Hiro", "Ivana", "Jan", "Karim", "Lena", "Mateo", "Nora", "Omar", "Pia",
)  # fmt: skip
LAST = (
    "Abel", "Brandt", "Conrad", "Dietz", "Ebert", "Falk", "Gerber", "Hahn", "Imhof", "Jansen",
    "Keller", "Lorenz", "Maurer", "Nowak", "Ostermann", "Pohl", "Quast", "Roth", "Seidel",
    "Thiel", "Ulrich", "Vogt", "Winter", "Yilmaz", "Zander", "Berger", "Kaya", "Rossi",
    "Novak", "Silva", "Lindqvist", "Moreau", "Kowalski", "Haas", "Engel", "Brenner",
)  # fmt: skip


def invented_names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` invented "First Last" names."""
    first = rng.integers(0, len(FIRST), n)
    last = rng.integers(0, len(LAST), n)
    return [f"{FIRST[i]} {LAST[j]}" for i, j in zip(first, last, strict=True)]
