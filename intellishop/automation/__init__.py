"""Marketing automation: rules on the event log, built-in flows, delivery and campaign tracking.

- :mod:`.rules`, :mod:`.conditions`: what a rule is (the API's and the store's model);
- :mod:`.store`: rules, scheduled actions, the outbox and tracking (SQLite or PostgreSQL);
- :mod:`.worker`: tails the event log, schedules, fires and delivers;
- :mod:`.flows`: built-in rule templates (abandoned cart, win-back, ...);
- :mod:`.delivery`: signed webhooks (with SSRF refusal) and SMTP email;
- :mod:`.signing`: webhook signatures and tracking tokens.

See ``docs/automation.md``.
"""
