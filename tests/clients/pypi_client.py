"""The PyPI ``convex.ConvexClient`` (WebSocket) against an nbreactive server, from its own
process (its blocking calls hold the GIL): ``python pypi_client.py URL``. Prints JSON lines."""

import json
import sys

import convex

url = sys.argv[1]


def out(**kw):
    print(json.dumps(kw, default=str), flush=True)


client = convex.ConvexClient(url)
out(step="query", value=client.query("messages:list", {"channel": "py"}))
doc_id = client.mutation("messages:send", {"channel": "py", "body": "from pypi"})
out(step="mutation", value=doc_id)
out(step="after", value=[d["body"] for d in client.query("messages:list", {"channel": "py"})])
out(step="action", value=client.action("messages:shout", {"text": "rust"}))
try:
    client.mutation("messages:refuse", {})
    out(step="apperror", ok=False)
except convex.ConvexError as e:
    out(step="apperror", data=e.data)
sub = client.subscribe("messages:list", {"channel": "py-live"})
first = next(sub)
out(step="subscribe_first", value=[d["body"] for d in first])
# another writer (the notebook's app, through the test) is told to write now
out(step="ready")
sys.stdin.readline()
out(step="subscribe_next", value=[d["body"] for d in next(sub)])  # the test's timeout bounds it
sub.unsubscribe()
