"""Text corpora for language modelling: named datasets, the embedded default, any text path.

Every corpus becomes three integer id streams (train, valid, test) over one vocabulary taken
from the training split (``<unk>`` is added only when valid or test hold a token training
never saw), with its provenance: where it came from, its size and sha256.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.registry import did_you_mean
from tasks.base import SPLITS, TaskError
from tasks.datafiles import Source, data_root, locate, sha256_of

log = logging.getLogger(__name__)

_PTB_URL = "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"
_WT2_URL = "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip"
_SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)


@dataclass(frozen=True)
class Named:
    """A standard corpus: its folder in the data folder, files, checksums and sources."""

    level: str  # what the metrics count: "char" (bits per character) or "word" (perplexity)
    folder: str
    files: dict[str, tuple[str, str, Source]]  # split -> (file name, sha256, source)
    description: str
    spelled: bool = True  # tokens are whitespace-separated, one <eos> per line


def _ptb(kind: str, shas: tuple[str, str, str]) -> dict[str, tuple[str, str, Source]]:
    names = {s: f"ptb{kind}.{s}.txt" for s in SPLITS}
    return {
        s: (names[s], sha, Source(_PTB_URL, f"./simple-examples/data/{names[s]}"))
        for s, sha in zip(SPLITS, shas)
    }


NAMED: dict[str, Named] = {
    "ptb": Named(
        "word",
        "ptb",
        _ptb(
            "",
            (
                "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
                "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
                "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
            ),
        ),
        "Penn Treebank, Mikolov's 10k-word version (Marcus et al. 1993; Mikolov et al. 2010)",
    ),
    "ptb-char": Named(
        "char",
        "ptb",
        _ptb(
            ".char",
            (
                "e313d91425e06c4f0a8fb6e881dcce0c291f2a0e9f4dda54833069b122f91da9",
                "21661f63ec355085879458b6524644d4add5573541b4be14fb52ab2e2e995eb8",
                "1ef5607ac3c463b16e38bfe7900dd3bfc91de5a96e0f21e7eab5188b465b8ebe",
            ),
        ),
        "Penn Treebank, character level (50 symbols with end of line)",
    ),
    "wikitext-2": Named(
        "word",
        "wikitext-2",
        {
            s: (f"wiki.{s}.tokens", sha, Source(_WT2_URL, f"wikitext-2/wiki.{s}.tokens"))
            for s, sha in zip(
                SPLITS,
                (
                    "9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f",
                    "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8",
                    "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0",
                ),
            )
        },
        "WikiText-2 v1, tokenized (Merity et al. 2016)",
    ),
    "tinyshakespeare": Named(
        "char",
        "tinyshakespeare",
        {
            "all": (
                "input.txt",
                "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                Source(_SHAKESPEARE_URL),
            )
        },
        "Tiny Shakespeare (Karpathy 2015), split 90/5/5 in order",
        spelled=False,
    ),
}
EMBEDDED = "pysrc"
LEVELS = ("char", "word")
SPLIT_SHARES = (0.90, 0.05, 0.05)  # for a single text without its own split


@dataclass
class Corpus:
    """Id streams per split, the vocabulary, and where the text came from."""

    name: str
    level: str
    vocab: list[str]
    ids: dict[str, np.ndarray]
    source: dict[str, object] = field(default_factory=dict)


def default_level(corpus: str) -> str:
    return NAMED[corpus].level if corpus in NAMED else "char"


def load(corpus: str, level: str | None, data_dir: str | None) -> Corpus:
    """Load a named corpus, the embedded ``pysrc``, or a UTF-8 text file or folder."""
    level = level or default_level(corpus)
    if level not in LEVELS:
        raise TaskError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    if corpus in NAMED:
        if level != NAMED[corpus].level:
            raise TaskError(
                f"corpus {corpus!r} is {NAMED[corpus].level}-level; drop level= "
                f"or use {'ptb-char' if corpus == 'ptb' else 'a text path'}"
            )
        root = data_root(data_dir)  # resolved here: HARNESS_DATA is part of the cache key
        return _load_named(corpus, str(root) if root is not None else None)
    if corpus == EMBEDDED:
        return _load_embedded(level)
    path = Path(corpus).expanduser()
    if not path.exists():
        known = sorted([*NAMED, EMBEDDED])
        hint = did_you_mean(corpus, known, n=2)
        hint = f"{hint} " if hint else ""
        raise TaskError(
            f"unknown corpus {corpus!r}: not a name ({', '.join(known)}) nor an "
            f"existing file or folder; {hint}give a name or a path to UTF-8 text"
        )
    texts, source = _read_path(path)
    return _from_texts(str(path), level, _split_in_order("".join(texts)), source, level == "word")


@functools.lru_cache(maxsize=2)
def _load_embedded(level: str) -> Corpus:
    """``pysrc``; read once per process (a grid builds the task for every run)."""
    text, source = python_sources()
    return _from_texts(EMBEDDED, level, split_by_files(text), source, level == "word")


@functools.lru_cache(maxsize=4)
def _load_named(corpus: str, data_dir: str | None) -> Corpus:
    spec = NAMED[corpus]
    texts, files = {}, {}
    for split, (name, sha, src) in spec.files.items():
        path = locate(spec.folder, name, sha, src, data_dir)
        got = sha256_of(path)
        if got != sha:
            log.warning(
                "%s differs from the standard file (sha256 %s, expected %s)", path, got, sha
            )
        texts[split] = _read_text(path)
        files[name] = {"path": str(path), "sha256": got}
    if "all" in texts:
        texts = _split_in_order(texts["all"])
    return _from_texts(
        corpus,
        spec.level,
        texts,
        {"corpus": corpus, "files": files, "description": spec.description},
        spelled=spec.spelled,
    )


def _read_text(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise TaskError(
            f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); "
            "convert it to UTF-8 or leave it out"
        ) from None
    except OSError as error:
        raise TaskError(f"cannot read {path}: {error.strerror}") from None
    return text


def _read_path(path: Path) -> tuple[list[str], dict[str, object]]:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    texts = [_read_text(p) for p in files]
    if not any(t.strip() for t in texts):
        raise TaskError(f"{path} holds no text; give a non-empty UTF-8 file or folder")
    data = "".join(texts).encode()
    return texts, {
        "corpus": str(path),
        "files": len(files),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def python_sources() -> tuple[list[str], dict[str, object]]:
    """The top-level modules of this interpreter's standard library, sorted by name."""
    root = Path(sysconfig.get_paths()["stdlib"])
    texts = []
    for path in sorted(root.glob("*.py")):
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, OSError):
            continue
    if not texts:
        raise TaskError(f"no Python sources found in {root}; use another corpus")
    data = "".join(texts).encode()
    return texts, {
        "corpus": EMBEDDED,
        "root": str(root),
        "files": len(texts),
        "python": sys.version.split()[0],
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def split_by_files(texts: list[str]) -> dict[str, str]:
    """Whole files to each split: every 20th file (from the 19th) to valid, the next to test."""
    parts: dict[str, list[str]] = {s: [] for s in SPLITS}
    for k, text in enumerate(texts):
        parts[{18: "valid", 19: "test"}.get(k % 20, "train")].append(text)
    return {s: "".join(parts[s]) for s in SPLITS}


def _split_in_order(text: str) -> dict[str, str]:
    a = int(len(text) * SPLIT_SHARES[0])
    b = a + int(len(text) * SPLIT_SHARES[1])
    return {"train": text[:a], "valid": text[a:b], "test": text[b:]}


def _tokens(text: str, spelled: bool) -> list[str]:
    """Spelled text: whitespace tokens plus ``<eos>`` per line, as the usual PTB loaders do
    (PTB's character files spell each character as such a token); else every character."""
    if not spelled:
        return list(text)
    lines = text.split("\n")  # not splitlines(): it also breaks at \f, \x1c, \u2028...
    if lines and not lines[-1].strip():  # what follows the last line break is no line
        lines.pop()
    return [tok for line in lines for tok in (*line.split(), "<eos>")]


def _from_texts(
    name: str, level: str, texts: dict[str, str], source: dict[str, object], spelled: bool
) -> Corpus:
    if not texts["train"].strip():
        raise TaskError(f"corpus {name!r} has an empty training split; give more text")
    tokens = {s: _tokens(texts[s], spelled) for s in SPLITS}
    vocab = sorted(set(tokens["train"]))
    index = {tok: k for k, tok in enumerate(vocab)}
    if any(tok not in index for s in ("valid", "test") for tok in set(tokens[s])):
        if "<unk>" not in index:
            index["<unk>"] = len(vocab)
            vocab.append("<unk>")
    unk = index.get("<unk>", -1)
    if len(vocab) < 2:
        raise TaskError(
            f"corpus {name!r} has a vocabulary of {len(vocab)}; a language model "
            "needs at least 2 distinct tokens"
        )
    ids = {
        s: np.fromiter((index.get(t, unk) for t in tokens[s]), dtype=np.int64, count=len(tokens[s]))
        for s in SPLITS
    }
    for s in ("valid", "test"):
        if len(ids[s]) < 2:
            raise TaskError(f"corpus {name!r}: the {s} split is empty; give more text")
    source = {**source, "tokens": {s: int(len(ids[s])) for s in SPLITS}, "vocab": len(vocab)}
    return Corpus(name, level, vocab, ids, source)
