"""People's names in a population: what counts as a usable name, and which are already taken.

Two names are the same name when they differ only in case, accents or spacing (``"José  Díaz"`` and
``"jose diaz"``): two such people would be told apart by nobody reading a transcript, and
``TinyPerson.get_agent_by_name`` would find only one of them.

Example:
    >>> book = NameBook(["Ana Lima"])
    >>> book.is_taken("ana  LIMA"), book.is_taken("Ana Costa")
    (True, False)
    >>> name_problem("Dr. Who?!\\nreally")
    'a name is one line of text'
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import numpy as np

from tinytroupe.errors import InvalidArgument

#: longest name accepted, in characters
MAX_NAME_CHARS = 80
#: most words a name may have ("Maria da Conceição Ferreira dos Santos" has six)
MAX_NAME_WORDS = 7


def name_key(name: str) -> str:
    """The form names are compared in: accents removed, case folded, spaces collapsed.

    Example:
        >>> name_key("  José   DÍAZ ")
        'jose diaz'
    """
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a person's name, or None when it can.

    Example:
        >>> name_problem("Ana Lima") is None, name_problem("   ")
        (True, 'a name needs at least one letter')
    """
    if "\n" in name or "\r" in name:
        return "a name is one line of text"
    if not any(ch.isalpha() for ch in name):
        return "a name needs at least one letter"
    if len(name.strip()) > MAX_NAME_CHARS:
        return f"a name has at most {MAX_NAME_CHARS} characters"
    if len(name.split()) > MAX_NAME_WORDS:
        return f"a name has at most {MAX_NAME_WORDS} words; give the person's full name only"
    return None


class NameBook:
    """The names already in use (by agents that exist and people generated so far), compared by
    :func:`name_key`, in the order they were added.

    Example:
        >>> book = NameBook()
        >>> book.add("Ana Lima")
        >>> book.recent(5), len(book)
        (['Ana Lima'], 1)
    """

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._keys: set[str] = set()
        self._names: list[str] = []
        for name in names:
            self.add(name)

    def __len__(self) -> int:
        return len(self._names)

    def is_taken(self, name: str) -> bool:
        """Whether a name that is the same as ``name`` (see :func:`name_key`) is in the book."""
        return name_key(name) in self._keys

    def add(self, name: str) -> None:
        """Put ``name`` in the book (a name already there is not added twice)."""
        key = name_key(name)
        if key not in self._keys:
            self._keys.add(key)
            self._names.append(name.strip())

    def recent(self, limit: int) -> list[str]:
        """The last ``limit`` names added (shown to the model as names not to use; all of them would not
        fit a prompt once a population is large, and clashes are caught anyway)."""
        return self._names[-limit:] if limit > 0 else []


#: first and last names from many countries: the offline model's people, and the names drawn for brief
#: personas (``persona_detail="brief"``)
FEMALE_NAMES = ("Ana", "Ines", "Maria", "Sofia", "Leila", "Yuki", "Amara", "Greta", "Chloe", "Priya", "Elena",
                "Nadia", "Lucia", "Freya", "Zainab", "Mei", "Olga", "Rosa", "Aisha", "Clara", "Beatriz", "Camila",
                "Dalia", "Esther", "Fatima", "Hana", "Ingrid", "Jana", "Kamala", "Lena", "Marta", "Noor", "Paula",
                "Rania", "Selma", "Tereza", "Ula", "Vera", "Wanjiru", "Zofia")
MALE_NAMES = ("Rui", "Tomas", "Joao", "Kenji", "Omar", "Lars", "Mateo", "Ibrahim", "Pavel", "Arjun", "Diego",
              "Felix", "Hugo", "Kwame", "Liam", "Nikos", "Samir", "Tariq", "Viktor", "Wei", "Anders", "Bruno",
              "Carlos", "Dmitri", "Emeka", "Farid", "Goran", "Hiro", "Ivan", "Jonas", "Karim", "Luca", "Marek",
              "Nuno", "Oscar", "Pedro", "Rashid", "Stefan", "Tiago", "Yusuf")
LAST_NAMES = ("Silva", "Moreau", "Haddad", "Novak", "Okafor", "Tanaka", "Costa", "Berg", "Rossi", "Kowalski",
              "Mensah", "Fischer", "Duarte", "Ivanova", "Larsen", "Nakamura", "Pereira", "Quinn", "Sato", "Varga",
              "Weber", "Yilmaz", "Zhou", "Andersen", "Barros", "Carvalho", "Dubois", "Eriksen", "Ferreira", "Garcia",
              "Horvat", "Ito", "Jensen", "Kaya", "Lopes", "Marin", "Nilsen", "Oliveira", "Petrov", "Ramos",
              "Santos", "Teixeira", "Uddin", "Vidal", "Wojcik", "Xavier", "Yamamoto", "Zeller", "Abara", "Brandt")


def draw_name(rng: np.random.Generator, book: NameBook, gender: str | None = None) -> str:
    """A full name not in ``book`` (then added to it), drawn with ``rng``: a first name that fits
    ``gender`` when it says female/woman or male/man, and a last name.

    Raises:
        InvalidArgument: every combination is taken already.

    Example:
        >>> book = NameBook()
        >>> name = draw_name(np.random.default_rng(1), book, "female")
        >>> name.split()[0] in FEMALE_NAMES, book.is_taken(name)
        (True, True)
    """
    g = (gender or "").strip().casefold()
    firsts = (FEMALE_NAMES if g.startswith(("f", "w")) else MALE_NAMES if g.startswith("m")
              else FEMALE_NAMES + MALE_NAMES)
    for _ in range(50):
        name = f"{firsts[int(rng.integers(len(firsts)))]} {LAST_NAMES[int(rng.integers(len(LAST_NAMES)))]}"
        if not book.is_taken(name):
            book.add(name)
            return name
    # a crowded book: take the first free combination in a shuffled order, still seeded
    for first in rng.permutation(firsts):
        for last in rng.permutation(LAST_NAMES):
            if not book.is_taken(name := f"{first} {last}"):
                book.add(name)
                return name
    raise InvalidArgument(f"all {len(firsts) * len(LAST_NAMES)} names that fit are taken; use persona_detail='full' "
                          "so the model names the people")


__all__ = ["FEMALE_NAMES", "LAST_NAMES", "MALE_NAMES", "MAX_NAME_CHARS", "MAX_NAME_WORDS", "NameBook", "draw_name",
           "name_key", "name_problem"]
