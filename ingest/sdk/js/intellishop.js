/*! IntelliShop browser tracker 1.0.0 | Apache-2.0 | no dependencies, no build step */
/*
 * Segment-style events from a shop's pages to an IntelliShop collector.
 *
 * Promises (see docs/sdk.md):
 * - every call gets a messageId (uuid); the collector and the warehouse deduplicate on it;
 * - events wait in a queue persisted in localStorage (per tab, adopted by the next page when a
 *   tab dies), so a reload or a network outage does not lose them;
 * - batches go to POST {host}/v1/batch every `flushAt` events or `flushInterval` ms, and are
 *   retried with exponential backoff and jitter on network errors, 5xx and 429 (Retry-After is
 *   respected); other 4xx answers drop the batch (retrying cannot fix it) with a console warning;
 * - when the page is hidden or unloaded, what is queued goes with navigator.sendBeacon (the key
 *   as ?key=, since a beacon cannot carry headers). A beacon is trusted only while the collector
 *   is answering; during an outage the events also stay queued for the next page (at least once).
 */
(function (global) {
  "use strict";

  const VERSION = "1.0.0";
  const LIBRARY = "intellishop.js";
  const BEACON_MAX_BYTES = 60000; // browsers cap queued beacon bytes at 64 KB per page
  const BATCH_MAX_BYTES = 450000; // the collector refuses batches over 500 KB
  const ORPHAN_AFTER_MS = 60000; // a tab queue untouched this long belongs to a closed tab
  const HEARTBEAT_MS = 10000;
  const COOKIE_DAYS = 365;

  const doc = global.document;
  const nav = global.navigator || {};
  const scriptSrc = doc && doc.currentScript ? doc.currentScript.src : "";

  const ECOMMERCE = {
    productsSearched: "Products Searched",
    productListViewed: "Product List Viewed",
    productListFiltered: "Product List Filtered",
    productClicked: "Product Clicked",
    productViewed: "Product Viewed",
    productAdded: "Product Added",
    productRemoved: "Product Removed",
    cartViewed: "Cart Viewed",
    checkoutStarted: "Checkout Started",
    checkoutStepViewed: "Checkout Step Viewed",
    checkoutStepCompleted: "Checkout Step Completed",
    paymentInfoEntered: "Payment Info Entered",
    orderCompleted: "Order Completed",
    orderUpdated: "Order Updated",
    orderRefunded: "Order Refunded",
    orderCancelled: "Order Cancelled",
    couponEntered: "Coupon Entered",
    couponApplied: "Coupon Applied",
    couponDenied: "Coupon Denied",
    couponRemoved: "Coupon Removed",
    productAddedToWishlist: "Product Added to Wishlist",
    productRemovedFromWishlist: "Product Removed from Wishlist",
    productShared: "Product Shared",
    cartShared: "Cart Shared",
    productReviewed: "Product Reviewed",
  };

  // ---- small helpers -------------------------------------------------------------------

  function probe(name) {
    try {
      const store = global[name];
      store.setItem("__intellishop_probe__", "1");
      store.removeItem("__intellishop_probe__");
      return store;
    } catch (_) {
      return null; // disabled, private mode or sandboxed: fall back to memory (and cookies)
    }
  }
  const local = probe("localStorage");
  const session = probe("sessionStorage");

  function read(store, key) {
    if (!store) return null;
    try {
      const raw = store.getItem(key);
      return raw === null ? null : JSON.parse(raw);
    } catch (_) {
      return null;
    }
  }

  function write(store, key, value) {
    if (!store) return false;
    try {
      if (value === null || value === undefined) store.removeItem(key);
      else store.setItem(key, JSON.stringify(value));
      return true;
    } catch (_) {
      return false; // quota exceeded: the queue still lives in memory
    }
  }

  function uuid() {
    const c = global.crypto;
    if (c && typeof c.randomUUID === "function") return c.randomUUID();
    const b = c.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function getCookie(name) {
    if (!doc) return null;
    const prefix = `${name}=`;
    for (const part of doc.cookie ? doc.cookie.split("; ") : []) {
      if (part.startsWith(prefix)) return decodeURIComponent(part.slice(prefix.length));
    }
    return null;
  }

  function setCookie(name, value, domain) {
    if (!doc) return;
    let cookie = `${name}=${encodeURIComponent(value)}; Max-Age=${COOKIE_DAYS * 86400}; Path=/; SameSite=Lax`;
    if (domain) cookie += `; Domain=${domain}`;
    if (global.location && global.location.protocol === "https:") cookie += "; Secure";
    doc.cookie = cookie;
  }

  function now() {
    return new Date().toISOString();
  }

  function byteLength(text) {
    return new Blob([text]).size;
  }

  function retryAfterMs(response) {
    const value = response.headers.get("Retry-After");
    if (!value) return 0;
    const seconds = Number(value);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(value);
    return Number.isFinite(date) ? Math.max(0, date - Date.now()) : 0;
  }

  function campaignFrom(search) {
    const params = new URLSearchParams(search || "");
    const campaign = {};
    for (const [key, value] of params) {
      if (!key.startsWith("utm_") || !value) continue;
      const name = key.slice(4);
      campaign[name === "campaign" ? "name" : name] = value;
    }
    return Object.keys(campaign).length ? campaign : null;
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  // ---- the tracker -----------------------------------------------------------------------

  class Tracker {
    constructor() {
      this.VERSION = VERSION;
      this.options = null;
      this.queue = [];
      this.pending = []; // calls made before init()
      this.inflight = null;
      this.flushTimer = null;
      this.retryTimer = null;
      this.attempt = 0; // consecutive failed sends: > 0 means the collector is unreachable now
      this.batchLimit = Infinity; // lowered after a 413
      this.dropped = 0;
      for (const [method, event] of Object.entries(ECOMMERCE)) {
        this[method] = (properties) => this.track(event, properties);
      }
    }

    /** Start tracking. Options: writeKey (required), host, flushAt, flushInterval, trackPages,
     * trackHistory, maxQueueSize, retryBaseMs, retryMaxMs, cookieDomain, storagePrefix. */
    init(options) {
      if (this.options) return this;
      if (!options || !options.writeKey) throw new Error("intellishop.init needs { writeKey }");
      const defaultHost = scriptSrc ? new URL(scriptSrc).origin : global.location.origin;
      this.options = Object.assign(
        {
          host: defaultHost,
          flushAt: 20,
          flushInterval: 2000,
          trackPages: true,
          trackHistory: false,
          maxQueueSize: 1000,
          retryBaseMs: 1000,
          retryMaxMs: 30000,
          cookieDomain: undefined,
          storagePrefix: "intellishop",
        },
        options,
      );
      this.options.host = String(this.options.host).replace(/\/+$/, "");
      const prefix = this.options.storagePrefix;
      this.keys = {
        anonymousId: `${prefix}_anonymous_id`,
        userId: `${prefix}_user_id`,
        traits: `${prefix}_user_traits`,
        tab: `${prefix}_tab_id`,
        queuePrefix: `${prefix}_queue:`,
      };
      this.tabId = read(session, this.keys.tab);
      if (!this.tabId) {
        this.tabId = uuid();
        write(session, this.keys.tab, this.tabId);
      }
      this.anonymousId = read(local, this.keys.anonymousId) || getCookie(this.keys.anonymousId);
      if (!this.anonymousId) this.anonymousId = uuid();
      this._saveAnonymousId();
      this.userId = read(local, this.keys.userId);
      this.traits = read(local, this.keys.traits) || {};

      this.queue = this._loadQueues();
      const leftOver = this.queue.length > 0; // from an earlier page: send it right away
      this._listen();
      if (this.options.trackPages) this.page();
      for (const [method, args] of this.pending.splice(0)) this[method](...args);
      if (leftOver) this._schedule(0);
      return this;
    }

    // ---- the Segment calls -------------------------------------------------------------

    /** A custom or e-commerce event; returns its messageId. */
    track(event, properties) {
      if (!this.options) return this._later("track", arguments);
      if (typeof event !== "string" || !event.trim()) throw new Error("track needs an event name");
      return this._enqueue({ type: "track", event, properties: Object.assign({}, properties) });
    }

    /** A page view: page(), page(name), page(name, properties) or page(category, name, props). */
    page(category, name, properties) {
      if (!this.options) return this._later("page", arguments);
      if (isObject(category)) [category, name, properties] = [undefined, undefined, category];
      else if (isObject(name)) [category, name, properties] = [undefined, category, name];
      else if (name === undefined) [category, name] = [undefined, category];
      const props = Object.assign(this._pageProperties(), properties);
      if (category) props.category = category;
      const message = { type: "page", properties: props };
      if (name) message.name = name;
      return this._enqueue(message);
    }

    /** Who the visitor is: links the anonymous id to userId; traits are kept for later calls. */
    identify(userId, traits) {
      if (!this.options) return this._later("identify", arguments);
      if (isObject(userId)) [userId, traits] = [undefined, userId];
      if (userId !== undefined && userId !== null) {
        this.userId = String(userId);
        write(local, this.keys.userId, this.userId);
      }
      this.traits = Object.assign({}, this.traits, traits);
      write(local, this.keys.traits, this.traits);
      return this._enqueue({ type: "identify", traits: Object.assign({}, this.traits) });
    }

    /** Merge two identities: previousId (default: the current id) becomes userId. */
    alias(userId, previousId) {
      if (!this.options) return this._later("alias", arguments);
      const previous = previousId || this.userId || this.anonymousId;
      this.userId = String(userId);
      write(local, this.keys.userId, this.userId);
      return this._enqueue({ type: "alias", previousId: String(previous) });
    }

    /** Associate the visitor with a company or account. */
    group(groupId, traits) {
      if (!this.options) return this._later("group", arguments);
      return this._enqueue({ type: "group", groupId: String(groupId), traits: Object.assign({}, traits) });
    }

    /** Forget the visitor (log out): new anonymous id, no user id, no traits. */
    reset() {
      if (!this.options) return this._later("reset", arguments);
      this.userId = null;
      this.traits = {};
      this.anonymousId = uuid();
      write(local, this.keys.userId, null);
      write(local, this.keys.traits, null);
      this._saveAnonymousId();
      return undefined;
    }

    user() {
      return { anonymousId: this.anonymousId, userId: this.userId, traits: Object.assign({}, this.traits) };
    }

    /** Send what is queued now; resolves when the attempt is over (delivered or scheduled). */
    flush() {
      if (!this.options || this.inflight || !this.queue.length) return Promise.resolve();
      if (this.retryTimer) {
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
      }
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
      const batch = this._nextBatch();
      this.inflight = batch;
      const body = JSON.stringify({ batch, sentAt: now() });
      let request;
      try {
        request = global.fetch(`${this.options.host}/v1/batch`, {
          method: "POST",
          headers: {
            "Content-Type": "application/json",
            Authorization: `Basic ${btoa(`${this.options.writeKey}:`)}`,
          },
          body,
          credentials: "omit",
          keepalive: byteLength(body) < BEACON_MAX_BYTES,
        });
      } catch (error) {
        request = Promise.reject(error);
      }
      return request.then(
        (response) => this._answered(response, batch),
        () => this._failed(0),
      );
    }

    // ---- internals ---------------------------------------------------------------------

    _later(method, args) {
      this.pending.push([method, Array.from(args)]);
      return undefined;
    }

    _saveAnonymousId() {
      write(local, this.keys.anonymousId, this.anonymousId);
      setCookie(this.keys.anonymousId, this.anonymousId, this.options.cookieDomain);
    }

    _pageProperties() {
      const loc = global.location;
      return {
        path: loc.pathname,
        referrer: doc ? doc.referrer : "",
        search: loc.search,
        title: doc ? doc.title : "",
        url: loc.href,
      };
    }

    _context() {
      const loc = global.location;
      const context = {
        library: { name: LIBRARY, version: VERSION },
        page: this._pageProperties(),
        userAgent: nav.userAgent,
        locale: nav.language,
      };
      try {
        context.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      } catch (_) {
        /* no Intl: leave it out */
      }
      if (global.screen) {
        context.screen = {
          width: global.screen.width,
          height: global.screen.height,
          density: global.devicePixelRatio || 1,
        };
      }
      const campaign = campaignFrom(loc.search);
      if (campaign) context.campaign = campaign;
      if (Object.keys(this.traits).length) context.traits = Object.assign({}, this.traits);
      return context;
    }

    _enqueue(fields) {
      const message = Object.assign(
        { messageId: uuid(), anonymousId: this.anonymousId, timestamp: now(), context: this._context() },
        fields,
      );
      if (this.userId) message.userId = this.userId;
      this.queue.push(message);
      const overflow = this.queue.length - this.options.maxQueueSize;
      if (overflow > 0) {
        // Bounded: the oldest go first (never the batch on the wire).
        const protectedIds = new Set((this.inflight || []).map((m) => m.messageId));
        let removed = 0;
        this.queue = this.queue.filter((m) => removed >= overflow || protectedIds.has(m.messageId) || !++removed);
        this.dropped += removed;
        console.warn(`intellishop: queue full, dropped ${removed} oldest event(s)`);
      }
      this._persist();
      if (this.queue.length >= this.options.flushAt) this._schedule(0);
      else this._schedule(this.options.flushInterval);
      return message.messageId;
    }

    _schedule(delay) {
      if (this.inflight || this.retryTimer) return; // the running send or retry picks it up
      if (this.flushTimer && delay > 0) return;
      clearTimeout(this.flushTimer);
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.flush();
      }, delay);
    }

    _nextBatch() {
      const limit = Math.min(this.options.flushAt, this.batchLimit);
      const batch = [];
      let bytes = 64;
      for (const message of this.queue) {
        const size = byteLength(JSON.stringify(message)) + 1;
        if (batch.length && (batch.length >= limit || bytes + size > BATCH_MAX_BYTES)) break;
        batch.push(message);
        bytes += size;
      }
      return batch;
    }

    _remove(messages) {
      const ids = new Set(messages.map((m) => m.messageId));
      this.queue = this.queue.filter((m) => !ids.has(m.messageId));
      this._persist();
    }

    _answered(response, batch) {
      this.inflight = null;
      if (response.ok) {
        this.attempt = 0;
        this.batchLimit = Infinity;
        this._remove(batch);
        response
          .json()
          .then((body) => {
            if (body && body.rejected && body.rejected.length) {
              console.warn("intellishop: the collector rejected events", body.rejected);
            }
          })
          .catch(() => undefined);
        if (this.queue.length) this._schedule(this.queue.length >= this.options.flushAt ? 0 : this.options.flushInterval);
        return;
      }
      if (response.status === 429 || response.status >= 500) {
        this._failed(retryAfterMs(response));
        return;
      }
      if (response.status === 413 && batch.length > 1) {
        this.batchLimit = Math.max(1, Math.floor(batch.length / 2));
        this._schedule(0);
        return;
      }
      // Any other 4xx: the same bytes would be refused again. Drop them, say why.
      this.attempt = 0;
      this._remove(batch);
      response
        .text()
        .then((text) => console.warn(`intellishop: the collector refused ${batch.length} event(s): ${response.status} ${text}`))
        .catch(() => undefined);
      if (this.queue.length) this._schedule(this.options.flushInterval);
    }

    _failed(minimumDelay) {
      this.inflight = null;
      const ceiling = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** this.attempt);
      this.attempt += 1;
      const jittered = ceiling / 2 + Math.random() * (ceiling / 2);
      const delay = Math.max(jittered, minimumDelay);
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.flush();
      }, delay);
    }

    // Persistence: one localStorage entry per tab, {t: last write, q: messages}.
    _queueKey() {
      return this.keys.queuePrefix + this.tabId;
    }

    _persist() {
      write(local, this._queueKey(), this.queue.length ? { t: Date.now(), q: this.queue } : null);
    }

    _loadQueues() {
      const own = read(local, this._queueKey());
      const queue = own && Array.isArray(own.q) ? own.q : [];
      if (!local) return queue;
      const seen = new Set(queue.map((m) => m.messageId));
      const orphans = [];
      for (let i = 0; i < local.length; i++) {
        const key = local.key(i);
        if (key && key.startsWith(this.keys.queuePrefix) && key !== this._queueKey()) orphans.push(key);
      }
      for (const key of orphans) {
        const stored = read(local, key);
        if (stored && Date.now() - stored.t < ORPHAN_AFTER_MS) continue; // a live tab's queue
        for (const message of (stored && stored.q) || []) {
          if (!seen.has(message.messageId)) queue.push(message);
        }
        write(local, key, null);
      }
      return queue;
    }

    _listen() {
      if (!doc) return;
      doc.addEventListener("visibilitychange", () => {
        if (doc.visibilityState === "hidden") this._beacon();
      });
      global.addEventListener("pagehide", () => this._beacon());
      global.addEventListener("online", () => {
        if (this.retryTimer) this.flush();
      });
      setInterval(() => {
        if (this.queue.length) this._persist(); // heartbeat: this tab's queue is not an orphan
      }, HEARTBEAT_MS);
      if (this.options.trackHistory && global.history) {
        const original = global.history.pushState;
        const tracker = this;
        global.history.pushState = function (...args) {
          const result = original.apply(this, args);
          tracker.page();
          return result;
        };
        global.addEventListener("popstate", () => this.page());
      }
    }

    _beaconUrl() {
      return `${this.options.host}/v1/batch?key=${encodeURIComponent(this.options.writeKey)}`;
    }

    /** Page hidden or going away: hand the queue to the browser with sendBeacon. */
    _beacon() {
      if (!this.queue.length || typeof nav.sendBeacon !== "function") return;
      if (nav.onLine === false) return; // stays persisted for the next page
      const healthy = this.attempt === 0;
      // While healthy, the batch on the wire is left to its own (keepalive) request; it stays
      // queued until answered, so a request cut short by the unload is resent by the next page.
      const onWire = new Set(healthy && this.inflight ? this.inflight.map((m) => m.messageId) : []);
      const sent = [];
      let chunk = [];
      const send = () => {
        if (!chunk.length) return true;
        // A string body goes as text/plain: a "simple" request, no preflight that an
        // unloading page could not wait for. The collector reads the JSON either way.
        const ok = nav.sendBeacon(this._beaconUrl(), JSON.stringify({ batch: chunk, sentAt: now() }));
        if (ok) sent.push(...chunk);
        chunk = [];
        return ok;
      };
      let bytes = 64;
      for (const message of this.queue) {
        if (onWire.has(message.messageId)) continue;
        const size = byteLength(JSON.stringify(message)) + 1;
        if (chunk.length && bytes + size > BEACON_MAX_BYTES) {
          if (!send()) break;
          bytes = 64;
        }
        chunk.push(message);
        bytes += size;
      }
      send();
      // While the collector answers, a queued beacon is as good as sent. During an outage keep
      // the events too: the next page or the retry delivers them (perhaps twice: by messageId,
      // the warehouse keeps one).
      if (healthy && sent.length) {
        const ids = new Set(sent.map((m) => m.messageId));
        this.queue = this.queue.filter((m) => !ids.has(m.messageId));
        this._persist();
      }
    }
  }

  // Replace the snippet's stub (an array of recorded calls) with the tracker, then replay.
  const stub = global.intellishop;
  const tracker = new Tracker();
  global.intellishop = tracker;
  if (Array.isArray(stub)) {
    const calls = stub.slice();
    const init = calls.findIndex((call) => call[0] === "init");
    if (init >= 0) tracker.init(...calls.splice(init, 1)[0].slice(1));
    for (const [method, ...args] of calls) {
      if (typeof tracker[method] === "function") tracker[method](...args);
    }
  }
})(typeof window !== "undefined" ? window : globalThis);
