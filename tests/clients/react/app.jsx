// A small page built with Convex's React hooks, against an nbreactive server
// (tests/test_server_react.py bundles it with esbuild and drives it in Chromium).
//
// index.html sets window.CONVEX_URL from ?convex=URL; ?channel=NAME picks the channel.
// Everything a test waits on is in the DOM:
//   #messages[data-status=loading|ready][data-count=N] > li[data-id]   useQuery
//   #send-form > input#body, button#send; #sent[data-count=N][data-last-id]
//     [data-read-your-writes=true|false]                                  useMutation
//   #page[data-status=<usePaginatedQuery status>][data-count=N] > li    usePaginatedQuery
//   button#load-more: loadMore(5)
//   #connection[data-connected=true|false][data-connection-count=N]     the WebSocket
//   #error: what a hook threw (also logged as a console error, which fails the test)
import React, { useState } from "react";
import { createRoot } from "react-dom/client";
import {
  ConvexProvider,
  ConvexReactClient,
  useConvexConnectionState,
  useMutation,
  usePaginatedQuery,
  useQuery,
} from "convex/react";
import { anyApi } from "convex/server";

const api = anyApi; // no generated code: api.messages.list is "messages:list"
const channel = new URLSearchParams(location.search).get("channel") || "general";
const client = new ConvexReactClient(window.CONVEX_URL);
window.convexClient = client; // for debugging from the test

function Messages() {
  const messages = useQuery(api.messages.list, { channel });
  return (
    <section>
      <h2>useQuery</h2>
      <ul id="messages" data-status={messages === undefined ? "loading" : "ready"}
          data-count={messages === undefined ? 0 : messages.length}>
        {(messages || []).map((m) => <li key={m._id} data-id={m._id}>{m.body}</li>)}
      </ul>
    </section>
  );
}

function SendForm() {
  const send = useMutation(api.messages.send);
  const [body, setBody] = useState("");
  const [sent, setSent] = useState({ count: 0, lastId: "", readYourWrites: "" });
  const [failure, setFailure] = useState(null);
  const onSubmit = (event) => {
    event.preventDefault();
    send({ channel, body })
      .then((id) => {
        // Convex resolves a mutation once its commit reached the client's queries: the
        // subscribed list must hold the new row already
        const local = client.watchQuery(api.messages.list, { channel }).localQueryResult();
        const seen = Array.isArray(local) && local.some((m) => m._id === id);
        setSent((s) => ({ count: s.count + 1, lastId: id, readYourWrites: String(seen) }));
      })
      .catch((e) => {
        console.error("messages:send failed", e);
        setFailure(String(e));
      });
    setBody("");
  };
  return (
    <form id="send-form" onSubmit={onSubmit}>
      <input id="body" value={body} onChange={(e) => setBody(e.target.value)} placeholder="message" />
      <button id="send" type="submit">Send</button>
      <span id="sent" data-count={sent.count} data-last-id={sent.lastId}
            data-read-your-writes={sent.readYourWrites}>
        {failure ? `failed: ${failure}` : `${sent.count} sent`}
      </span>
    </form>
  );
}

function Pages() {
  const { results, status, loadMore } = usePaginatedQuery(api.messages.page, { channel }, { initialNumItems: 5 });
  return (
    <section>
      <h2>usePaginatedQuery</h2>
      <ul id="page" data-status={status} data-count={results.length}>
        {results.map((m) => <li key={m._id} data-id={m._id}>{m.body}</li>)}
      </ul>
      <button id="load-more" disabled={status !== "CanLoadMore"} onClick={() => loadMore(5)}>
        Load more ({status})
      </button>
    </section>
  );
}

function Connection() {
  const state = useConvexConnectionState();
  return (
    <p id="connection" data-connected={String(state.isWebSocketConnected)}
       data-connection-count={state.connectionCount}>
      {state.isWebSocketConnected ? "connected" : "not connected"} (connection {state.connectionCount})
    </p>
  );
}

class ErrorBoundary extends React.Component {
  constructor(props) {
    super(props);
    this.state = { error: null };
  }
  static getDerivedStateFromError(error) {
    return { error };
  }
  render() {
    if (this.state.error) {
      return <pre id="error" data-status="error">{String(this.state.error)}</pre>;
    }
    return this.props.children;
  }
}

function App() {
  return (
    <ErrorBoundary>
      <h1 id="title" data-channel={channel}>#{channel}</h1>
      <Connection />
      <SendForm />
      <Messages />
      <Pages />
    </ErrorBoundary>
  );
}

createRoot(document.getElementById("root")).render(
  <ConvexProvider client={client}>
    <App />
  </ConvexProvider>,
);
