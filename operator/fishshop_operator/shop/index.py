"""Which shops use which topic prefix, fed from the watch's events instead of a list.

The oldest shop keeps a prefix (ties go to the first by namespace and name); two
prefixes Kafka would take for one (``a.b`` and ``a_b``) are one prefix here; a shop
being deleted does not count; specs are read leniently, so a shop this operator no
longer accepts still keeps its topics. Why an index: docs/design/operator.md,
"shop/index.py".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from fishshop_operator.shop.resource import ShopResource
from fishshop_workers.shop.topics import colliding_form, prefix_of_namespace, topic_prefix

__all__ = ["ShopCard", "ShopIndex", "prefix_owner"]


@dataclass(frozen=True)
class ShopCard:
    """What the index keeps of one shop: only what deciding a prefix's owner needs."""

    uid: str
    namespace: str
    name: str
    created: str
    """metadata.creationTimestamp: the oldest shop keeps the prefix."""
    prefix: str
    """spec.topicPrefix, or the default made from the name, read leniently."""
    deleting: bool

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.created, self.namespace, self.name)

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


def shop_card(body: Mapping[str, Any]) -> ShopCard:
    """Read a FishShop's body leniently: a spec this operator would refuse (made under
    an older CRD, say) still names the prefix whose topics stay its own."""
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    prefix = spec.get("topicPrefix") if isinstance(spec, Mapping) else None
    return ShopCard(
        uid=str(meta.get("uid", "")),
        namespace=namespace,
        name=name,
        created=str(meta.get("creationTimestamp", "")),
        prefix=topic_prefix(name, namespace, str(prefix) if prefix else None),
        deleting=bool(meta.get("deletionTimestamp")),
    )


def _owner(mine: ShopCard, cards: Iterable[ShopCard]) -> ShopCard | None:
    older = [
        card
        for card in cards
        if card.uid != mine.uid
        and not card.deleting
        and colliding_form(card.prefix) == colliding_form(mine.prefix)
        and card.key < mine.key
    ]
    return min(older, key=lambda card: card.key) if older else None


def prefix_owner(shop: ShopResource, shops: list[dict[str, Any]]) -> str | None:
    """The shop (namespace/name) that already uses this shop's topic prefix, if another
    one does, among the bodies ``shops``.

    Only ``shop``'s own body in ``shops`` tells how old it is; without it, no owner.
    """
    cards = [shop_card(body) for body in shops]
    mine = next((card for card in cards if card.uid == shop.uid), None)
    if mine is None:
        return None
    # The shop's prefix as read strictly (the one its topics would get).
    owner = _owner(replace(mine, prefix=shop.topic_prefix), cards)
    return owner.ref if owner is not None else None


class ShopIndex:
    """Shops by uid and by topic prefix, fed from the watch."""

    def __init__(self) -> None:
        self._cards: dict[str, ShopCard] = {}
        self._by_prefix: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._cards)

    def __contains__(self, uid: object) -> bool:
        return uid in self._cards

    def put(self, body: Mapping[str, Any]) -> None:
        """The shop as the watch shows it now."""
        card = shop_card(body)
        if not card.uid:
            return
        self.discard(card.uid)
        self._cards[card.uid] = card
        self._by_prefix.setdefault(colliding_form(card.prefix), set()).add(card.uid)

    def discard(self, uid: str) -> None:
        """The shop is gone (or was never there)."""
        card = self._cards.pop(uid, None)
        if card is None:
            return
        form = colliding_form(card.prefix)
        sharing = self._by_prefix.get(form)
        if sharing is not None:
            sharing.discard(uid)
            if not sharing:
                del self._by_prefix[form]

    def discard_named(self, namespace: str, name: str) -> None:
        """The API server has no shop of that name (seldom asked: a scan)."""
        for card in [c for c in self._cards.values() if (c.namespace, c.name) == (namespace, name)]:
            self.discard(card.uid)

    def owner(self, body: Mapping[str, Any], prefix: str, *, tied: bool = False) -> ShopCard | None:
        """The shop that keeps ``prefix`` before the shop of ``body``, if another does.

        ``body`` is the shop as the caller has it (fresher than the index, maybe not in
        it yet); ``prefix`` its prefix as read strictly. With ``tied`` (prefixes tied to
        namespaces), a shop whose prefix is not its namespace's keeps nothing: a
        squatter refused its prefix cannot hold it against the namespace it names.
        """
        mine = replace(shop_card(body), prefix=prefix)
        sharing = (self._cards[uid] for uid in self._by_prefix.get(colliding_form(prefix), ()))
        return _owner(
            mine,
            (c for c in sharing if not tied or prefix_of_namespace(c.prefix, c.namespace)),
        )
