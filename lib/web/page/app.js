/**
 * The chat web page: joins the server that served it over its WebSocket
 * (`/socket`), speaking the JSON protocol of docs/PROTOCOL.md; it asks for
 * `batch` (what the server queued in one turn comes as one message, a frame
 * a line), which costs the server half as much as a message per frame. Plain DOM, no framework; every text from the server is untrusted
 * and goes into the page as text (`textContent`, text nodes), never as HTML.
 *
 * What a line typed here means is the server's business: it goes out as an
 * `input` frame, parsed as in a terminal (`/msg`, `@name`, `/me`...).
 *
 * Type-checked as browser code (the DOM, no Deno) by `make check`, with
 * lib/web/page/check.json: plain JavaScript with JSDoc types, so that what
 * is checked is what the browser runs, with no build step.
 *
 * The conversation is kept per room (a room's log, people, topic and
 * unread count), keyed by the `room` of each event. The room on screen and
 * the server's current room agree, as in `chat join`: the page follows the
 * server's `current` (after `/join`, `/part`, a kick), and switching rooms
 * here sends a `join` of that room, which only makes it current; lines
 * typed go out with the `room` on screen. What belongs to no room (private
 * messages, errors, answers such as `/rooms` or `/whois`) goes to the room
 * on screen.
 *
 * Nothing shown is lost and nothing is shown twice (delivery.js): after a
 * lost connection the page asks for what came after the last id it showed
 * and shows it as ordinary lines; a line typed meanwhile waits, marked as
 * sending, and goes once the page is back.
 *
 * @module
 */

import { ACK_EVERY_MS, Delivery, postingOf } from "./delivery.js";
import { Rejoins } from "./rejoins.js";

/** The protocol version this page speaks. */
const PROTOCOL_VERSION = 1;
/** What the page calls itself in `hello`. */
const CLIENT = "chat-web/1";
/** How long reconnecting goes on after the connection is lost, in ms. */
const RECONNECT_FOR_MS = 2 * 60_000;
/** First and longest pause between attempts to reconnect, in ms. */
const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 10_000;
/** After a server's planned shutdown, the first attempt waits this long (it is restarting). */
const SHUTDOWN_FIRST_MS = 2_000;
/** A view this close to the bottom (px) counts as following the conversation. */
const STICK_PX = 48;
/** Sent lines the Up key recalls. */
const RECALL_LINES = 100;
/** Goodbyes after which the page does not reconnect on its own. */
const FINAL_BYES = new Set([
  "quit",
  "kicked",
  "replaced",
  "refused",
  "flood",
  "version",
  "room_full",
  "too_many_connections",
  "timeout",
]);
/** Errors during login that are about the password field rather than the name. */
const PASSWORD_ERRORS = new Set(["password_required", "wrong_password", "throttled"]);

/**
 * @typedef {{ [field: string]: unknown, type: string }} Frame
 * An event from the server, not trusted: each field is checked where used.
 */

/**
 * One room's part of the page.
 * @typedef {{
 *   name: string,
 *   log: HTMLOListElement,
 *   users: string[],
 *   ops: string[],
 *   away: string[],
 *   topic: string,
 *   left: string,
 *   count: number,
 *   unread: number,
 * }} Room
 */

/** @param {string} id */
function element(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found;
}

const view = {
  login: element("login-view"),
  loginForm: /** @type {HTMLFormElement} */ (element("login-form")),
  name: /** @type {HTMLInputElement} */ (element("name")),
  passwordRow: element("password-row"),
  password: /** @type {HTMLInputElement} */ (element("password")),
  loginError: element("login-error"),
  join: /** @type {HTMLButtonElement} */ (element("join")),
  chat: element("chat-view"),
  title: element("room-title"),
  topic: element("room-topic"),
  status: element("status"),
  peopleToggle: element("people-toggle"),
  leave: element("leave"),
  logs: element("logs"),
  newMessages: element("new-messages"),
  sidebar: element("sidebar"),
  rooms: element("rooms"),
  users: element("users"),
  userCount: element("user-count"),
  sendForm: /** @type {HTMLFormElement} */ (element("send-form")),
  input: /** @type {HTMLInputElement} */ (element("input")),
  inputError: element("input-error"),
  left: element("left-view"),
  leftReason: element("left-reason"),
  rejoin: element("rejoin"),
  leaveDialog: /** @type {HTMLDialogElement} */ (element("leave-dialog")),
  leaveCancel: element("leave-cancel"),
  leaveConfirm: element("leave-confirm"),
};

const state = {
  /** @type {WebSocket | null} */
  socket: null,
  /** The name asked for, then the one the server gave. */
  name: "",
  /** Kept in memory only, to log in again after a lost connection. */
  password: "",
  /** @type {string | undefined} The token of the last `welcome`, to take the name back. */
  resume: undefined,
  registered: false,
  /** The last `bye`, if the server said goodbye. */
  /** @type {{ code: string, reason: string } | null} */
  bye: null,
  /** When the connection was lost (ms), while reconnecting. */
  lostAt: 0,
  attempts: 0,
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  retryTimer: undefined,
  /** @type {ReturnType<typeof setInterval> | undefined} */
  countdown: undefined,
  /** @type {Map<string, Room>} */
  rooms: new Map(),
  /** @type {Room | null} */
  current: null,
  /** Rooms asked to be made current (switches here), whose `current` has not come yet. */
  /** @type {string[]} */
  awaiting: [],
  /** A room just entered: its `users` come before its `current`, and belong in its view. */
  entering: "",
  /** A line about the room just left, for the room the server puts you in next. */
  /** @type {Node | null} */
  parting: null,
  /** Lines sent, for Up and Down, and where recall is. */
  /** @type {string[]} */
  sent: [],
  recall: 0,
  draft: "",
  /** Messages that arrived below the view while scrolled up. */
  below: 0,
  /** Mentions and private messages while the tab was hidden. */
  hiddenUnread: 0,
  /** @type {ReturnType<typeof setTimeout> | undefined} The next acknowledgement, when one is due. */
  ackTimer: undefined,
  /** Whether the rooms joined again carry `since` (the stream went on), and the next one's timer. */
  rejoinSince: false,
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  rejoinTimer: undefined,
};

/** @type {Delivery<HTMLLIElement>} */
const delivery = new Delivery();
const rejoins = new Rejoins();

// ---- Joining ---------------------------------------------------------------

view.name.value = localStorage.getItem("chat.name") ?? "";
view.name.focus();

