"""Research extracts: anonymisation, requests and sealed delivery (issue 7)."""
