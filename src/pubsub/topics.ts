import { Buffer } from 'node:buffer';
import { TopicError } from '../errors.js';

/**
 * Topics and who is subscribed to them, in MQTT's syntax (MQTT 3.1.1 §4.7, the syntax
 * HyperExpress and uWebSockets.js document for `subscribe`/`publish`). It knows nothing about
 * sockets: a subscriber is any object, compared by identity.
 *
 * - A topic name (what is published to) is one or more levels separated by `/`; levels may be
 *   empty (`a//b`, `/a`). It holds no wildcard.
 * - A topic filter (what is subscribed to) may use `+` for exactly one level and `#`, as the
 *   last level, for that level's parent and everything below it (`a/#` matches `a`, `a/b` and
 *   `a/b/c`); each must stand alone in its level (§4.7.1).
 * - Wildcards at the first level do not match topic names that start with `$` (§4.7.2), so
 *   `#` does not reach `$SYS/...`.
 *
 * Filters without wildcards (most) live in a Map: publishing to them is one lookup. Filters with
 * wildcards live in a trie walked level by level. A subscriber that several filters match gets
 * each publish once.
 */
export class TopicIndex<S extends object> {
  /** Subscribers of each filter without wildcards. */
  private readonly exact = new Map<string, Set<S>>();
  /** Filters with wildcards, level by level; null until the first one. */
  private patterns: TrieNode<S> | null = null;
  private patternCount = 0;
  /** The filters of each subscriber, in the order subscribed. */
  private readonly bySubscriber = new Map<S, Set<string>>();

  /** Subscribe `subscriber` to `filter`. False if it already was. Throws TopicError on bad syntax. */
  subscribe(subscriber: S, filter: string): boolean {
    const wild = checkFilter(filter);
    let mine = this.bySubscriber.get(subscriber);
    if (mine?.has(filter)) return false;
    if (mine === undefined) this.bySubscriber.set(subscriber, (mine = new Set()));
    mine.add(filter);
    if (!wild) {
      let subs = this.exact.get(filter);
      if (subs === undefined) this.exact.set(filter, (subs = new Set()));
      subs.add(subscriber);
    } else {
      let node = (this.patterns ??= new TrieNode());
      for (const level of filter.split('/')) {
        if (level === '#') {
          node = node.hash ??= new TrieNode();
          break;
        }
        node = level === '+' ? (node.plus ??= new TrieNode()) : node.child(level);
      }
      (node.subs ??= new Set()).add(subscriber);
      this.patternCount++;
    }
    return true;
  }

  /** Undo `subscribe(subscriber, filter)`. False if it was not subscribed. */
  unsubscribe(subscriber: S, filter: string): boolean {
    checkFilter(filter);
    const mine = this.bySubscriber.get(subscriber);
    if (mine === undefined || !mine.delete(filter)) return false;
    if (mine.size === 0) this.bySubscriber.delete(subscriber);
    this.remove(subscriber, filter);
    return true;
  }

  /** Remove `subscriber` from every topic (it went away). */
  unsubscribeAll(subscriber: S): void {
    const mine = this.bySubscriber.get(subscriber);
    if (mine === undefined) return;
    this.bySubscriber.delete(subscriber);
    for (const filter of mine) this.remove(subscriber, filter);
  }

  isSubscribed(subscriber: S, filter: string): boolean {
    checkFilter(filter);
    return this.bySubscriber.get(subscriber)?.has(filter) ?? false;
  }

  /** Everyone subscribed to at least one filter. */
  subscribers(): IterableIterator<S> {
    return this.bySubscriber.keys();
  }

  /** The filters `subscriber` is subscribed to, in the order it subscribed. */
  topicsOf(subscriber: S): string[] {
    const mine = this.bySubscriber.get(subscriber);
    return mine === undefined ? [] : [...mine];
  }

  /** How many subscribers `filter` has itself (not counting other filters that match it). */
  subscriberCount(filter: string): number {
    if (!checkFilter(filter)) return this.exact.get(filter)?.size ?? 0;
    let node = this.patterns;
    for (const level of filter.split('/')) {
      if (node === null) return 0;
      if (level === '#') {
        node = node.hash;
        break;
      }
      node = level === '+' ? node.plus : node.children?.get(level) ?? null;
    }
    return node?.subs?.size ?? 0;
  }

  /**
   * Everyone subscribed to a filter that matches the topic name `topic`, each once. Throws
   * TopicError if `topic` is not a valid topic name. The result may be the index's own set:
   * read it before subscribing or unsubscribing anyone.
   */
  subscribersOf(topic: string): ReadonlySet<S> {
    checkName(topic);
    const exact = this.exact.get(topic);
    if (this.patternCount === 0) return exact ?? NONE;
    const out = new Set<S>(exact);
    matchLevels(this.patterns!, topic.split('/'), 0, topic.charCodeAt(0) === DOLLAR, out);
    return out;
  }

