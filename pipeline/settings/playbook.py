"""The playbook: which action, and whose, each customer gets this week (docs/settings.md, "playbook";
what the action list holds: docs/metrics.md, "action_list").

A rule matches a customer on three conditions, each a value, a list of values, or a wildcard
(`"*"` or the key left out):

- `when`: the customer's status in customer_value (`active`, `at_risk`, `lapsed`, `lost`, from the
  model or from the rules), one of the churn flags of customer_snapshot (`inactive`, `complaints`,
  `activity_drop`), or `churn_risk` (any churn flag);
- `tier`: A, B, C or D on the day;
- `lifecycle`: new, growing or mature on the day.

**The first matching rule wins.** So no customer ever gets two actions. The rules are checked when
the settings load, against every combination a customer can be in (each status or no status row,
each set of churn flags, each tier and lifecycle stage): a combination no rule matches, or a rule no
combination reaches (every customer it would match is taken by an earlier rule, e.g. a repeated
rule), refuses the file with a message naming the combination or the rule. End the rules with a
catch-all (a rule with no conditions) and every customer is routed.
"""

from __future__ import annotations

import itertools
from typing import Any

from pydantic import Field, field_validator, model_validator

from loyalty import vocab
from loyalty.settings.base import _Strict

ANY = vocab.PLAYBOOK_ANY

# what `when` may name: a status, a churn flag, or any churn flag
WHEN_VALUES: tuple[str, ...] = (
    *vocab.CUSTOMER_STATUSES,
    *vocab.CHURN_FLAGS,
    vocab.PLAYBOOK_ANY_FLAG,
)


def _as_list(v: Any) -> list[str]:
    if v is None:
        return [ANY]
    items = [v] if isinstance(v, str) else list(v)
    out = [str(x).strip() for x in items]
    if not out:
        raise ValueError("an empty list matches nobody: leave the key out (or use '*') for any")
    return [ANY] if ANY in out else list(dict.fromkeys(out))


