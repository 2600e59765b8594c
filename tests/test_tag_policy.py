"""Never offend: the policy on synthetic scores (always runs), its data files, and the audit
over every photo with people in the shared sets (fails on any hit)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, dataset, needs_builtin
from photolens.engine.shown_tags import ShownTags
from photolens.engine.tag_audit import audit, load_audit_terms, shows_people
from photolens.engine.tag_policy import (NEVER, OVERWHELMING, OVERWHELMING_RULE, SensitiveTerms,
                                         load_sensitive_terms)
from photolens.engine.tag_terms import MergePlan, TermMap, TermThresholds, load_term_map

DATA = ROOT / "models" / "data"
WORDS = ["person", "monkey", "dog", "toilet", "tree", "whippet", "sand bar", "sandbar", "beach"]
POLICY = SensitiveTerms({"primates": (NEVER, frozenset({"monkey"})),
                         "animals": (OVERWHELMING_RULE, frozenset({"dog", "whippet"})),
                         "bathroom": (OVERWHELMING_RULE, frozenset({"toilet"}))})
TERMS = TermMap({"sand bar": "sandbar"}, {"whippet": "dog"})


def shown(rows: list[dict], thresholds: TermThresholds | None = None) -> list[dict[str, float]]:
    """Tags shown (score >= 0.5) for photos given as {term: raw probability}."""
    raw = np.array([[r.get(w, 0.01) for w in WORDS] for r in rows], np.float32)
    s = ShownTags(WORDS, 0.5, True, TERMS, POLICY, thresholds)(raw)
    return [{w: float(v) for w, v in zip(WORDS, row) if v >= 0.5} for row in s]


def test_a_primate_never_goes_on_a_photo_of_people_however_sure():
    (tags,) = shown([{"person": 0.9, "monkey": 0.99, "tree": 0.8}])
    assert "monkey" not in tags and tags.keys() >= {"person", "tree"}


def test_without_people_an_animal_is_an_animal():
    (tags,) = shown([{"monkey": 0.8, "tree": 0.7}])
    assert set(tags) == {"monkey", "tree"}


@pytest.mark.parametrize("score, kept", [(0.8, False), (OVERWHELMING - 0.01, False), (0.97, True)])
def test_a_thing_beside_people_needs_overwhelming_evidence(score, kept):
    (tags,) = shown([{"person": 0.9, "dog": score, "toilet": score}])
    assert ("dog" in tags) is kept and ("toilet" in tags) is kept


def test_people_are_found_by_the_taggers_own_person_evidence():
    # a faint person score still counts (the threshold is low on purpose)
    (tags,) = shown([{"person": 0.2, "toilet": 0.8}])
    assert "toilet" not in tags


def merged_in_order(terms: TermMap, scores: np.ndarray, words: list[str], certain: float) -> np.ndarray:
    """A TermMap's merge as it is specified: each synonym, then each fine term, in the words' order."""
    col = {w: j for j, w in enumerate(words)}
    out, floor = scores.copy(), min(0.0, float(scores.min()) - 1.0)
    for j, w in enumerate(words):
        head = terms.canonical(w)
        if head != w and head in col:
            out[:, col[head]] = np.maximum(out[:, col[head]], scores[:, j])
            out[:, j] = floor
    for j, w in enumerate(words):
        up = terms.everyday(w)
        if up is not None and up in col and up != w and terms.canonical(w) == w:
            out[:, col[up]] = np.maximum(out[:, col[up]], scores[:, j])
            out[:, j] = np.where(scores[:, j] >= certain, scores[:, j], floor)
    return out


@pytest.mark.parametrize("certain", [0.9, np.inf])
def test_the_shipped_merge_at_once_is_the_merge_in_order(certain):
    from photolens.engine.tagger import terms

    words, term_map = terms(), load_term_map()
    plan = term_map.plan(words)
    assert plan.independent  # else the merge goes pair by pair: right, but slower
    assert len(plan.synonyms) > 10 and len(plan.rollups) > 100
    scores = np.random.default_rng(0).random((24, len(words)), dtype=np.float32)
    scores[:4] = np.where(scores[:4] > 0.5, 0.95, scores[:4])  # some fine terms certain
    assert np.array_equal(plan.apply(scores, certain), merged_in_order(term_map, scores, words, certain))


def test_a_merge_whose_pairs_depend_on_each_other_goes_in_order():
    words = ["canine", "dog", "whippet", "hound", "pooch", "sand bar", "sandbar"]
    # "dog" rolls up and is rolled up to; "pooch" merges into "dog", itself a fine term
    term_map = TermMap({"pooch": "dog", "sand bar": "sandbar"}, {"whippet": "dog", "dog": "canine", "hound": "dog"})
    plan = term_map.plan(words)
    assert not plan.independent
    scores = np.random.default_rng(1).random((6, len(words)), dtype=np.float32)
    scores[0, 1] = 0.97
    assert np.array_equal(plan.apply(scores), merged_in_order(term_map, scores, words, 0.9))
    at_once = MergePlan(plan.synonyms, plan.rollups)
    at_once.independent = True  # what applying these pairs all at once would give: not the same
    assert not np.array_equal(at_once.apply(scores), merged_in_order(term_map, scores, words, 0.9))


def test_a_term_in_two_groups_takes_its_first_groups_rule():
    policy = SensitiveTerms({"primates": (NEVER, frozenset({"monkey", "ape"})),
                             "animals": (OVERWHELMING_RULE, frozenset({"dog", "monkey"}))})
    assert policy.rule_of("monkey") == ("primates", NEVER)
    assert policy.rule_of("dog") == ("animals", OVERWHELMING_RULE)
    assert policy.rule_of("tree") is None
    shipped = load_sensitive_terms()
    for term in sorted(shipped.terms):  # the lookup agrees with the groups, in their order
        first = next(name for name, (_, group) in shipped.groups.items() if term in group)
        assert shipped.rule_of(term) == (first, shipped.groups[first][0])


def hints(row: dict) -> dict[str, float]:
    """Search hints (ranking.py) of one photo given as {term: raw probability}."""
    raw = np.array([[row.get(w, 0.01) for w in WORDS]], np.float32)
    h = ShownTags(WORDS, 0.5, True, TERMS, POLICY).hints(raw)
    return dict(zip(WORDS, h[0].tolist()))


def test_search_hints_never_say_of_a_person_what_tags_may_not():
    h = hints({"person": 0.9, "monkey": 0.99, "dog": 0.6, "toilet": 0.95, "tree": 0.3})
    assert h["monkey"] == 0 and h["dog"] == 0 and h["toilet"] > 0.9  # the toilet outweighs the person
    assert h["tree"] == pytest.approx(0.3) and h["person"] == pytest.approx(0.9)


def test_search_hints_keep_an_animal_that_outweighs_the_person_evidence():
    h = hints({"person": 0.3, "dog": 0.6, "whippet": 0.7})  # the owner in a corner
    assert h["dog"] == pytest.approx(0.7)  # the whippet rolled up into dog
    assert hints({"dog": 0.4})["dog"] == pytest.approx(0.4)  # no people: nothing held back


def test_a_model_without_a_trained_tagger_gives_no_hints():
    raw = np.zeros((1, len(WORDS)), np.float32)
    assert ShownTags(WORDS, 0.5, False, TERMS, POLICY).hints(raw) is None


def test_fine_terms_roll_up_unless_certain_and_synonyms_merge():
    unsure, sure, sandy = shown([{"whippet": 0.6}, {"whippet": 0.95}, {"sand bar": 0.7, "sandbar": 0.55}])
    assert set(unsure) == {"dog"} and unsure["dog"] == pytest.approx(0.6)
    assert {"whippet", "dog"} <= set(sure)
    assert set(sandy) == {"sandbar"} and sandy["sandbar"] == pytest.approx(0.7)


def test_a_face_term_has_its_own_threshold_where_the_photo_has_no_face_score():
    cal = TermThresholds("sha", {"person": 0.3, "beach": 0.3}, faceless={"person": 0.6})
    scores = np.array([[0.45, 0.45], [0.45, 0.45]])
    words = ["person", "beach"]
    moved = cal.shift(scores, words, 0.5, faces_seen=np.array([True, False]))
    assert moved[0, 0] > 0.5 and moved[1, 0] < 0.5  # 0.45 passes 0.3, not 0.6
    assert moved[0, 1] == pytest.approx(moved[1, 1])  # other terms alike in both states
    assert (cal.shift(scores, words, 0.5)[:, 0] < 0.5).all()  # None: no photo has a face score


def test_per_term_thresholds_move_each_term_and_drop_the_uncalibrated():
    cal = TermThresholds("sha", {"tree": 0.8, "beach": 0.3})
    (tags,) = shown([{"tree": 0.7, "beach": 0.35, "sandbar": 0.9}], cal)
    assert set(tags) == {"beach"}  # tree below its own 0.8; sandbar cannot be shown


def test_the_policy_data_holds_every_primate_and_animal_and_the_audit_is_broader():
    policy = load_sensitive_terms()
    audit_terms = load_audit_terms()
    assert policy.terms <= audit_terms
    vocab = {t["term"] for t in json.loads((DATA / "vocabulary.json").read_text())["terms"]}
    for word in ("monkey", "gorilla", "chimpanzee", "baboon", "orangutan", "proboscis monkey", "titi", "siamang"):
        assert policy.rule_of(word) == ("primates", NEVER), word
    for word in ("toilet", "toilet tissue", "syringe", "brassiere", "bra", "diaper", "guillotine", "prison",
                 "bathing cap", "pajamas", "koala", "three-toed sloth", "dog", "pig"):
        if word in vocab:
            assert policy.rule_of(word) is not None, word
    # every ImageNet-1k animal class (0-397) that is a vocabulary term is in the policy, but for
    # the two whose sense in a photo is a COCO thing (a kite in the sky, a computer mouse)
    classes = json.loads((DATA / "imagenet_classes.json").read_text())["classes"]
    animals = {n for c in classes[:398] for n in c["names"] if n in vocab} - {"kite", "mouse"}
    assert animals and animals <= policy.terms, sorted(animals - policy.terms)[:10]


def test_the_audit_counts_unnamed_sensitive_tags_on_people_only():
    vocab = json.loads((DATA / "vocabulary.json").read_text())
    entries = [{"path": "a", "captions": ["A woman sits in a tree ."]},
               {"path": "b", "captions": ["A man walks his dog ."]},
               {"path": "c", "captions": ["A monkey in a tree ."]},
               {"path": "d", "classes": ["person", "toilet"]},
               {"path": "e", "classes": ["person", "cat"]},
               {"path": "f", "captions": ["Two girls pose by a fountain ."]}]
    tags = [[("monkey", 0.9), ("tree", 0.8)], [("dog", 0.95)], [("monkey", 0.9)], [("toilet", 0.9)],
            [("dog", 0.97)], [("statue", 0.5)]]
    report = audit(entries, tags, vocab)
    assert [(h.path, h.tag) for h in report.hits] == [("a", "monkey"), ("f", "statue")]
    assert report.photos_with_people == 5 and shows_people(entries[0]) and not shows_people(entries[2])


def _people_entries(name: str) -> list[dict]:
    folder = dataset(name)
    entries = json.loads((folder / "labels.json").read_text())["images"]
    return [dict(e, path=str(folder / e["file"])) for e in entries if shows_people(e)]


@pytest.mark.e2e
@pytest.mark.slow
def test_no_offensive_tag_on_any_photo_with_people_in_the_shared_sets():
    """Every photo with people (by its labels) in coco-mini, coco128 and flickr8k-dev, through the
    built-in model as the indexer runs it; the tags each gets in a library of that set."""
    needs_builtin()
    from photolens.engine.embedder import Embedder
    from photolens.engine.indexer import decode_photo, embed_decoded
    from photolens.engine.models import get_model
    from photolens.engine.outputs import PhotoOutputs
    from photolens.engine.tagger import Tagger, vocabulary

    model = get_model("builtin")
    tagger = Tagger(None, Embedder(model, "cpu"))
    hits, checked = [], 0
    for name in ("coco-mini", "coco128", "flickr8k-dev"):
        entries = _people_entries(name)
        parts = [embed_decoded(tagger.embedder, [decode_photo(model, e["path"]) for e in entries[i:i + 16]])
                 for i in range(0, len(entries), 16)]
        out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        outputs = PhotoOutputs.of(out)
        tags = tagger.tags_for(outputs, tagger.stats(outputs))
        report = audit(entries, tags, vocabulary())
        checked += report.photos_with_people
        hits += [(Path(h.path).name, h.tag, h.score) for h in report.hits]
    assert checked > 400
    assert hits == []
