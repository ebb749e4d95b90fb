"""The app the server tests serve: messages by channel, with a query of each kind of
result, a mutation, a failing mutation (``nr.AppError`` with data), an action, an
internal query, and a query returning special floats."""

from __future__ import annotations

import nbreactive as nr
from nbreactive import v


def messages_app() -> nr.App:
    a = nr.App()
    a.set_schema(nr.define_schema({
        "messages": nr.define_table({"channel": v.string(), "body": v.string()}).index("by_channel", ["channel"]),
    }))

    @a.query(name="messages:list", args={"channel": v.string()})
    def list_(ctx, channel):
        return ctx.db.query("messages").with_index("by_channel", lambda q: q.eq("channel", channel)).collect()

    @a.query(name="messages:count")
    def count(ctx):
        return ctx.db.query("messages").count()

    @a.query(name="messages:double", args={"n": v.int64()})
    def double(ctx, n):
        return n * 2

    @a.mutation(name="messages:send", args={"channel": v.string(), "body": v.string()})
    def send(ctx, channel, body):
        return ctx.db.insert("messages", {"channel": channel, "body": body})

    @a.mutation(name="messages:refuse")
    def refuse(ctx):
        raise nr.AppError({"code": "CLOSED", "retry": 3})

    @a.action(name="messages:shout", args={"text": v.string()})
    def shout(ctx, text):
        return text.upper() + "!"

    @a.internal_query(name="messages:secret")
    def secret(ctx):
        return "the secret"

    @a.query(name="stats")
    def stats(ctx):
        return {"count": ctx.db.query("messages").count(), "ratio": 1.0, "nan": float("nan")}

    return a
