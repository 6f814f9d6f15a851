"""What happens to a tender that the layers built on it (bids, the committee) react to.

Tenders know nothing of bids: a verb sends its signal with the tender as sender and the rest as
keyword arguments; the receivers are connected by :func:`marketplace.tenders.subscriptions.connect_signals`,
which ``create_app`` calls (never on import). Receivers run inside the verb's transaction.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: the tender; amendment: the Amendment just published.
tender_amended = _signals.signal("tender-amended")
# sender: the tender, just cancelled (its cancel_reason set).
tender_cancelled = _signals.signal("tender-cancelled")
# sender: the tender; award: the award about to be annulled because its winner failed to sign. A
# receiver raises RuleViolation to refuse (a contract already exists).
award_annulling = _signals.signal("award-annulling")
# sender: a draft about to be published. A receiver returns a problem (text) that stops publication,
# or None (publication_problems lists them).
tender_publication_check = _signals.signal("tender-publication-check")
# sender: the tender being published (status set, reference given); actor: the publishing officer.
tender_publishing = _signals.signal("tender-publishing")
