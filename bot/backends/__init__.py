"""CI backends: actions that dispatch a GitHub Actions workflow or a GitLab pipeline and
follow the run to its end, instead of sending a webhook.

`config` checks and renders the `backend:` block; `api` is the one way we talk to a CI
API (audit, rate limits); `github` and `gitlab` speak each API; `follower` is what the
follow job asks, shared by every run of a repository in one tick.
"""
