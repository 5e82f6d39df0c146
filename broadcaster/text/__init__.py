"""Vietnamese text normalisation for broadcast TTS: written official text → spoken words.

Officers write "Ngày 22/12/2024", "57-NQ/TW", "UBND", "17h30", "0912 345 678";
a TTS engine fed that raw text reads fractions, spells acronyms and says phone
numbers as hundreds. ``normalize`` produces what an announcer would say, for
every engine; ``unknown_tokens`` tells ``broadcaster check`` which capitals the
lexicon cannot pronounce; ``split_sentences`` chunks text for the engines.
See docs/NORMALIZATION.md for the reading conventions.
"""

from broadcaster.text.engine import normalize, unknown_tokens
from broadcaster.text.lexicon import Lexicon, LexiconError
from broadcaster.text.sentences import split_sentences

__all__ = ["Lexicon", "LexiconError", "normalize", "split_sentences", "unknown_tokens"]
