"""Each kind of notice: what it says (in the reader's language, filled from its params) and its default channels.

Other features add their kinds here (the needs/orders and grading notices
when they arrive): a key, a title, a sentence, and the channels a person
gets unless they choose otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

#: Outbound channels a person may choose, beyond the inbox everyone has.
CHANNELS = ("sms", "email")


@dataclass(frozen=True)
class Kind:
    """A kind of notice."""

    title: object  # a lazy string
    text: object  # a lazy string with %(name)s fields from the notice's params
    channels: tuple[str, ...] = ("sms",)


KINDS: dict[str, Kind] = {
    "hours_approved": Kind(_l("Hours approved"), _l("Your service at %(activity)s was approved: %(hours)s hours of time credit and %(points)s points.")),
    "correction_answered": Kind(_l("Your report was answered"), _l("Your report about %(activity)s was answered: %(answer)s")),
    "registration_approved": Kind(_l("Registration approved"), _l("Your registration was approved. Welcome to the time bank!")),
    "certificate_issued": Kind(_l("Certificate issued"), _l("Certificate %(serial)s was issued to you.")),
    "activity_changed": Kind(_l("Activity changed"), _l("%(activity)s was changed: it is now on %(starts)s at %(address)s.")),
    "activity_cancelled": Kind(_l("Activity cancelled"), _l("%(activity)s on %(starts)s was cancelled: %(reason)s")),
    "activity_tomorrow": Kind(_l("Tomorrow's activity"), _l("Reminder: %(activity)s tomorrow at %(starts)s, %(address)s.")),
    "hours_received": Kind(_l("Hours received"), _l("%(giver)s gave you %(hours)s hours of time credit.")),
    "recording_deadline": Kind(_l("Recording deadline near"), _l("%(count)s attendance(s) of %(activity)s must be decided by %(deadline)s."), ("email",)),
    "need_urgent": Kind(_l("Urgent need"), _l("An urgent (red) need of %(resident)s in %(community)s: %(summary)s. Answer it by %(deadline)s.")),
    "need_overdue": Kind(_l("Need overdue"), _l("The %(colour)s need of %(resident)s in %(community)s was due by %(deadline)s and is still unanswered.")),
    "need_declined": Kind(_l("Your request was declined"), _l("Your request “%(summary)s” cannot be taken on: %(reason)s")),
    "need_referred": Kind(_l("Your request was passed on"), _l("Your request “%(summary)s” was passed to %(resource)s, who will contact you (%(contact)s).")),
    # The order loop (派单—接单—评单): timebank/needs/order_notices.py
    "order_dispatched": Kind(_l("A service order for you"), _l("You were asked to help: %(service)s in %(community)s from %(starts)s. Please accept or decline by %(respond_by)s.")),
    "order_accept_reminder": Kind(_l("Please answer the service order"), _l("The order %(service)s in %(community)s is waiting for your answer until %(respond_by)s.")),
    "order_tomorrow": Kind(_l("Tomorrow's home visit"), _l("Reminder: %(service)s in %(community)s tomorrow from %(starts)s.")),
    "order_withdrawn": Kind(_l("Service order withdrawn"), _l("Your place on %(service)s in %(community)s (%(starts)s) was withdrawn: %(reason)s")),
    "order_offer_declined": Kind(_l("Offer declined"), _l("%(volunteer)s declined %(service)s in %(community)s (%(starts)s): dispatch it again."), ("email",)),
    "order_offer_timed_out": Kind(_l("Offer not answered"), _l("%(volunteer)s did not answer %(service)s in %(community)s (%(starts)s) in time: dispatch it again."), ("email",)),
    "order_review_request": Kind(_l("How was the service?"), _l("The visit for %(service)s has ended. Please rate it under My requests, or tell your social worker.")),
    "order_visit_unapproved": Kind(_l("Visit waiting for approval"), _l("The visit of %(volunteer)s for %(service)s in %(community)s is still waiting for approval."), ("email",)),
}


def kind_of(name: str) -> Kind:
    """The kind by its key (a kind no longer known still shows, by its key)."""
    return KINDS.get(name) or Kind(name, name, ())
