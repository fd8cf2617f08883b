"""Modals as Slack keeps them: ``views.open`` / ``views.push`` / ``views.update`` and each
user's stack of open modals, and what Slack does with the app's ack to a submission."""

from __future__ import annotations

from typing import Any

from bot.sandbox.fakes.signing import API_APP_ID
from bot.sandbox.fakes.slack.records import FIRST_TS, MAX_VIEW_BLOCKS, SlackError, present
from bot.sandbox.fakes.slack.workspace import SlackWorkspace


class SlackModals(SlackWorkspace):
    def modals(self, user_id: str) -> list[dict[str, Any]]:
        """The user's open modals, bottom of the stack first."""
        return list(self._modals.get(user_id, []))

    def close_modal(self, user_id: str, view_id: str | None = None) -> None:
        """Close the modal ``view_id`` and those pushed above it (all when None)."""
        stack = self._modals.get(user_id, [])
        ids = [v["id"] for v in stack]
        keep = ids.index(view_id) if view_id in ids else 0
        del stack[keep:]
        self._modals_changed(user_id)

    def answer_submission(self, user_id: str, view_id: str, answer: dict[str, Any]) -> None:
        """What Slack does with the app's ack to a ``view_submission`` of ``view_id``:
        ``errors`` stay on the modal, ``update`` replaces it, ``push`` stacks a new one,
        ``clear`` closes them all, and no ``response_action`` closes the submitted one."""
        stack = self._modals.get(user_id, [])
        ids = [v["id"] for v in stack]
        if view_id not in ids:
            return
        at = ids.index(view_id)
        action = answer.get("response_action")
        if action == "errors":
            stack[at] = {**stack[at], "errors": dict(answer.get("errors") or {})}
        elif action == "update":
            stack[at] = self._modal({"view": answer.get("view")}, "response_action", stack[at])
        elif action == "push" and len(stack) < 3:
            pushed = self._modal({"view": answer.get("view")}, "response_action", None)
            pushed.update(root_view_id=stack[0]["id"], previous_view_id=stack[-1]["id"])
            stack.append(pushed)
        elif action == "clear":
            stack.clear()
        else:
            del stack[at:]
        self._modals_changed(user_id)

    def _modals_changed(self, user_id: str) -> None:
        self._emit("modals", {"user": user_id, "modals": self.modals(user_id)})

    def _modal(
        self, args: dict[str, Any], method: str, previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        view = args.get("view")
        if not isinstance(view, dict) or view.get("type") != "modal":
            self._violate(method, "view.type must be 'modal'", args)
            raise SlackError("invalid_arguments")
        blocks = self._blocks(method, view.get("blocks", []), MAX_VIEW_BLOCKS)
        if not isinstance(view.get("title"), dict):
            self._violate(method, "view.title is required for a modal", args)
            raise SlackError("invalid_arguments")
        n = next(self._ids)
        view_id = previous["id"] if previous is not None else f"V0MODAL{n:05d}"
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": "modal",
            "title": view.get("title"),
            "submit": view.get("submit"),
            "close": view.get("close"),
            "blocks": blocks,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "state": {"values": {}},
            "hash": f"{FIRST_TS + n}.fakehash{n:04d}",
            "app_id": API_APP_ID,
            "bot_id": self.bot_id,
            "root_view_id": previous["root_view_id"] if previous else view_id,
            "previous_view_id": previous.get("previous_view_id") if previous else None,
        }

    async def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._triggers.get(str(args["trigger_id"]), "")
        view = self._modal(args, "views.open", None)
        self._opened.append(view)
        self._modals[user] = [view]
        self._modals_changed(user)
        return {"view": view}

    async def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._triggers.get(str(args["trigger_id"]), "")
        stack = self._modals[user]
        if not stack:
            raise SlackError("not_found")
        if len(stack) >= 3:  # Slack keeps at most three modals in a stack
            raise SlackError("push_limit_reached")
        view = self._modal(args, "views.push", None)
        view["root_view_id"] = stack[0]["id"]
        view["previous_view_id"] = stack[-1]["id"]
        stack.append(view)
        self._modals_changed(user)
        return {"view": view}

    async def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        wanted = args.get("view_id") or args.get("external_id")
        for user, stack in self._modals.items():
            for i, current in enumerate(stack):
                if wanted in (current["id"], current.get("external_id") or None):
                    if present(args.get("hash")) and args["hash"] != current["hash"]:
                        raise SlackError("hash_conflict")
                    stack[i] = self._modal(args, "views.update", current)
                    self._modals_changed(user)
                    return {"view": stack[i]}
        raise SlackError("not_found")
