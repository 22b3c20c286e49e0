"""Retention: an organisation's rule that destroys the sealed tier and attachments of old
incidents and keeps their coded tier for reports (service.py; `flask retention run`)."""
