"""Notifications: email (SMTP) and signed webhooks about runs held, failed or waiting, new
conflicts and duplicates, an unreachable source, and a daily summary. See docs/notifications.md.

`config` (the `[notify]` table), `messages` (the words: counts and run ids, never a person),
`channels` (sending one message), `outbox` (events recorded once, deliveries retried with
backoff), `events` (what is worth a message, from the database), `notifier` (the daemon's
side: notice on the loop, send on a worker thread).
"""
