"""Ongoing operations after a rollout, as pure rules and texts (no DBOS, Slack or I/O).

The runbook does not end at "rollout complete" (seed task 12): eligibility maintenance
(accountOwner), credential rotation (both) and quota awareness (devOps). Each is watched
by a durable scheduled workflow (`bot.workflows.watches`); what a run found is an
`Outcome`, judged here against the previous run's (`rules`), and told in the words of
`texts`. `leak` recognises a Credential Secret pasted into Slack.
"""
