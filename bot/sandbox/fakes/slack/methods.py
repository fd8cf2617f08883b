"""The Web API methods the bot calls, carried out as Slack does (messages, DMs, users,
channels, App Home, Socket Mode's connection URL); modals are in ``modals.py``."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from bot.sandbox.fakes.signing import API_APP_ID
from bot.sandbox.fakes.slack.openapi import conversation_example
from bot.sandbox.fakes.slack.records import (
    EVENT_TYPE,
    FIRST_TS,
    MAX_MESSAGE_BLOCKS,
    MAX_TEXT,
    MAX_VIEW_BLOCKS,
    USER_ID,
    Ephemeral,
    Message,
    SlackError,
    present,
)
from bot.sandbox.fakes.slack.workspace import SlackWorkspace


class SlackMethods(SlackWorkspace):
    async def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    async def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = args.get("users")
        if isinstance(users, str):
            users = [u.strip() for u in users.split(",") if u.strip()]
        if not users:
            if present(args.get("channel")):
                return {
                    "channel": {"id": str(args["channel"])},
                    "no_op": True,
                    "already_open": True,
                }
            self._violate(
                "conversations.open",
                "needs 'users' or 'channel': required by Slack (the spec marks neither)",
                args,
            )
            raise SlackError("users_list_not_supplied")
        for uid in users:
            if not USER_ID.match(str(uid)):
                raise SlackError("user_not_found")
        if len(users) > 1:
            key = ",".join(sorted(users))
            cid = "G" + hashlib.sha256(key.encode()).hexdigest()[:9].upper()
            return {"channel": {"id": cid, "is_mpim": True, "created": FIRST_TS}}
        uid = str(users[0])
        existed = uid in self._dms
        cid = self.dm_channel(uid)
        out: dict[str, Any] = {
            "channel": {"id": cid, "created": FIRST_TS, "is_im": True, "user": uid},
        }
        if existed:
            out.update(no_op=True, already_open=True)
        return out

    async def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args["channel"])
        return self._post("chat.postMessage", channel, args)

    def _post(self, method: str, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        blocks = self._blocks(method, args.get("blocks"), MAX_MESSAGE_BLOCKS)
        attachments = args.get("attachments")
        text = args.get("text")
        if not present(text) and not blocks and not attachments:
            self._violate(
                method,
                "needs one of text, blocks, attachments: required by Slack "
                "(the spec does not mark it)",
                args,
            )
            raise SlackError("no_text")
        if text is not None and len(str(text)) > MAX_TEXT:
            raise SlackError("msg_too_long")
        thread_ts = args.get("thread_ts")
        ts = self._next_ts()
        msg = Message(
            channel=channel,
            ts=ts,
            text=str(text or ""),
            blocks=blocks,
            thread_ts=str(thread_ts) if present(thread_ts) else None,
            attachments=attachments if isinstance(attachments, list) else None,
            user=self.bot_user_id,
            metadata=self._metadata(method, args.get("metadata")),
        )
        self._store[channel][ts] = msg
        return {"channel": channel, "ts": ts, "message": msg.to_api()}

    async def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args["channel"])
        msg = self._existing(channel, args["ts"])
        blocks = self._blocks("chat.update", args.get("blocks"), MAX_MESSAGE_BLOCKS)
        if args.get("text") is not None and len(str(args["text"])) > MAX_TEXT:
            raise SlackError("msg_too_long")
        msg.versions.append(
            {
                "text": msg.text,
                "blocks": msg.blocks,
                "attachments": msg.attachments,
                "replaced_at": f"{time.time():.6f}",
            }
        )
        if "text" in args:
            msg.text = str(args["text"] or "")
        if "blocks" in args:
            msg.blocks = blocks
        if "attachments" in args:
            attachments = args["attachments"]
            msg.attachments = attachments if isinstance(attachments, list) else None
        return {"channel": channel, "ts": msg.ts, "text": msg.text, "message": msg.to_api()}

    async def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        self._require_by_slack("chat.delete", args, "channel", "ts")
        channel = self._channel(args["channel"])
        msg = self._existing(channel, args["ts"])
        msg.deleted = True
        return {"channel": channel, "ts": msg.ts}

    async def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args["channel"])
        blocks = self._blocks("chat.postEphemeral", args.get("blocks"), MAX_MESSAGE_BLOCKS)
        text = args.get("text")
        if not present(text) and not blocks and not args.get("attachments"):
            self._violate(
                "chat.postEphemeral",
                "needs one of text, blocks, attachments: required by Slack "
                "(the spec does not mark it)",
                args,
            )
            raise SlackError("no_text")
        ts = self._next_ts()
        thread_ts = args.get("thread_ts")
        self._ephemerals.append(
            Ephemeral(
                channel=channel,
                user=str(args["user"]),
                message_ts=ts,
                text=str(text or ""),
                blocks=blocks,
                thread_ts=str(thread_ts) if present(thread_ts) else None,
            )
        )
        return {"message_ts": ts}

    async def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args["channel"])
        msg = self._existing(channel, args["message_ts"])
        link = f"https://{self.team_domain}.slack.com/archives/{channel}/p{msg.ts.replace('.', '')}"
        if msg.thread_ts and msg.thread_ts != msg.ts:
            link += f"?thread_ts={msg.thread_ts}&cid={channel}"
        return {"channel": channel, "permalink": link}

    async def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args["user_id"])
        view = args["view"]
        if not isinstance(view, dict):
            raise SlackError("invalid_arguments")
        if view.get("type") != "home":
            self._violate("views.publish", "view.type must be 'home' (Slack rejects others)", args)
            raise SlackError(
                "invalid_arguments",
                response_metadata={
                    "messages": ["[ERROR] must be 'home' [json-pointer:/view/type]"]
                },
            )
        blocks = self._blocks("views.publish", view.get("blocks", []), MAX_VIEW_BLOCKS)
        current = self.home_view(user_id)
        expected_hash = args.get("hash")
        if present(expected_hash) and current is not None and expected_hash != current["hash"]:
            raise SlackError("hash_conflict")
        n = next(self._ids)
        published = {
            "id": current["id"] if current else f"V0HOME{n:05d}",
            "team_id": self.team_id,
            "type": "home",
            "blocks": blocks,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{FIRST_TS + n}.fakehash{n:04d}",
            "app_id": API_APP_ID,
            "bot_id": self.bot_id,
            "root_view_id": current["id"] if current else f"V0HOME{n:05d}",
            "previous_view_id": None,
        }
        self._home[user_id].append(published)
        return {"view": published}

    async def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        self._require_by_slack("users.info", args, "user")
        uid = str(args["user"])
        if uid in self._users:
            return {"user": self._users[uid]}
        if not USER_ID.match(uid):
            raise SlackError("user_not_found")
        return {"user": self._synth_user(uid)}

    async def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if channel in self._dms.values():
            user = next(u for u, c in self._dms.items() if c == channel)
            return {"channel": {"id": channel, "created": FIRST_TS, "is_im": True, "user": user}}
        known = self._channels.get(channel)
        if known is None or (known["is_private"] and not known["is_member"]):
            raise SlackError("channel_not_found")
        info = conversation_example()
        info.update(
            id=channel,
            name=known["name"],
            name_normalized=known["name"],
            is_member=known["is_member"],
            is_private=known["is_private"],
            is_group=known["is_private"],
            is_channel=not known["is_private"],
            is_archived=known["is_archived"],
            is_general=False,
        )
        return {"channel": info}

    async def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if self._issue_socket_url is None:
            raise SlackError("invalid_auth")
        return {"url": self._issue_socket_url()}

    def _metadata(self, method: str, value: Any) -> dict[str, Any] | None:
        """Slack's message metadata: an object with a string ``event_type`` and an object
        ``event_payload``; anything else is ``invalid_metadata_format``."""
        if value is None:
            return None
        if (
            not isinstance(value, dict)
            or not isinstance(value.get("event_type"), str)
            or not EVENT_TYPE.match(value["event_type"])
            or not isinstance(value.get("event_payload"), dict)
        ):
            self._violate(method, f"metadata is not {{event_type, event_payload}}: {value!r}", {})
            raise SlackError("invalid_metadata_format")
        return value

    def _page(self, messages: list[Message], args: dict[str, Any]) -> dict[str, Any]:
        """One page (``limit``, ``cursor``) of ``messages``, with metadata only when
        ``include_all_metadata`` is true, as Slack answers."""
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("true", "1")
        limit = int(args.get("limit") or 100)
        start = int(args.get("cursor") or 0)
        page = messages[start : start + limit]
        more = start + limit < len(messages)
        return {
            "messages": [m.to_api(with_metadata=with_metadata) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    async def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel", ""))
        top = [m for m in self.messages(channel) if m.thread_ts in (None, m.ts)]
        return self._page(list(reversed(top)), args)  # newest first

    async def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel", ""))
        parent = self._existing(channel, args.get("ts", ""))
        return self._page([parent, *self.thread(channel, parent.ts)], args)  # oldest first
