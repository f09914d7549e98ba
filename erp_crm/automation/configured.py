"""The chain tick's runtime built from the whole settings, for every entry point that ticks (the CLI, the scheduler, workers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from erp_crm.automation.tick import Runtime
    from erp_crm.settings.root import Settings


def chain_runtime(settings: Settings) -> Runtime:
    """The home, the filter fields with the chain words, and the sections a tick uses.

    The imports wait for the call: the tick pulls in the filter compiler and the
    templates, which `erp-crm --help` should not pay for.
    """
    from erp_crm.automation.chain_words import with_chain_words
    from erp_crm.automation.consent import UnsubscribeLinks
    from erp_crm.automation.email_builder import EmailBuilder
    from erp_crm.automation.tick import Runtime
    from erp_crm.segments.metrics_fields import segment_registry

    purchases_from = settings.metrics.purchases_from
    registry = with_chain_words(segment_registry(settings.profile, settings.metrics.rfm, purchases_from), purchases_from)
    links = UnsubscribeLinks(settings.web.public_url, settings.web.secret()) if settings.web.public_url else None
    email = EmailBuilder.of(settings.email) if settings.email.sender else None
    webhooks = {name: endpoint.url for name, endpoint in settings.webhooks.items()}
    return Runtime(settings.home, registry, settings.chains, settings.outbox, settings.consent, links, email, purchases_from, webhooks)
