"""Merchant reports: a job that writes every shop's PDF and Excel reports, and its schedules."""
