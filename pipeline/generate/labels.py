"""The text values the generator writes, by code: the numeric columns hold indices into these."""

from __future__ import annotations

import numpy as np

from loyalty import vocab

ORDER_STATUSES = vocab.ORDER_STATUSES  # codes: 0 completed, 1 cancelled, 2 refunded, 3 returned
ORDER_CHANNELS = ("web", "app", "store")
TICKET_CATEGORIES = ("complaint", "delivery", "billing", "product", "other")  # 0 is a complaint
PRIORITIES = vocab.PRIORITIES
SLA_HOURS = np.array([vocab.DEFAULT_SLA_HOURS[p] for p in PRIORITIES])  # by priority code
TICKET_CHANNELS = ("email", "phone", "chat")
REGIONS = (
    "London",
    "South East",
    "North West",
    "Midlands",
    "Yorkshire",
    "Scotland",
    "Wales",
    "South West",
    "North East",
)
REGION_P = (0.22, 0.16, 0.12, 0.13, 0.09, 0.09, 0.05, 0.08, 0.06)
MEMBER_LEVELS = ("bronze", "silver", "gold", "platinum")

COMMENTS_PROMOTER = (
    "Great service, fast delivery.",
    "Love the app - reordering takes seconds",
    'The "next day" delivery really was next day, thanks!',
    "送货很快，服务很好。",
    "Staff in the store were friendly, helpful and quick",
    "10/10 would recommend",
)
COMMENTS_PASSIVE = (
    "OK, nothing special",
    "Good products, but delivery slots are limited",
    "Prices went up, quality is the same",
    "质量不错，但是价格有点贵",
    "Fine.\nWould like more payment options.",
)
COMMENTS_DETRACTOR = (
    'Parcel arrived damaged, box marked "fragile" was crushed',
    "Waited 5 days for a reply; nobody called back",
    "客服回复太慢了，问题还没解决",
    "Refund took weeks.\nI will not order again, sorry",
    "Wrong item, again",
    'Support said "we will call you back", they never did',
)
COMMENTS = COMMENTS_PROMOTER + COMMENTS_PASSIVE + COMMENTS_DETRACTOR
