"""Jinja2 templates for notification mails (text and HTML), overridable by the operator."""