class PlaybookRule(_Strict):
    when: list[str] = Field(default_factory=lambda: [ANY])
    tier: list[str] = Field(default_factory=lambda: [ANY])
    lifecycle: list[str] = Field(default_factory=lambda: [ANY])
    action: str
    owner: str

    @field_validator("when", "tier", "lifecycle", mode="before")
    @classmethod
    def _listed(cls, v: Any) -> list[str]:
        return _as_list(v)

    @field_validator("when")
    @classmethod
    def _known_when(cls, v: list[str]) -> list[str]:
        return _known(v, WHEN_VALUES, "when")

    @field_validator("tier")
    @classmethod
    def _known_tier(cls, v: list[str]) -> list[str]:
        return _known(v, vocab.TIERS, "tier")

    @field_validator("lifecycle")
    @classmethod
    def _known_stage(cls, v: list[str]) -> list[str]:
        return _known(v, vocab.LIFECYCLE_STAGES, "lifecycle")

    @field_validator("action", "owner")
    @classmethod
    def _text(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v.strip()

    def describe(self) -> str:
        parts = [
            f"{key}: {', '.join(vals)}"
            for key, vals in (
                ("when", self.when),
                ("tier", self.tier),
                ("lifecycle", self.lifecycle),
            )
            if vals != [ANY]
        ]
        return "{" + ("; ".join(parts) or "catch-all") + "}"

    def matches(self, status: str | None, flags: frozenset[str], tier: str, stage: str) -> bool:
        return (
            (self.tier == [ANY] or tier in self.tier)
            and (self.lifecycle == [ANY] or stage in self.lifecycle)
            and (self.when == [ANY] or any(_signal(w, status, flags) for w in self.when))
        )


def _known(values: list[str], allowed: tuple[str, ...], key: str) -> list[str]:
    unknown = [v for v in values if v != ANY and v not in allowed]
    if unknown:
        raise ValueError(f"unknown {key} {unknown}; expected '*' or one of {list(allowed)}")
    return values


def _signal(when: str, status: str | None, flags: frozenset[str]) -> bool:
    if when == vocab.PLAYBOOK_ANY_FLAG:
        return bool(flags)
    return when == status or when in flags


def customer_states() -> list[tuple[str | None, frozenset[str], str, str]]:
    """Every combination a customer of a day can be in: status (None: no customer_value row),
    the set of churn flags, tier, lifecycle stage."""
    flag_sets = [
        frozenset(c)
        for n in range(len(vocab.CHURN_FLAGS) + 1)
        for c in itertools.combinations(vocab.CHURN_FLAGS, n)
    ]
    statuses: list[str | None] = [*vocab.CUSTOMER_STATUSES, None]
    return list(itertools.product(statuses, flag_sets, vocab.TIERS, vocab.LIFECYCLE_STAGES))


def route(
    rules: list[PlaybookRule], status: str | None, flags: frozenset[str], tier: str, stage: str
) -> int | None:
    """The index of the first rule matching the customer (None: no rule does)."""
    return next((i for i, r in enumerate(rules) if r.matches(status, flags, tier, stage)), None)


def _state_text(state: tuple[str | None, frozenset[str], str, str]) -> str:
    status, flags, tier, stage = state
    flag_text = ", ".join(f for f in vocab.CHURN_FLAGS if f in flags) or "none"
    return f"status {status or '(none)'}, churn flags {flag_text}, tier {tier}, lifecycle {stage}"


DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "when": "complaints",
        "action": "Service recovery: a supervisor calls within 24 h, closes the open complaints "
        "and follows up after 48 h",
        "owner": "Service desk",
    },
    {
        "when": "lost",
        "action": "No personal touch: quarterly reactivation mailing only",
        "owner": "Marketing",
    },
    {
        "when": "at_risk",
        "tier": "A",
        "action": "Personal win-back call by the account manager this week, with a tailored offer",
        "owner": "Key accounts",
    },
    {
        "when": "at_risk",
        "tier": "B",
        "action": "Win-back email with a loyal-customer price and a one-minute survey on why",
        "owner": "CRM lead",
    },
    {
        "when": "at_risk",
        "action": "Wake-up: come-back coupon, then a short survey after 7 silent days",
        "owner": "Marketing",
    },
    {
        "when": "lapsed",
        "action": "Reactivation mailing with a come-back offer",
        "owner": "Marketing",
    },
    {
        "lifecycle": "new",
        "action": "Onboarding: product guide within 48 h and a first repeat-purchase coupon",
        "owner": "Marketing",
    },
    {
        "tier": "A",
        "action": "VIP care: monthly call by a dedicated advisor and the quarterly benefits report",
        "owner": "Key accounts",
    },
    {
        "lifecycle": "growing",
        "action": "Growth: monthly incentive pack and member benefits",
        "owner": "CRM lead",
    },
    {
        "action": "Recognition: member-level news and birthday benefits",
        "owner": "CRM lead",
    },
]


class Playbook(_Strict):
    rules: list[PlaybookRule] = Field(
        default_factory=lambda: [PlaybookRule(**r) for r in DEFAULT_RULES]
    )
    # PII: also write the action list with each customer's name, email and phone, unmasked, for the
    # CRM team: one CSV under <output>/<week>/crm/, nowhere else (docs/settings.md)
    unmasked_crm_export: bool = False

    @model_validator(mode="after")
    def _routes_everyone_once(self) -> Playbook:
        check_rules(self.rules)
        return self


def check_rules(rules: list[PlaybookRule]) -> None:
    """Refuse rules that leave a customer without an action, or hold a rule that never applies."""
    if not rules:
        raise ValueError("the playbook needs at least one rule (end with a catch-all)")
    for i, rule in enumerate(rules):
        for j in range(i):
            earlier = rules[j]
            if (earlier.when, earlier.tier, earlier.lifecycle) == (
                rule.when,
                rule.tier,
                rule.lifecycle,
            ):
                raise ValueError(
                    f"rules[{i}] {rule.describe()} has the same conditions as rules[{j}]: "
                    "ambiguous, and since the first match wins it would never apply; "
                    "remove one of them"
                )
    reached: set[int] = set()
    for state in customer_states():
        first = route(rules, *state)
        if first is None:
            raise ValueError(
                f"customers with {_state_text(state)} match no rule: end the rules with a "
                "catch-all (a rule with only an action and an owner)"
            )
        reached.add(first)
    for i, rule in enumerate(rules):
        if i not in reached:
            raise ValueError(
                f"rules[{i}] {rule.describe()} can never apply: every customer it matches is "
                "routed by an earlier rule (the first match wins); remove it or move it up"
            )
