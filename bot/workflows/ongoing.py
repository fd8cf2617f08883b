"""Workflows people's answers start outside a rollout: an answer to the monthly check-in,
a warning about a credential pasted into Slack, and the remembered fingerprint of the
verified secret the leak guard compares messages with. Each has a workflow id derived
from what it is about, so a Slack retry or a second replica never does it twice."""

from __future__ import annotations

from typing import Any, Literal

from dbos import DBOS, SetWorkflowID

from bot.blocks.steps import to_dicts
from bot.blocks.watches import answered_checkin_blocks, notice_blocks
from bot.watches import texts
from bot.watches.leak import Verdict
from bot.watches.model import CHECKIN_ANSWER, Outcome
from bot.workflows.runtime import current
from bot.workflows.steps import config, now_step
from bot.workflows.steps.slack import audit_step, open_dm_step, post_step, update_step
from bot.workflows.threads import safe

LEAK_WARNING = "leak_warning"
FINGERPRINT = "secret_fingerprint"
Answer = Literal["normal", "no_sales"]


# ------------------------------------------------------------------ the check-in


def answer_id(checkin: str) -> str:
    return f"{checkin}:answer"


@DBOS.workflow(name=CHECKIN_ANSWER)
async def checkin_answer_workflow(
    checkin: str, user: str, answer: str, channel: str, ts: str
) -> dict[str, Any]:
    """The accountOwner answered a check-in: close the question, thank them, and on
    "no qualifying sales" tell devOps and engineering what it means and what to do."""
    cfg = config()
    at = await now_step()
    label = texts.CHECKIN_NORMAL if answer == "normal" else texts.CHECKIN_NO_SALES
    answered = to_dicts(answered_checkin_blocks(user, label, user, at))
    await safe(update_step(channel, ts, texts.CHECKIN_TITLE, answered))
    thanks = texts.THANKS_NORMAL if answer == "normal" else texts.THANKS_NO_SALES
    await safe(post_step(channel, thanks, None, ts))
    if answer == "no_sales":
        notice = texts.no_sales_notice(user)
        blocks = to_dicts(notice_blocks(notice))
        for devops in cfg.slack.devops:
            dm = await safe(open_dm_step(devops))
            if dm:
                await safe(post_step(dm, notice, blocks))
        if cfg.slack.engineering_channel:
            await safe(post_step(cfg.slack.engineering_channel, notice, blocks))
    await safe(audit_step(None, user, "checkin_answer", "done", answer, answer_id(checkin)))
    outcome = Outcome(
        watch="eligibility",
        at=at,
        by=user,
        ok=answer == "normal",
        summary=f"<@{user}> answered “{label}”",
    )
    current().watch_board.put(outcome)  # status and App Home show it at once
    return outcome.model_dump(mode="json")


async def start_answer(checkin: str, user: str, answer: Answer, channel: str, ts: str) -> None:
    with SetWorkflowID(answer_id(checkin)):
        await DBOS.start_workflow_async(checkin_answer_workflow, checkin, user, answer, channel, ts)


# ------------------------------------------------------------------- leak guard


def leak_id(channel: str, ts: str) -> str:
    return f"leak:{channel}:{ts}"


@DBOS.workflow(name=LEAK_WARNING)
async def leak_warning_workflow(
    channel: str, ts: str, thread_ts: str | None, user: str, verdict: str, where: str
) -> str:
    """One threaded warning on the message, and devOps and engineering told — never the
    value: only who, where and what to do."""
    cfg = config()
    secret = verdict == "secret"
    eng = cfg.slack.engineering_channel
    warning = texts.leak_warning(user, secret=secret)
    in_eng = channel == eng
    await safe(
        post_step(
            channel,
            warning,
            to_dicts(notice_blocks(warning, rotate="leak")),
            thread_ts or ts,
            in_eng,
        )
    )
    notice = texts.leak_notice(user, where, secret=secret)
    blocks = to_dicts(notice_blocks(notice, rotate="leak"))
    for devops in cfg.slack.devops:
        dm = await safe(open_dm_step(devops))
        if dm and dm != channel:
            await safe(post_step(dm, notice, blocks))
    if eng and not in_eng:
        await safe(post_step(eng, notice, blocks))
    await safe(audit_step(None, user, "credential_pasted", verdict, where, leak_id(channel, ts)))
    return verdict


async def start_leak_warning(
    channel: str, ts: str, thread_ts: str | None, user: str, verdict: Verdict, where: str
) -> None:
    with SetWorkflowID(leak_id(channel, ts)):
        await DBOS.start_workflow_async(
            leak_warning_workflow, channel, ts, thread_ts, user, verdict, where
        )


@DBOS.workflow(name=FINGERPRINT)
async def fingerprint_workflow(fingerprint: str, key: str) -> dict[str, str]:
    """Remembers the keyed hash of a verified secret (its result is the record)."""
    return {"fingerprint": fingerprint, "key": key}


async def remember_fingerprint(rollout_id: str, fingerprint: str, key: str) -> None:
    with SetWorkflowID(f"{rollout_id}:fingerprint:{fingerprint[:16]}"):
        await DBOS.start_workflow_async(fingerprint_workflow, fingerprint, key)


async def newest_fingerprint(key: str) -> str | None:
    """The fingerprint of the newest verified secret, if it was taken under `key`."""
    found = await DBOS.list_workflows_async(
        name=FINGERPRINT, status=["SUCCESS"], sort_desc=True, limit=1, load_input=False
    )
    for wf in found:
        out = wf.output if isinstance(wf.output, dict) else {}
        if out.get("key") == key:
            return str(out.get("fingerprint") or "") or None
    return None
