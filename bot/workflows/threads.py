"""Where people are told things: each person's DM thread, the engineering channel's
status thread, the boards (the two progress messages and the status message) and the
ticket. App Home is drawn from the read model by the process people open it in
(`bot.home`), not from here.

A notification that fails is logged with its traceback and the rollout carries on: a
lost status edit must never block the two people. A message is edited only when what it
would show differs from what it shows (`Audience.shown`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.blocks.common import escape_mrkdwn, slack_date
from bot.blocks.deploy import used_card
from bot.blocks.status import status_board_blocks, status_summary, summary_for
from bot.blocks.steps import done_step_blocks, progress_blocks, step_blocks, to_dicts
from bot.config import FileConfig
from bot.integrations.slack import SlackCallError
from bot.logging import get_logger
from bot.rollout import effects as fx
from bot.rollout.events import Event, PersonUnreachable, StepPosted, ThreadsOpened
from bot.rollout.state import PersonaThread, PostedCard, RolloutState
from bot.runbook.model import Persona, Runbook
from bot.workflows.runtime import notification_failed, stopping
from bot.workflows.steps import now_step
from bot.workflows.steps import slack as steps
from bot.workflows.steps.linear import start_linear

log = get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Audience:
    """What every notice needs besides the state: the YAML and the runbook; and what each
    message the rollout keeps editing shows now ("channel:ts" -> digest of text and
    blocks), rebuilt the same way when DBOS replays the workflow."""

    config: FileConfig
    runbook: Runbook
    shown: dict[str, str] = field(default_factory=dict)


def _digest(text: str, blocks: list[dict[str, Any]] | None) -> str:
    return hashlib.sha256(json.dumps([text, blocks], sort_keys=True).encode()).hexdigest()


def remember(aud: Audience, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
    """A message was posted with this content."""
    aud.shown[f"{channel}:{ts}"] = _digest(text, blocks)


async def edit(
    aud: Audience, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]
) -> None:
    """Edit a message in place, unless it already shows exactly this."""
    key, digest = f"{channel}:{ts}", _digest(text, blocks)
    if aud.shown.get(key) == digest:
        return
    try:
        await steps.update_step(channel, ts, text, blocks)
    except Exception:  # noqa: BLE001 - logged with its traceback by notification_failed
        notification_failed(log)
        return
    aud.shown[key] = digest


def slack_error(exc: BaseException) -> str:
    """Slack's own error code (e.g. user_not_found) from an exception chain."""
    pending: list[BaseException] = [exc]
    while pending:
        seen = pending.pop()
        if isinstance(seen, SlackCallError):
            return seen.code
        # DBOS gathers the error of every attempt when a step runs out of retries.
        pending.extend(getattr(seen, "errors", None) or [])
        pending.extend(e for e in (seen.__cause__, seen.__context__) if e is not None)
    return type(exc).__name__


async def safe(call: Awaitable[T]) -> T | None:
    """Run a notification step; a failure is logged (with traceback), never fatal."""
    try:
        return await call
    except Exception:  # noqa: BLE001 - logged with its traceback by notification_failed
        notification_failed(log)
        return None


def render_context(state: RolloutState, cfg: FileConfig) -> dict[str, str]:
    return {
        "owner": f"<@{state.owner}>",
        "devops": f"<@{state.devops}>",
        "item_title": cfg.onepassword.item_title,
        "vaults": "\n".join(f"• `{p.vault}`" for p in cfg.partitions),
        "systems_vault": cfg.onepassword.systems_vault,
        "issue": cfg.linear.issue,
        "partitions": " → ".join(p.name for p in cfg.partitions),
        "rotation_reason": escape_mrkdwn(state.reason) if state.reason else "not given",
        "pr_gate": pr_gate_sentence(cfg),
    }


def pr_gate_sentence(cfg: FileConfig) -> str:
    """The reminder about the infrastructure pull request, only when a PR gate is set."""
    number = cfg.github.pull_request
    if number is None:
        return ""
    return (
        f"\n\nBefore the first deploy I check that pull request #{number} in "
        f"{cfg.github.repository} is merged: the deploy reads the vaults through code it adds."
    )


def _persona_key(persona: Persona) -> str:
    return "accountOwner" if persona == "accountOwner" else "devOps"


async def post_in_thread(
    state: RolloutState,
    persona: Persona,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    *,
    broadcast: bool = False,
) -> str | None:
    thread = state.threads.get(_persona_key(persona))
    if thread is None:
        return None
    return await safe(steps.post_step(thread.channel, text, blocks, thread.parent_ts, broadcast))


async def tell_engineering(
    state: RolloutState, cfg: FileConfig, text: str, *, broadcast: bool = False
) -> None:
    """A thread reply under the live status message (also in the channel when broadcast)."""
    channel = cfg.slack.engineering_channel
    if channel and state.status_ts:
        await safe(steps.post_step(channel, text, None, state.status_ts, broadcast))
    elif channel:
        await safe(steps.post_step(channel, text, None))


async def linear(state: RolloutState, event: str, body: str) -> None:
    await safe(start_linear(state.rollout_id, event, body))


# ---------------------------------------------------------------------- the boards


