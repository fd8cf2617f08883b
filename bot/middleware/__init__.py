"""The app's Bolt middleware, one concern per module, each an `AsyncMiddleware` (Bolt calls
it directly; a function middleware has its arguments worked out on every request).

* `observe`: the listener a request goes to, for logs and metrics, and its ack time.
* `once`: a request Slack retries or someone replays is handled once (`bot.afterack`).
* `respond`: `respond()` over the app's own HTTP session, scrubbed.
"""
