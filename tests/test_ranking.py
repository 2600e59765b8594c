"""Short queries that name a tag are ranked with the tagger's evidence too."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import write_photo

from photolens.engine.query import parse_query
from photolens.engine.hintstore import TagHints, top_hints
from photolens.engine.ranking import HINT_BOOST, TAG_BOOST, tag_evidence, tag_term


def _library(tmp_path, catalog, n=6):
    folder = tmp_path / "p"
    for i in range(n):
        write_photo(folder / f"{i}.jpg", color=(30 * i, 200 - 25 * i, 80 + 10 * i), noise=8, seed=i)
    catalog.add_folder(folder)
    catalog.index_all()
    return [catalog.photo_id(str(folder / f"{i}.jpg")) for i in range(n)]


def test_a_short_query_naming_a_tag_is_recognised(tmp_path, catalog):
    ids = _library(tmp_path, catalog)
    catalog.add_tag(ids[0], "pizza")
    store = catalog.store
    assert tag_term(parse_query("pizza"), store) == "pizza"
    assert tag_term(parse_query("a photo of pizzas"), store) == "pizza"
    assert tag_term(parse_query("pizza on a table by the window"), store) is None  # a sentence
    assert tag_term(parse_query("pizza + beach"), store) is None
    assert tag_term(parse_query("sushi"), store) is None  # no photo has it


def test_tagged_photos_rise_and_a_removed_tag_counts_for_nothing(tmp_path, catalog):
    _library(tmp_path, catalog)
    plain_results = catalog.search("zebra", k=6)
    plain = [r.id for r in plain_results]
    last = plain[-1]
    catalog.add_tag(last, "zebra")  # the user says the photo the joint space liked least shows one
    boosted = catalog.search("zebra", k=6)
    before = {r.id: r.score for r in plain_results}
    after = {r.id: r.score for r in boosted}
    assert after[last] == pytest.approx(before[last] + TAG_BOOST, abs=1e-4)  # a user tag scores 1
    assert all(after[i] == pytest.approx(before[i], abs=1e-4) for i in plain if i != last)
    assert [r.id for r in boosted].index(last) < plain.index(last)
    catalog.remove_tag(last, "zebra")
    assert [r.id for r in catalog.search("zebra", k=6)] == plain


def test_search_hints_are_kept_per_photo_best_first_and_go_with_the_photo(tmp_path, catalog):
    ids = _library(tmp_path, catalog, n=4)
    hints = TagHints(catalog.store)
    with catalog.store.transaction():
        hints.replace([(ids[0], [("cat", 0.31), ("sofa", 0.2)]), (ids[1], [("cat", 0.8)]), (ids[2], [("dog", 0.5)])])
    assert list(hints.scores("cat", 10).items()) == [(ids[1], 0.8), (ids[0], 0.31)]
    assert hints.has("sofa") and not hints.has("zebra") and hints.scores("zebra", 5) == {}
    assert tag_term(parse_query("cats"), catalog.store) == "cat"  # a hint is enough to name a term
    with catalog.store.transaction():
        hints.replace([(ids[0], [("dog", 0.4)])])  # a retag replaces a photo's hints
    assert hints.of_photo(ids[0]) == {"dog": 0.4} and list(hints.scores("cat", 10)) == [ids[1]]
    catalog.remove_folder(str(tmp_path / "p"))
    assert hints.scores("dog", 10) == {}  # gone with their photos


def test_hints_rank_a_short_query_and_the_users_word_wins(tmp_path, catalog):
    ids = _library(tmp_path, catalog, n=5)
    plain = {r.id: r.score for r in catalog.search("zebra", k=5)}
    with catalog.store.transaction():
        TagHints(catalog.store).replace([(ids[3], [("zebra", 0.6)]), (ids[4], [("zebra", 0.2)])])
    assert tag_evidence(catalog.store, "zebra") == {ids[3]: pytest.approx(0.6 * HINT_BOOST),
                                                    ids[4]: pytest.approx(0.2 * HINT_BOOST)}
    after = {r.id: r.score for r in catalog.search("zebra", k=5)}
    assert after[ids[3]] == pytest.approx(plain[ids[3]] + 0.6 * HINT_BOOST, abs=1e-3)
    assert after[ids[0]] == pytest.approx(plain[ids[0]], abs=1e-4)
    catalog.add_tag(ids[0], "zebra")
    assert tag_evidence(catalog.store, "zebra")[ids[0]] == HINT_BOOST  # the user's tag counts in full
    catalog.remove_tag(ids[3], "zebra")  # the user says it is no zebra: its hint no longer counts
    assert ids[3] not in tag_evidence(catalog.store, "zebra")


def test_top_hints_keep_the_best_terms_the_user_allows():
    words = ["cat", "dog", "sofa", "tree"]
    probs = np.array([[0.9, 0.0002, 0.4, 0.1]])
    assert sorted(top_hints(probs, words, k=3)[0]) == [("cat", 0.9), ("sofa", 0.4), ("tree", 0.1)]
    allowed = np.array([False, True, True, True])  # "never suggest cat"
    assert sorted(top_hints(probs, words, allowed, k=2)[0]) == [("sofa", 0.4), ("tree", 0.1)]
    assert top_hints(probs, words, k=4)[0][-1:] != [("dog", 0.0002)]  # below a thousandth: nothing


@pytest.mark.e2e
def test_searching_by_a_region_finds_the_photo_that_part_came_from(tmp_path):
    """A collage of two library photos side by side: its left half finds the left photo, its
    right half the right one (built-in model, real photos); the CLI takes --region."""
    from conftest import cli_json, coco_library, collage
    from photolens.engine import Catalog
    from photolens.engine.errors import QueryError

    photos, library = coco_library(tmp_path, 12)
    files = sorted(photos.iterdir())
    left, right = files[2], files[7]
    query = collage(left, right, tmp_path / "collage.jpg")
    with Catalog(library, device="cpu") as cat:
        cat.add_folder(photos)
        cat.index_all()
        assert cat.similar(str(query), k=3, region=(0, 0, 0.5, 1))[0].path == str(left)
        assert cat.similar(str(query), k=3, region=(0.5, 0, 0.5, 1))[0].path == str(right)
        with pytest.raises(QueryError):
            cat.similar(str(query), region=(0.5, 0.5, 0.001, 0.5))
    found = cli_json("similar", query, "--region", "0.5,0,0.5,1", "-n", "3", library=library)
    assert found["results"][0]["path"] == str(right)
