"""The rollout: one durable DBOS workflow per rollout, with one event loop.

The workflow id is the rollout id. It takes one event at a time from its inbox (a
person's request handed over by the service, or a result sent back by a child
workflow: a concluded run, a smoke test), lets the pure machine decide, and performs
the effects in order. Effects that find something out at once (a vault check, a
dispatch) feed their event straight back into the machine. Every outside call is a
durable step, so after a crash DBOS replays this function, skips what was done and
keeps waiting where it stood.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from dbos import DBOS

from bot.config import FileConfig
from bot.integrations.vaults.verify import key_id
from bot.logging import bind_request, clear_request, get_logger
from bot.rollout import effects as fx
from bot.rollout import machine
from bot.rollout.events import AbortRequest, Event, Quiet, parse_event
from bot.rollout.rules import Rules
from bot.rollout.state import RolloutState
from bot.runbook import load_runbook
from bot.workflows import ABANDONED_WORKFLOW, ROLLOUT_WORKFLOW, notify, ongoing, threads
from bot.workflows.runtime import stopping
from bot.workflows.steps import (
    EVENT_TOPIC,
    checks,
    config,
    delist_state,
    now_step,
    publish_state,
    settings_step,
    slack,
)
from bot.workflows.threads import Audience

log = get_logger(__name__)

# The boards are edited after this many events at the latest, however busy the inbox.
MAX_HELD_EVENTS = 10
# Where rollouts published their state before the read model (`bot.readmodel`) existed;
# read once at start to add such rollouts to it (`service.backfill`).
LEGACY_STATE_EVENT = "state"


class Rollout:
    """One rollout's state and the loop that moves it."""

    def __init__(self, state: RolloutState, rules: Rules, *, version: int = 0) -> None:
        self.state = state
        self.rules = rules
        self.audience = Audience(config=rules.config, runbook=rules.runbook)
        self._published: dict[str, Any] | None = None
        # Of the published state; 0 is the state the rollout was created with (`version`:
        # the one the read model holds, when taking over another workflow's rollout).
        self._version = version
        self._board: object = None
        self._held = 0  # events taken since the boards fell behind the state
        self._settings: dict[str, Any] | None = None  # the YAML last read (`read_settings`)
        self._perform: dict[type[fx.Effect], Callable[[Any], Awaitable[Event | None]]] = {
            fx.OpenThreads: self._open_threads,
            fx.PostStep: self._post_step,
            fx.MarkDone: self._mark_done,
            fx.VerifyVaults: self._verify,
            fx.CheckReady: self._ready,
            fx.CheckPrGate: self._pr_gate,
            fx.Dispatch: self._dispatch,
            fx.FollowRun: self._follow,
            fx.CancelFollow: self._cancel_follow,
            fx.CheckAmplify: self._amplify,
            fx.Smoke: self._smoke,
            fx.CloseCard: self._close_card,
            fx.Reply: self._reply,
            fx.Audit: self._audit,
            fx.ArmLeakGuard: self._arm_leak_guard,
            fx.Sync: self._sync,
        }

    async def run(self) -> RolloutState:
        try:
            await self.read_settings()
            await self.apply(machine.begin(self.state, self.rules))
            while not self.state.finished:
                quiet = self.rules.config.workflow.nudge_after_hours * 3600
                coalesce = self.rules.config.slack.board_coalesce_seconds
                if self._behind() and self._held < MAX_HELD_EVENTS:
                    # Boards behind: edit them once nothing more arrives for a moment.
                    raw = await DBOS.recv_async(EVENT_TOPIC, timeout_seconds=coalesce)
                    if raw is None:
                        await self._edit_boards()
                        continue
                    self._held += 1
                elif self._behind():
                    await self._edit_boards()
                    continue
                else:
                    raw = await DBOS.recv_async(EVENT_TOPIC, timeout_seconds=quiet)
                event = Quiet(at=await now_step()) if raw is None else parse_event(raw)
                await self.feed(event)
            await self._edit_boards()
        except Exception as exc:
            # A workflow that dies must not stay listed as active, blocking every start.
            # One failing because the process is stopping has not died: DBOS resumes it
            # after the restart, and listed as inactive then, every press for it would be
            # refused ("no longer active") and a second rollout could be started.
            if not stopping():
                log.exception("rollout_failed", rollout=self.state.rollout_id)
                await self.publish(active=False)
                # Dying while DBOS replays it, its versions are behind the stored one and
                # that listing changed nothing.
                newest = await delist_state(self.state.rollout_id) or self.state
                await threads.say_it_died(newest, self.audience.config, type(exc).__name__)
            raise
        return self.state

    async def feed(self, event: Event) -> None:
        await self.read_settings()
        await self.apply(machine.handle(self.state, event, self.rules))

    async def read_settings(self) -> None:
        """Take the YAML as it is now, through a recorded step (`settings_step`): an edit
        (a person added to `slack.devops`, an `amplify` section, the engineering channel)
        applies from the next event on, and a replay takes each event with the YAML it was
        first taken with. The partitions' names and order are the rollout's own from its
        start: an edit to them waits for the next rollout."""
        dumped = await settings_step()
        if dumped == self._settings:
            return
        self._settings = dumped
        cfg = FileConfig.model_validate(dumped)
        started = self.state.order
        if started and [p.name for p in cfg.partitions] != started:
            log.warning(
                "rollout_partitions_kept",
                rollout=self.state.rollout_id,
                partitions=started,
                yaml=[p.name for p in cfg.partitions],
                meaning="the YAML's partitions changed since this rollout started; it keeps "
                "its own (and their settings) until it ends, the next rollout takes the new",
            )
            cfg = cfg.model_copy(update={"partitions": self.rules.config.partitions})
        self.rules = replace(self.rules, config=cfg)
        self.audience = replace(self.audience, config=cfg)

    async def settle(self, event: Event) -> RolloutState:
        """Take one last event from outside the loop (`abandoned_workflow`), list the state
        as over whatever the machine made of it, and bring the boards up to it."""
        await self.feed(event)
        await self.publish(active=False)
        await self._edit_boards()
        return self.state

    async def apply(self, outcome: machine.Outcome) -> None:
        """Perform an outcome's effects; what they find out goes back into the machine,
        one event at a time, in the order it was found."""
        found: list[Event] = []
        while True:
            self.state = outcome.state
            for effect in outcome.effects:
                event = await self.perform(effect)
                if event is not None:
                    found.append(event)
            if not found:
                break
            outcome = machine.handle(self.state, found.pop(0), self.rules)
        await self._sync(fx.Sync())

    async def perform(self, effect: fx.Effect) -> Event | None:
        if effect.has_buttons:
            # A press of the buttons about to be shown is judged against the published
            # state (the handlers refuse at once from it): publish first.
            await self.publish()
        if isinstance(effect, fx.Notice):
            return await notify.tell(effect, self.state, self.audience)
        return await self._perform[type(effect)](effect)

    # ----------------------------------------------------------- publishing

    async def publish(self, *, active: bool = True) -> None:
        """Write the state to the read model when it changed (handlers answer from it).

        Not a DBOS step: the write is idempotent by version, and the versions are the same
        on every replay (the states are), so a replay rewrites nothing newer."""
        dumped = self.state.model_dump(mode="json")
        if dumped != self._published or not active:
            self._version += 1
            live = active and not self.state.finished
            await publish_state(self.state, self._version, active=live)
            self._published = dumped

    def _board_key(self) -> object:
        s = self.state
        return (
            s.status,
            s.step,
            s.halt_reason,
            s.abort_reason,
            [(p.status, p.stage, p.run_url, p.finished_at, p.failed_check) for p in s.partitions],
        )

    def _behind(self) -> bool:
        return bool(self.state.threads) and self._board_key() != self._board

    async def _edit_boards(self) -> None:
        """Bring the progress and status messages up to the state (each only if what it
        shows changed)."""
        if self._behind():
            await threads.refresh(self.state, self.audience)
            self._board = self._board_key()
        self._held = 0

    async def _sync(self, _: fx.Sync) -> None:
        """Publish the state now; the boards follow when the inbox is quiet (`run`)."""
        await self.publish()

    # -------------------------------------------------------------- effects

    async def _open_threads(self, _: fx.OpenThreads) -> Event:
        return await threads.open_threads(self.state, self.audience)

    async def _post_step(self, effect: fx.PostStep) -> Event | None:
        return await threads.post_step(self.state, self.audience, effect.step)

    async def _mark_done(self, effect: fx.MarkDone) -> None:
        await threads.mark_done(self.state, self.audience, effect)

    async def _close_card(self, effect: fx.CloseCard) -> None:
        await threads.close_card(self.state, effect.card, effect.note, effect.at)

    async def _reply(self, effect: fx.Reply) -> None:
        await threads.reply(effect)

    async def _audit(self, effect: fx.Audit) -> None:
        await threads.safe(
            slack.audit_step(
                self.state.rollout_id,
                effect.actor,
                effect.action,
                effect.outcome,
                effect.detail,
                effect.key,
            )
        )

    async def _arm_leak_guard(self, effect: fx.ArmLeakGuard) -> None:
        await threads.safe(
            ongoing.remember_fingerprint(self.state.rollout_id, effect.fingerprint, key_id())
        )

    async def _verify(self, effect: fx.VerifyVaults) -> Event:
        return await checks.verify_vaults_step(effect.requested_by)

    async def _ready(self, effect: fx.CheckReady) -> Event:
        return await checks.ready_step(effect.request, effect.partition)

    async def _pr_gate(self, effect: fx.CheckPrGate) -> Event:
        return await checks.pr_gate_step(effect.request)

    async def _dispatch(self, effect: fx.Dispatch) -> Event:
        return await checks.dispatch_step(
            effect.partition, effect.not_before, list(effect.earlier_runs)
        )

    async def _follow(self, effect: fx.FollowRun) -> None:
        await checks.start_follow(
            self.state.rollout_id, effect.partition, effect.run_id, effect.attempt
        )

    async def _cancel_follow(self, effect: fx.CancelFollow) -> None:
        await threads.safe(
            checks.cancel_step(
                checks.follow_workflow_id(self.state.rollout_id, effect.run_id, effect.attempt)
            )
        )

    async def _amplify(self, effect: fx.CheckAmplify) -> Event:
        return await checks.amplify_step(effect.partition)

    async def _smoke(self, effect: fx.Smoke) -> None:
        await checks.start_smoke(
            self.state.rollout_id, effect.key, effect.partition, effect.on_demand
        )


