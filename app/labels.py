"""Words for codes the pages show: coded field names, roles, statuses, audit actions and
research generalisation levels, in the reader's language. A code without a label is shown
as it is (and tests/test_labels.py fails for any audit action or enum value left out)."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

# The coded fields of an incident (DOMAIN.md), as the incident page names them.
FIELDS = {
    "kinds": _l("Kind of harm"), "four_p": _l("Policy area (4P)"),
    "instrument": _l("Measure or law"), "actors": _l("Actor"), "country": _l("Country"),
    "region": _l("Region"), "month": _l("Month"), "work_setting": _l("Work setting"),
    "groups": _l("Group affected"), "people_affected": _l("People affected"),
    "amount_confiscated": _l("Amount taken"), "currency": _l("Currency"),
    "days_detained": _l("Days detained"), "source": _l("How we learned of it"),
    "consent": _l("Consent"), "case_study": _l("Case study agreed"), "status": _l("Status"),
}

ROLES = {"outreach": _l("Outreach worker"), "coordinator": _l("Coordinator"),
         "analyst": _l("Analyst")}

MEMBERSHIP_STATUSES = {"pending": _l("waiting for confirmation"),
                       "confirmed": _l("confirmed"), "removed": _l("removed")}

REQUEST_STATUSES = {"pending": _l("waiting for decisions"), "refused": _l("refused"),
                    "failed": _l("could not be made"), "ready": _l("ready"),
                    "expired": _l("expired")}

# Research extracts: how far place, period and numbers were generalised (anonymise.Level).
GENERALISATION = {"region": _l("region"), "country": _l("country"), "month": _l("month"),
                  "quarter": _l("quarter"), "year": _l("year"), "bands": _l("bands"),
                  "coarse bands": _l("coarse bands")}

# Every action app.audit.record writes (tests/test_labels.py checks the list is complete).
AUDIT_ACTIONS = {
    "2fa_disabled": _l("Second factor turned off"),
    "2fa_enabled": _l("Second factor turned on"),
    "account_rekeyed": _l("Account keys made again"),
    "attachment_deleted": _l("Attachment deleted"),
    "case_study_published": _l("Case study published"),
    "case_study_unpublished": _l("Case study withdrawn"),
    "collective_appointed": _l("Collective role given"),
    "collective_created": _l("Collective created"),
    "collective_declined": _l("Collective invitation declined"),
    "collective_dismissed": _l("Collective role taken away"),
    "collective_invited": _l("Invited to a collective"),
    "collective_joined": _l("Joined a collective"),
    "collective_left": _l("Left a collective"),
    "collective_naming": _l("Naming in a collective changed"),
    "collective_threshold": _l("Collective threshold changed"),
    "extract_approved": _l("Research extract approved"),
    "extract_deleted": _l("Research extract deleted"),
    "extract_downloaded": _l("Research extract downloaded"),
    "extract_generated": _l("Research extract made"),
    "extract_quorum": _l("Approvals needed for extracts changed"),
    "extract_refused": _l("Research extract refused"),
    "extract_requested": _l("Research extract requested"),
    "incident_created": _l("Incident recorded"),
    "incident_deleted": _l("Incident deleted"),
    "incident_updated": _l("Incident changed"),
    "invite_created": _l("Invitation link made"),
    "keys_created": _l("Organisation keys made"),
    "keys_rotated": _l("Organisation key replaced"),
    "login": _l("Logged in"),
    "login_failed": _l("Failed login"),
    "login_failed_2fa": _l("Failed login: wrong second-factor code"),
    "logout": _l("Logged out"),
    "logout_everywhere": _l("Logged out everywhere"),
    "member_confirmed": _l("Member confirmed"),
    "member_registered": _l("Member registered"),
    "member_removed": _l("Member removed"),
    "member_reset": _l("Member's keys reset"),
    "member_role_changed": _l("Member's role changed"),
    "org_2fa_policy": _l("Second-factor rule for members changed"),
    "org_retention_policy": _l("Retention period changed"),
    "org_created": _l("Organisation created"),
    "org_recovered": _l("Organisation recovered with its recovery code"),
    "passphrase_changed": _l("Passphrase changed"),
    "report_deleted": _l("Saved report deleted"),
    "report_generated": _l("Report made"),
    "report_saved": _l("Report saved"),
    "researcher_access_granted": _l("Researcher given access"),
    "researcher_registered": _l("Researcher registered"),
    "retention_run": _l("Old sealed details destroyed (retention)"),
    "vocab_term_added": _l("Own term added to the vocabulary"),
}

TABLES = {"field": FIELDS, "role": ROLES, "membership_status": MEMBERSHIP_STATUSES,
          "request_status": REQUEST_STATUSES, "generalisation": GENERALISATION,
          "audit_action": AUDIT_ACTIONS}


def label_of(kind: str, code: object) -> str:
    """The word for `code` in table `kind`; the code itself when there is none."""
    text = "" if code is None else str(getattr(code, "value", code))
    found = TABLES[kind].get(text)
    return str(found) if found is not None else text


def field_label(name: str) -> str:
    return label_of("field", name)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["label_of"] = label_of
