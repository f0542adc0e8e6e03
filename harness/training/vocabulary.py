"""Text and a language model's token ids, both ways: the prime a user types, read with the
vocabulary the model was trained on, and the sampled ids written back as text.

A character-level model's tokens are characters; a word-level model's are the words of
whitespace-separated text, with ``<eos>`` ending each line (as ``tasks.corpora`` reads a
spelled corpus), so a sample's ``<eos>`` becomes a line break again.
"""

from __future__ import annotations

EOS = "<eos>"  # tasks.corpora's end of a line in a spelled corpus


def tokens_of(text: str, level: str) -> list[str]:
    """``text`` as the model's tokens: its characters, or its words and line ends."""
    if level == "char":
        return list(text)
    lines = text.split("\n")
    words: list[str] = []
    for k, line in enumerate(lines):
        words += line.split()
        if k < len(lines) - 1:
            words.append(EOS)
    return words


def encode(text: str, vocabulary: list[str], level: str) -> list[int]:
    """The ids of ``text``'s tokens; a token outside the vocabulary is a ValueError that
    names every one of them."""
    index = {token: k for k, token in enumerate(vocabulary)}
    tokens = tokens_of(text, level)
    unknown = sorted({t for t in tokens if t not in index})
    if unknown:
        kind = "characters" if level == "char" else "words"
        raise ValueError(
            f"the prime has {kind} outside the model's vocabulary of "
            f"{len(vocabulary)}: {', '.join(map(repr, unknown))}"
        )
    return [index[t] for t in tokens]


def decode(ids: list[int], vocabulary: list[str], level: str) -> str:
    """The text of token ``ids``: characters joined, or words joined by spaces, ``<eos>``
    ending a line."""
    tokens = [vocabulary[k] for k in ids]
    if level == "char":
        return "".join("\n" if t == EOS else t for t in tokens)
    lines, line = [], []
    for token in tokens:
        if token == EOS:
            lines.append(" ".join(line))
            line = []
        else:
            line.append(token)
    return "\n".join([*lines, " ".join(line)])


def default_prime(vocabulary: list[str]) -> list[int]:
    """Where a sample starts when no prime is given: a line break (a new line of text) where
    the vocabulary has one, else its first token."""
    for start in ("\n", EOS):
        if start in vocabulary:
            return [vocabulary.index(start)]
    return [0]
