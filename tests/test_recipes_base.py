"""The recipe base (nbtools.recipes): validation, JSON round trip, coercion, the RecipeBar widget."""

from __future__ import annotations

import copy
import json
import pickle
from dataclasses import dataclass
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbtools.errors import FormatError, MissingFileError, ParameterError
from nbtools.recipes import (Recipe, check_bool, check_choice, check_int, check_mapping, check_number,
                             check_window, from_json, param, register)


@register
@dataclass(frozen=True)
class DemoRecipe(Recipe):
    kind: ClassVar[str] = "test.demo"
    threshold: object = param("auto", check_number, "threshold", "SD", min=0, min_open=True, literals=("auto",))
    polarity: str = param("both", check_choice, choices={"both": "both", "positive": "positive",
                                                          "anodic": "positive", "negative": "negative"})
    window: object = param(None, check_window, "potential window", "V")
    iterations: int = param(3, check_int, min=1)
    merge: bool = param(True, check_bool)
    fixed: object = param({}, check_mapping, values=lambda n, v: check_number(n, v))

    def _check_together(self):
        if self.threshold != "auto" and self.threshold < 2:
            raise ParameterError(f"threshold ({self.threshold:g}) must be at least 2")


def test_defaults_and_normalisation():
    r = DemoRecipe(threshold="6", polarity="Anodic", window=[4.3, 3.9], fixed={"a": "1.5"})
    assert r.threshold == 6.0 and r.polarity == "positive" and r.window == (3.9, 4.3)
    assert r.fixed == {"a": 1.5}
    assert DemoRecipe().changed() == {}
    assert r.changed() == {"threshold": 6.0, "polarity": "positive", "window": (3.9, 4.3), "fixed": {"a": 1.5}}


@pytest.mark.parametrize("kw, word", [
    (dict(threshold=-1), "threshold must be > 0"),
    (dict(threshold="abc"), "threshold must be a number"),
    (dict(threshold=float("nan")), "finite"),
    (dict(polarity="up"), "polarity must be one of"),
    (dict(window=(1, 1)), "empty range"),
    (dict(window="3-4"), "window must be a range"),
    (dict(iterations=1.5), "whole number"),
    (dict(merge="maybe"), "True or False"),
    (dict(threshold=1.5), "at least 2"),
    (dict(fixed=[1, 2]), "mapping"),
])
def test_bad_values_name_the_setting(kw, word):
    with pytest.raises(ParameterError, match=word):
        DemoRecipe(**kw)


def test_frozen_hashable_copyable():
    r = DemoRecipe(threshold=5, fixed={"a": 1})
    with pytest.raises(Exception):
        r.threshold = 3
    with pytest.raises(TypeError, match="read-only"):
        r.fixed["a"] = 2
    assert hash(r) == hash(DemoRecipe(threshold=5.0, fixed={"a": 1.0}))
    assert copy.deepcopy(r) == r and pickle.loads(pickle.dumps(r)) == r
    assert r.replace(threshold=7).threshold == 7.0 and r.threshold == 5.0


def test_json_round_trip_file_and_no_overwrite(tmp_path):
    r = DemoRecipe(threshold=6, window=(0.1, 0.5))
    d = json.loads(r.to_json())
    assert d["recipe"] == "test.demo" and d["schema"] == 1 and "nbtools" in d
    p = tmp_path / "r.json"
    r.to_json(p)
    assert from_json(p) == r and from_json(str(p)) == r and DemoRecipe.from_json(p.read_text()) == r
    with pytest.raises(ParameterError, match="exists"):
        r.to_json(p)
    assert r.digest() == from_json(p).digest() != DemoRecipe().digest()


def test_coerce():
    r = DemoRecipe(threshold=6)
    assert DemoRecipe.coerce(None, threshold=6) == r
    assert DemoRecipe.coerce(r) is r
    assert DemoRecipe.coerce(r, polarity="negative").polarity == "negative"
    assert DemoRecipe.coerce(r.to_dict()) == r
    with pytest.raises(ParameterError, match="unknown DemoRecipe setting.*thresh"):
        DemoRecipe.coerce(thresh=5)
    with pytest.raises(ParameterError, match="recipe must be"):
        DemoRecipe.coerce(42)


def test_bad_files(tmp_path):
    with pytest.raises(MissingFileError):
        from_json(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(FormatError, match="not valid JSON"):
        from_json(bad)
    with pytest.raises(FormatError, match="unknown recipe kind"):
        from_json('{"recipe": "no.such", "params": {}}')
    with pytest.raises(FormatError, match="newer"):
        from_json('{"recipe": "test.demo", "schema": 99, "params": {}}')
    with pytest.raises(ParameterError, match="unknown"):
        from_json('{"recipe": "test.demo", "params": {"x": 1}}')


@settings(max_examples=60, deadline=None)
@given(th=st.one_of(st.just("auto"), st.floats(2, 1e3)), pol=st.sampled_from(["both", "positive", "negative"]),
       lo=st.floats(-5, 5), width=st.floats(1e-3, 5), it=st.integers(1, 9), merge=st.booleans(),
       fixed=st.dictionaries(st.sampled_from(["a", "b", "c"]), st.floats(-1e9, 1e9)))
def test_property_json_round_trip(th, pol, lo, width, it, merge, fixed):
    r = DemoRecipe(threshold=th, polarity=pol, window=(lo, lo + width), iterations=it, merge=merge, fixed=fixed)
    back = from_json(r.to_json())
    assert back == r and back.digest() == r.digest()


def _upload(name, data):
    """One file as ipywidgets 8's FileUpload.value holds it."""
    import datetime as dt

    return {"name": name, "type": "application/json", "size": len(data), "content": memoryview(data),
            "last_modified": dt.datetime.now(dt.timezone.utc)}


def test_recipe_bar_save_and_load(tmp_path):
    from nbtools.widgets.recipe_bar import RecipeBar

    class Owner:
        recipe = DemoRecipe(threshold=6)

    owner = Owner()
    bar = RecipeBar(owner, folder=lambda: tmp_path, stem="demo_recipe")
    p1, p2 = bar.save(), bar.save()
    assert p1.name == "demo_recipe.json" and p2.name == "demo_recipe_2.json"
    assert from_json(p1) == owner.recipe and "download" in bar.link.value
    text = DemoRecipe(threshold=8, polarity="negative").to_json()
    bar.upload.value = (_upload("r.json", text.encode()),)
    assert owner.recipe == DemoRecipe(threshold=8, polarity="negative")
    assert "Loaded" in bar.status.value and bar.upload.value == ()
    bar.upload.value = (_upload("x.json", b"\x89PNG"),)
    assert "not a text file" in bar.status.value or "not valid JSON" in bar.status.value