view.loginForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = view.name.value.trim();
  if (!name) {
    loginError("Type a name first");
    view.name.focus();
    return;
  }
  if (!view.passwordRow.hidden && !view.password.value) {
    loginError("Type the password of this name first");
    view.password.focus();
    return;
  }
  if (name !== state.name) state.resume = undefined;
  state.name = name;
  state.password = view.passwordRow.hidden ? "" : view.password.value;
  localStorage.setItem("chat.name", name);
  askForNotifications();
  loginError("");
  view.join.disabled = true;
  // A refused name or password is tried again on the same connection.
  if (state.socket?.readyState === WebSocket.OPEN) sendHello();
  else connect();
});

view.rejoin.addEventListener("click", () => {
  state.bye = null;
  showLogin();
});

/** @param {string} text */
function loginError(text) {
  view.loginError.textContent = text;
}

function showLogin() {
  view.chat.hidden = true;
  view.left.hidden = true;
  view.login.hidden = false;
  view.join.disabled = false;
  view.name.focus();
}

/** Notifications for mentions and private messages, when the person allows them. */
function askForNotifications() {
  if ("Notification" in window && Notification.permission === "default") {
    // Asked while the person clicks Join: browsers allow asking only then.
    Notification.requestPermission().catch(() => {});
  }
}

// ---- The connection --------------------------------------------------------

function connect() {
  clearTimeout(state.retryTimer);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/socket`);
  socket.binaryType = "arraybuffer";
  state.socket = socket;
  state.bye = null;
  socket.addEventListener("open", () => {
    if (socket === state.socket) sendHello();
  });
  socket.addEventListener("message", (event) => {
    if (socket !== state.socket) return;
    const text = typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data);
    for (const line of text.split("\n")) {
      /** @type {unknown} */
      let frame;
      try {
        frame = JSON.parse(line);
      } catch {
        continue;
      }
      // A frame may end the socket's use (a goodbye, a new connection): the rest is not for it.
      if (socket !== state.socket) return;
      if (isFrame(frame)) handle(frame);
    }
  });
  socket.addEventListener("close", () => {
    if (socket === state.socket) closed();
  });
}

function sendHello() {
  /** @type {Record<string, unknown>} */
  const hello = {
    type: "hello",
    version: PROTOCOL_VERSION,
    name: state.name,
    client: CLIENT,
    batch: true,
    ...delivery.hello(),
  };
  if (state.resume !== undefined) hello.resume = state.resume;
  if (state.password) hello.password = state.password;
  send(hello);
}

/** @param {Record<string, unknown>} frame */
function send(frame) {
  const socket = state.socket;
  if (!socket || socket.readyState !== WebSocket.OPEN) return false;
  socket.send(JSON.stringify(frame));
  return true;
}

/** The connection has closed: after a goodbye, or lost. */
function closed() {
  state.socket = null;
  clearTimeout(state.rejoinTimer);
  const wasRegistered = state.registered;
  state.registered = false;
  const bye = state.bye;
  if (bye && FINAL_BYES.has(bye.code)) {
    showLeft(bye.code === "quit" ? "You left the chat." : bye.reason);
    return;
  }
  if (!wasRegistered && state.lostAt === 0) {
    // Never got in: the person is still at the form.
    view.join.disabled = false;
    loginError(bye ? bye.reason : "Cannot reach the chat server; try again in a moment");
    return;
  }
  if (state.lostAt === 0) {
    state.lostAt = Date.now();
    state.attempts = 0;
    systemLine(bye ? `${bye.reason}; reconnecting…` : "Connection lost; reconnecting…", "error");
  }
  retry(bye?.code === "shutdown");
}

/** @param {boolean} shutdown */
function retry(shutdown) {
  const elapsed = Date.now() - state.lostAt;
  if (elapsed > RECONNECT_FOR_MS) {
    setStatus("", false);
    showLeft("The connection was lost and could not be made again.");
    return;
  }
  const first = shutdown ? SHUTDOWN_FIRST_MS : BACKOFF_FIRST_MS;
  const delay = Math.min(BACKOFF_MAX_MS, first * 2 ** state.attempts++);
  const due = Date.now() + delay;
  const show = () => {
    const seconds = Math.max(0, Math.ceil((due - Date.now()) / 1000));
    setStatus(`Connection lost; reconnecting in ${seconds} s`, true);
  };
  show();
  clearInterval(state.countdown);
  state.countdown = setInterval(show, 1000);
  state.retryTimer = setTimeout(() => {
    clearInterval(state.countdown);
    setStatus("Reconnecting…", true);
    connect();
  }, delay);
}

/**
 * @param {string} text
 * @param {boolean} lost
 */
function setStatus(text, lost) {
  view.status.textContent = text;
  view.status.classList.toggle("lost", lost);
}

/** @param {string} reason */
function showLeft(reason) {
  // The session is over: what it had not sent stays unsent, and nothing of it carries over.
  for (const typed of delivery.pending) notSent(typed.item);
  delivery.reset();
  rejoins.reset();
  clearTimeout(state.retryTimer);
  clearInterval(state.countdown);
  state.lostAt = 0;
  view.chat.hidden = true;
  view.login.hidden = true;
  view.left.hidden = false;
  view.leftReason.textContent = reason;
  view.rejoin.focus();
  document.title = "chat";
}

// ---- Events from the server ------------------------------------------------

/**
 * @param {unknown} value
 * @returns {value is Frame}
 */
function isFrame(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    typeof (/** @type {{ type?: unknown }} */ (value).type) === "string";
}

/**
 * @param {Frame} frame
 * @param {string} field
 */
function str(frame, field) {
  const value = frame[field];
  return typeof value === "string" ? value : "";
}

/**
 * @param {Frame} frame
 * @param {string} field
 */
function num(frame, field) {
  const value = frame[field];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** @param {Frame} frame */
function handle(frame) {
  switch (frame.type) {
    case "welcome":
      return welcome(frame);
    case "error":
      return error(frame);
    case "ping":
      send({ type: "pong", ...(typeof frame.token === "string" ? { token: frame.token } : {}) });
      return;
    case "bye":
      state.bye = { code: str(frame, "code"), reason: str(frame, "reason") };
      return;
  }
  if (!state.registered) return;
  switch (frame.type) {
    case "message":
      return message(frame, roomOf(frame), false);
    case "private":
      return privateMessage(frame, false);
    case "history":
      return history(frame);
    case "missed":
      return missed(frame);
    case "replay":
      return replay(frame);
    case "sent":
      return sent(frame);
    case "pong":
      // The rooms joined again have answered: unless some go again, what was shown since can
      // be acknowledged, and the lines typed meanwhile go.
      if (delivery.rejoined(frame.token) && !rejoinNext()) {
        acknowledgeSoon();
        sendPending();
      }
      return;
    case "join":
      return joined(frame);
    case "leave":
      return left(frame);
    case "rename":
      return renamed(frame);
    case "users":
      return users(frame);
    case "notice":
      return notice(frame);
    case "info":
      return systemLine(str(frame, "text"), "info");
    case "part":
      return parted(frame);
    case "current":
      return current(str(frame, "room"));
    case "topic":
      return topic(frame);
    case "mode":
      return mode(frame);
    case "invite":
      return systemLine(
        `${str(frame, "from")} invites you to #${str(frame, "room")}: /join #${str(frame, "room")}`,
        "notice",
      );
    case "rooms":
      return roomsList(frame);
    case "away":
    case "ignoring":
    case "whois":
      return infoBlock(presenceLines(frame));
  }
}

