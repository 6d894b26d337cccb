"""What the pages say instead of codes: every category of concern and every action has words,
and the tests' contrast measure agrees with WCAG's figures."""

from __future__ import annotations

from harness.axe import contrast_with_white

from models.access import ACTION_WORDS, Action
from models.sharing.concern import CATEGORY_LABELS, Category, category_label


def test_every_category_has_words_and_an_unknown_code_is_shown_as_it_is() -> None:
    assert set(CATEGORY_LABELS) == set(Category)
    assert len(set(CATEGORY_LABELS.values())) == len(Category)
    assert category_label("fgm") == "Female genital mutilation (FGM)"
    assert category_label("child-on-child").startswith("Child-on-child abuse")
    assert category_label("not-a-category") == "not-a-category"


def test_every_action_has_words_for_a_refusal() -> None:
    assert set(ACTION_WORDS) == set(Action)
    assert all(w and w == w.lower() and "-" not in w.split()[0] for w in ACTION_WORDS.values())


def test_contrast_is_measured_as_wcag_says() -> None:
    assert round(contrast_with_white("rgb(0, 0, 0)"), 1) == 21.0
    assert round(contrast_with_white("rgb(11, 12, 12)"), 1) == 19.6  # GOV.UK's focus text
    assert round(contrast_with_white("rgb(255, 221, 0)"), 1) == 1.3  # the old ring: #fd0
    assert contrast_with_white("rgba(0, 0, 0, 0)") == 0.0
