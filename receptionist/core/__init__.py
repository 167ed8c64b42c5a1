"""What every part uses: logs, secret redaction, printable text, counters, outcomes."""
