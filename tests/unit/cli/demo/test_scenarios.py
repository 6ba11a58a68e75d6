"""Unit tests for fishshop.demo.scenarios: the talk's demos as shops."""

from __future__ import annotations

import pytest

from fishshop.demo.scenarios import ANALYST_SCENARIOS, SCENARIOS, scenario
from fishshop_workers.cabinet.decisions import CabinetSettings
from fishshop_workers.shop.spec import ShopSpec


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_scenario_is_a_valid_shop(name: str) -> None:
    description, spec = SCENARIOS[name]
    assert isinstance(spec, ShopSpec)
    spec.check()
    assert spec.name == name
    assert description.strip()
    assert scenario(name) is spec
    assert spec.tills.replicas >= 1
    assert spec.preparers.replicas >= 1
    assert spec.tills.orders_per_minute > 0


def test_the_talks_scenarios() -> None:
    assert list(SCENARIOS) == [
        "one-till",
        "three-tills",
        "two-preparers",
        "cook",
        "hot-cabinet",
        "analyst",
    ]
    assert scenario("one-till").partitions == 1
    assert scenario("three-tills").tills.replicas == 3
    assert scenario("three-tills").preparers.replicas == 1
    assert scenario("two-preparers").preparers.replicas == 2


def test_only_the_scenarios_with_a_cook_have_plaice() -> None:
    assert [name for name in SCENARIOS if scenario(name).plaice] == [
        "cook",
        "hot-cabinet",
        "analyst",
    ]
    assert scenario("cook").cooks.replicas >= 1


def test_only_the_hot_cabinet_scenario_has_a_cabinet() -> None:
    assert [name for name in SCENARIOS if scenario(name).hot_cabinet] == ["hot-cabinet"]


def test_the_hot_cabinet_is_the_cook_scenario_with_the_cabinet_on() -> None:
    cabinet, cook = scenario("hot-cabinet"), scenario("cook")
    assert cabinet.hot_cabinet == CabinetSettings()
    assert (cabinet.partitions, cabinet.tills, cabinet.preparers, cabinet.cooks) == (
        cook.partitions,
        cook.tills,
        cook.preparers,
        cook.cooks,
    )
    assert "Redis" in SCENARIOS["hot-cabinet"][0]


def test_unknown_scenario_lists_the_choices() -> None:
    with pytest.raises(KeyError) as caught:
        scenario("five-tills")
    message = str(caught.value)
    assert "no scenario 'five-tills'" in message
    for name in SCENARIOS:
        assert name in message
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_the_analyst_has_plaice_and_a_cook_so_the_cooks_share_shows() -> None:
    analyst = scenario("analyst")
    assert set(ANALYST_SCENARIOS) == {"analyst"}
    assert analyst.plaice and analyst.cooks.replicas == 1
    assert analyst.hot_cabinet is None
    assert "PostgreSQL" in SCENARIOS["analyst"][0]
