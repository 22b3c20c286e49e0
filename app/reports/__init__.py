"""Reports over the coded tier. So far: disclosure control (disclosure.py)."""