@DBOS.workflow(name=ROLLOUT_WORKFLOW)
async def rollout_workflow(spec: dict[str, Any]) -> dict[str, Any]:
    rules = Rules(runbook=load_runbook(), config=config())
    state = RolloutState.model_validate(spec)
    # The workflow outlives the request that started it: log with its own context.
    clear_request()
    bind_request(rollout_id=state.rollout_id)
    final = await Rollout(state, rules).run()
    return final.model_dump(mode="json")


def abandoned_id(rollout_id: str) -> str:
    return f"{rollout_id}:abandoned"


@DBOS.workflow(name=ABANDONED_WORKFLOW)
async def abandoned_workflow(spec: dict[str, Any], abort: dict[str, Any], version: int) -> str:
    """End here a rollout another workflow version started (`service.abandon`): its own
    workflow cancelled (nothing here would resume it), then `abort` taken as that workflow
    would have taken it, by the same machine with the same effects (the owner's and
    devOps' threads, the engineering channel, Linear, the audit row, the cards' buttons
    off, a followed run let go), the aborted state listed as over after `version` (the
    read model's), and the boards brought up to it. Its id is made from the rollout's
    (`abandoned_id`), so two aborts end it once."""
    rules = Rules(runbook=load_runbook(), config=config())
    state = RolloutState.model_validate(spec)
    clear_request()
    bind_request(rollout_id=state.rollout_id)
    await DBOS.cancel_workflow_async(state.rollout_id)
    # Listed as over whatever the machine makes of the abort (it was judged against this
    # very state, so it takes it): its workflow is cancelled, and a rollout listed as
    # active with nothing behind it would refuse every start.
    ended = await Rollout(state, rules, version=version).settle(AbortRequest.model_validate(abort))
    return ended.status