/** @param {Frame} frame */
function welcome(frame) {
  const reconnected = state.lostAt !== 0;
  const sameStream = delivery.welcomed(frame.stream, frame.last);
  state.registered = true;
  state.name = str(frame, "name") || state.name;
  state.resume = typeof frame.resume === "string" ? frame.resume : undefined;
  state.lostAt = 0;
  clearTimeout(state.retryTimer);
  clearInterval(state.countdown);
  setStatus("", false);
  const room = roomNamed(str(frame, "room") || "lobby");
  room.users = strings(frame.users);
  room.count = num(frame, "count") ?? room.users.length;
  room.left = "";
  const rooms = strings(frame.rooms);
  if (!reconnected) {
    // A new session: the rooms of an earlier one (before Leave) are not yours any more.
    for (const old of state.rooms.values()) {
      if (old !== room && !rooms.includes(old.name)) {
        state.rooms.delete(old.name);
        old.log.remove();
      }
    }
  }
  for (const name of rooms) roomNamed(name).left = "";
  const shown = state.current;
  // A restarted server forgot rooms: join them again, and last the one on screen (each
  // join makes its room current), so that the screen and the server agree on it.
  const lost = reconnected
    ? [...state.rooms.values()].filter((r) =>
      r !== room && r !== shown && !r.left && !rooms.includes(r.name)
    )
    : [];
  const stay = reconnected && shown && !shown.left && (shown !== room || lost.length > 0);
  const again = stay ? [...lost, shown] : lost;
  // What was said there since: the ids still mean something on the same stream.
  state.rejoinSince = sameStream;
  clearTimeout(state.rejoinTimer);
  rejoin(rejoins.start(again.map((r) => r.name)));
  state.awaiting = again.map((r) => r.name);
  if (!stay) showRoom(room);
  view.login.hidden = true;
  view.left.hidden = true;
  view.chat.hidden = false;
  view.password.value = "";
  if (reconnected) {
    systemLine("Reconnected.", "system");
  } else {
    systemLine(`You joined #${room.name} as ${state.name}.`, "system");
    const motd = str(frame, "motd");
    if (motd) systemLine(`Message of the day: ${motd}`, "notice");
  }
  renderPeople();
  view.input.focus();
  // Lines typed while away go now, unless a replay comes first.
  sendPending();
}

/**
 * Joins `rooms` again, then a ping: frames are answered in order, so its pong
 * comes after their answers (their replays, or refusals); until then, acks
 * stay at the last hello's `since`.
 * @param {string[]} rooms
 */
function rejoin(rooms) {
  if (rooms.length === 0) return;
  const hold = delivery.rejoining(state.rejoinSince);
  const since = hold.since !== undefined ? { since: hold.since } : {};
  for (const room of rooms) send({ type: "join", room, ...since });
  send({ type: "ping", token: hold.token });
}

/**
 * After the rooms joined again answered: the next one refused for a moment
 * goes again after the server's wait (acks still held); false when all are done.
 */
function rejoinNext() {
  const wait = rejoins.next();
  if (wait === undefined) return false;
  const hold = delivery.rejoining(state.rejoinSince);
  const since = hold.since !== undefined ? { since: hold.since } : {};
  state.rejoinTimer = setTimeout(() => {
    // Taken when it goes: the person may have parted or joined it meanwhile.
    const room = rejoins.take();
    if (room === undefined) {
      if (delivery.rejoined(hold.token)) acknowledgeSoon();
      return;
    }
    send({ type: "join", room, ...since });
    send({ type: "ping", token: hold.token });
  }, wait);
  return true;
}

/**
 * A room the server would not let the page back into after a reconnect:
 * one line says so; on screen, it stays to read back, marked as left.
 * @param {string} name
 * @param {string} reason
 */
function notRejoined(name, reason) {
  const why = `could not join it again: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}`;
  systemLine(`#${name}: ${why}`, "error");
  const room = state.rooms.get(name);
  if (!room) return;
  if (room === state.current) {
    room.left = why;
  } else {
    state.rooms.delete(name);
    room.log.remove();
  }
  renderRooms();
}

/** @param {Frame} frame */
function error(frame) {
  const code = str(frame, "code");
  const text = str(frame, "message") || code;
  if (state.registered && typeof frame.room === "string") {
    // A room joined again: refused for a moment it goes again later, else one line says so.
    const refusal = rejoins.refused(frame.room, num(frame, "wait"));
    if (refusal === "refused") {
      notRejoined(frame.room, text);
      // Lines typed there now go, and are refused as any line of a room not joined.
      sendPending();
    }
    if (refusal !== "") return;
  }
  // A line refused for flooding goes again by itself: it stays shown as sending, no error.
  if (typeof frame.cid === "string" && refused(frame.cid, code, num(frame, "wait"))) return;
  if (state.registered) {
    systemLine(text, "error");
    return;
  }
  if (PASSWORD_ERRORS.has(code)) {
    view.passwordRow.hidden = false;
    // The first answer for an account's name only says a password is needed.
    if (code === "password_required" && !state.password) {
      loginError(text || "This name needs its password");
    } else {
      loginError(text);
    }
  } else {
    loginError(text);
  }
  if (state.lostAt !== 0) {
    // Coming back did not work (the name was taken meanwhile, say): the person decides.
    state.lostAt = 0;
    setStatus("", false);
  }
  // The socket stays open for another try: the form sends a new hello on it.
  view.chat.hidden = true;
  view.left.hidden = true;
  view.login.hidden = false;
  view.join.disabled = false;
  (view.passwordRow.hidden ? view.name : view.password).focus();
}

