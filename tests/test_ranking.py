"""Short queries that name a tag are ranked with the tagger's evidence too."""
from __future__ import annotations

import pytest
from conftest import write_photo

from photolens.engine.query import parse_query
from photolens.engine.ranking import TAG_BOOST, tag_term


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


@pytest.mark.e2e
def test_searching_by_a_region_finds_the_photo_that_part_came_from(tmp_path):
    """A collage of two library photos side by side: its left half finds the left photo, its
    right half the right one (built-in model, real photos); the CLI takes --region."""
    from PIL import Image

    from conftest import cli_json, coco_library
    from photolens.engine import Catalog
    from photolens.engine.errors import QueryError

    photos, library = coco_library(tmp_path, 12)
    files = sorted(photos.iterdir())
    left, right = files[2], files[7]
    collage = Image.new("RGB", (1200, 500))
    for i, src in enumerate((left, right)):
        with Image.open(src) as im:
            collage.paste(im.convert("RGB").resize((600, 500)), (600 * i, 0))
    query = tmp_path / "collage.jpg"
    collage.save(query, quality=92)
    with Catalog(library, device="cpu") as cat:
        cat.add_folder(photos)
        cat.index_all()
        assert cat.similar(str(query), k=3, region=(0, 0, 0.5, 1))[0].path == str(left)
        assert cat.similar(str(query), k=3, region=(0.5, 0, 0.5, 1))[0].path == str(right)
        with pytest.raises(QueryError):
            cat.similar(str(query), region=(0.5, 0.5, 0.001, 0.5))
    found = cli_json("similar", query, "--region", "0.5,0,0.5,1", "-n", "3", library=library)
    assert found["results"][0]["path"] == str(right)