async def refresh(state: RolloutState, aud: Audience) -> None:
    """Edit in place: both persona parents and the engineering status board."""
    runbook = aud.runbook
    summary = status_summary(state, runbook)
    for persona, thread in state.threads.items():
        line = summary_for(persona, state, runbook)
        blocks = progress_blocks(
            runbook,
            "accountOwner" if persona == "accountOwner" else "devOps",
            None if state.finished else state.step,
            state.rollout_id,
            status_line=line,
            finished=state.finished,
        )
        await edit(aud, thread.channel, thread.parent_ts, line, to_dicts(blocks))
    channel = aud.config.slack.engineering_channel
    if channel and state.status_ts:
        board = to_dicts(status_board_blocks(state, runbook))
        await edit(aud, channel, state.status_ts, summary, board)


async def open_threads(state: RolloutState, aud: Audience) -> Event:
    """Open both DMs, post one parent per persona, and the status board."""
    summary = status_summary(state, aud.runbook)
    threads: dict[str, PersonaThread] = {}
    people: tuple[tuple[Persona, str], ...] = (
        ("accountOwner", state.owner),
        ("devOps", state.devops),
    )
    for persona, user in people:
        try:
            channel = await steps.open_dm_step(user)
            line = summary_for(persona, state, aud.runbook)
            blocks = to_dicts(
                progress_blocks(
                    aud.runbook, persona, state.step, state.rollout_id, status_line=line
                )
            )
            ts = await steps.post_step(channel, line, blocks)
            remember(aud, channel, ts, line, blocks)
        except Exception as exc:  # whatever failed, this rollout ends cleanly, logged
            if stopping():
                raise  # the bot stopping is not the person: DBOS resumes this after it
            log.exception("person_unreachable", user=user, persona=persona)
            return PersonUnreachable(
                at=await now_step(), user=user, persona=persona, error=slack_error(exc)
            )
        threads[persona] = PersonaThread(user=user, channel=channel, parent_ts=ts)
    channel = aud.config.slack.engineering_channel
    status_ts = None
    if channel:
        board = to_dicts(status_board_blocks(state, aud.runbook))
        status_ts = await safe(steps.post_step(channel, summary, board))
        if status_ts:
            remember(aud, channel, status_ts, summary, board)
    return ThreadsOpened(at=await now_step(), threads=threads, status_ts=status_ts)


async def post_step(state: RolloutState, aud: Audience, step_id: str) -> Event | None:
    step = aud.runbook.step(step_id)
    persona: Persona = "devOps" if step.persona == "bot" else step.persona
    context = render_context(state, aud.config)
    rotation = state.kind == "rotation"
    blocks = to_dicts(step_blocks(step, state.rollout_id, context, rotation=rotation))
    ts = await post_in_thread(state, persona, step.title, blocks)
    return StepPosted(step=step_id, ts=ts) if ts else None


async def mark_done(state: RolloutState, aud: Audience, effect: fx.MarkDone) -> None:
    """Edit the step's message in place: no more buttons, who did it and when."""
    step = aud.runbook.step(effect.step)
    ts = state.step_ts.get(step.id)
    thread = state.threads.get(_persona_key("devOps" if step.persona == "bot" else step.persona))
    if ts and thread:
        done = done_step_blocks(
            step,
            render_context(state, aud.config),
            actor=effect.actor,
            action_label=effect.label,
            when=effect.at,
            rotation=state.kind == "rotation",
        )
        await edit(aud, thread.channel, ts, f"Done: {step.title}", to_dicts(done))


async def close_card(state: RolloutState, card: PostedCard, note: str, at: str) -> None:
    """Take the buttons off a used card so nobody presses them again."""
    thread = state.threads.get("devOps")
    if thread is not None:
        blocks = used_card(card.blocks, f"{note}, {slack_date(at)}" if at else note)
        await safe(steps.update_step(thread.channel, card.ts, card.text, blocks))


async def reply(effect: fx.Reply) -> None:
    request = effect.request
    await safe(
        steps.ephemeral_step(request.user, effect.text, request.channel, request.response_url)
    )


def died_texts(state: RolloutState, error: str) -> tuple[str, str]:
    """(devOps and the channel, the owner): the rollout's workflow failed for good."""
    where = ", ".join(f"{p.name} {p.status}" for p in state.partitions) or "no deploy yet"
    devops = (
        f":rotating_light: Rollout {state.rollout_id} stopped on an unexpected error "
        f"({error}) and will do nothing more: its buttons and commands no longer reach it. "
        f"It stood at step `{state.step}` ({where}). Nothing was rolled back: each "
        "partition stays as it was deployed, and a run already started keeps going on "
        "GitHub. The bot's log has the traceback (`rollout_failed`). Once the cause is "
        "fixed, `/creators-onboard start` begins a new rollout."
    )
    owner = (
        ":pause_button: This setup stopped because of a problem on the bot's side, not "
        f"anything you did. <@{state.devops}> has been told and will pick it up with you."
    )
    return devops, owner


async def say_it_died(state: RolloutState, cfg: FileConfig, error: str) -> None:
    """devOps' thread, the engineering channel and the owner's thread hear that the
    rollout's workflow failed for good (once: `post_unrecorded`)."""
    devops, owner = died_texts(state, error)
    posts: list[tuple[str, str, str | None]] = []
    for persona, text in (("devOps", devops), ("accountOwner", owner)):
        thread = state.threads.get(persona)
        if thread is not None:
            posts.append((thread.channel, text, thread.parent_ts))
    channel = cfg.slack.engineering_channel
    if channel:
        posts.append((channel, devops, state.status_ts))
    await steps.post_unrecorded(f"{state.rollout_id}#died", posts)
