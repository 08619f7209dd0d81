/* Every notification channel type, one line each; a new channel is one file + one line. */
NOTIFY_CHANNEL(ntfy)
NOTIFY_CHANNEL(telegram)
NOTIFY_CHANNEL(pushover)
NOTIFY_CHANNEL(gotify)
NOTIFY_CHANNEL(webhook)
NOTIFY_CHANNEL(email)
NOTIFY_CHANNEL(mqtt)
