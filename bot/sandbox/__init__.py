"""The rehearsal sandbox: the real bot against local stand-ins, shown as Slack in a browser.

`creators-onboard sandbox` starts the stand-ins (Slack Web API, GitHub Actions, Linear,
the fake `op`, Amplify, the four BFFs) on loopback, runs `creators-onboard serve` as a
child process pointed at them, and serves a page on which both people click through the
rollout while the supervisor plays Slack: it signs every command, button press and modal
submission and posts it to the bot's `/slack/events`.

The stand-ins are in `fakes/` (the tests use the same ones); they validate what the bot
sends against the official specs vendored in `specs/`, which ship as package data.
"""