/** Closes the socket without counting it as lost: the person is back at the form. */
function closeQuietly() {
  const socket = state.socket;
  state.socket = null;
  socket?.close();
}

/** @param {Frame} frame */
function roomOf(frame) {
  const name = str(frame, "room");
  return name ? roomNamed(name) : state.current ?? roomNamed("lobby");
}

/**
 * The room called `name`, made the first time it is met.
 * @param {string} name
 * @returns {Room}
 */
function roomNamed(name) {
  let room = state.rooms.get(name);
  if (!room) {
    const log = document.createElement("ol");
    log.className = "log";
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-label", `Conversation in #${name}`);
    log.tabIndex = 0;
    log.hidden = true;
    log.addEventListener("scroll", () => {
      if (room && room === state.current && atBottom(log)) clearBelow();
    });
    view.logs.append(log);
    room = {
      name,
      log,
      users: [],
      ops: [],
      away: [],
      topic: "",
      left: "",
      count: 0,
      unread: 0,
    };
    state.rooms.set(name, room);
  }
  return room;
}

/** @param {Room} room */
function showRoom(room) {
  for (const other of state.rooms.values()) other.log.hidden = other !== room;
  state.current = room;
  room.unread = 0;
  view.title.textContent = `#${room.name}`;
  showTopic();
  updateTitle();
  renderRooms();
  renderPeople();
  clearBelow();
  room.log.scrollTop = room.log.scrollHeight;
}

/** The topic of the room on screen, under its name; and whether you left it. */
function showTopic() {
  const room = state.current;
  if (!room) return;
  const text = room.left ? `You are not in #${room.name}: ${room.left}` : room.topic;
  view.topic.textContent = text;
  view.topic.hidden = text === "";
  view.topic.title = text;
}

/**
 * The room a room event belongs to: the one it names when you are in it (or
 * were), else the room on screen.
 * @param {Frame} frame
 */
function placeOf(frame) {
  return state.rooms.get(str(frame, "room")) ?? state.current ?? roomNamed("lobby");
}

/** @param {unknown} value */
function strings(value) {
  return Array.isArray(value)
    ? value.filter(/** @returns {name is string} */ (name) => typeof name === "string")
    : [];
}

/**
 * @param {Frame} frame
 * @param {Room} room
 * @param {boolean} old from `history`: shown as earlier, never notified
 */
function message(frame, room, old) {
  const id = num(frame, "id");
  // History or a replay after a reconnect may repeat what this page has shown already.
  if (!delivery.firstShown(id)) return;
  const from = str(frame, "from");
  const text = str(frame, "text");
  const own = from === state.name;
  const mention = !own && mentions(text);
  const item = line(num(frame, "time"));
  if (own) item.classList.add("own");
  if (mention) item.classList.add("mention");
  if (old) item.classList.add("history");
  if (frame.action === true) {
    item.append("* ", nameButton(from), " ", ...linked(text));
  } else {
    item.append(nameButton(from), ": ", ...linked(text));
  }
  const kind = frame.action === true ? "action" : "message";
  // The echo of a line shown as sending replaces it, where it landed in the conversation.
  if (own) delivery.echoOf(kind, text, room.name, id)?.item.remove();
  append(room, item, !old && !own);
  if (mention && !old) notify(`${from} mentioned you in #${room.name}`, text);
  acknowledgeSoon();
}

/**
 * @param {Frame} frame
 * @param {boolean} old from `missed`: kept while away
 */
function privateMessage(frame, old) {
  const room = state.current ?? roomNamed("lobby");
  const id = num(frame, "id");
  delivery.privateShown(id);
  if (!delivery.firstShown(id)) {
    acknowledgeSoon();
    return;
  }
  const from = str(frame, "from");
  const to = str(frame, "to");
  const text = str(frame, "text");
  const own = from === state.name;
  const item = line(num(frame, "time"));
  item.classList.add("private");
  if (own) item.classList.add("own");
  const tag = document.createElement("span");
  tag.className = "private-tag";
  tag.textContent = own ? "(private to" : "(private)";
  if (own) {
    item.append(tag, nameButton(to), ") ", ...linked(text));
    if (frame.offline === true) item.append(" (offline: kept until they log in)");
  } else {
    item.append(tag, nameButton(from), ": ", ...linked(text));
  }
  if (own) delivery.echoOf("private", text, "", num(frame, "id"))?.item.remove();
  append(room, item, !own);
  if (!own && !old) notify(`Private message from ${from}`, text);
  acknowledgeSoon();
}

/** @param {Frame} frame */
function history(frame) {
  const room = roomOf(frame);
  const messages = Array.isArray(frame.messages) ? frame.messages.filter(isFrame) : [];
  const fresh = messages.filter((m) => !delivery.shown(num(m, "id") ?? -1));
  if (fresh.length === 0) return;
  for (const m of fresh) message(m, room, true);
  systemLine("— earlier messages above —", "separator", room);
}

/** @param {Frame} frame */
function missed(frame) {
  const messages = Array.isArray(frame.messages) ? frame.messages.filter(isFrame) : [];
  if (messages.length === 0) return;
  systemLine("Private messages sent to you while you were away:", "system");
  for (const m of messages) privateMessage(m, true);
}

/**
 * What came while the page was away, as ordinary lines, page by page; the
 * last page names the rooms where it does not reach back far enough.
 * @param {Frame} frame
 */
function replay(frame) {
  const messages = Array.isArray(frame.messages) ? frame.messages.filter(isFrame) : [];
  for (const m of messages) {
    if (m.type === "message") message(m, roomOf(m), false);
    else if (m.type === "private") privateMessage(m, false);
  }
  if (frame.more === true) return;
  for (const name of strings(frame.gaps)) {
    systemLine(
      `— some messages in #${name} from while you were away are no longer kept —`,
      "separator",
      roomNamed(name),
    );
  }
  if (frame.privateGap === true) {
    systemLine("— some private messages from while you were away may be missing —", "separator");
  }
  if (delivery.replayEnded()) sendPending();
  acknowledgeSoon();
}

/**
 * The server posted a line typed here (or had already: it was sent again).
 * @param {Frame} frame
 */
