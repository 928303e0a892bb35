import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopicIndex } from '../../src/pubsub/topics.js';
import { TopicError } from '../../src/errors.js';
import fc from 'fast-check';

/** The topic index on its own (it knows no sockets): MQTT 3.1.1 §4.7's matching rules. */

interface Sub {
  name: string;
}
const sub = (name: string): Sub => ({ name });

function names(set: ReadonlySet<Sub>): string[] {
  return [...set].map((s) => s.name).sort();
}

function isTopicError(err: unknown): boolean {
  return err instanceof TopicError && err.code === 'HW_ERR_INVALID_TOPIC' && err.name === 'TopicError';
}

describe('TopicIndex', () => {
  it('matches exact topics, levels and all', () => {
    const index = new TopicIndex<Sub>();
    const a = sub('a');
    const b = sub('b');
    assert.equal(index.subscribe(a, 'sport/tennis'), true);
    assert.equal(index.subscribe(a, 'sport/tennis'), false, 'a second subscribe changes nothing');
    index.subscribe(b, 'sport');
    index.subscribe(b, '/leading');
    assert.deepEqual(names(index.subscribersOf('sport/tennis')), ['a']);
    assert.deepEqual(names(index.subscribersOf('sport')), ['b']);
    assert.deepEqual(names(index.subscribersOf('sport/')), [], 'an empty level is a level');
    assert.deepEqual(names(index.subscribersOf('/leading')), ['b']);
    assert.deepEqual(names(index.subscribersOf('leading')), []);
    assert.deepEqual(names(index.subscribersOf('Sport/tennis')), [], 'topics are case-sensitive');
  });

  it("'+' matches exactly one level, empty levels included (§4.7.1.3)", () => {
    const index = new TopicIndex<Sub>();
    const s = sub('s');
    index.subscribe(s, 'sport/+/player1');
    assert.deepEqual(names(index.subscribersOf('sport/tennis/player1')), ['s']);
    assert.deepEqual(names(index.subscribersOf('sport//player1')), ['s']);
    assert.deepEqual(names(index.subscribersOf('sport/tennis/player2')), []);
    assert.deepEqual(names(index.subscribersOf('sport/tennis/x/player1')), []);
    assert.deepEqual(names(index.subscribersOf('sport/player1')), []);
    const t = sub('t');
    index.subscribe(t, '+');
    assert.deepEqual(names(index.subscribersOf('finance')), ['t']);
    assert.deepEqual(names(index.subscribersOf('finance/x')), []);
    const u = sub('u');
    index.subscribe(u, '+/+');
    assert.deepEqual(names(index.subscribersOf('/finance')), ['u']);
  });

  it("'#' matches its parent level and everything below it (§4.7.1.2)", () => {
    const index = new TopicIndex<Sub>();
    const s = sub('s');
    const all = sub('all');
    index.subscribe(s, 'sport/tennis/player1/#');
    index.subscribe(all, '#');
    assert.deepEqual(names(index.subscribersOf('sport/tennis/player1')), ['all', 's']);
    assert.deepEqual(names(index.subscribersOf('sport/tennis/player1/ranking')), ['all', 's']);
    assert.deepEqual(names(index.subscribersOf('sport/tennis/player1/score/wimbledon')), ['all', 's']);
    assert.deepEqual(names(index.subscribersOf('sport/tennis')), ['all']);
    const p = sub('p');
    index.subscribe(p, 'sport/+/#');
    assert.deepEqual(names(index.subscribersOf('sport/tennis')), ['all', 'p']);
    assert.deepEqual(names(index.subscribersOf('sport')), ['all']);
  });

  it("wildcards at the first level do not match topics that start with '$' (§4.7.2)", () => {
    const index = new TopicIndex<Sub>();
    const all = sub('all');
    const plus = sub('plus');
    const sys = sub('sys');
    index.subscribe(all, '#');
    index.subscribe(plus, '+/monitor/Clients');
    index.subscribe(sys, '$SYS/#');
    assert.deepEqual(names(index.subscribersOf('$SYS/monitor/Clients')), ['sys']);
    assert.deepEqual(names(index.subscribersOf('other/monitor/Clients')), ['all', 'plus']);
    const inner = sub('inner');
    index.subscribe(inner, '$SYS/+/Clients');
    assert.deepEqual(names(index.subscribersOf('$SYS/monitor/Clients')), ['inner', 'sys'], 'below the first level they do');
  });

  it('gives each publish to a subscriber once, however many of its filters match', () => {
    const index = new TopicIndex<Sub>();
    const s = sub('s');
    const other = sub('other');
    for (const f of ['a/b', 'a/+', 'a/#', '#', '+/b']) index.subscribe(s, f);
    index.subscribe(other, 'a/b');
    const got = index.subscribersOf('a/b');
    assert.equal(got.size, 2);
    assert.deepEqual(names(got), ['other', 's']);
  });

  it('unsubscribes one filter, or everything a subscriber had, and prunes what is left empty', () => {
    const index = new TopicIndex<Sub>();
    const s = sub('s');
    const t = sub('t');
    index.subscribe(s, 'x/+/z');
    index.subscribe(t, 'x/+/z');
    index.subscribe(s, 'x/#');
    index.subscribe(s, 'plain');
    assert.deepEqual(index.topicsOf(s), ['x/+/z', 'x/#', 'plain'], 'in the order subscribed');
    assert.equal(index.subscriberCount('x/+/z'), 2);
    assert.equal(index.unsubscribe(s, 'x/+/z'), true);
    assert.equal(index.unsubscribe(s, 'x/+/z'), false);
    assert.equal(index.subscriberCount('x/+/z'), 1);
    assert.deepEqual(names(index.subscribersOf('x/y/z')), ['s', 't'], "s still has 'x/#'");
    index.unsubscribeAll(s);
    assert.deepEqual(index.topicsOf(s), []);
    assert.equal(index.isSubscribed(s, 'plain'), false);
    assert.equal(index.subscriberCount('plain'), 0);
    assert.equal(index.subscriberCount('x/#'), 0);
    assert.deepEqual(names(index.subscribersOf('x/y/z')), ['t']);
    index.unsubscribe(t, 'x/+/z');
    // Nothing is left: the trie is gone and publishing is a Map lookup again.
    const internals = index as unknown as { patterns: unknown; patternCount: number; exact: Map<string, unknown>; bySubscriber: Map<unknown, unknown> };
    assert.equal(internals.patterns, null);
    assert.equal(internals.patternCount, 0);
    assert.equal(internals.exact.size, 0);
    assert.equal(internals.bySubscriber.size, 0);
  });

  it('keeps a branch that another filter still needs', () => {
    const index = new TopicIndex<Sub>();
    const s = sub('s');
    index.subscribe(s, 'a/+/c');
    index.subscribe(s, 'a/+/c/d');
    index.subscribe(s, 'a/+');
    index.unsubscribe(s, 'a/+/c');
    assert.deepEqual(names(index.subscribersOf('a/b/c/d')), ['s']);
    assert.deepEqual(names(index.subscribersOf('a/b')), ['s']);
    assert.deepEqual(names(index.subscribersOf('a/b/c')), []);
  });

  it('rejects bad filters and topic names with a TopicError (HW_ERR_INVALID_TOPIC)', () => {
    const index = new TopicIndex<Sub>();
    const s = sub('s');
    for (const bad of ['', 'sport/tennis#', 'sport/#/ranking', 'sport+', 'a/b+/c', '+a', 'nul\0here', 'x'.repeat(65536)]) {
      assert.throws(() => index.subscribe(s, bad), isTopicError, JSON.stringify(bad.slice(0, 20)));
    }
    assert.throws(() => index.subscribe(s, 42 as unknown as string), isTopicError);
    assert.throws(() => index.subscribe(s, 'é'.repeat(32768)), isTopicError, 'the limit is in UTF-8 bytes');
    index.subscribe(s, 'é'.repeat(32767));
    for (const bad of ['a/+', '#', 'a/#', '']) assert.throws(() => index.subscribersOf(bad), isTopicError, bad);
    assert.throws(() => index.unsubscribe(s, 'a/#/b'), isTopicError);
    assert.deepEqual(index.topicsOf(s), ['é'.repeat(32767)], 'nothing was subscribed by the failed calls');
  });
});

