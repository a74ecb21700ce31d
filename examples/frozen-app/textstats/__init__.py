# Word and number statistics over text: a small package with submodules,
# frozen into the image by examples/micropython-wasm.toml.
from .words import count_words, longest_word
from .analysis.numbers import mean

__version__ = "1.0"


def summary(text):
    return {"words": count_words(text), "longest": longest_word(text)}