function sent(frame) {
  const typed = delivery.settle(frame.cid);
  if (!typed || typed.shownAs !== undefined) return;
  const id = num(frame, "id");
  if (id !== undefined && !delivery.firstShown(id)) {
    // Its echo is on screen already, in words that differ from those typed.
    typed.item.remove();
    return;
  }
  // Posted, but its echo went down with a lost connection: the line typed stands for it.
  typed.item.classList.remove("pending");
  typed.item.querySelector(".pending-tag")?.remove();
  acknowledgeSoon();
}

/**
 * A line typed here was refused: marked as not sent (the error says why),
 * or, refused for flooding, sent again once the server takes lines again
 * (true then: there is nothing to say).
 * @param {string} cid
 * @param {string} code
 * @param {number | undefined} wait
 * @returns {boolean}
 */
function refused(cid, code, wait) {
  const typed = delivery.pending.find((p) => p.cid === cid);
  if (!typed) return false;
  if (code === "flood") {
    typed.sentHere = false;
    setTimeout(sendPending, wait ?? ACK_EVERY_MS);
    return true;
  }
  delivery.settle(cid);
  notSent(typed.item);
  return false;
}

/** Sends the lines typed and not sent on this connection yet, in order, once the page is back. */
function sendPending() {
  if (!state.registered || delivery.replaying) return;
  // A line typed in a room not back yet waits for that room alone.
  const ready = (/** @type {{ frame: Record<string, unknown> }} */ typed) =>
    typeof typed.frame.room !== "string" || !rejoins.waiting(typed.frame.room);
  for (const typed of delivery.toSend(ready)) send(typed.frame);
}

/**
 * A line typed, shown as sending until the server posts it.
 * @param {string} text
 */
function pendingLine(text) {
  const item = line(undefined, "own pending");
  const tag = document.createElement("span");
  tag.className = "pending-tag";
  tag.textContent = " (sending…)";
  item.append(nameButton(state.name), ": ", ...linked(text), tag);
  return item;
}

/** @param {HTMLLIElement} item a line typed that will not be posted */
function notSent(item) {
  item.classList.replace("pending", "failed");
  const tag = item.querySelector(".pending-tag");
  if (tag) tag.textContent = " (not sent)";
}

/** Acknowledges what was shown, at most once a second. */
function acknowledgeSoon() {
  if (state.ackTimer !== undefined) return;
  state.ackTimer = setTimeout(() => {
    state.ackTimer = undefined;
    acknowledge();
  }, ACK_EVERY_MS);
}

/** Tells the server the page has shown everything up to the highest id shown. */
function acknowledge() {
  if (!state.registered) return;
  const id = delivery.toAck();
  if (id !== undefined) send({ type: "ack", id });
}

/** @param {Frame} frame */
function joined(frame) {
  const room = roomOf(frame);
  const name = str(frame, "name");
  if (name === state.name) {
    const back = rejoins.waiting(room.name);
    rejoins.entered(room.name);
    if (back) sendPending();
    state.entering = room.name;
    room.left = "";
    room.users = [];
    room.ops = [];
    room.away = [];
    renderRooms();
  }
  if (!room.users.includes(name)) room.users.push(name);
  room.count = num(frame, "count") ?? room.count + 1;
  const item = line(num(frame, "time"), "system");
  item.append("→ ", nameButton(name), ` joined (${room.count})`);
  append(room, item, false);
  renderPeople();
}

/** @param {Frame} frame */
function left(frame) {
  const room = roomOf(frame);
  const name = str(frame, "name");
  room.users = room.users.filter((user) => user !== name);
  room.count = num(frame, "count") ?? Math.max(0, room.count - 1);
  const reason = str(frame, "reason");
  const item = line(num(frame, "time"), "system");
  item.append("← ", nameButton(name), ` left${reason ? `: ${reason}` : ""} (${room.count})`);
  append(room, item, false);
  renderPeople();
}

/** @param {Frame} frame */
function renamed(frame) {
  const room = roomOf(frame);
  const from = str(frame, "from");
  const to = str(frame, "to");
  room.users = room.users.map((user) => user === from ? to : user);
  if (from === state.name) {
    state.name = to;
    updateTitle();
  }
  const item = line(num(frame, "time"), "system");
  item.append(nameButton(from), " is now ", nameButton(to));
  append(room, item, false);
  renderPeople();
}

/** @param {Frame} frame */
function users(frame) {
  const named = str(frame, "room");
  const room = named ? state.rooms.get(named) : state.current;
  const names = strings(frame.names);
  const ops = strings(frame.ops);
  const away = strings(frame.away);
  if (room) {
    room.users = names;
    room.ops = ops;
    room.away = away;
    room.count = Math.max(room.count, names.length);
  }
  // The people of a room just entered open its view; any other `/who` answers where you look.
  const where = room && (room === state.current || room.name === state.entering)
    ? room
    : state.current;
  const marked = names.map((name) =>
    `${ops.includes(name) ? "@" : ""}${name}${away.includes(name) ? " (away)" : ""}`
  );
  systemLine(
    `${names.length} in #${named || room?.name || "lobby"}: ${marked.join(", ")}`,
    "info",
    where,
  );
  renderPeople();
}

/** @param {Frame} frame */
function parted(frame) {
  const room = roomOf(frame);
  const name = str(frame, "name");
  const by = typeof frame.by === "string" ? frame.by : undefined;
  const reason = str(frame, "reason");
  const count = num(frame, "count") ?? Math.max(0, room.count - 1);
  const own = name === state.name;
  const item = line(num(frame, "time"), "system");
  if (by !== undefined) {
    item.append("← ", nameButton(by), " put ", own ? "you" : nameButton(name));
    item.append(` out of #${room.name}: ${reason} (${plural(count, "user")})`);
  } else {
    item.append("← ", own ? "You" : nameButton(name));
    item.append(` left #${room.name}${reason ? `: ${reason}` : ""} (${plural(count, "user")})`);
  }
  room.users = room.users.filter((user) => user !== name);
  room.ops = room.ops.filter((user) => user !== name);
  room.count = count;
  if (!own) {
    append(room, item, false);
    renderPeople();
    return;
  }
  if (by !== undefined) {
    // Put out: the room stays listed, to read back, marked as left.
    room.left = `put out by ${by}${
      reason ? `: ${reason}` : ""
    }; /join #${room.name} to ask back in`;
    append(room, item, false);
  } else {
    // Left on purpose: the room goes; the line is said where the server puts you next.
    state.rooms.delete(room.name);
    room.log.remove();
  }
  if (room === state.current) state.parting = item.cloneNode(true);
  else if (state.current && by === undefined) append(state.current, item, false);
  renderRooms();
  if (room === state.current) showTopic();
}

