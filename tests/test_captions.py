"""Which terms a caption names: the caption tagger's training labels and eval's caption check."""
from __future__ import annotations

import pytest

from photolens.engine.captions import CaptionIndex, caption_patterns, caption_words
from photolens.engine.tagger import vocabulary

VEHICLES = ("bicycle", "motorbike")


@pytest.fixture(scope="module")
def vocab():
    return vocabulary()


@pytest.mark.parametrize("caption, named", [
    ("A man rides a dirt bike over a hill .", {"motorbike"}),
    ("Two boys race their dirt bikes", {"motorbike"}),
    ("A cyclist rides past the crowd", {"bicycle"}),
    ("a girl on a bicycle", {"bicycle"}),
    # "bike" alone is either: it names neither, rather than teach that a motorbike is a bicycle.
    ("A boy jumps his bike", set()),
    ("a man on a motorcycle", {"motorbike"}),
])
def test_bike_words_name_the_vehicle_they_mean(vocab, caption, named):
    index, patterns = CaptionIndex(vocab), caption_patterns(vocab)
    assert index.named(caption) & set(VEHICLES) == named
    # The regular expressions (eval's caption check) agree with the phrase table (training labels).
    assert {t for t in VEHICLES if patterns[t].search(caption.lower())} == named


def test_a_phrase_in_the_caption_words_is_one_phrase_not_two_words(vocab):
    words = caption_words(vocab)
    assert "dirt bike" in words["motorbike"]
    assert "dirt" not in words["motorbike"] and "bike" not in words["motorbike"]
    assert not any("_" in w for ws in words.values() for w in ws)
