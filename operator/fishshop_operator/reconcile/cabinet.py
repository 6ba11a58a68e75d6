"""The hot cabinet step of a reconcile: its credentials Secret read, its Redis asked."""

from __future__ import annotations

import logging

from fishshop_operator.cabinet.check import check_cabinet
from fishshop_operator.cabinet.credentials import CredentialsSecretError
from fishshop_operator.kube.secrets import REDIS_CREDENTIALS
from fishshop_operator.reconcile.memory import ShopMemory
from fishshop_operator.reconcile.tools import Tools, ids
from fishshop_operator.shop.conditions import CabinetOutcome
from fishshop_operator.shop.resource import ShopResource

__all__ = ["cabinet_outcome", "redis_ca"]

log = logging.getLogger("fishshop_operator")


async def cabinet_outcome(
    tools: Tools, shop: ShopResource, memory: ShopMemory, check: bool
) -> CabinetOutcome | None:
    """Whether the hot cabinet's Redis answers; None for a shop without a cabinet.

    Like the topics, a Redis found answering for this generation of the spec is
    not asked again after each event on a workload; the resync loop asks.
    """
    spec = shop.hot_cabinet
    if spec is None:
        memory.cabinet = None
        memory.secrets.pop(REDIS_CREDENTIALS, None)
        return None
    seen = memory.cabinet
    if not check and seen is not None and seen[0] == shop.generation and seen[1].ready:
        return seen[1]
    try:
        credentials = await tools.shops.secrets.redis_credentials(shop, memory.secrets)
    except CredentialsSecretError as error:
        outcome = CabinetOutcome(False, "CredentialsSecretInvalid", str(error))
    else:
        outcome = await check_cabinet(spec, shop.topic_prefix, credentials)
    if outcome.ready != (seen is not None and seen[1].ready):
        log.info(
            "action=cabinet shop=%s/%s ready=%s reason=%s",
            *ids(shop),
            outcome.ready,
            outcome.reason,
        )
    memory.cabinet = (shop.generation, outcome)
    return outcome


def redis_ca(memory: ShopMemory) -> bool:
    """The credentials Secret last read holds a CA, which the workers then get.

    While the Secret is briefly missing or broken, what it last held still answers
    (``SecretCache.read``), so the preparers and cooks are not rolled twice by a blip.
    """
    known = memory.secrets.get(REDIS_CREDENTIALS)
    return known is not None and known.value.ca is not None