/**
 * The server's current room is now `name`: the page shows it, unless a
 * switch made here is still on its way (the last one decides).
 * @param {string} name
 */
function current(name) {
  if (!name) return;
  state.entering = "";
  // The answer to a join of a room the page is in (the welcome's own) is `current` alone.
  if (rejoins.waiting(name)) {
    rejoins.entered(name);
    sendPending();
  }
  // A room joined again late: the room on screen stays.
  if (rejoins.quietCurrent(name)) return;
  const awaited = state.awaiting.indexOf(name);
  if (awaited >= 0) {
    state.awaiting.splice(0, awaited + 1);
    if (state.awaiting.length > 0) return;
  } else {
    state.awaiting = [];
  }
  const room = roomNamed(name);
  room.left = "";
  showRoom(room);
  if (state.parting) {
    append(room, state.parting, false);
    state.parting = null;
  }
}

/** @param {Frame} frame */
function topic(frame) {
  const room = placeOf(frame);
  const name = str(frame, "room") || room.name;
  const text = str(frame, "topic");
  const by = typeof frame.by === "string" ? frame.by : undefined;
  if (state.rooms.get(name) === room) {
    room.topic = text;
    if (room === state.current) showTopic();
  }
  if (by === undefined) {
    systemLine(text ? `Topic of #${name}: ${text}` : `#${name} has no topic`, "info", room);
    return;
  }
  const item = line(num(frame, "time"), "system");
  item.append(nameButton(by));
  item.append(text ? ` set the topic of #${name}: ` : ` cleared the topic of #${name}`);
  if (text) item.append(...linked(text));
  append(room, item, false);
}

/** @param {Frame} frame */
function mode(frame) {
  const room = placeOf(frame);
  const by = str(frame, "by");
  const name = str(frame, "name");
  const who = name === state.name ? "you" : name;
  const change = str(frame, "change");
  if (change === "op" && !room.ops.includes(name)) room.ops.push(name);
  if (change === "deop") room.ops = room.ops.filter((op) => op !== name);
  const doer = by || "The server";
  /** @type {Record<string, string>} */
  const says = {
    op: by
      ? `${doer} made ${who} an operator of #${room.name}`
      : `${name === state.name ? "You are" : `${name} is`} now an operator of #${room.name}`,
    deop: `${doer} took operator rights of #${room.name} from ${who}`,
    private: `${doer} made #${room.name} private: invited users only`,
    public: `${doer} made #${room.name} public`,
  };
  const item = line(num(frame, "time"), "system");
  item.append(says[change] ?? `#${room.name} changed`);
  append(room, item, false);
  renderPeople();
}

/** @param {Frame} frame */
function roomsList(frame) {
  const rooms = Array.isArray(frame.rooms) ? frame.rooms.filter(isRoomEntry) : [];
  const item = line(undefined, "info");
  const list = document.createElement("ul");
  list.className = "room-listing";
  for (const entry of rooms) {
    const marks = [
      entry.private === true ? "private" : "",
      entry.joined === true ? "you are in it" : "",
    ]
      .filter(Boolean).join(", ");
    const count = typeof entry.count === "number" ? entry.count : 0;
    const topic = typeof entry.topic === "string" ? entry.topic : "";
    const row = document.createElement("li");
    row.append(
      ...linked(
        `#${entry.room} (${plural(count, "user")}${marks ? `; ${marks}` : ""})${
          topic ? `: ${topic}` : ""
        }`,
      ),
    );
    list.append(row);
  }
  item.append(`${plural(rooms.length, "room")}:`, list);
  if (state.current) append(state.current, item, false);
}

/**
 * Lines of one answer (a whois) as one entry in the view on screen: the
 * first, then the others listed under it.
 * @param {string[]} lines
 */
function infoBlock([first, ...rest]) {
  if (!state.current) return;
  const item = line(undefined, "info");
  item.append(...linked(first));
  if (rest.length > 0) {
    const list = document.createElement("ul");
    list.className = "room-listing";
    for (const text of rest) {
      const row = document.createElement("li");
      row.append(...linked(text));
      list.append(row);
    }
    item.append(list);
  }
  append(state.current, item, false);
}

/**
 * @param {unknown} value
 * @returns {value is { room: string, count?: unknown, topic?: unknown, private?: unknown, joined?: unknown }}
 */
function isRoomEntry(value) {
  return typeof value === "object" && value !== null &&
    typeof (/** @type {{ room?: unknown }} */ (value).room) === "string";
}

/**
 * `away`, `ignoring` and `whois` as the terminal says them (see
 * lib/protocol/presence_text.ts), one string a line.
 * @param {Frame} frame
 * @returns {string[]}
 */
function presenceLines(frame) {
  const name = str(frame, "name");
  if (frame.type === "away") {
    const own = name === state.name;
    if (typeof frame.text !== "string") return [own ? "You are back" : `${name} is back`];
    const since = num(frame, "since");
    const at = since === undefined ? "" : ` (since ${when(since)})`;
    return [
      own
        ? `You are away${at}: ${frame.text}; /back when you return`
        : `${name} is away${at}: ${frame.text}`,
    ];
  }
  if (frame.type === "ignoring") {
    const names = strings(frame.names);
    const added = str(frame, "added");
    const removed = str(frame, "removed");
    if (added) {
      return [
        `You ignore ${added} now: what they say is not shown to you, and they are not told; ` +
        `/unignore ${added} to see it again`,
      ];
    }
    if (removed) return [`You no longer ignore ${removed}`];
    return [
      names.length === 0
        ? "You ignore nobody; /ignore NAME hides what NAME says"
        : `You ignore ${plural(names.length, "name")}: ${names.join(", ")}`,
    ];
  }
  const account = frame.account === true ? "the name is an account" : "";
  if (frame.online !== true) return [`${name} is not here${account ? `; ${account}` : ""}`];
  const since = num(frame, "since");
  const idle = num(frame, "idle");
  const here = [
    since !== undefined ? `here since ${when(since)}` : "here",
    idle !== undefined ? `idle ${duration(idle)}` : "",
    account,
  ].filter(Boolean).join(", ");
  const lines = [`${name}: ${here}`];
  if (typeof frame.away === "string") {
    const awaySince = num(frame, "awaySince");
    lines.push(`away${awaySince !== undefined ? ` since ${when(awaySince)}` : ""}: ${frame.away}`);
  }
  const ops = strings(frame.ops);
  const rooms = strings(frame.rooms).map((room) => `${ops.includes(room) ? "@" : ""}#${room}`);
  lines.push(rooms.length > 0 ? `in ${rooms.join(" ")}` : "in no room you can see");
  return lines;
}