/** MQTT 3.1.1 §4.7 matching, written the plain way: does `filter` match the topic name `topic`? */
function reference(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return !(i === 0 && topic.startsWith('$'));
    if (i >= t.length) return false;
    if (f[i] === '+') {
      if (i === 0 && topic.startsWith('$')) return false;
      continue;
    }
    if (f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

describe('TopicIndex against a plain MQTT matcher (property-based)', () => {
  it('subscribersOf agrees with matching every filter by hand, through subscribes and unsubscribes', () => {
    const level = fc.constantFrom('a', 'b', '', '$s', 'c');
    const name = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/')).filter((t) => t.length > 0);
    const filterLevel = fc.constantFrom('a', 'b', '', '$s', '+', 'c');
    const filter = fc
      .tuple(fc.array(filterLevel, { minLength: 1, maxLength: 4 }), fc.boolean())
      .map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'))
      .filter((f) => f.length > 0);
    const op = fc.tuple(fc.integer({ min: 0, max: 4 }), filter, fc.boolean());
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), fc.array(name, { minLength: 1, maxLength: 8 }), (ops, topics) => {
        const index = new TopicIndex<Sub>();
        const subs = [0, 1, 2, 3, 4].map((i) => sub(String(i)));
        const model = subs.map(() => new Set<string>());
        for (const [who, f, add] of ops) {
          if (add) assert.equal(index.subscribe(subs[who], f), !model[who].has(f));
          else assert.equal(index.unsubscribe(subs[who], f), model[who].has(f));
          if (add) model[who].add(f);
          else model[who].delete(f);
        }
        for (const t of topics) {
          const expected = subs.filter((_, i) => [...model[i]].some((f) => reference(f, t))).map((s) => s.name);
          assert.deepEqual(names(index.subscribersOf(t)), expected, `topic ${JSON.stringify(t)}`);
        }
        for (let i = 0; i < subs.length; i++) assert.deepEqual(index.topicsOf(subs[i]).sort(), [...model[i]].sort());
      }),
      { numRuns: 500 },
    );
  });
});