  private remove(subscriber: S, filter: string): void {
    if (!hasWildcard(filter)) {
      const subs = this.exact.get(filter)!;
      subs.delete(subscriber);
      if (subs.size === 0) this.exact.delete(filter);
      return;
    }
    // Walk down, then prune the nodes left empty on the way back up.
    const path: TrieNode<S>[] = [];
    const steps: string[] = [];
    let node = this.patterns!;
    for (const level of filter.split('/')) {
      path.push(node);
      steps.push(level);
      if (level === '#') {
        node = node.hash!;
        break;
      }
      node = level === '+' ? node.plus! : node.children!.get(level)!;
    }
    node.subs!.delete(subscriber);
    this.patternCount--;
    for (let i = path.length - 1; i >= 0 && node.empty(); i--) {
      path[i].drop(steps[i]);
      node = path[i];
    }
    if (this.patternCount === 0) this.patterns = null;
  }
}

/** Throws TopicError unless `filter` is a valid topic filter (what `subscribe` takes). */
export function validateTopicFilter(filter: string): void {
  checkFilter(filter);
}

/** Throws TopicError unless `topic` is a valid topic name (what `publish` takes). */
export function validateTopicName(topic: string): void {
  checkName(topic);
}

const DOLLAR = 0x24;
const NONE: ReadonlySet<never> = new Set<never>();

class TrieNode<S> {
  children: Map<string, TrieNode<S>> | null = null;
  /** The `+` branch. */
  plus: TrieNode<S> | null = null;
  /** The `#` leaf under this node: this level's parent and everything below. */
  hash: TrieNode<S> | null = null;
  /** Subscribers of the filter that ends here. */
  subs: Set<S> | null = null;

  child(level: string): TrieNode<S> {
    const children = (this.children ??= new Map());
    let node = children.get(level);
    if (node === undefined) children.set(level, (node = new TrieNode()));
    return node;
  }

  empty(): boolean {
    return (this.subs === null || this.subs.size === 0) && this.plus === null && this.hash === null && (this.children === null || this.children.size === 0);
  }

  drop(level: string): void {
    if (level === '#') this.hash = null;
    else if (level === '+') this.plus = null;
    else this.children!.delete(level);
  }
}

function matchLevels<S>(node: TrieNode<S>, levels: string[], i: number, dollar: boolean, out: Set<S>): void {
  // §4.7.2: a wildcard first level does not match a topic name starting with '$'.
  const wildOk = i > 0 || !dollar;
  if (node.hash !== null && wildOk) addAll(node.hash.subs, out);
  if (i === levels.length) {
    addAll(node.subs, out);
    return;
  }
  const child = node.children?.get(levels[i]);
  if (child !== undefined) matchLevels(child, levels, i + 1, dollar, out);
  if (node.plus !== null && wildOk) matchLevels(node.plus, levels, i + 1, dollar, out);
}

function addAll<S>(from: Set<S> | null, out: Set<S>): void {
  if (from !== null) for (const s of from) out.add(s);
}

function hasWildcard(s: string): boolean {
  return s.includes('+') || s.includes('#');
}

/** §4.7.3: at least one character, no U+0000, at most 65,535 bytes of UTF-8. */
function checkCommon(topic: unknown, what: string): asserts topic is string {
  if (typeof topic !== 'string') throw new TopicError(`The ${what} must be a string, not ${topic === null ? 'null' : typeof topic}`);
  if (topic.length === 0) throw new TopicError(`The ${what} must not be empty`);
  if (topic.includes('\0')) throw new TopicError(`The ${what} must not contain U+0000`);
  if (topic.length > 21845 && Buffer.byteLength(topic) > 65535) throw new TopicError(`The ${what} is longer than 65,535 bytes`);
}

/** Throws unless `filter` is a valid topic filter; returns whether it has wildcards. */
function checkFilter(filter: string): boolean {
  checkCommon(filter, 'topic filter');
  if (!hasWildcard(filter)) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level === '+') continue;
    if (level === '#') {
      if (i !== levels.length - 1) throw new TopicError(`'#' must be the last level of a topic filter: ${JSON.stringify(filter)}`);
      continue;
    }
    if (level.includes('+') || level.includes('#')) {
      throw new TopicError(`A wildcard ('+' or '#') must be a whole level of a topic filter: ${JSON.stringify(filter)}`);
    }
  }
  return true;
}

/** Throws unless `topic` is a valid topic name (no wildcards). */
function checkName(topic: string): void {
  checkCommon(topic, 'topic');
  if (hasWildcard(topic)) throw new TopicError(`A topic published to must not contain wildcards ('+', '#'): ${JSON.stringify(topic)}`);
}