/**
 * A time as the page's lines show it, with its date when it is not today.
 * @param {number} time
 */
function when(time) {
  const date = new Date(time);
  const clock = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return date.toDateString() === new Date().toDateString()
    ? clock
    : `${date.toLocaleDateString()} ${clock}`;
}

/**
 * A duration as people say it, to the minute past one.
 * @param {number} ms
 */
function duration(ms) {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ""}`;
  const days = Math.floor(hours / 24);
  return `${plural(days, "day")}${hours % 24 ? ` ${hours % 24} h` : ""}`;
}

/**
 * `count` and `noun`, in the plural when it is not one.
 * @param {number} count
 * @param {string} noun
 */
function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** @param {Frame} frame */
function notice(frame) {
  const item = line(num(frame, "time"), "notice");
  item.append("*** ", ...linked(str(frame, "text")));
  const only = state.rooms.get(str(frame, "room"));
  for (const room of only ? [only] : state.rooms.values()) append(room, item.cloneNode(true), true);
}

// ---- Rendering -------------------------------------------------------------

/**
 * A line of the conversation, stamped with `time` (ms), or now.
 * @param {number | undefined} time
 * @param {string} [kind]
 */
function line(time, kind) {
  const item = document.createElement("li");
  if (kind) item.className = kind;
  const when = new Date(time ?? Date.now());
  const stamp = document.createElement("time");
  stamp.dateTime = when.toISOString();
  stamp.title = when.toLocaleString();
  stamp.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  item.append(stamp);
  return item;
}

/**
 * A line from the page itself (or a server text with no sender).
 * @param {string} text
 * @param {string} kind
 * @param {Room | null} [room]
 */
function systemLine(text, kind, room = state.current) {
  if (!room) return;
  const item = line(undefined, kind);
  item.append(...linked(text));
  append(room, item, false);
}

/**
 * A person's name: in its colour, isolated from the text around it (a
 * right-to-left name stays whole), and a button that starts a private message.
 * @param {string} name
 */
function nameButton(name) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "name";
  button.style.setProperty("--hue", String(hue(name)));
  const isolated = document.createElement("bdi");
  isolated.textContent = name;
  button.append(isolated);
  button.title = `Send ${name} a private message`;
  button.addEventListener("click", () => startPrivate(name));
  return button;
}

/**
 * A colour for each name, the same on every page.
 * @param {string} name
 */
function hue(name) {
  let hash = 0;
  for (const char of name.toLowerCase()) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return hash % 360;
}

/**
 * `text` as nodes: web addresses become links that open in a new tab and
 * tell the site nothing of this page; everything else stays text. Only
 * http and https addresses are links (never `javascript:`).
 * @param {string} text
 * @returns {Node[]}
 */
function linked(text) {
  /** @type {Node[]} */
  const nodes = [];
  const span = document.createElement("span");
  span.dir = "auto";
  let last = 0;
  for (const match of text.matchAll(/\bhttps?:\/\/[^\s<>"]+/giu)) {
    let url = match[0];
    // Punctuation that ends a sentence is not part of the address.
    url = url.replace(/[.,;:!?)\]}'»”]+$/u, "");
    const start = match.index ?? 0;
    let href;
    try {
      href = new URL(url);
    } catch {
      continue;
    }
    if (href.protocol !== "http:" && href.protocol !== "https:") continue;
    span.append(text.slice(last, start));
    const link = document.createElement("a");
    link.href = href.href;
    link.textContent = url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    span.append(link);
    last = start + url.length;
  }
  span.append(text.slice(last));
  nodes.push(span);
  return nodes;
}

/**
 * Whether `text` mentions this person's name as a word (or `@name`).
 * @param {string} text
 */
function mentions(text) {
  const name = state.name.toLocaleLowerCase();
  if (!name) return false;
  const lower = text.toLocaleLowerCase();
  let at = lower.indexOf(name);
  while (at >= 0) {
    const before = lower.slice(0, at).at(-1) ?? " ";
    const after = lower.slice(at + name.length).at(0) ?? " ";
    if (!/[\p{L}\p{N}_]/u.test(before) && !/[\p{L}\p{N}_]/u.test(after)) return true;
    at = lower.indexOf(name, at + 1);
  }
  return false;
}

/**
 * Adds `item` to `room`'s log: the view follows the newest line unless the
 * person scrolled up, who is offered "N new messages" instead.
 * @param {Room} room
 * @param {Node} item
 * @param {boolean} counts whether it counts as unread
 */
function append(room, item, counts) {
  const log = room.log;
  const following = room !== state.current || atBottom(log);
  log.append(item);
  if (room !== state.current) {
    if (counts) room.unread++;
    renderRooms();
    return;
  }
  if (following) {
    log.scrollTop = log.scrollHeight;
  } else if (counts) {
    state.below++;
    view.newMessages.textContent = `${state.below} new ${
      state.below === 1 ? "message" : "messages"
    } ↓`;
    view.newMessages.hidden = false;
  }
  if (counts && document.hidden) {
    state.hiddenUnread++;
    updateTitle();
  }
}

/** @param {HTMLElement} log */
function atBottom(log) {
  return log.scrollHeight - log.scrollTop - log.clientHeight < STICK_PX;
}

function clearBelow() {
  state.below = 0;
  view.newMessages.hidden = true;
}

view.newMessages.addEventListener("click", () => {
  const log = state.current?.log;
  if (log) log.scrollTop = log.scrollHeight;
  clearBelow();
  view.input.focus();
});

function updateTitle() {
  const room = state.current ? `#${state.current.name}` : "chat";
  const unread = state.hiddenUnread > 0 ? `(${state.hiddenUnread}) ` : "";
  document.title = `${unread}${room} — ${state.name}`;
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) {
    state.hiddenUnread = 0;
    if (state.registered) updateTitle();
  }
});

/**
 * A browser notification, while the tab is hidden and the person allowed them.
 * @param {string} title
 * @param {string} body
 */
