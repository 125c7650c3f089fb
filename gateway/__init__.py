"""The inbound side: the SMTP edge, the IMAP poller, the mail pipeline and the CLI."""
