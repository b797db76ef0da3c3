"""The playbook setting: the first matching rule wins; a playbook that leaves some customer without
an action, repeats a rule, or holds a rule no customer can reach is refused when the settings load,
with a message naming the combination or the rule."""

from __future__ import annotations

import pytest

from loyalty.settings import SettingsError, load_settings
from loyalty.settings.playbook import customer_states, route
from tests.conftest import write_settings

CATCH_ALL = {"action": "Newsletter", "owner": "Marketing"}


def _load(tmp_path, playbook: dict):
    return load_settings(write_settings(tmp_path, {"playbook": playbook}))


def test_the_shipped_default_routes_every_combination_and_uses_every_rule(tmp_path):
    settings = load_settings(write_settings(tmp_path))
    rules = settings.playbook.rules
    routed = [route(rules, *state) for state in customer_states()]
    assert None not in routed
    assert set(routed) == set(range(len(rules)))
    assert not settings.playbook.unmasked_crm_export


def test_first_match_wins(tmp_path):
    settings = _load(
        tmp_path,
        {
            "rules": [
                {"when": "complaints", "action": "Call", "owner": "Service desk"},
                {"when": ["at_risk", "churn_risk"], "tier": ["A", "B"], **CATCH_ALL},
                {"tier": "*", "lifecycle": "new", "action": "Onboard", "owner": "Marketing"},
                {"action": "Thank", "owner": "CRM lead"},
            ]
        },
    )
    rules = settings.playbook.rules
    # complaints come first even for a tier-A customer at risk
    assert route(rules, "at_risk", frozenset({"complaints"}), "A", "new") == 0
    assert route(rules, "at_risk", frozenset(), "B", "mature") == 1
    assert route(rules, "active", frozenset({"inactive"}), "A", "mature") == 1  # churn_risk
    assert route(rules, "active", frozenset(), "C", "new") == 2
    assert route(rules, None, frozenset(), "C", "mature") == 3


def test_a_customer_without_an_action_is_refused(tmp_path):
    with pytest.raises(SettingsError) as e:
        _load(tmp_path, {"rules": [{"when": "at_risk", **CATCH_ALL}]})
    message = str(e.value)
    assert "playbook" in message and "match no rule" in message and "catch-all" in message


def test_a_repeated_rule_is_refused_as_ambiguous(tmp_path):
    rule = {"when": "lapsed", "tier": "D", "action": "Coupon", "owner": "Marketing"}
    with pytest.raises(SettingsError) as e:
        _load(tmp_path, {"rules": [rule, {**rule, "action": "Call"}, CATCH_ALL]})
    assert "rules[1]" in str(e.value) and "same conditions as rules[0]" in str(e.value)


def test_a_rule_shadowed_by_earlier_rules_is_refused(tmp_path):
    # tier A and B at risk, then the lifecycle stages of... every stage: nothing is left for rule 3
    rules = [
        {"lifecycle": ["new", "growing"], **CATCH_ALL},
        {"lifecycle": "mature", **CATCH_ALL},
        {"when": "at_risk", "tier": "A", "action": "Call", "owner": "Key accounts"},
        CATCH_ALL,
    ]
    with pytest.raises(SettingsError) as e:
        _load(tmp_path, {"rules": rules})
    assert "rules[2]" in str(e.value) and "can never apply" in str(e.value)


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ({"when": "sleepy", **CATCH_ALL}, "unknown when"),
        ({"tier": "E", **CATCH_ALL}, "unknown tier"),
        ({"lifecycle": "old", **CATCH_ALL}, "unknown lifecycle"),
        ({"action": " ", "owner": "x"}, "must not be empty"),
        ({"tier": [], **CATCH_ALL}, "empty list"),
    ],
)
def test_unknown_values_are_refused_by_name(tmp_path, rule, words):
    with pytest.raises(SettingsError) as e:
        _load(tmp_path, {"rules": [rule, CATCH_ALL]})
    assert words in str(e.value)


def test_the_shipped_settings_and_the_docs_hold_the_code_default():
    import re

    import yaml

    from loyalty.settings import Settings
    from loyalty.settings.playbook import Playbook
    from tests.conftest import REPO

    default = Settings().playbook
    assert load_settings(REPO / "settings.yaml").playbook == default
    docs = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    section = docs[docs.index("## `playbook`") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    assert Playbook(**yaml.safe_load(block.group(1))["playbook"]) == default