function notify(title, body) {
  if (!document.hidden || !("Notification" in window)) return;
  if (Notification.permission !== "granted") return;
  const note = new Notification(title, { body, tag: "chat" });
  note.addEventListener("click", () => {
    globalThis.focus();
    note.close();
  });
}

function renderPeople() {
  const room = state.current;
  if (!room) return;
  const items = room.users.toSorted((a, b) => a.localeCompare(b)).map((name) => {
    const item = document.createElement("li");
    if (room.ops.includes(name)) item.append("@");
    item.append(nameButton(name));
    if (room.away.includes(name)) item.append(" (away)");
    if (name === state.name) item.append(" (you)");
    return item;
  });
  view.users.replaceChildren(...items);
  view.userCount.textContent = `(${room.count})`;
}

function renderRooms() {
  const items = [...state.rooms.values()].map((room) => {
    const item = document.createElement("li");
    if (room === state.current) {
      item.className = "current";
      item.setAttribute("aria-current", "true");
    }
    // A button: with several rooms, it shows that room's conversation.
    const button = document.createElement("button");
    button.type = "button";
    button.className = "room";
    button.textContent = `#${room.name}`;
    button.addEventListener("click", () => switchTo(room));
    item.append(button);
    if (room.left) {
      item.classList.add("left");
      item.append(" (left)");
    }
    if (room.unread > 0) {
      const badge = document.createElement("span");
      badge.className = "unread";
      badge.textContent = String(room.unread);
      badge.setAttribute("aria-label", `${room.unread} unread`);
      item.append(badge);
    }
    return item;
  });
  view.rooms.replaceChildren(...items);
}

/**
 * Shows `room`, and makes it the server's current room too, so that what is
 * typed without a room acts there (as `chat join` does); a room you left is
 * only shown, to read back.
 * @param {Room} room
 */
function switchTo(room) {
  // While rooms are joined again, a switch is only shown (lines name their room): a `join`
  // would compete with those joins for the flood allowance.
  const asks = !room.left && room !== state.current && !rejoins.underWay;
  if (asks && send({ type: "join", room: room.name })) {
    state.awaiting.push(room.name);
  }
  showRoom(room);
  closePeople();
}

// ---- Typing ----------------------------------------------------------------

view.sendForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = view.input.value;
  if (!text.trim()) {
    view.inputError.textContent = "Type a message first: an empty message is not sent";
    view.input.focus();
    return;
  }
  const room = state.current;
  if (room?.left && !text.startsWith("/")) {
    view.inputError.textContent = `Not sent: you are not in #${room.name} (${room.left})`;
    return;
  }
  // The room on screen, that the line is typed in; after leaving it, the server's current one.
  const where = room && !room.left ? { room: room.name } : {};
  if (room && !room.left && ownRejoin(text, room)) {
    view.input.value = "";
    return;
  }
  const posting = postingOf(text);
  if (posting && room && (state.registered || state.lostAt !== 0)) {
    // Shown as sending until posted; while the connection is lost, it waits to go.
    const item = pendingLine(text);
    delivery.add({ type: "input", text, ...where }, posting, where.room ?? "", item);
    append(room, item, false);
    sendPending();
  } else if (!send({ type: "input", text, ...where })) {
    view.inputError.textContent = "Not connected: wait until the chat is back, then send again";
    return;
  }
  view.inputError.textContent = "";
  if (state.sent.at(-1) !== text) state.sent.push(text);
  if (state.sent.length > RECALL_LINES) state.sent.shift();
  state.recall = state.sent.length;
  state.draft = "";
  view.input.value = "";
  const log = state.current?.log;
  if (log) log.scrollTop = log.scrollHeight;
  clearBelow();
});

/**
 * A `/part` or `/join` of a room still to be joined again after a restart:
 * the person's word wins over the retries, and true is returned. A part is
 * done here (the server has not let the page in yet); a join only shows the
 * room: the retries bring it back (a join sent now would compete with them
 * for the flood allowance, be refused, and not be sent again).
 * @param {string} text
 * @param {Room} typedIn
 */
function ownRejoin(text, typedIn) {
  const command = /^\/(part|leave|join)(?:\s+(\S+))?/i.exec(text.trim());
  if (!command) return false;
  const named = command[2]?.startsWith("#") ? command[2].slice(1) : undefined;
  const parting = command[1].toLowerCase() !== "join";
  const target = named ?? (parting ? typedIn.name : undefined);
  if (target === undefined || !rejoins.waiting(target)) return false;
  if (!parting) {
    const room = state.rooms.get(target);
    if (room) showRoom(room);
    return true;
  }
  rejoins.forget(target);
  systemLine(`You left #${target}.`, "system");
  const room = state.rooms.get(target);
  if (room === state.current && room) {
    room.left = "you left it";
  } else if (room) {
    state.rooms.delete(target);
    room.log.remove();
  }
  renderRooms();
  sendPending();
  return true;
}

view.input.addEventListener("input", () => {
  view.inputError.textContent = "";
});

view.input.addEventListener("keydown", (event) => {
  if (event.key === "ArrowUp" && state.recall > 0) {
    if (state.recall === state.sent.length) state.draft = view.input.value;
    state.recall--;
    view.input.value = state.sent[state.recall];
    event.preventDefault();
  } else if (event.key === "ArrowDown" && state.recall < state.sent.length) {
    state.recall++;
    view.input.value = state.recall === state.sent.length ? state.draft : state.sent[state.recall];
    event.preventDefault();
  }
});

/** @param {string} name */
function startPrivate(name) {
  view.input.value = `/msg ${name} `;
  view.input.focus();
  closePeople();
}

view.peopleToggle.addEventListener("click", () => {
  const open = !view.sidebar.classList.contains("open");
  view.sidebar.classList.toggle("open", open);
  view.peopleToggle.setAttribute("aria-expanded", String(open));
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && view.sidebar.classList.contains("open")) {
    closePeople();
    view.peopleToggle.focus();
  }
});

function closePeople() {
  view.sidebar.classList.remove("open");
  view.peopleToggle.setAttribute("aria-expanded", "false");
}

// ---- Leaving ---------------------------------------------------------------

view.leave.addEventListener("click", () => view.leaveDialog.showModal());
view.leaveCancel.addEventListener("click", () => {
  view.leaveDialog.close();
  view.input.focus();
});
view.leaveConfirm.addEventListener("click", () => {
  view.leaveDialog.close();
  acknowledge();
  if (!send({ type: "quit" })) {
    closeQuietly();
    showLeft("You left the chat.");
  }
});
